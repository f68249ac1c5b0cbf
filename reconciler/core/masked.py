"""Declared objects a target's object may be, where a secret of the run was masked in its
name as it arrived (`alice@***.com`, shape.py): such an object is in error and matches
nothing, so the declared object it is would look missing and be created again (a
duplicate account on a target that does not refuse one). A declared object whose key or
name the masked one could stand for is in error too, and nothing is created for it."""

from __future__ import annotations

import operator
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping

from reconciler.core import attributes as A
from reconciler.core.match import Match
from reconciler.core.model import MASKED, Declared, Json, Kind, Resource

# Every attribute a spec may match on (emails are read below).
_NAMES = tuple(
    path
    for path in dict.fromkeys((*A.USER_MATCHABLE, *A.GROUP_MATCHABLE))
    if path != "emails.value"
)
# How each is read from a body the target sent (`enterprise.employeeNumber` within the
# extension's object), and from a declared object's attributes (by its flat path).
_READ_BODY = tuple(A.reader(path) for path in _NAMES)
_READ_DECLARED = tuple(operator.methodcaller("get", path) for path in _NAMES)


def shield(
    kind: Kind,
    declared: Iterable[Declared],
    observed: Iterable[Resource],
    matches: dict[str, Match],
) -> dict[str, Match]:
    """`matches`, with each unmatched declared object a masked resource may be in error."""
    patterns = _patterns(observed)
    if not patterns:
        return matches
    out = dict(matches)
    for obj in declared:
        match = out.get(obj.key)
        if match is None or match.resource is not None or match.error is not None:
            continue
        found = _found(patterns, _values(obj))
        if found is not None:
            rid, masked = found
            out[obj.key] = Match(
                None,
                match.matched_on,
                match.attempts,
                f"the target's {kind.value} {rid} may be this one: its name {masked!r} holds "
                "a secret of this run, masked in what the target sent; nothing is created or "
                "written for it (use a secret that occurs in no name)",
            )
    return out


def _patterns(observed: Iterable[Resource]) -> dict[str, list[tuple[re.Pattern[str], str, str]]]:
    """Each masked name as a pattern (the mask: any text), indexed by what precedes it."""
    out: dict[str, list[tuple[re.Pattern[str], str, str]]] = defaultdict(list)
    for resource in observed:
        if resource.problem is None:
            continue
        for value in _strings(resource.body):
            if MASKED not in value:
                continue
            parts = value.strip().casefold().split(MASKED)
            pattern = re.compile(".+".join(map(re.escape, parts)), re.DOTALL)
            out[parts[0]].append((pattern, resource.id, value))
    return out


def _found(
    patterns: Mapping[str, list[tuple[re.Pattern[str], str, str]]], values: Iterable[str]
) -> tuple[str, str] | None:
    for value in values:
        folded = value.strip().casefold()
        for end in range(len(folded) + 1):
            for pattern, rid, masked in patterns.get(folded[:end], ()):
                if pattern.fullmatch(folded):
                    return rid, masked
    return None


def _values(obj: Declared) -> list[str]:
    return [obj.key, *_strings(obj.attrs, _READ_DECLARED)]


def _strings(body: Mapping[str, Json], readers: tuple[A.Reader, ...] = _READ_BODY) -> list[str]:
    """The names a matching attribute may hold: userName, displayName, externalId, the
    enterprise employeeNumber, emails."""
    out = [v for v in (read(body) for read in readers) if isinstance(v, str)]
    emails = body.get("emails")
    for email in emails if isinstance(emails, list) else ():
        value = email.get("value") if isinstance(email, dict) else None
        if isinstance(value, str):
            out.append(value)
    return out
