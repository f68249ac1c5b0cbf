"""The RFC spelling of the names scimrec reads, whatever case a target writes them in
(RFC 7643 §2.1: attribute names are case-insensitive).

Two readers use it: scim/messages.py gives a whole answer its RFC spelling as it arrives,
where a name in another case shows in the places it looks (every resource's own names and
`meta`, the first resource throughout); core/shape.py does the same for a resource whose
nested names alone are spelled another way, which it finds at no cost to any other
resource (user_shape.py refuses an undeclared key). Read by their exact names, such a
user's `emails` would hold no `value`: it would match no one, and pass for an undeclared
account to deprovision.
"""

from __future__ import annotations

from collections.abc import Set

from reconciler.core import attributes as A
from reconciler.core.model import Json

# RFC 7644 §3.4.2 (ListResponse), RFC 9865 (cursors), §3.7 (BulkResponse).
MESSAGE = (
    "Resources",
    "totalResults",
    "startIndex",
    "itemsPerPage",
    "nextCursor",
    "previousCursor",
    "Operations",
)
_NAMES = (
    *MESSAGE,
    # RFC 7643 §3.1 and §4: common, User, Group and enterprise attributes.
    *("id", "externalId", "meta", "schemas", "name", "members", "groups", "password"),
    *A.USER_SIMPLE,
    *A.USER_MULTI,
    *A.NAME_PARTS,
    *{sub for subs in A.USER_MULTI.values() for sub in subs},
    *("$ref", "display"),
    *A.ENTERPRISE,
    *("resourceType", "created", "lastModified", "location", "version"),
    # RFC 7644 §3.7.3: a BulkResponse operation.
    *("method", "bulkId", "path", "status", "response"),
)
SPELLING = {name.casefold(): name for name in _NAMES}
_CANONICAL = frozenset(_NAMES)


def odd_names(names: Set[str]) -> bool:
    """Whether any of `names` is one scimrec reads, in another case."""
    return any(k.casefold() in SPELLING for k in names - _CANONICAL)


def odd_within(value: Json) -> bool:
    """Whether any object within `value`, itself included, has a name in another case."""
    if isinstance(value, list):
        return any(odd_within(item) for item in value)
    if not isinstance(value, dict):
        return False
    return odd_names(value.keys()) or any(odd_within(item) for item in value.values())


def respelled(value: Json) -> Json:
    """`value` with each name scimrec reads in its RFC spelling, where that spelling is not
    held beside it (`value` and `Value` in one object: `value` is read, `Value` kept)."""
    if isinstance(value, list):
        return [respelled(item) for item in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Json] = {}
    for key, item in value.items():
        name = SPELLING.get(key.casefold()) or key
        out[key if name in value and name != key else name] = respelled(item)
    return out


def misspelled(value: Json, path: str = "") -> str | None:
    """The path of the first name within `value` that `respelled` would give another
    spelling (`emails[0].Value`), or None: read as it is, the value it names is missed."""
    if isinstance(value, list):
        items = enumerate(value)
        return next(
            (f for i, item in items if (f := misspelled(item, f"{path}[{i}]")) is not None), None
        )
    if not isinstance(value, dict):
        return None
    for key, item in value.items():
        where = f"{path}.{key}" if path else key
        name = SPELLING.get(key.casefold())
        if name is not None and name != key and name not in value:
            return where
        found = misspelled(item, where)
        if found is not None:
            return found
    return None
