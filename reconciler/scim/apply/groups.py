"""The group phase of an apply: creates and updates, then memberships in chunks, and the
nested groups of targets that nest natively."""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.core.changes import Action, Change
from reconciler.core.model import Json
from reconciler.errors import ScimHTTPError
from reconciler.scim import writes
from reconciler.scim.apply.session import PATCH_UNSUPPORTED, Failed, Session, sender


def write_group(s: Session, change: Change) -> str | None:
    ids = s.known_ids()
    users = [m for m in change.members_add if m.type == "User"]
    adds = [m.id or ids.get(m.key or "") for m in users]
    missing = [m.key for m, i in zip(users, adds, strict=True) if i is None]
    add_ids = [i for i in adds if i is not None]
    if change.action is Action.CREATE:
        s.refuse_if_exists(change)
        first = add_ids[: s.target.membership_chunk] if s.members_on_create else []
        body = writes.group_create_body(change.attributes, first)
        try:
            reply = s.write(
                change,
                "POST",
                "/Groups",
                lambda: s.client.create("/Groups", body),
                change.attributes,
            )
        except ScimHTTPError as exc:
            # Adopted after a lost response: add every member (adding is idempotent).
            target_id = s.create_failed(change, exc)
            rest = add_ids
        else:
            target_id = s.created_id(change, reply)
            created = reply.body if isinstance(reply.body, dict) else None
            # Some targets ignore members on POST: add what the answer does not show.
            if created is not None:
                shown = member_ids(created)
                rest = [i for i in add_ids if i not in shown]
            else:
                rest = add_ids[len(first) :]
    else:
        target_id = change.target_id or ""
        if change.attributes:
            s.patch_or_put(change, f"/Groups/{target_id}", change.attributes, s.etag(change))
        rest = add_ids
    path = f"/Groups/{target_id}"
    size = s.target.membership_chunk
    for chunk in writes.chunks(rest, size):
        ops = writes.add_members(chunk)
        s.write(change, "PATCH", path, sender(s.client, path, ops))
    removes = [m.id for m in change.members_remove if m.id is not None and m.type == "User"]
    for chunk in writes.chunks(removes, size):
        remove_members(s, change, path, chunk)
    with s.lock:
        s.group_ids[change.key] = target_id
    if missing:
        raise Failed(f"member {missing[0]} has no target id (its create failed)")
    return target_id


def write_nested(s: Session, change: Change) -> str | None:
    """Group members that are groups, once every group of the run exists (native nesting)."""
    target_id = s.group_ids.get(change.key) or change.target_id
    if target_id is None:
        raise Failed("the group was not created, so its nested groups cannot be set")
    path = f"/Groups/{target_id}"
    adds = [m for m in change.members_add if m.type == "Group"]
    add_ids = [m.id or s.group_ids.get(m.key or "") for m in adds]
    missing = [m.key for m, i in zip(adds, add_ids, strict=True) if i is None]
    if missing:
        raise Failed(f"nested group {missing[0]} has no target id (its create failed)")
    if add_ids:
        ops = writes.add_members([i for i in add_ids if i], member_type="Group")
        s.write(change, "PATCH", path, sender(s.client, path, ops))
    removes = [m.id for m in change.members_remove if m.id and m.type == "Group"]
    for chunk in writes.chunks(removes, s.target.membership_chunk):
        remove_members(s, change, path, chunk)
    return target_id


def remove_members(s: Session, change: Change, path: str, chunk: list[str]) -> None:
    dialect = s.remove_dialect
    ops = writes.remove_members(chunk, dialect)
    try:
        s.write(change, "PATCH", path, lambda: s.client.patch(path, ops, None))
    except ScimHTTPError as exc:
        forced = s.target.quirks.get("member_removal") in ("filter", "value")
        if exc.status not in PATCH_UNSUPPORTED or dialect == "value" or forced:
            raise
        s.remove_dialect = "value"
        s.log.warning(
            "member removal by filter path refused, using a value list",
            step="action",
            kind="group",
            key=change.key,
            status=exc.status,
        )
        ops = writes.remove_members(chunk, "value")
        s.write(change, "PATCH", path, lambda: s.client.patch(path, ops, None))


def member_ids(body: Mapping[str, Json]) -> set[str]:
    members = body.get("members")
    if not isinstance(members, list):
        return set()
    return {str(m.get("value")) for m in members if isinstance(m, dict)}
