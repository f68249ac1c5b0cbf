"""The last line of protection for memberships, where group writes are sent: a protected
account is never removed from a group, and a group that holds one (at any depth) is never
deleted or taken out of another group, whatever the plan says or could see
(Session.refuse_if_protected does the same for each object's own delete, disable, rename
and roles)."""

from __future__ import annotations

from reconciler.core.changes import Change
from reconciler.core.match import NAME_ATTRIBUTE
from reconciler.core.members import says_group
from reconciler.core.model import Json, Kind
from reconciler.core.prune import protected
from reconciler.errors import ScimHTTPError
from reconciler.scim.apply.session import Failed, Session
from reconciler.scim.writes import ENDPOINT, resource_path

# Members of a group to delete that the plan's read did not hold are read one by one, to
# learn whether one is protected; past this many, the group is not deleted.
MAX_MEMBER_READS = 100


def refuse_protected_removals(s: Session, change: Change) -> None:
    """Failed, before anything of the change is written, when it removes a protected
    member: by its declared key, or by its name in the plan's read."""
    if not s.target.protected:
        return
    refused = "not removed, nothing written"
    for member in change.members_remove:
        kind = Kind.GROUP if member.type == "Group" else Kind.USER
        for name in (member.key, s.names_read.get((kind, member.id or ""))):
            if name and protected(s.target, name):
                raise Failed(f"member {name} is protected: {refused}")
        if kind is Kind.GROUP and member.id:
            # A nested group taken out takes the group from everyone it holds: read as the
            # target holds it now (the plan's read may not have held its members' names).
            body = _read(s, resource_path(ENDPOINT[Kind.GROUP], member.id))
            _refuse_within(s, body, {member.id, str(change.target_id)}, refused)


def refuse_if_it_holds_protected(s: Session, change: Change, path: str) -> None:
    """The last line for a group's delete: the group as the target holds it now must hold
    no protected account, directly or through the groups nested in it (a delete takes the
    group from everyone they hold). Planning judged the members its read showed; a target
    that lists groups without their members showed none, and lookup mode reads no
    undeclared account or group."""
    if not s.target.protected:
        return
    try:
        body = s.client.get(path).body
    except ScimHTTPError as exc:
        if exc.status == 404:
            return  # already gone: the delete finds so too
        # Said as what it is: a delete that failed on a GET would puzzle anyone.
        raise Failed(
            f"not deleted: it could not be read first, to see that it holds no protected "
            f"account ({exc})"
        ) from exc
    _refuse_within(s, body, {str(change.target_id)}, "the group is not deleted")


def _refuse_within(s: Session, body: Json, done: set[str], refused: str) -> None:
    """Failed when the group `body` holds a protected account, directly or through the
    groups nested in it (those in `done` are not looked at again), or holds more members
    the plan's read did not know than may be read one by one."""
    reads = 0  # members and nested groups read one by one
    todo = [body]
    fetched: dict[tuple[Kind, str], Json] = {}  # each read once: for its name, its members
    while todo:
        entries = _entries(todo.pop(), refused)
        unknown = [m for m in entries if _kind_id(m) not in s.names_read]
        nested = [m for m in entries if _kind_id(m)[0] is Kind.GROUP]
        reads += len(unknown) + sum(
            1 for m in nested if m not in unknown and str(m.get("value")) not in done
        )
        if reads > MAX_MEMBER_READS:
            raise Failed(
                f"{reads} of its members were not in the plan's read, more than "
                f"{MAX_MEMBER_READS} to read one by one: whether one is protected is not "
                f"known, so {refused}"
            )
        for member in entries:
            key = _kind_id(member)
            known = s.names_read.get(key)
            if known is None and member in unknown:
                fetched[key] = _read(s, resource_path(ENDPOINT[key[0]], key[1]))
                known = _name(fetched[key], key, refused)
            for name in (known, member.get("value"), member.get("display")):
                if isinstance(name, str) and protected(s.target, name):
                    raise Failed(f"member {name} is protected: {refused}")
        for member in nested:
            gid = str(member.get("value"))
            if gid not in done:
                done.add(gid)
                key = (Kind.GROUP, gid)
                where = resource_path(ENDPOINT[Kind.GROUP], gid)
                todo.append(fetched[key] if key in fetched else _read(s, where))


def _entries(body: Json, refused: str) -> list[dict[str, Json]]:
    """A group's member entries. Absent or null, `members` is an empty group (RFC 7643
    §2.5), as is a group read as gone (None); an answer that is no group, or whose members
    are no list, shows no one: judged empty, a group holding a protected account would be
    deleted on a garbled read."""
    if body is None:
        return []
    members = body.get("members") if isinstance(body, dict) else ()
    if members is None:
        return []
    if not isinstance(members, list):
        raise Failed(f"the target's answer for a group is not a group: {refused}")
    return [m for m in members if isinstance(m, dict)]


def _read(s: Session, path: str) -> Json:
    """What the target holds at `path`; None when it holds nothing there."""
    try:
        return s.client.get(path).body
    except ScimHTTPError as exc:
        if exc.status == 404:
            return None  # a member that names nothing takes no one's access
        raise


def _kind_id(member: dict[str, Json]) -> tuple[Kind, str]:
    return (Kind.GROUP if says_group(member) else Kind.USER, str(member.get("value")))


def _name(body: Json, key: tuple[Kind, str], refused: str) -> str | None:
    """The name of a member the plan's read did not hold (lookup mode reads only what is
    declared), as reading it gave it; None when no such object exists. An answer that is
    no such object names no one that could be protected: refused, not passed."""
    if body is None:
        return None
    kind, rid = key
    name = body.get(NAME_ATTRIBUTE[kind]) if isinstance(body, dict) else None
    if not isinstance(name, str):
        raise Failed(f"the target's answer for member {rid} is not a {kind.value}: {refused}")
    return name
