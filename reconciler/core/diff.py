"""Compares declared attributes with an observed resource, on a canonical form of each value."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from reconciler.core import attributes as A
from reconciler.core.model import Json


@dataclass(frozen=True, slots=True)
class AttrChange:
    """One attribute to change: `before` as observed, `after` as declared (None clears it)."""

    path: str
    before: Json
    after: Json
    # For references (enterprise.manager): the declared user key; `after` is that user's
    # target id, or None until the user is created in this run.
    ref: str | None = None


def is_empty(value: Json) -> bool:
    """Absent, null, an empty string and an empty list or mapping all mean "no value"."""
    return value is None or value in ("", [], {})


def _element(path: str, item: Json, keys: frozenset[str]) -> tuple[tuple[str, Json], ...]:
    if not A.is_mapping(item):
        return (("value", _folded(path, "value", item)),)
    # `primary: false` and an absent `primary` mean the same (RFC 7643 §2.4).
    return tuple(
        sorted(
            (k, _folded(path, k, v))
            for k, v in item.items()
            if k in keys and v is not None and not (k == "primary" and v is False)
        )
    )


def _folded(path: str, key: str, value: Json) -> Json:
    """A sub-attribute's value as compared: text of one that is caseExact=false in RFC
    7643 §8.7.1 (every `type`, and the CASE_INSENSITIVE ones such as `emails.value`)
    case-folded, since targets store it as they like ("Work", a lower-cased address)."""
    if isinstance(value, str) and (key == "type" or f"{path}.{key}" in A.CASE_INSENSITIVE):
        return value.casefold()
    return value


def _multi_equal(path: str, declared: Json, observed: Json) -> bool:
    """Multi-valued attributes compare as sets, on the sub-attributes the spec declares."""
    declared = declared or []
    observed = observed or []
    if not isinstance(observed, list):
        return False
    keys = frozenset(k for item in declared if A.is_mapping(item) for k in item)
    mine = sorted(_element(path, i, keys) for i in declared)
    theirs = sorted(_element(path, i, keys) for i in observed)
    return mine == theirs


def equal(path: str, declared: Json, observed: Json) -> bool:
    if is_empty(declared) and is_empty(observed):
        return True
    if path in A.USER_MULTI:
        return _multi_equal(path, declared, observed)
    if path in A.CASE_INSENSITIVE and isinstance(declared, str) and isinstance(observed, str):
        return declared.casefold() == observed.casefold()
    return bool(declared == observed) and type(declared) is type(observed)


def diff_attributes(
    declared: Mapping[str, Json],
    observed: Mapping[str, Json],
    resolve: Callable[[str, Json], tuple[Json, str | None]] | None = None,
) -> list[AttrChange]:
    """The attributes whose declared value differs from the observed body, in path order.

    `resolve` turns a declared reference (A.REFERENCE_PATHS) into its wire form first (a
    manager's user key into that user's target id, or None while that user does not exist
    yet) and the key.
    Write-only attributes are skipped: their value cannot be read back to compare.
    """
    changes = []
    plain, nested, references = _compared(tuple(declared))
    for path, read in plain:
        want = declared[path]
        have = read(observed)
        if want == have and type(want) is type(have):
            continue  # the common case, cheaply: identical values need no canonical form
        if not equal(path, want, have):
            changes.append(AttrChange(path, have, want))
    for head, parts in nested:
        # One read of the object holding these paths (`name`, the enterprise extension),
        # as A.reader reads each of them: a part of anything but a mapping is absent.
        holder = observed.get(head)
        if type(holder) is not dict and not A.is_mapping(holder):
            holder = _NOTHING
        for path, tail in parts:
            want = declared[path]
            have = holder.get(tail)
            if want == have and type(want) is type(have):
                continue
            if not equal(path, want, have):
                changes.append(AttrChange(path, have, want))
    for path, read in references:
        want, ref = declared[path], None
        if resolve is not None:
            want, ref = resolve(path, want)
        have = read(observed)
        # An identical value is settled, unless it is a reference to a user not yet
        # created (None), whose id the write must wait for.
        if want == have and type(want) is type(have) and (ref is None or want is not None):
            continue
        if (ref is not None and want is None) or not equal(path, want, have):
            changes.append(AttrChange(path, have, want, ref))
    if (nested or references) and len(changes) > 1:
        changes.sort(key=lambda change: change.path)  # in path order, as documented
    return changes


Compared = tuple[tuple[str, A.Reader], ...]
# Paths read from one object within the body: its key, then each path with its key there.
Nested = tuple[tuple[str, tuple[tuple[str, str], ...]], ...]
_NOTHING: Mapping[str, Json] = {}


@functools.lru_cache(maxsize=1024)
def _compared(paths: tuple[str, ...]) -> tuple[Compared, Nested, Compared]:
    """The paths to compare, in order, each with its reader: plain values, those within
    an object of the body (by that object), then references; decided once for each set
    of declared paths (most users of a spec share one)."""
    kept = [path for path in sorted(paths) if path not in A.SECRET_PATHS]
    values = [path for path in kept if path not in A.REFERENCE_PATHS]
    within: dict[str, list[tuple[str, str]]] = {}
    for path in values:
        where = A.nested_at(path)
        if where is not None:
            within.setdefault(where[0], []).append((path, where[1]))
    return (
        tuple((path, A.reader(path)) for path in values if A.nested_at(path) is None),
        tuple((head, tuple(parts)) for head, parts in within.items()),
        tuple((path, A.reader(path)) for path in kept if path in A.REFERENCE_PATHS),
    )
