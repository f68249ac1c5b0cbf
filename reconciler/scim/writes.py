"""Builds the bodies of SCIM writes from planned changes (pure; RFC 7644 §3.3, §3.5)."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from reconciler.core import attributes as A
from reconciler.core.config import Target
from reconciler.core.diff import AttrChange
from reconciler.core.members import says_group
from reconciler.core.model import (
    ENTERPRISE_URN,
    GROUP_SCHEMA,
    USER_SCHEMA,
    Capabilities,
    Json,
    Kind,
)
from reconciler.errors import ScimProtocolError
from reconciler.scim.member_ops import Refs, member

# Resolved target ids of users created in this run, by user key.
Ids = Mapping[str, str]
# Where each kind of resource lives on a target (RFC 7644 §3.2).
ENDPOINT: Mapping[Kind, str] = {Kind.USER: "/Users", Kind.GROUP: "/Groups"}


def resource_path(endpoint: str, rid: str) -> str:
    """`/Users/<id>` with the id as exactly one path segment (RFC 3986 §3.3).

    An id is the target's data: `../Users/<admin>`, `x?y` or `x#y` as an id must never
    send a write to another resource, so every character that could end or climb out of
    the segment is percent-encoded, dots of a bare `.` or `..` included. An id holding a
    lone UTF-16 surrogate (JSON's `\\ud800` escape) is no Unicode text, so no UTF-8, so
    no URL: that is a ScimProtocolError, the one object's failure, never a crash.
    """
    try:
        segment = quote(rid, safe="")
    except UnicodeEncodeError:
        raise ScimProtocolError(
            f"the target's id {rid!r} is not Unicode text (a lone surrogate): no URL names it"
        ) from None
    if segment in (".", ".."):
        segment = segment.replace(".", "%2E")
    return f"{endpoint}/{segment}"


def id_in_location(location: str, endpoint: str) -> str | None:
    """The id a created resource's Location (or Bulk `location`) names under `endpoint`
    (`/Users`): its last path segment, trailing slashes aside, where the segment before it
    is that endpoint (in any case). None when it names none: a Location of the collection
    (`.../Users`, whose last segment is no id) or of another endpoint (`.../Groups/7` for
    a user) would have the created object's id taken for a word or another object's, and
    written as a member."""
    trimmed = location.split("?", 1)[0].rstrip("/")
    name = endpoint.strip("/").casefold()
    if "/" not in trimmed:  # the id alone, as a few targets send it
        return trimmed if trimmed and trimmed.casefold() not in ENDPOINT_NAMES else None
    parts = trimmed.rsplit("/", 2)
    return parts[-1] if parts[-2].casefold() == name and parts[-1] else None


ENDPOINT_NAMES = frozenset({"users", "groups"})


READ_ONLY_BODY = ("meta", "groups")


@dataclass(frozen=True)
class Dialect:
    """How writes to one target start out: from what it says it supports and its `quirks`.

    Apply starts here and may fall back during the run (a refused PATCH → PUT, a refused
    value-filter path → the whole attribute); `plan --explain` shows these first attempts.
    """

    patch: bool
    etag: bool
    value_paths: bool
    member_removal: str  # "filter" (RFC 7644 §3.5.2.2) or "value" (Entra's value list)
    members_on_create: bool
    # Whether a refused filter-path removal switches to the value list (unless a quirk forces one).
    member_removal_fallback: bool = True
    # The base URL members' `$ref`s are built from, where every member carries one from the
    # first write (quirks: {member_ref: always}); None: none until the target asks.
    member_ref: str | None = None
    # Several creates of a phase go in Bulk requests (RFC 7644 §3.7, apply/bulk.py): the
    # target advertises Bulk and its quirks say `bulk: use`.
    bulk: bool = False
    # The attributes the target's /Schemas marks write-only (Capabilities.write_only): a
    # GET-merge-PUT never sends back what it read of them.
    write_only: frozenset[str] = frozenset()

    @classmethod
    def initial(cls, target: Target, caps: Capabilities) -> Dialect:
        quirks = target.quirks
        return cls(
            patch=caps.patch and quirks.get("patch") != "never",
            etag=caps.etag and quirks.get("etag") != "never",
            value_paths=quirks.get("value_paths") != "never",
            member_removal="value" if quirks.get("member_removal") == "value" else "filter",
            members_on_create=quirks.get("members_on_create") != "never",
            member_removal_fallback=quirks.get("member_removal") not in ("filter", "value"),
            member_ref=target.url if quirks.get("member_ref") == "always" else None,
            bulk=caps.bulk and quirks.get("bulk") == "use",
            write_only=caps.write_only,
        )


def wire_value(change: AttrChange, ids: Ids) -> Json:
    """The value to send for a change; references become `{"value": <target id>}`."""
    if change.ref is not None:
        target_id = change.after if change.after is not None else ids.get(change.ref)
        return None if target_id is None else {"value": target_id}
    return change.after


def unresolved(change: AttrChange, ids: Ids) -> bool:
    return change.ref is not None and wire_value(change, ids) is None


def _set(body: dict[str, Any], path: str, value: Json) -> None:
    if path == "enterprise":
        if value is None:
            body.pop(ENTERPRISE_URN, None)
        else:
            body[ENTERPRISE_URN] = value
        return
    extension = A.split_urn(path)
    if extension is not None:
        holder = body.setdefault(extension[0], {})
        leaf = extension[1]
    elif path.startswith("enterprise."):
        holder = body.setdefault(ENTERPRISE_URN, {})
        leaf = path.removeprefix("enterprise.")
    else:
        head, _, leaf = path.partition(".")
        if not leaf:
            if value is None:
                body.pop(head, None)
            else:
                body[head] = value
            return
        holder = body.get(head)
        if not isinstance(holder, dict):
            holder = body[head] = {}
    if value is None:
        holder.pop(leaf, None)
    else:
        holder[leaf] = value


def _schemas(body: Mapping[str, Json], core: str) -> list[str]:
    """The core schema and every extension the body carries (RFC 7643 §3)."""
    return [core, *(key for key in body if key.startswith("urn:"))]


def user_create_body(changes: Iterable[AttrChange], ids: Ids) -> dict[str, Json]:
    """A POST /Users body from the declared attributes; unresolved references are left out."""
    body: dict[str, Any] = {}
    for change in changes:
        value = wire_value(change, ids)
        if value is not None:
            _set(body, change.path, value)
    return {"schemas": _schemas(body, USER_SCHEMA), **body}


def group_create_body(
    changes: Iterable[AttrChange], member_ids: Iterable[str], ref: Refs = None
) -> dict[str, Json]:
    body: dict[str, Any] = {}
    for change in changes:
        if change.after is not None:
            _set(body, change.path, change.after)
    members = [member(m, ref) for m in member_ids]
    if members:
        body["members"] = members
    return {"schemas": [GROUP_SCHEMA], **body}


def patch_operations(
    changes: Iterable[AttrChange], ids: Ids, *, value_paths: bool = False
) -> list[dict[str, Json]]:
    """Minimal PATCH operations: `replace` a declared value, `remove` an explicit null.

    With `value_paths`, a multi-valued attribute whose elements keep their types and only
    change values is patched element by element (`emails[type eq "work"].value`,
    RFC 7644 §3.5.2.3) instead of replacing the whole list.
    """
    ops: list[dict[str, Json]] = []
    for change in changes:
        path = A.scim_path(change.path)
        value = wire_value(change, ids)
        narrow = value_path_operations(change) if value_paths else None
        if narrow is not None:
            ops.extend(narrow)
        elif value is None:
            if change.ref is None:
                ops.append({"op": "remove", "path": path})
        else:
            ops.append({"op": "replace", "path": path, "value": value})
    return ops


def update_operations(
    changes: Iterable[AttrChange], ids: Ids, dialect: Dialect
) -> list[dict[str, Json]]:
    """The operations of the first PATCH apply sends for an update, and explain shows."""
    return patch_operations(changes, ids, value_paths=dialect.value_paths)


def value_path_operations(change: AttrChange) -> list[dict[str, Json]] | None:
    """Per-element replaces for a typed multi-valued change, or None when it is not one.

    Only when both sides have the same set of types, one element each, and the elements
    differ in `value` alone: anything else (added, removed or retyped elements, changed
    primary flags) replaces the whole attribute, which every target understands.
    """
    if change.path not in A.USER_MULTI:
        return None
    before, after = change.before, change.after
    if not isinstance(before, list) or not isinstance(after, list) or not after:
        return None
    old = _by_type(before)
    new = _by_type(after)
    if old is None or new is None or set(old) != set(new):
        return None
    ops: list[dict[str, Json]] = []
    for kind, element in new.items():
        previous = old[kind]
        rest_new = {k: v for k, v in element.items() if k not in ("value", "type")}
        rest_old = {k: previous.get(k) for k in rest_new}
        if rest_new != rest_old:
            return None
        if element.get("value") != previous.get("value"):
            path = f"{change.path}[type eq {A.quote(kind)}].value"
            ops.append({"op": "replace", "path": path, "value": element.get("value")})
    return ops or None


def _by_type(items: list[Json]) -> dict[str, Mapping[str, Json]] | None:
    out: dict[str, Mapping[str, Json]] = {}
    for item in items:
        kind = item.get("type") if isinstance(item, Mapping) else None
        if not isinstance(kind, str) or kind in out:
            return None
        out[kind] = item
    return out


def merged_for_put(
    current: Mapping[str, Json],
    changes: Iterable[AttrChange],
    ids: Ids,
    ref: Refs = None,
    schema: str = USER_SCHEMA,
    write_only: AbstractSet[str] = frozenset(),
) -> dict[str, Json]:
    """A PUT body: the current resource with the changes applied, and nothing else altered
    (`schema` is its core schema, where the target sent no `schemas`).

    PUT replaces the whole resource (RFC 7644 §3.5.1), so everything the spec does not
    manage is sent back as it was read; read-only attributes are left out, and so are
    write-only ones (`password`, and the paths in `write_only` the target's /Schemas marks
    so) unless a change sets them: a target that returns one (a password's hash) would
    otherwise have it set to what it returned. Members the target listed without a `$ref`
    or a `display` get one where it wants them.
    """
    changes = list(changes)
    body: dict[str, Any] = {
        k: copy.deepcopy(v) for k, v in current.items() if k not in READ_ONLY_BODY
    }
    # Write-only paths are casefolded (Capabilities.write_only); the changes set theirs after.
    set_here = {change.path.casefold() for change in changes}
    for path in (A.SECRET_PATHS | write_only) - set_here:
        _drop(body, path)
    if ref is not None and isinstance(body.get("members"), list):
        body["members"] = [_with_fields(m, ref) for m in body["members"]]
    for change in changes:
        value = wire_value(change, ids)
        if value is None and change.ref is not None:
            continue
        _set(body, change.path, value)
    schemas = body.get("schemas")
    schemas = list(schemas) if isinstance(schemas, list) else [schema]
    schemas += [k for k in body if k.startswith("urn:") and k not in schemas]
    body["schemas"] = schemas
    return body


def _drop(body: dict[str, Any], path: str) -> None:
    """`path` taken out of `body`, its name matched in any case (RFC 7643 §2.1): a target
    may return `Password`, or the name in two spellings."""
    where = A.nested_at(path)
    holders: list[Any] = [body]
    if where is not None:
        holders = [body[k] for k in _spellings(body, where[0])]
        path = where[1]
    for holder in holders:
        if isinstance(holder, dict):
            for key in _spellings(holder, path):
                del holder[key]


def _spellings(holder: Mapping[str, Any], name: str) -> list[str]:
    folded = name.casefold()
    return [k for k in holder if isinstance(k, str) and k.casefold() == folded]


def _with_fields(entry: Json, ref: Refs) -> Json:
    """A member entry as read, with the fields the target wants that it lacks."""
    if ref is None or not isinstance(entry, dict) or entry.get("value") is None:
        return entry
    wanted = ref(str(entry["value"]), str(entry.get("type") or "User"))
    return {**entry, **{k: v for k, v in wanted.items() if not entry.get(k)}}


def members_put(
    current: Mapping[str, Json], adds: Iterable[str], removes: Iterable[str], ref: Refs = None
) -> tuple[dict[str, Json], list[str], list[str]]:
    """A group's PUT body that adds and removes members, for a target without PATCH: the
    members `current` holds, less `removes`, plus `adds` (RFC 7644 §3.5.1 replaces the
    whole list); with the ids it really adds and removes (none: nothing to send). Both are
    users' ids: a nested group with the same id (ids counted per kind) is another member."""
    raw = current.get("members")
    listed = [m for m in raw if isinstance(m, dict)] if isinstance(raw, list) else []
    gone = set(removes)
    kept, removed = [], []
    for entry in listed:
        value = str(entry.get("value"))
        if value in gone and not says_group(entry):
            removed.append(value)
        else:
            kept.append(entry)
    held = {str(m.get("value")) for m in kept if not says_group(m)}
    new = [a for a in dict.fromkeys(adds) if a not in held]
    members: list[Json] = [*kept, *(member(m, ref) for m in new)]
    body = merged_for_put({**current, "members": members}, (), {}, ref, GROUP_SCHEMA)
    return body, new, removed


def refuse_unsafe_path(method: str, path: str) -> None:
    """Every path scimrec sends is an endpoint and at most one id (writes.resource_path
    encodes ids): a dot segment, a query or a fragment can only come from target data that
    was not encoded, and would send the request to another resource (RFC 3986 §5.2.4)."""
    segments = path.split("/")
    if "?" in path or "#" in path or any(s in (".", "..") for s in segments):
        raise ScimProtocolError(f"refusing to send {method} to {path!r}: not a plain SCIM path")
