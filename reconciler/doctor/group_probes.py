"""The write probes on the doctor's temporary group: adding, re-adding and removing a member
in both dialects, and what PUT does to members.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from reconciler.core import attributes as A
from reconciler.core.model import GROUP_SCHEMA, Json
from reconciler.doctor.findings import FAIL, OK, WARN, Finding, failure, untested
from reconciler.doctor.scratch import Scratch, member_ids
from reconciler.errors import ScimHTTPError, ScimProtocolError
from reconciler.scim.writes import resource_path

DEDUPLICATE = "scimrec adds only users that are not members yet"
ADD_ACTION = "scimrec adds members with PATCH add, in chunks (membership_chunk)"


@dataclass(frozen=True)
class _Step:
    ok: bool
    text: str


def group_probes(s: Scratch) -> list[Finding]:
    """Member add, re-add, removal in both dialects, and members on PUT (RFC 7644 §3.5.2)."""
    uid, path = str(s.user["id"]), resource_path("/Groups", str(s.group["id"]))

    def members() -> list[str]:
        return member_ids(s.read_group(path))

    def step(op: dict[str, Json], want_member: bool) -> _Step:
        try:
            reply = s.client.patch(path, [op], None)
        except ScimHTTPError as exc:
            return _Step(False, f"is refused ({failure(exc)})")
        if (uid in members()) == want_member:
            return _Step(True, f"answered {reply.status} and worked")
        return _Step(False, f"answered {reply.status}, but the group's GET does not show it")

    add_op: dict[str, Json] = {"op": "add", "path": "members", "value": [s.member(uid)]}
    rfc_op: dict[str, Json] = {"op": "remove", "path": f"members[value eq {A.quote(uid)}]"}
    value_op: dict[str, Json] = {"op": "remove", "path": "members", "value": [s.member(uid)]}
    add: _Step | None = None
    if uid not in members():
        add = step(add_op, True)
        if not add.ok:
            seen = f"adding a member {add.text}"
            action = (
                "scimrec cannot add members here, or cannot see them: apply fails each group "
                "it adds members to; manage memberships in the application itself"
            )
            return [Finding("groups", "add member", FAIL, seen, action)]
    try:
        again = s.client.patch(path, [add_op], None)
        count = members().count(uid)
        if count > 1:
            dup = Finding(
                "groups",
                "add existing member",
                WARN,
                f"adding an existing member duplicates it ({count} entries)",
                DEDUPLICATE,
            )
        else:
            seen = f"adding an existing member answered {again.status}; no duplicate"
            dup = Finding("groups", "add existing member", OK, seen, DEDUPLICATE)
    except ScimHTTPError as exc:
        seen = f"adding an existing member is refused ({failure(exc)})"
        dup = Finding("groups", "add existing member", WARN, seen, DEDUPLICATE)
    rfc = step(rfc_op, False)
    value: _Step | None = None
    if not rfc.ok and uid in members():
        value = step(value_op, False)
    elif rfc.ok:
        readd = step(add_op, True)
        add = add or readd
        value = step(value_op, False) if readd.ok else None
    if add is None and uid not in members():
        add = step(add_op, True)
    findings = [dup, _removal(rfc, value)]
    if add is not None:
        status, seen = (OK if add.ok else FAIL), f"adding a member {add.text}"
        findings.append(Finding("groups", "add member", status, seen, ADD_ACTION))
    else:
        findings.append(untested("groups", "add member"))
    findings.append(_put_members(s, uid, path, members))
    return findings


def _removal(rfc: _Step, value: _Step | None) -> Finding:
    seen = f'members[value eq "ID"] {rfc.text}'
    if value is not None:
        seen += f"; a value list {value.text}"
    if rfc.ok:
        action = 'scimrec removes members with the RFC path members[value eq "ID"]'
        return Finding("groups", "remove member", OK, seen, action)
    if value is not None and value.ok:
        refused = "refused" in rfc.text
        action = (
            "scimrec removes members with a value list (the Entra dialect)"
            if refused
            else "scimrec switches to a value list only when the RFC path is refused; "
            "here it is ignored, so removals would silently not happen"
        )
        return Finding("groups", "remove member", WARN if refused else FAIL, seen, action)
    return Finding("groups", "remove member", FAIL, seen, "scimrec cannot remove members here")


def _put_members(s: Scratch, uid: str, path: str, members: Callable[[], list[str]]) -> Finding:
    was_member = uid in members()
    body: dict[str, Json] = {
        "schemas": [GROUP_SCHEMA],
        "displayName": s.stem,
        "members": [] if was_member else [s.member(uid)],
    }
    action = "scimrec changes memberships only with PATCH add/remove, never with PUT"
    try:
        s.client.put(path, body, None)
    except (ScimHTTPError, ScimProtocolError) as exc:
        seen = f"group PUT failed ({failure(exc)})"
        return Finding("groups", "members on PUT", WARN, seen, action)
    if (uid in members()) != was_member:
        return Finding("groups", "members on PUT", OK, "group PUT replaces members", action)
    seen = "group PUT ignores members (membership unchanged)"
    return Finding("groups", "members on PUT", WARN, seen, action)
