"""Write-only attributes shown as a mask: the one place a value of a planned or written
attribute passes on its way to any output (the plan's JSON form, so its renderers and plan
files; `plan --explain`; the audit log).

Write-only means `password` (RFC 7643 §4.1.1, returned: never) and what the target's
/Schemas marks `mutability: writeOnly` or `returned: never` (an initial password, a PIN),
given as flat spec paths, casefolded (`urn:...:user:initialpassword`, RFC 7643 §2.1): its
value is never shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from reconciler.core import attributes as A
from reconciler.core.model import Json

MASK = "(sensitive)"


def mask_attribute(path: str, value: Json, secret: AbstractSet[str] = A.SECRET_PATHS) -> Json:
    """Write-only attributes (passwords, and the flat paths in `secret`) are shown as a
    mask, never as their value."""
    if value is not None and write_only(path, secret):
        return MASK
    return value


def write_only(path: str, secret: AbstractSet[str] = A.SECRET_PATHS) -> bool:
    """Whether `path` is `password` or in `secret` (casefolded paths), in any case."""
    folded = path.casefold()
    return folded in secret or folded in A.SECRET_PATHS


def mask_body(body: Json, secret: AbstractSet[str] = A.SECRET_PATHS) -> Json:
    """A write's body as shown (`plan --explain`): every write-only attribute's value
    masked, in any case (RFC 7643 §2.1), wherever a body can carry it: at the top of a
    resource or in its extension's object (a POST or PUT body, a Bulk operation's `data`,
    a PATCH value without a path), or as the value of a PATCH operation whose path names
    it (RFC 7644 §3.5.2)."""
    tops: set[str] = set()
    nested: dict[str, set[str]] = {}
    for path in secret | A.SECRET_PATHS:
        where = A.nested_at(path)
        if where is None:
            tops.add(path.casefold())
        else:
            nested.setdefault(where[0].casefold(), set()).add(where[1].casefold())
    paths = {A.scim_path(p).casefold() for p in secret | A.SECRET_PATHS}
    return _masked_body(body, _Hidden(frozenset(tops), nested, frozenset(paths)))


@dataclass(frozen=True)
class _Hidden:
    tops: frozenset[str]  # top-level names
    nested: Mapping[str, set[str]]  # names within an object, by the name of that object
    paths: frozenset[str]  # PATCH paths


def _masked_body(value: Json, hidden: _Hidden) -> Json:
    if isinstance(value, list):
        return [_masked_body(v, hidden) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Json] = {}
    # A PATCH operation's path ("" for any other object), for its `value`.
    op_path = value.get("path")
    op = op_path.casefold() if isinstance(op_path, str) else ""
    for key, item in value.items():
        name = key.casefold()
        if name in hidden.tops and item is not None:
            out[key] = MASK
        elif name in hidden.nested and isinstance(item, dict):
            out[key] = _masked_within(item, hidden.nested[name], hidden)
        elif name == "value" and op in hidden.paths and item is not None:
            out[key] = MASK
        elif name == "value" and op in hidden.nested and isinstance(item, dict):
            out[key] = _masked_within(item, hidden.nested[op], hidden)
        else:
            out[key] = _masked_body(item, hidden)
    return out


def _masked_within(holder: dict[str, Json], names: set[str], hidden: _Hidden) -> Json:
    return {
        k: MASK if k.casefold() in names and v is not None else _masked_body(v, hidden)
        for k, v in holder.items()
    }
