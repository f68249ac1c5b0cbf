"""Group membership on a target that takes no PATCH: one GET-merge-PUT per group.

PUT replaces the whole resource (RFC 7644 §3.5.1), so the member list sent is the one the
target holds, less the planned removals, plus the adds: whoever the spec does not manage
(`additive`, unresolved members) is sent back as it was. The GET must show every member
the plan's read held (Session.read_for_put), or nothing is sent.
"""

from __future__ import annotations

from reconciler.core.changes import Change
from reconciler.scim import member_ops, writes
from reconciler.scim.apply.session import Session
from reconciler.scim.client import Reply


def put_members(s: Session, change: Change, path: str, adds: list[str], removes: list[str]) -> None:
    """Add `adds` and remove `removes` (member ids) in one PUT of the group."""
    if not adds and not removes:
        return
    read, version = s.read_for_put(change, path)
    _, new, removed = writes.members_put(read, adds, removes)
    if not new and not removed:
        return  # the target holds what the spec wants already
    # The audit trail reads what changed from operations: these say it, PATCH or not.
    ops = [
        *(member_ops.add_members(new) if new else []),
        *(member_ops.remove_members(removed, "value") if removed else []),
    ]

    def put() -> Reply:
        body, _, _ = writes.members_put(read, adds, removes, s.refs())
        reply = s.write(change, "PUT", path, lambda: s.client.put(path, body, version), ops=ops)
        # What the group holds now: a nested removal after it adds back no user it removed.
        if change.target_id:
            with s.lock:
                s.members_held[change.target_id] = frozenset(member_ops.member_entries(body))
        return reply

    s.learning_refs(change, put)
