"""Whether a resource the target returned has the shape scimrec reads (RFC 7643 §4).

Target data is input like any other: a user whose `emails` holds a null, a group whose
`members` is a mapping, a userName that is a number, text that is not Unicode, a number
past a double. Such an object becomes one object in error, named with the offending path;
every other object goes on (DESIGN §6), and nothing is written to it or decided from it.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from itertools import repeat
from typing import cast

from reconciler.core import attributes as A
from reconciler.core import spelling, user_shape
from reconciler.core.match import Match
from reconciler.core.memberlist import PlainMembers
from reconciler.core.model import (
    ENTERPRISE_URN,
    GROUP_SCHEMA,
    MASKED,
    USER_SCHEMA,
    Json,
    Kind,
    Observed,
    Resource,
)

_SCALAR = (str, int, float, bool)
# Each simple User attribute with the Python type its JSON value must have, in A's order.
_USER_SIMPLE_TYPES = tuple(
    (path, bool if kind == A.BOOLEAN else str)
    for path, kind in A.USER_SIMPLE.items()
    if kind in (A.BOOLEAN, A.STRING)
)
_SURROGATE = "expected Unicode text, got a lone surrogate"
# Each name `_masked` reads of a user, with its reader (emails are read whole, below).
_MASKABLE_USER = tuple(
    (path, A.reader(path)) for path in ("id", *A.USER_MATCHABLE) if path != "emails.value"
)
_MASKABLE_GROUP = tuple((path, A.reader(path)) for path in ("id", *A.GROUP_MATCHABLE))


def shaped(observed: Observed) -> Observed:
    """The observed state with every unreadable resource marked (Resource.problem)."""
    checked, unmasked = observed.representable, observed.unmasked
    users = _marked(Kind.USER, clashing(observed.users), checked, unmasked)
    groups = _marked(Kind.GROUP, clashing(observed.groups), checked, unmasked)
    if users is observed.users and groups is observed.groups:
        return observed
    return dataclasses.replace(observed, users=users, groups=groups)


def unreadable(kind: Kind, match: Match) -> Match:
    """A match onto an unreadable resource is a failed match: the object is in error, and
    the resource stays shielded from prune as a failed match's candidates are."""
    found = match.resource
    if found is None or found.problem is None:
        return match
    message = f"the target's {kind.value} {found.id} cannot be read: {found.problem}"
    return Match(None, match.matched_on, match.attempts, message)


def clashing(resources: tuple[Resource, ...]) -> tuple[Resource, ...]:
    """`resources` with each id the target gave to more than one object marked: one id
    read with different content (pages that overlap while the target changes, lookups
    answered differently), or ids that differ only in case or surrounding whitespace,
    which a target comparing ids so takes for one (GUIDs in a case-insensitive column).
    Which copy is the account is a guess, and the wrong guess disables a declared
    person's account as an undeclared one: every copy is in error instead. Copies that
    are equal are one resource."""
    keys = [r.id.strip().casefold() for r in resources]
    if len(set(keys)) == len(keys):
        return resources
    alike: dict[str, list[Resource]] = {}
    for key, resource in zip(keys, resources, strict=True):
        alike.setdefault(key, []).append(resource)
    out: list[Resource] = []
    for key, resource in zip(keys, resources, strict=True):
        copies = alike[key]
        if all(c.id == resource.id and c.body == resource.body for c in copies):
            if resource is copies[0]:
                out.append(resource)
            continue
        others = sorted({c.id for c in copies if c.id != resource.id})
        if others:
            found = (
                "id: differs only in case or surrounding whitespace from id "
                f"{', '.join(A.quote(o) for o in others)}, another object the target lists"
            )
        else:
            found = "id: listed twice with different content; nothing is decided from either"
        out.append(dataclasses.replace(resource, problem=resource.problem or found))
    return tuple(out)


def _marked(
    kind: Kind, resources: tuple[Resource, ...], representable: bool, unmasked: bool
) -> tuple[Resource, ...]:
    out: list[Resource] | None = None
    for index, read in enumerate(resources):
        resource, found = _judged(kind, read, representable, unmasked)
        if out is None and (found is not None or resource is not read):
            out = list(resources[:index])
        if out is not None:
            out.append(resource if found is None else dataclasses.replace(resource, problem=found))
    return resources if out is None else tuple(out)


def _judged(
    kind: Kind, resource: Resource, representable: bool, unmasked: bool
) -> tuple[Resource, str | None]:
    """The resource as a plan reads it, and its problem or None."""
    found = _other_kind(kind, resource) or problem(
        kind, resource.body, representable=representable, unmasked=unmasked
    )
    if found is None or spelling.misspelled(cast(Json, resource.body)) is None:
        return resource, found
    # Its nested names in another case than the rest of its listing (scim/messages.py
    # looked there): read in their RFC spelling, it is judged again. Found only where a
    # problem was, at no cost to the others (user_shape.py refuses an undeclared name).
    resource = spelling.resource_respelled(resource)
    return resource, _other_kind(kind, resource) or problem(
        kind, resource.body, representable=representable, unmasked=unmasked
    )


# What each kind is called in `meta.resourceType`, and its core schema (RFC 7643 §3.1).
_NAMED = {Kind.USER: ("user", USER_SCHEMA), Kind.GROUP: ("group", GROUP_SCHEMA)}


def _other_kind(kind: Kind, resource: Resource) -> str | None:
    """Whether a resource says it is of the other kind than it was read as: its
    `meta.resourceType`, or schemas naming the other core schema and not its own. A group
    a /Users listing shows, read as a user, is an undeclared account that prune disables,
    through a path the target may resolve to the group, or to a user sharing its id."""
    other = Kind.GROUP if kind is Kind.USER else Kind.USER
    name, schema = _NAMED[other]
    said = resource.resource_type
    if isinstance(said, str) and said.strip().casefold() in (name, name + "s"):
        return f"meta.resourceType: says {other.value.title()}, read as a {kind.value}"
    schemas = resource.body.get("schemas")
    if isinstance(schemas, list) and schema in schemas and _NAMED[kind][1] not in schemas:
        return f"schemas: names the {other.value.title()} schema, read as a {kind.value}"
    return None


def problem(
    kind: Kind, body: Mapping[str, Json], *, representable: bool = False, unmasked: bool = False
) -> str | None:
    """The first unreadable part of a resource body, as `path: what was found`; or None.

    The path can hold names the target made up (`x\\ud800: ...`): each lone surrogate in
    it is written as its escape, so the message is text every output can take.
    `representable`: the reply it came from was proven to hold no value `_not_representable`
    finds (scim/payload.py), so that walk is skipped. `unmasked`: no secret was masked in
    the reply it came from (scim/client.py Reply.masked), so nothing is looked for."""
    found = _user(body) if kind is Kind.USER else _group(body)
    if found is None and not unmasked:
        found = _masked(kind, body)
    if found is None and not representable:
        found = _not_representable(body)
    return None if found is None else found.encode("utf-8", "backslashreplace").decode()


def _masked(kind: Kind, body: Mapping[str, Json]) -> str | None:
    """A name, id or key a secret of the run was masked in as it arrived (a password that
    is also part of every userName, a token a target echoes): read so, the object is not
    the one the target holds, and would pass for an undeclared one, to be deprovisioned,
    or keep a declared one from matching. It is in error instead, decided from nothing."""
    # The id, and every attribute a spec may match on (A.USER_MATCHABLE: a displayName or
    # employeeNumber read masked matches no one, and the account passed for undeclared).
    keys = _MASKABLE_USER if kind is Kind.USER else _MASKABLE_GROUP
    for key, read in keys:
        value = read(body)
        if isinstance(value, str) and MASKED in value:
            return f"{key}: holds a secret of this run, masked in what the target sent"
    # The values of a user's emails, and of a group's members: a member id read masked
    # would be looked up, found by no one, and removed by a value the target does not hold.
    listed = "emails" if kind is Kind.USER else "members"
    items = body.get(listed)
    if items.__class__ is PlainMembers:  # each value a string: asked in C
        shown = any(map(str.__contains__, items.values, repeat(MASKED)))
    else:
        values = (
            [i.get("value") for i in items if isinstance(i, dict)]
            if isinstance(items, list)
            else []
        )
        shown = any(isinstance(v, str) and MASKED in v for v in values)
    if shown:
        return f"{listed}: holds a secret of this run, masked in what the target sent"
    return None


def multi_valued(path: str, value: Json) -> str | None:
    """Whether one multi-valued attribute's value (`emails`) is a list of objects of
    strings, which comparisons read as a set: its problem, or None. For answers read
    after a write, which are compared attribute by attribute (scim/apply/verify.py)."""
    return _multi(path, value) if path in A.USER_MULTI else None


def _user(body: Mapping[str, Json]) -> str | None:
    if body.__class__ is dict and user_shape.fits(cast(dict[str, Json], body)):
        return None  # decided in C: `_user_walk` can find no problem in it
    return _user_walk(body)


def _user_walk(body: Mapping[str, Json]) -> str | None:
    name = body.get("userName")
    if not isinstance(name, str) or not name:
        return f"userName: expected a non-empty string, got {_what(name)}"
    for path, kind in _USER_SIMPLE_TYPES:
        value = body.get(path)
        if value is None or value.__class__ is kind:  # what JSON gives: decided at once
            continue
        if kind is bool and not isinstance(value, bool):
            return f"{path}: expected true or false, got {_what(value)}"
        if kind is str and not isinstance(value, str):
            return f"{path}: expected a string, got {_what(value)}"
    # Absent attributes (most of the eight multi-valued ones) cost no call.
    if (value := body.get("name")) is not None and (found := _complex("name", value)):
        return found
    for path in A.USER_MULTI:
        if (value := body.get(path)) is not None and (found := _multi(path, value)):
            return found
    extension = body.get(ENTERPRISE_URN)
    if extension is not None:
        if not A.is_mapping(extension):
            return f"enterprise: expected an object, got {_what(extension)}"
        for key, value in extension.items():
            if key == "manager":
                # Some targets send the id alone; an object's parts (value, $ref,
                # displayName) are strings, its value the id import looks users up by.
                if A.is_mapping(value):
                    found = _complex("enterprise.manager", value)
                    if found:
                        return found
                elif value is not None and not isinstance(value, str):
                    return f"enterprise.manager: expected an object, got {_what(value)}"
            elif value is not None and not isinstance(value, _SCALAR):
                return f"enterprise.{key}: expected a string, got {_what(value)}"
    return _misspelled(body)


def _group(body: Mapping[str, Json]) -> str | None:
    name = body.get("displayName")
    if not isinstance(name, str) or not name:
        return f"displayName: expected a non-empty string, got {_what(name)}"
    external = body.get("externalId")
    if external is not None and not isinstance(external, str):
        return f"externalId: expected a string, got {_what(external)}"
    members = body.get("members")
    if members is None or members.__class__ is PlainMembers:
        return None  # every entry an object with a non-empty string id: decided as read
    if not isinstance(members, list):
        return f"members: expected a list, got {_what(members)}"
    for index, member in enumerate(members):
        if type(member) is dict and (value := member.get("value")).__class__ is str and value:
            continue  # nearly every member: an object with a non-empty string id
        if not A.is_mapping(member):
            return f"members[{index}]: expected an object, got {_what(member)}"
        value = member.get("value")
        if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
            return (
                _misspelled(body) or f"members[{index}].value: expected an id, got {_what(value)}"
            )
    return _misspelled(body)


def _misspelled(body: Mapping[str, Json]) -> str | None:
    """A name read in its RFC spelling only, held in another case (`emails[0].Value`):
    read as it is, its value is missed (a user matching no one passes for an undeclared
    account). `_marked` reads such a body respelled; any other reader refuses it."""
    where = spelling.misspelled(cast(Json, body))
    if where is None:
        return None
    return f"{where}: a name scimrec reads, in a spelling other than the RFC's (or in two)"


def _complex(path: str, value: Json) -> str | None:
    if value is None:
        return None
    if not A.is_mapping(value):
        return f"{path}: expected an object, got {_what(value)}"
    for key, part in value.items():
        if part is not None and not isinstance(part, _SCALAR):
            return f"{path}.{key}: expected a string, got {_what(part)}"
    return None


def _multi(path: str, value: Json) -> str | None:
    if value is None:
        return None
    if not isinstance(value, list):
        return f"{path}: expected a list, got {_what(value)}"
    for index, item in enumerate(value):
        if not A.is_mapping(item):
            return f"{path}[{index}]: expected an object, got {_what(item)}"
        for key, part in item.items():
            if key == "primary" and part is not None and not isinstance(part, bool):
                return f"{path}[{index}].primary: expected true or false, got {_what(part)}"
            # Sub-attributes are strings (RFC 7643 §2.4): values of mixed types cannot be
            # compared as the sets multi-valued attributes are.
            if key != "primary" and part is not None and not isinstance(part, str):
                return f"{path}[{index}].{key}: expected a string, got {_what(part)}"
    return None


def _not_representable(body: Mapping[str, Json]) -> str | None:
    """The first value anywhere in the body (a key or a value, read or not) that no other
    side can hold: text that is not Unicode (a lone UTF-16 surrogate, which JSON's
    `\\ud800` escape can carry; no UTF-8 holds one, so no URL, header, file or terminal),
    or a number past what a double holds (`1e400` reads as infinity, which JSON cannot
    write back). Nothing is decided from such an object, rather than each of those
    failing later."""
    try:  # one pass in C, for most bodies; UnicodeEncodeError is a ValueError too
        json.dumps(body, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except ValueError:
        return _unrepresentable(body, "")
    return None


def _unrepresentable(value: Json, path: str) -> str | None:
    if isinstance(value, str):
        return None if _encodable(value) else f"{path}: {_SURROGATE}"
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{path}: expected a number, got one out of range"
    if isinstance(value, Mapping):
        children = [(f"{path}.{k}" if path else str(k), v) for k, v in value.items()]
    elif isinstance(value, list):
        children = [(f"{path}[{i}]", v) for i, v in enumerate(value)]
    else:
        return None
    for where, item in children:
        if not _encodable(where):
            return f"{where}: {_SURROGATE} in a name"
        found = _unrepresentable(item, where)
        if found is not None:
            return found
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _what(value: Json) -> str:
    """What was found, short and safe to print: a type, or a short literal."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "an empty string" if not value else "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__
