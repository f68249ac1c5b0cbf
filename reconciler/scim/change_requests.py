"""The writes apply sends for one planned change, in order (pure): what `plan --explain` shows.

Apply sends its writes through the same body builders (`writes.py`) and starts from the same
`Dialect`, so this list is what apply sends when the target takes every first attempt; where
apply adapts to a refusal, the request carries what apply sends instead. Ids that exist only
once an earlier write of the run has made them read `{id of KEY}`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from reconciler.core.changes import Action, Change, Member
from reconciler.core.diff import AttrChange
from reconciler.core.model import GROUP_SCHEMA, PATCH_OP, USER_SCHEMA, Json, Kind
from reconciler.scim import bulk_requests, member_ops, writes
from reconciler.scim.writes import ENDPOINT, Dialect, resource_path


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: Json = None
    etag: str | None = None
    # What apply sends instead, and when (a refusal it adapts to, an answer it completes).
    fallback: tuple[Request, ...] = ()
    fallback_when: str = ""


def placeholder(key: str | None) -> str:
    return f"{{id of {key}}}"


def change_requests(
    change: Change,
    dialect: Dialect,
    chunk: int,
    current: Mapping[str, Json] | None = None,
    user_ids: AbstractSet[str] | None = None,
) -> list[Request]:
    """Every write apply sends for `change`, given the target's resource as read (`current`,
    which a GET-merge-PUT sends back) and the ids of the users read (`user_ids`; None: every
    untyped member is taken for a user)."""
    path = (
        resource_path(ENDPOINT[change.kind], change.target_id)
        if change.target_id
        else f"{ENDPOINT[change.kind]}/{placeholder(change.key)}"  # shown, never sent
    )
    etag = change.version if dialect.etag else None
    # A manager created earlier in the run: its id is known by the time this user is written.
    ids = {a.ref: placeholder(a.ref) for a in change.attributes if a.ref is not None}
    if change.action is Action.DELETE:
        return [Request("DELETE", path, None, etag)]
    if change.kind is Kind.USER:
        if change.action is Action.CREATE:
            post = Request("POST", "/Users", writes.user_create_body(change.attributes, ids))
            if not dialect.bulk:
                return [post]
            # With the run's other creates, in one Bulk request (apply/bulk.py); a manager
            # created in the same request is `bulkId:` its operation's bulkId instead.
            operation = bulk_requests.create_operation(
                change, bulk_requests.bulk_id(change, 1), ids
            )
            body = bulk_requests.request_body([operation])
            when = (
                f"with fewer than {bulk_requests.MIN_CREATES} creates in the run, or where the "
                "target refuses Bulk, instead:"
            )
            return [Request("POST", "/Bulk", body, None, (post,), when)]
        return update_requests(change.attributes, path, etag, ids, dialect, current)
    users = [_id(m) for m in change.members_add if m.type == "User"]
    # With quirks: {member_ref: always}, members carry `$ref` (apply prefers the member's
    # meta.location where it knows it; this shows the form built from the id).
    ref = member_ops.refs_from(dialect.member_ref)
    out: list[Request] = []
    nested = [_id(m) for m in change.members_add if m.type == "Group"]
    if change.action is Action.CREATE:
        first = users[:chunk] if dialect.members_on_create else []
        body = writes.group_create_body(change.attributes, first, ref)
        # Some targets ignore members on POST: apply adds those the answer does not show.
        added = tuple(
            _patch(path, member_ops.add_members(part, ref=ref))
            for part in member_ops.chunks(first, chunk)
        )
        when = "if the answer does not show the members, then:" if added else ""
        post = Request("POST", "/Groups", body, None, added, when)
        out.append(_in_bulk(change, post, dialect, chunk) if dialect.bulk else post)
        users = users[len(first) :]
        if dialect.bulk and dialect.members_on_create:
            # The operation carries nested groups in what room its chunk has left; apply
            # adds those its answer does not show once every group exists.
            nested = nested[max(0, chunk - len(first)) :]
    elif change.attributes:
        out += update_requests(change.attributes, path, etag, ids, dialect, current)
    removes = [m for m in change.members_remove if m.type == "User"]
    held = member_ops.member_entries(current or {})
    if not dialect.patch and (users or removes):
        # No PATCH: the member list goes whole, in one GET-merge-PUT (membership_put.py).
        ids_out = [m.id for m in removes if m.id]
        body, _, _ = writes.members_put(current or {}, users, ids_out, ref)
        meta = (current or {}).get("meta")
        version = meta.get("version") if isinstance(meta, dict) and dialect.etag else None
        out += [Request("GET", path), Request("PUT", path, body, version)]
    else:
        for part in member_ops.chunks(users, chunk):
            out.append(_patch(path, member_ops.add_members(part, ref=ref)))
        out += _removals(path, removes, dialect, chunk, held)
    # Nested groups (native nesting) follow, once every group of the run exists.
    for part in member_ops.chunks(nested, chunk):
        out.append(_patch(path, member_ops.add_members(part, member_type="Group", ref=ref)))
    groups = [m for m in change.members_remove if m.type == "Group"]
    if groups:
        # By then the users this change adds are members too, and those it removes are gone.
        joined = set(users)  # looked up once per entry held: a group may hold thousands
        held = (held - {(m.id, False) for m in removes}) | {(uid, False) for uid in joined}
        if user_ids is not None:
            held = member_ops.beside_nested(held, lambda uid: uid in user_ids or uid in joined)
        out += _removals(path, groups, dialect, chunk, held, member_type="Group")
    return out


def _in_bulk(change: Change, post: Request, dialect: Dialect, chunk: int) -> Request:
    """A group create as its operation in a Bulk request (apply/bulk_groups.py): what `post`
    carries, and its nested groups; one created earlier in the same request is named
    `bulkId:` its operation's bulkId instead of its id."""
    # Users and groups alike: a member made earlier in the run reads `{id of KEY}`.
    known = {m.key: placeholder(m.key) for m in change.members_add if m.key and not m.id}
    ref = member_ops.refs_from(dialect.member_ref)
    form = bulk_requests.GroupForm(known, chunk, dialect.members_on_create, ref)
    operation = bulk_requests.create_operation(
        change, bulk_requests.bulk_id(change, 1), known, None, form
    )
    when = (
        f"with fewer than {bulk_requests.MIN_CREATES} group creates in the run, where the "
        "target refuses Bulk, or where its filter finds a group of this name, instead:"
    )
    return Request("POST", "/Bulk", bulk_requests.request_body([operation]), None, (post,), when)


def update_requests(
    attributes: Sequence[AttrChange],
    path: str,
    etag: str | None,
    ids: writes.Ids,
    dialect: Dialect,
    current: Mapping[str, Json] | None,
) -> list[Request]:
    """A PATCH of minimal operations, or where the target has no PATCH, a GET-merge-PUT."""
    core = GROUP_SCHEMA if path.startswith("/Groups") else USER_SCHEMA
    body = writes.merged_for_put(
        current or {}, attributes, ids, schema=core, write_only=dialect.write_only
    )
    meta = (current or {}).get("meta")
    version = meta.get("version") if isinstance(meta, dict) and dialect.etag else None
    put = (Request("GET", path), Request("PUT", path, body, version))
    if not dialect.patch:
        return list(put)
    whole = writes.patch_operations(attributes, ids)
    plain = _patch(path, whole, etag, put, "if the target refuses PATCH, instead:")
    narrow = writes.update_operations(attributes, ids, dialect)
    if narrow == whole:
        return [plain]
    return [
        _patch(path, narrow, etag, (plain,), "if the target refuses value-filter paths, instead:")
    ]


def _removals(
    path: str,
    members: list[Member],
    dialect: Dialect,
    chunk: int,
    held: set[tuple[str, bool]],
    member_type: str | None = None,
) -> list[Request]:
    """Member removals, as apply/groups.py sends them: `held` is what the group holds (or
    will, by then), whose members of the other kind sharing a removed id are added back."""
    ids = [m.id for m in members if m.id]
    ref = member_ops.refs_from(dialect.member_ref)
    out = []
    for part in member_ops.removal_chunks(ids, held, chunk):
        back = member_ops.added_back(part, held, ref, member_type)
        ops = member_ops.remove_members(part, dialect.member_removal, ref, member_type) + back
        fallback: tuple[Request, ...] = ()
        if dialect.member_removal == "filter" and dialect.member_removal_fallback:
            value = member_ops.remove_members(part, "value", ref, member_type) + back
            fallback = (_patch(path, value),)
        out.append(
            _patch(path, ops, None, fallback, "if the target refuses the filter path, instead:")
        )
    return out


def _patch(
    path: str,
    ops: list[dict[str, Json]],
    etag: str | None = None,
    fallback: tuple[Request, ...] = (),
    when: str = "",
) -> Request:
    body: Json = {"schemas": [PATCH_OP], "Operations": ops}
    return Request("PATCH", path, body, etag, fallback, when if fallback else "")


def _id(member: Member) -> str:
    return member.id or placeholder(member.key)
