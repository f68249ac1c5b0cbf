"""The last line of protection for memberships, where group writes are sent: a protected
account is never removed from a group, and a group that holds one (at any depth) is never
deleted or taken out of another group, whatever the plan says or could see
(Session.refuse_if_protected does the same for each object's own delete, disable, rename
and roles)."""

from __future__ import annotations

from reconciler.core.changes import Change
from reconciler.core.match import NAME_ATTRIBUTE
from reconciler.core.members import names_group, says_group
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
        mid, said = member.id or "", member.type == "Group"
        group = names_group(mid, said, _Read(s, Kind.GROUP), _Read(s, Kind.USER))
        # Told apart as planning and the guards tell it (members.names_group): one that
        # says User and names a group the plan read is tried as both.
        kinds = (Kind.GROUP,) if said else (Kind.GROUP, Kind.USER) if group else (Kind.USER,)
        for name in (member.key, *(s.names_read.get((kind, mid)) for kind in kinds)):
            if name and protected(s.target, name):
                raise Failed(f"member {name} is protected: {refused}")
        where = resource_path(ENDPOINT[Kind.GROUP], mid) if mid else ""
        if group and where:
            # A nested group taken out takes the group from everyone it holds: read as the
            # target holds it now (the plan's read may not have held its members' names).
            body = _read(s, where)
        elif where and member.key is None and (Kind.USER, mid) not in s.names_read:
            # An entry the plan took for one naming no one (/Users answered 404): a nested
            # group the /Groups listing left out reads so, its entry untyped or typed User.
            body = _read(s, where)
            if body is None:
                continue
            name = _name(body, (Kind.GROUP, mid), refused)
            if name and protected(s.target, name):
                raise Failed(f"member {name} is protected: {refused}")
        else:
            continue
        _refuse_within(s, body, {mid, str(change.target_id)}, refused)


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
    reads = _Reads(refused)  # members and nested groups read one by one
    todo = [body]
    fetched: dict[tuple[Kind, str], Json] = {}  # each read once: for its name, its members
    while todo:
        entries = [(m, key) for m in _entries(todo.pop(), refused) for key in _stands_for(s, m)]
        unknown = [key for _, key in entries if key not in s.names_read]
        groups = [key for _, key in entries if key[0] is Kind.GROUP and key not in unknown]
        reads.add(len(unknown) + sum(1 for _, gid in groups if gid not in done))
        nested: list[str] = [gid for _, gid in groups]
        for member, key in entries:
            known = s.names_read.get(key)
            if known is None:
                key, fetched[key] = _read_member(s, key, reads)  # noqa: PLW2901
                known = _name(fetched[key], key, refused)
                nested += [key[1]] if key[0] is Kind.GROUP else []
            for name in (known, member.get("value"), member.get("display")):
                if isinstance(name, str) and protected(s.target, name):
                    raise Failed(f"member {name} is protected: {refused}")
        for gid in nested:
            if gid not in done:
                done.add(gid)
                key = (Kind.GROUP, gid)
                where = resource_path(ENDPOINT[Kind.GROUP], gid)
                todo.append(fetched[key] if key in fetched else _read(s, where))


class _Reads:
    """The members and nested groups read one by one for one judgement, within the bound."""

    def __init__(self, refused: str) -> None:
        self.count, self._refused = 0, refused

    def add(self, more: int) -> None:
        self.count += more
        if self.count > MAX_MEMBER_READS:
            raise Failed(
                f"{self.count} of its members were not in the plan's read, more than "
                f"{MAX_MEMBER_READS} to read one by one: whether one is protected is not "
                f"known, so {self._refused}"
            )


def _read_member(s: Session, key: tuple[Kind, str], reads: _Reads) -> tuple[tuple[Kind, str], Json]:
    """A member the plan's read did not hold, read at its endpoint: with its kind, which
    is a group's where /Users answered 404 and /Groups has a group by that id. A nested
    group the /Groups listing left out, its entry untyped (RFC 7643 makes `type` optional)
    or typed User, would otherwise read as a member that names nothing, and a protected
    account in it would lose the group with it."""
    kind, rid = key
    body = _read(s, resource_path(ENDPOINT[kind], rid))
    if body is not None or kind is Kind.GROUP or (Kind.GROUP, rid) in s.names_read:
        return key, body
    reads.add(1)
    group = _read(s, resource_path(ENDPOINT[Kind.GROUP], rid))
    return ((Kind.GROUP, rid), group) if group is not None else (key, None)


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


def _stands_for(s: Session, member: dict[str, Json]) -> list[tuple[Kind, str]]:
    """What a member entry may stand for, told as planning and the guards tell it
    (members.names_group): a group where it says so, or where its value names a group
    the plan read and no user it read, whatever its `type` says; and then a user too,
    unless it says it is a group (lookup mode reads no undeclared user: one may have the
    id). Each is judged: a group is not taken away on a guess."""
    value = str(member.get("value"))
    said = says_group(member)
    if not names_group(value, said, _Read(s, Kind.GROUP), _Read(s, Kind.USER)):
        return [(Kind.USER, value)]
    return [(Kind.GROUP, value)] if said else [(Kind.GROUP, value), (Kind.USER, value)]


class _Read:
    """The ids of one kind the plan read (`Session.names_read`), asked one by one: a set
    built of them for each group judged would cost a pass over every object read."""

    def __init__(self, s: Session, kind: Kind) -> None:
        self._names, self._kind = s.names_read, kind

    def __contains__(self, value: object) -> bool:
        return (self._kind, value) in self._names


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
