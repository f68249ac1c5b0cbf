"""Declared objects a target's object may be, where a secret of the run was masked in its
name as it arrived (`alice@***.com`, shape.py): such an object is in error and matches
nothing, so the declared object it is would look missing and be created again (a
duplicate account on a target that does not refuse one). A declared object whose key or
name the masked one could stand for is in error too, and nothing is created for it."""

from __future__ import annotations

import operator
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping

from reconciler.core import attributes as A
from reconciler.core.match import NAME_ATTRIBUTE, Match, email_values, skeleton
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


def _one(read: A.Reader) -> Callable[[Mapping[str, Json]], list[str]]:
    def strings(body: Mapping[str, Json]) -> list[str]:
        value = read(body)
        return [value] if isinstance(value, str) else []

    return strings


# Each matching attribute with the names it holds in a body the target sent (every email
# for emails.value: matching takes any of them for the person's, core/match.py).
_BY_ATTRIBUTE = (
    *((path, _one(A.reader(path))) for path in _NAMES),
    ("emails.value", lambda body: email_values(body.get("emails"))),
)


def shield(
    kind: Kind,
    declared: Iterable[Declared],
    observed: Iterable[Resource],
    matches: dict[str, Match],
) -> dict[str, Match]:
    """`matches`, with each declared object a masked resource may be in error.

    Unmatched: any of its names against any masked name. Matched: each value its match
    tried (`Match.attempts`: the matching attributes up to the one that matched, then
    former names) against the masked values of that same attribute. A masked resource
    that may hold the value of an earlier attempt is the account matching would have
    found first: the one matched is another, to be written to, renamed or disabled in its
    place; one that may hold the value matched on would have made it a duplicate."""
    resources = [r for r in observed if r.problem is not None]
    patterns = _patterns(resources, _strings)
    if not patterns:
        return matches
    by_attribute = {attribute: _patterns(resources, read) for attribute, read in _BY_ATTRIBUTE}
    name = NAME_ATTRIBUTE[kind]
    out = dict(matches)
    for obj in declared:
        match = out.get(obj.key)
        if match is None or match.error is not None:
            continue
        if match.resource is None:
            found = _found(patterns, _values(obj))
        else:
            found = _passed_over(match, by_attribute, name)
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


Patterns = dict[str, list[tuple[re.Pattern[str], str, str]]]


def _passed_over(
    match: Match, by_attribute: Mapping[str, Patterns], name: str
) -> tuple[str, str] | None:
    """A masked resource that may hold a value `match` tried, on the attribute it tried
    (a former name: on the name attribute); or None."""
    for attempt in match.attempts:
        attribute = name if attempt.attribute.startswith("previously") else attempt.attribute
        if attempt.value is not None and attribute in by_attribute:
            found = _found(by_attribute[attribute], [attempt.value])
            if found is not None:
                return found
    return None


def _patterns(
    resources: list[Resource], strings: Callable[[Mapping[str, Json]], list[str]]
) -> Patterns:
    """Each masked name `strings` reads as a pattern (the mask: any text), indexed by what
    precedes it."""
    out: Patterns = defaultdict(list)
    for resource in resources:
        for value in strings(resource.body):
            if MASKED not in value:
                continue
            # Folded as `skeleton` folds (case, NFKC, accents, invisible characters), looser
            # than matching's `normalise`: a name matching would take for the object's fits.
            parts = skeleton(value).split(MASKED)
            pattern = re.compile(".+".join(map(re.escape, parts)), re.DOTALL)
            out[parts[0]].append((pattern, resource.id, value))
    return out


def _found(
    patterns: Mapping[str, list[tuple[re.Pattern[str], str, str]]], values: Iterable[str]
) -> tuple[str, str] | None:
    for value in values:
        folded = skeleton(value)
        for end in range(len(folded) + 1):
            for pattern, rid, masked in patterns.get(folded[:end], ()):
                if pattern.fullmatch(folded):
                    return rid, masked
    return None


def _values(obj: Declared) -> list[str]:
    """Every name the object may be found by: its key, its former names, its attributes."""
    return [obj.key, *obj.previously, *_strings(obj.attrs, _READ_DECLARED)]


def _strings(body: Mapping[str, Json], readers: tuple[A.Reader, ...] = _READ_BODY) -> list[str]:
    """The names a matching attribute may hold: userName, displayName, externalId, the
    enterprise employeeNumber, emails."""
    out = [v for v in (read(body) for read in readers) if isinstance(v, str)]
    return out + email_values(body.get("emails"))
