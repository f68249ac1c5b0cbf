"""Write-only attributes shown as a mask: the one place a value of a planned or written
attribute passes on its way to any output (the plan's JSON form, so its renderers and plan
files; `plan --explain`; the audit log).

Write-only means `password` (RFC 7643 §4.1.1, returned: never) and what the target's
/Schemas marks `mutability: writeOnly` or `returned: never` (an initial password, a PIN),
given as flat spec paths, casefolded (`urn:...:user:initialpassword`, RFC 7643 §2.1): its
value is never shown.
"""

from __future__ import annotations

import json
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
    return _masked_body(body, _hidden(secret), [])


def sent_secrets(body: Json, secret: AbstractSet[str] = A.SECRET_PATHS) -> set[str]:
    """The texts a target could echo of the write-only values `body` carries (the very
    values `mask_body` masks): a string as it is, a number as its JSON text, and each
    string or number within a list or an object so held. A boolean is left out: masking
    `true` would garble every JSON text shown, and hide nothing (it can only be the
    other)."""
    found: list[Json] = []
    _masked_body(body, _hidden(secret), found)
    return {text for value in found for text in _texts(value)}


def _texts(value: Json) -> list[str]:
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, int | float):
        return [json.dumps(value)]
    items = value.values() if isinstance(value, dict) else value
    return [text for item in items for text in _texts(item)]


def _hidden(secret: AbstractSet[str]) -> _Hidden:
    tops: set[str] = set()
    nested: dict[str, set[str]] = {}
    for path in secret | A.SECRET_PATHS:
        where = A.nested_at(path)
        if where is None:
            tops.add(path.casefold())
        else:
            nested.setdefault(where[0].casefold(), set()).add(where[1].casefold())
    paths = {A.scim_path(p).casefold() for p in secret | A.SECRET_PATHS}
    return _Hidden(frozenset(tops), nested, frozenset(paths))


@dataclass(frozen=True)
class _Hidden:
    tops: frozenset[str]  # top-level names
    nested: Mapping[str, set[str]]  # names within an object, by the name of that object
    paths: frozenset[str]  # PATCH paths


def _masked_body(value: Json, hidden: _Hidden, found: list[Json]) -> Json:
    """`value` masked as `mask_body` masks it; each value masked is added to `found`."""
    if isinstance(value, list):
        return [_masked_body(v, hidden, found) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Json] = {}
    # A PATCH operation's path ("" for any other object), for its `value`.
    op_path = value.get("path")
    op = op_path.casefold() if isinstance(op_path, str) else ""
    for key, item in value.items():
        name = key.casefold()
        if name in hidden.tops and item is not None:
            out[key] = _mask(item, found)
        elif name in hidden.nested and isinstance(item, dict):
            out[key] = _masked_within(item, hidden.nested[name], hidden, found)
        elif name == "value" and op in hidden.paths and item is not None:
            out[key] = _mask(item, found)
        elif name == "value" and op in hidden.nested and isinstance(item, dict):
            out[key] = _masked_within(item, hidden.nested[op], hidden, found)
        else:
            out[key] = _masked_body(item, hidden, found)
    return out


def _masked_within(
    holder: dict[str, Json], names: set[str], hidden: _Hidden, found: list[Json]
) -> Json:
    return {
        k: _mask(v, found)
        if k.casefold() in names and v is not None
        else _masked_body(v, hidden, found)
        for k, v in holder.items()
    }


def _mask(value: Json, found: list[Json]) -> str:
    found.append(value)
    return MASK
