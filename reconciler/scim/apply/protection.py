"""The last line of protection for memberships, where group writes are sent: a protected
account is never removed from a group, and a group that holds one is never deleted,
whatever the plan says or could see (Session.refuse_if_protected does the same for each
object's own delete, disable, rename and roles)."""

from __future__ import annotations

from reconciler.core.changes import Change
from reconciler.core.members import says_group
from reconciler.core.model import Kind
from reconciler.core.prune import protected
from reconciler.errors import ScimHTTPError
from reconciler.scim.apply.session import Failed, Session


def refuse_protected_removals(s: Session, change: Change) -> None:
    """Failed, before anything of the change is written, when it removes a protected
    member: by its declared key, or by its name in the plan's read."""
    if not s.target.protected:
        return
    for member in change.members_remove:
        kind = Kind.GROUP if member.type == "Group" else Kind.USER
        for name in (member.key, s.names_read.get((kind, member.id or ""))):
            if name and protected(s.target, name):
                raise Failed(f"member {name} is protected: not removed, nothing written")


def refuse_if_it_holds_protected(s: Session, change: Change, path: str) -> None:
    """The last line for a group's delete: the group as the target holds it now must hold
    no protected account. Planning judged the members its read showed; a target that lists
    groups without their members showed none, and a delete takes the group from each."""
    if not s.target.protected:
        return
    try:
        body = s.client.get(path).body
    except ScimHTTPError as exc:
        if exc.status == 404:
            return  # already gone: the delete finds so too
        raise
    members = body.get("members") if isinstance(body, dict) else None
    for member in members if isinstance(members, list) else []:
        if not isinstance(member, dict):
            continue
        kind = Kind.GROUP if says_group(member) else Kind.USER
        value = member.get("value")
        for name in (s.names_read.get((kind, str(value))), value, member.get("display")):
            if isinstance(name, str) and protected(s.target, name):
                raise Failed(f"member {name} is protected: the group is not deleted")
