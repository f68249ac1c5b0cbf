"""The RFC spelling of the names scimrec reads, whatever case a target writes them in
(RFC 7643 §2.1: attribute names are case-insensitive).

A name is respelled only where the RFC puts it: `Value` within an email, a member or a
manager, `Location` within `meta`, `Department` within the enterprise extension, never
within an extension of the target's own (whose `Location` is a name of its own, read as
the spec writes it) nor at a place scimrec does not read. Only ASCII names are folded:
RFC names are ASCII, and `str.casefold` reads `email\u017f` (a long s) as `emails`. A name held
in two spellings neither of which is the RFC's (`Value` and `VALUE`) is not respelled:
which one the target meant cannot be told, and `misspelled` names it, so the object is
in error. Beside its RFC spelling, another is kept as it is and the RFC one read.

Three readers use it: scim/messages.py gives a whole answer its RFC spelling as it
arrives, where a name in another case shows in the places it looks; core/shape.py and
scim/sharing.py do the same for a listed user, or a group's member entries, whose nested
names alone are spelled another way, found at no cost to the rest (user_shape.py
refuses an undeclared name; memberlist.py counts each entry's names). Read by its exact
names, such a user's `emails` holds no `value`: it matches no one, and passes for an
undeclared account to deprovision.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass, field
from typing import cast

from reconciler.core import attributes as A
from reconciler.core.model import ENTERPRISE_URN, Json, Resource

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


@dataclass(frozen=True)
class Place:
    """Where names can stand: the names the RFC gives there, by their lower case, and the
    place within the value of each (a list's items included)."""

    spelling: Mapping[str, str]
    below: Mapping[str, Place] = field(default_factory=dict)
    canonical: frozenset[str] = frozenset()

    @staticmethod
    def of(names: Iterable[str], below: Mapping[str, Place] | None = None) -> Place:
        names = tuple(names)
        return Place({n.lower(): n for n in names}, below or {}, frozenset(names))


META = Place.of(("resourceType", "created", "lastModified", "location", "version"))
MEMBER = Place.of(("value", "$ref", "display", "type"))
_MANAGER = Place.of(("value", "$ref", "displayName"))
_ENTERPRISE = Place.of(A.ENTERPRISE, {"manager": _MANAGER})
RESOURCE = Place.of(
    (
        *("id", "externalId", "meta", "schemas", "name", "members", "groups", "password"),
        *A.USER_SIMPLE,
        *A.GROUP_SIMPLE,
        *A.USER_MULTI,
        ENTERPRISE_URN,
    ),
    {
        "meta": META,
        "name": Place.of(A.NAME_PARTS),
        ENTERPRISE_URN: _ENTERPRISE,
        "members": MEMBER,
        "groups": MEMBER,
        **{path: Place.of((*subs, "$ref")) for path, subs in A.USER_MULTI.items()},
    },
)
# A listed resource: one of those above, or a schema (RFC 7643 §7, for /Schemas) with
# its attributes. One answer, or a Bulk operation's `response`: that, or an error (RFC
# 7644 §3.12).
_ATTRIBUTES = Place.of(("name", "type", "multiValued", "subAttributes"))
LISTED = Place(
    {**RESOURCE.spelling, "attributes": "attributes"},
    {**RESOURCE.below, "attributes": _ATTRIBUTES},
    RESOURCE.canonical | {"attributes"},
)
_ERROR = Place.of(("status", "detail", "scimType"))
ANSWER = Place(
    {**LISTED.spelling, **_ERROR.spelling}, LISTED.below, LISTED.canonical | _ERROR.canonical
)
# RFC 7644 §3.7.3: a BulkResponse operation.
_OPERATION = Place.of(
    ("method", "bulkId", "path", "status", "response", "location", "version"),
    {"response": ANSWER},
)
_LISTING = Place.of(("schemas", *MESSAGE), {"Resources": LISTED, "Operations": _OPERATION})
# RFC 7643 §5, RFC 9865 §4: what the ServiceProviderConfig says a target supports.
_FEATURE = Place.of(("supported", "maxOperations", "maxPayloadSize", "maxResults"))
_PAGINATION = Place.of(
    ("cursor", "index", "defaultPaginationMethod", "defaultPageSize", "maxPageSize")
)
_FEATURES = ("patch", "bulk", "filter", "changePassword", "sort", "etag")
_CONFIG = Place.of(
    (*_FEATURES, "pagination", "authenticationSchemes"),
    {**dict.fromkeys(_FEATURES, _FEATURE), "pagination": _PAGINATION},
)
# The top of an answer: a listing, one resource, an error, or the ServiceProviderConfig.
TOP = Place(
    {**ANSWER.spelling, **_LISTING.spelling, **_CONFIG.spelling},
    {**ANSWER.below, **_LISTING.below, **_CONFIG.below},
    ANSWER.canonical | _LISTING.canonical | _CONFIG.canonical,
)


def odd_names(names: Set[str], place: Place = RESOURCE) -> bool:
    """Whether any of `names`, at `place`, is one the RFC spells otherwise there."""
    spelling = place.spelling
    return any(k.isascii() and k.lower() in spelling for k in names - place.canonical)


def _renames(value: Mapping[str, Json], place: Place) -> tuple[dict[str, str], str | None]:
    """Each name of `value` to give its RFC spelling, and the first one held in two other
    spellings (neither is respelled: which the target meant cannot be told), or beside
    its RFC spelling holding null (`value: null` and `Value: x`: read as the RFC's, the
    address would be none, and the account pass for an undeclared one)."""
    held: dict[str, list[str]] = {}
    blank: str | None = None
    for key in value:
        if key in place.canonical or not key.isascii():
            continue
        name = place.spelling.get(key.lower())
        if name is None:
            continue
        if name not in value:
            held.setdefault(name, []).append(key)
        elif value[name] is None and value[key] is not None:
            blank = blank or key
    chosen = {keys[0]: name for name, keys in held.items() if len(keys) == 1}
    twice = next((keys[1] for keys in held.values() if len(keys) > 1), blank)
    return chosen, twice


def held_twice(value: Json, place: Place = RESOURCE) -> str | None:
    """The first name of `value` itself (not within it) held in two spellings other than
    the RFC's, which `respelled` leaves: read as neither, its value would be missed."""
    return _renames(value, place)[1] if isinstance(value, dict) else None


def respelled(value: Json, place: Place = RESOURCE) -> Json:
    """`value`, read at `place`, with each name in its RFC spelling; the same object where
    nothing is respelled."""
    if isinstance(value, list):
        items = [respelled(item, place) for item in value]
        return value if all(map(_same, items, value)) else items
    if not isinstance(value, dict):
        return value
    renames, _ = _renames(value, place)
    out: dict[str, Json] = {}
    changed = bool(renames)
    for key, item in value.items():
        name: str = renames.get(key) or key
        below = place.below.get(name)
        out[name] = item if below is None else respelled(item, below)
        changed = changed or out[name] is not item
    return out if changed else value


def resource_respelled(found: Resource) -> Resource:
    """`found` with its body respelled as a resource's; the same Resource where nothing
    is, for the readers that meet a listed body before anything respelled it."""
    body = respelled(cast(Json, found.body))
    if body is found.body:
        return found
    return dataclasses.replace(found, body=cast(dict[str, Json], body))


def _same(a: Json, b: Json) -> bool:
    return a is b


def misspelled(value: Json, place: Place = RESOURCE, path: str = "") -> str | None:
    """Where, within `value` read at `place`, a name stands that the RFC spells otherwise
    (`emails[0].Value`), or one is held in two other spellings; None where neither."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = misspelled(item, place, f"{path}[{index}]")
            if found is not None:
                return found
        return None
    if not isinstance(value, dict):
        return None
    renames, twice = _renames(value, place)
    for key, item in value.items():
        where = f"{path}.{key}" if path else key
        if key in renames or key == twice:
            return where
        below = place.below.get(key)
        found = None if below is None else misspelled(item, below, where)
        if found is not None:
            return found
    return None
