"""Group membership on a target that takes no PATCH: one GET-merge-PUT per group.

PUT replaces the whole resource (RFC 7644 §3.5.1), so the member list sent is the one the
target holds, less the planned removals, plus the adds: whoever the spec does not manage
(`additive`, unresolved members) is sent back as it was. The GET must show every member
the plan's read held (Session.read_for_put), or nothing is sent.
"""

from __future__ import annotations

from reconciler.core.changes import Change
from reconciler.core.match import normalise
from reconciler.errors import ScimHTTPError, ScimrecError
from reconciler.scim import member_ops, writes
from reconciler.scim.apply.refusals import of_what_was_sent, put_sender
from reconciler.scim.apply.session import Failed, Session
from reconciler.scim.client import Reply


def put_members(s: Session, change: Change, path: str, adds: list[str], removes: list[str]) -> None:
    """Add `adds` and remove `removes` (member ids) in one PUT of the group. A PUT refused
    for what it carries (a member the target will not take) keeps no removal back: they
    are sent again alone, and the group fails naming the refusal."""
    try:
        _put_members(s, change, path, adds, removes)
    except ScimHTTPError as exc:
        if not (adds and removes) or not (of_what_was_sent(exc) or exc.status == 404):
            raise
        try:
            _put_members(s, change, path, [], removes)
        except (ScimHTTPError, Failed) as again:
            raise Failed(f"{exc}; then, removing alone: {again}") from None
        raise Failed(f"{exc}; its member removals were made") from None


def _put_members(
    s: Session, change: Change, path: str, adds: list[str], removes: list[str]
) -> None:
    if not adds and not removes:
        return
    read, version = s.read_for_put(change, path)
    planned, new, removed = writes.members_put(read, adds, removes)
    if not new and not removed:
        return  # the target holds what the spec wants already
    # The audit trail reads what changed from operations: these say it, PATCH or not.
    ops = [
        *(member_ops.add_members(new) if new else []),
        *(member_ops.remove_members(removed, "value") if removed else []),
    ]

    def put() -> Reply:
        body, _, _ = writes.members_put(read, adds, removes, s.refs())
        send = put_sender(s.client, path, body, version, s.use_etag)

        def verify(reply: Reply) -> None:
            # What the group holds now (a nested removal after it adds back no user it
            # removed), then as a read shows it; judged before the PUT is recorded
            # (verdicts.py): members it did not change are a PUT recorded failed.
            if change.target_id:
                with s.lock:
                    s.members_held[change.target_id] = frozenset(member_ops.member_entries(body))
            _verify(s, change, path, reply, new, removed, sent=bool(planned.get("members")))

        return s.write(change, "PUT", path, send, ops=ops, check=verify)

    s.learning_refs(change, put)


def _verify(
    s: Session,
    change: Change,
    path: str,
    reply: Reply,
    new: list[str],
    removed: list[str],
    *,
    sent: bool,
) -> None:
    """Write verification of the members a PUT sent (DESIGN §5): some targets answer a
    group's PUT with success and leave its members as they were. A removal not made is
    access the spec takes away, so it fails the group, never shown as done; a group that
    shows no members at all (one that does not list them) is not judged."""
    body = reply.body if isinstance(reply.body, dict) and reply.body.get("id") else None
    if body is None:
        try:
            body = s.client.get(path).body
        except ScimrecError as exc:
            s.log.warning("members not verified", step="action", kind="group",
                          key=change.key, detail=f"GET {path} failed: {exc}")  # fmt: skip
            return
    if not isinstance(body, dict) or not isinstance(body.get("members"), list):
        return
    held = member_ops.member_entries(body)
    if not held and sent:
        # Sent with members, shown with none: an answer that does not list them (`[]`), no
        # proof of what the group holds, nor a record of it for a later PUT's check.
        return
    if change.target_id:
        with s.lock:
            s.members_held[change.target_id] = frozenset(held)
    # Some targets name members by userName (Canaille), as members_kept.not_shown reads them.
    names = {normalise("userName", v) for v, group in held if not group}

    def holds(uid: str) -> bool:
        name = s.user_names.get(uid)
        return (uid, False) in held or (name is not None and normalise("userName", name) in names)

    still = [u for u in removed if holds(u)]
    missing = [u for u in new if not holds(u)]
    if not still and not missing:
        return
    parts = [f"still holds {_some(s, still)} it was sent without"] if still else []
    parts += [f"does not hold {_some(s, missing)} it was sent with"] if missing else []
    fix = (
        "membership needs PATCH here: remove quirks: {patch: never}"
        if s.target.quirks.get("patch") == "never"
        else "change these members on the target"
    )
    raise Failed(
        f"PUT {path} answered {reply.status}, but the group {' and '.join(parts)}: the target "
        f"ignores members sent by PUT, so the next plan would propose them again; {fix}"
    )


def _some(s: Session, ids: list[str]) -> str:
    """The first of these members by name, and how many more."""
    first = s.user_names.get(ids[0], ids[0])
    return first if len(ids) == 1 else f"{first} and {len(ids) - 1} more member(s)"
