"""The SCIM attribute vocabulary scimrec accepts (RFC 7643 §4) and how each maps to the wire."""

from __future__ import annotations

import functools
import json
import operator
from collections.abc import Callable, Mapping
from typing import Final, TypeGuard

from reconciler.core.model import ENTERPRISE_URN, Json

STRING: Final = "string"
BOOLEAN: Final = "boolean"
MULTI: Final = "multi"  # multi-valued complex attribute (emails, phoneNumbers, ...)
REFERENCE: Final = "reference"  # names another declared user by key

# RFC 7643 §4.1: singular attributes of the core User schema.
USER_SIMPLE: Final[Mapping[str, str]] = {
    "userName": STRING,
    "externalId": STRING,
    "displayName": STRING,
    "nickName": STRING,
    "profileUrl": STRING,
    "title": STRING,
    "userType": STRING,
    "preferredLanguage": STRING,
    "locale": STRING,
    "timezone": STRING,
    "active": BOOLEAN,
}
NAME_PARTS: Final = (
    "formatted",
    "familyName",
    "givenName",
    "middleName",
    "honorificPrefix",
    "honorificSuffix",
)
# RFC 7643 §4.1.2 / §4.3: multi-valued attributes and the sub-attributes each allows.
_COMMON_SUB: Final = ("value", "display", "type", "primary")
USER_MULTI: Final[Mapping[str, tuple[str, ...]]] = {
    "emails": _COMMON_SUB,
    "phoneNumbers": _COMMON_SUB,
    "ims": _COMMON_SUB,
    "photos": _COMMON_SUB,
    "entitlements": _COMMON_SUB,
    "roles": _COMMON_SUB,
    "x509Certificates": _COMMON_SUB,
    "addresses": (
        "formatted",
        "streetAddress",
        "locality",
        "region",
        "postalCode",
        "country",
        "type",
        "primary",
    ),
}
# RFC 7643 §4.3: the enterprise extension, declared under `enterprise:` in specs.
ENTERPRISE: Final[Mapping[str, str]] = {
    "employeeNumber": STRING,
    "costCenter": STRING,
    "organization": STRING,
    "division": STRING,
    "department": STRING,
    "manager": REFERENCE,
}
GROUP_SIMPLE: Final[Mapping[str, str]] = {"displayName": STRING, "externalId": STRING}
# The flat paths whose declared value names another declared user (a REFERENCE).
REFERENCE_PATHS: Final = frozenset(
    f"enterprise.{k}" for k, v in ENTERPRISE.items() if v == REFERENCE
)

# Write-only attributes (RFC 7643 §7 "returned: never"): never compared, never shown.
SECRET_PATHS: Final = frozenset({"password"})
# Server-owned or read-only: declaring them is a mistake the spec check explains.
READ_ONLY: Final[Mapping[str, str]] = {
    "id": "id is assigned by the target",
    "meta": "meta is owned by the target",
    "groups": "a user's groups are read-only in SCIM; list the user under the group's members",
    "schemas": "schemas are written by scimrec",
    # Specs live in Git, where no password belongs; targets behind SSO need none.
    "password": "passwords are never declared in specs: scimrec does not manage passwords",
}

USER_MATCHABLE: Final = (
    "userName",
    "externalId",
    "displayName",
    "emails.value",
    "enterprise.employeeNumber",
)
GROUP_MATCHABLE: Final = ("displayName", "externalId")

# Compared case-insensitively: the matching key of users. RFC 7643 makes userName
# caseExact=false, and changing only its case is a rename many targets refuse.
CASE_INSENSITIVE: Final = frozenset({"userName", "emails.value"})
# Matching also folds displayName: RFC 7643 §4.2 makes a group's displayName caseExact=false,
# so "ENG" on the target is the declared "Eng" (a case-only rename is still an update).
MATCH_CASE_INSENSITIVE: Final = CASE_INSENSITIVE | {"displayName"}


def kind_of(path: str) -> str | None:
    """The SCIM type of a flat spec path, where scimrec knows it."""
    if path in USER_SIMPLE:
        return USER_SIMPLE[path]
    if path in GROUP_SIMPLE:
        return GROUP_SIMPLE[path]
    if path.startswith("name.") or path.startswith("enterprise."):
        return ENTERPRISE.get(path.removeprefix("enterprise."), STRING)
    if path in USER_MULTI:
        return MULTI
    return None


def boolean_named(text: str) -> bool | None:
    """The Boolean `text` names: "true" or "false" in any case, surrounding spaces ignored
    (what an expression gives, and what some targets keep `active` as); None otherwise."""
    folded = text.strip().casefold()
    return True if folded == "true" else False if folded == "false" else None


def coerce(path: str, value: Json) -> Json:
    """A mapped value in the attribute's SCIM type (RFC 7643 §2.3), or ValueError.

    Expressions yield text ("False" from IIF, "7" from Mid): a Boolean attribute takes
    "true"/"false" in any case as the Boolean, and nothing else; a string attribute takes
    numbers and Booleans as their text, the way Entra's CStr writes them. A Boolean written
    as a string would read as set on many targets, and never compare equal again.
    """
    kind = kind_of(path)
    if kind == BOOLEAN:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and (named := boolean_named(value)) is not None:
            return named
        raise ValueError(f"expected a Boolean (true or false), the mapping gave {value!r}")
    if kind in (STRING, REFERENCE):
        if isinstance(value, bool):
            return "True" if value else "False"
        if isinstance(value, int | float):
            return str(value)
        if not isinstance(value, str):
            raise ValueError(f"expected a string, the mapping gave {value!r}")
        return value
    return value if isinstance(value, bool) or not isinstance(value, int | float) else str(value)


def scim_path(path: str) -> str:
    """The RFC 7644 §3.5.2 PATCH path of a flat spec path."""
    if path == "enterprise":
        return ENTERPRISE_URN
    if path.startswith("enterprise."):
        return f"{ENTERPRISE_URN}:{path.removeprefix('enterprise.')}"
    return path


def split_urn(path: str) -> tuple[str, str] | None:
    """A custom extension attribute's path, `URN:attribute`, as (URN, attribute)."""
    if not path.startswith("urn:"):
        return None
    urn, _, name = path.rpartition(":")
    return urn, name


def is_mapping(value: Json) -> TypeGuard[Mapping[str, Json]]:
    """isinstance(value, Mapping), asked of the dict a JSON body holds first: the ABC's own
    check costs more than the rest of reading an attribute."""
    return type(value) is dict or isinstance(value, Mapping)


def read(body: Mapping[str, Json], path: str) -> Json:
    """The value at a flat spec path in a SCIM resource body, or None when absent."""
    return reader(path)(body)


Reader = Callable[[Mapping[str, Json]], Json]


# Planning reads about ten paths of every observed user; working out which kind of path
# each is cost more than reading it, so each path's reader is decided once (paths come
# from specs: few, but the cache is bounded all the same).
@functools.lru_cache(maxsize=4096)
def reader(path: str) -> Reader:
    """A function reading `path` from a SCIM resource body, as `read` does."""
    return _reader(path)


def _reader(path: str) -> Reader:
    where = nested_at(path)
    if where is not None:
        return _nested(*where)
    if "." not in path and path != "enterprise" and not path.startswith("urn:"):
        # Most paths: a top-level attribute, read without running any Python code.
        return operator.methodcaller("get", path)
    if path == "enterprise":
        return operator.methodcaller("get", ENTERPRISE_URN)
    if path == "enterprise.manager":
        return _manager
    if path == "emails.value":
        return lambda body: primary_value(body.get("emails"))
    return operator.methodcaller("get", path.partition(".")[0])


@functools.lru_cache(maxsize=4096)
def nested_at(path: str) -> tuple[str, str] | None:
    """Where a path read from an object within the body is: the body's key holding that
    object and the key within it (`name.givenName`: `name`, `givenName`; an extension's
    attribute: its URN and name); None for any other path. `reader` reads each such path
    so, and the diff reads one holder once for all of its paths."""
    if "." not in path and path != "enterprise" and not path.startswith("urn:"):
        return None
    extension = split_urn(path)
    if extension is not None:
        return extension
    if path in ("enterprise", "enterprise.manager", "emails.value"):
        return None
    if path.startswith("enterprise."):
        return ENTERPRISE_URN, path.removeprefix("enterprise.")
    head, _, tail = path.partition(".")
    return (head, tail) if tail else None


def _nested(head: str, tail: str) -> Reader:
    def read_nested(body: Mapping[str, Json]) -> Json:
        holder = body.get(head)
        if type(holder) is dict:  # what a JSON body holds: no ABC check needed
            return holder.get(tail)
        return holder.get(tail) if is_mapping(holder) else None

    return read_nested


def _manager(body: Mapping[str, Json]) -> Json:
    ext = body.get(ENTERPRISE_URN)
    value = ext.get("manager") if is_mapping(ext) else None
    return value.get("value") if is_mapping(value) else value


def primary_value(items: Json) -> str | None:
    """The primary element's `value` of a multi-valued attribute, else the first one's."""
    if not isinstance(items, list) or not items:
        return None
    chosen = next((i for i in items if is_mapping(i) and i.get("primary") is True), items[0])
    value = chosen.get("value") if is_mapping(chosen) else None
    return value if isinstance(value, str) else None


def filter_attribute(path: str) -> str:
    """The attribute name to use in a SCIM filter for a matching path (RFC 7644 §3.4.2.2)."""
    return scim_path(path)


def quote(value: str) -> str:
    """A filter string literal: RFC 7644 §3.4.2.2 uses JSON string syntax."""
    return json.dumps(value, ensure_ascii=False)
