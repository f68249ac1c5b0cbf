"""Who a group's members on the target are: each member entry resolved to an observed user
(by its `type` and `$ref`, never by an id that happens to collide with a group's), or left
unresolved, and then never planned for removal.

RFC 7643 §4.2 gives a member `value` (the member's id), `$ref` and `type` (User or Group).
Targets differ: some store the userName as `value`, some omit `type`, some use small
integers for both users and groups. A member is resolved through `value`, then `$ref`,
then `value` or `display` as a userName; one that resolves to nothing is removed only when
the target has confirmed that its `value` names no user (`Observed.dangling`), and one that
only its `display` resolves, or whose `$ref` names another kind of resource (a service
principal), is never removed.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from itertools import repeat
from typing import cast

from reconciler.core.match import normalise
from reconciler.core.memberlist import PlainMembers, plain
from reconciler.core.model import Json, Observed


class Seen(StrEnum):
    USER = "user"  # an observed user: `uid` says which
    GROUP = "group"  # a nested group
    DANGLING = "dangling"  # its value names no user: the target said so
    UNRESOLVED = "unresolved"  # nothing known: never removed


@dataclass(frozen=True, slots=True)
class Entry:
    """One member entry as the target holds it, and what it resolved to."""

    value: str  # as stored on the target: what a removal must name
    seen: Seen
    uid: str | None = None
    # False when only the entry's `display` named the user: a copy the target keeps of a
    # name, which goes stale after a rename, so it may stand for another account; or when
    # only an untyped id named the group, which a user the read did not show may have.
    # Enough not to add the member again; never enough to remove the entry.
    sure: bool = True


class Directory:
    """The observed users, indexed for resolving member entries; built once per plan."""

    def __init__(self, observed: Observed) -> None:
        self._users = observed.users
        self.user_ids = frozenset(u.id for u in observed.users)
        self.listed_group_ids = frozenset(g.id for g in observed.groups)
        # With the nested groups a listing left out and a read by id found (Observed.
        # unlisted_groups): an entry naming one is a group, by `names_group`'s rule.
        self.group_ids = self.listed_group_ids.union(g.id for g in observed.unlisted_groups)
        self.dangling = observed.dangling
        self._users_by_id: dict[str, Entry] = {}

    # The names are needed only for members that are not plain user ids (most targets store
    # ids), so they are indexed on first use: folding 100,000 userNames cost more than
    # resolving every member of a large target.

    @cached_property
    def names(self) -> dict[str, str | None]:
        """Each observed user's userName by id (None when it is not a string)."""
        out: dict[str, str | None] = {}
        for user in self._users:
            name = user.body.get("userName")
            out[user.id] = name if isinstance(name, str) else None
        return out

    @cached_property
    def by_name(self) -> dict[str, str]:
        """Observed user ids by folded userName."""
        found: dict[str, list[str]] = {}
        for user in self._users:
            name = user.body.get("userName")
            if isinstance(name, str) and name:
                found.setdefault(normalise("userName", name), []).append(user.id)
        # A name two users share resolves to neither: a guess could remove the wrong person.
        return {name: ids[0] for name, ids in found.items() if len(ids) == 1}

    def entries(self, body: Mapping[str, Json]) -> list[Entry]:
        members = body.get("members")
        if not isinstance(members, list):
            return []
        out: list[Entry] = []
        user_ids, known = self.user_ids, self._users_by_id
        nested: frozenset[str] | None = None  # worked out at the first member not plain
        for member in members:
            if (value := _plain_id(member, user_ids)) is not None:
                entry = known.get(value) or self._plain_user(member)
            else:
                nested = said_groups(members) if nested is None else nested
                entry = self.resolve(member, nested)
            if entry is not None:
                out.append(entry)
        return out

    def plain_users(self, body: Mapping[str, Json]) -> set[str] | None:
        """The users a group holds when every member entry is plain (a listed user's id,
        typed "User" or untyped, no $ref: what `entries` resolves to that user alone), or
        None when one is not and `entries` must decide. C-level passes instead of a Python
        call per member: nearly every group of a large target is all plain."""
        members = body.get("members")
        if members.__class__ is PlainMembers:  # decided as the page was read (memberlist.py)
            values: Iterable[Json] = members.values
        elif not isinstance(members, list):
            return set()  # as `entries` reads it: no members
        elif plain(members):  # a list built after the read (a group read again by id)
            values = map(dict.get, members, repeat("value"))
        else:
            return None
        held = set(values)
        # `plain` lets only strings through, as `_plain_id` asks.
        return cast(set[str], held) if self.user_ids.issuperset(held) else None

    def _plain_user(self, member: Json) -> Entry | None:
        """Nearly every member of a large group: a user's id, typed User or untyped, no
        $ref to a group; decided here as `resolve`'s full order would decide it. One Entry
        per user, shared by every group that holds the user (frozen, so sharing is safe)."""
        if type(member) is not dict:
            return None
        value = member.get("value")
        if type(value) is not str or value not in self.user_ids or not value:
            return None
        kind, ref = member.get("type"), member.get("$ref")
        if (
            kind is None or kind == "User" or (type(kind) is str and kind.casefold() != "group")
        ) and (ref is None or (type(ref) is str and ref_endpoint(ref) != "groups")):
            entry = self._users_by_id.get(value)
            if entry is None:
                entry = self._users_by_id[value] = Entry(value, Seen.USER, value)
            return entry
        return None

    def unresolved(self, groups: Iterable[Mapping[str, Json]]) -> set[str]:
        """Member values of these group bodies that resolve to no observed user or group,
        or to a group by an untyped id alone (a user the listing hid may have that id)."""
        out: set[str] = set()
        user_ids = self.user_ids
        for body in groups:
            members = body.get("members")
            if not isinstance(members, list):
                continue
            if members.__class__ is PlainMembers and user_ids.issuperset(members.values):
                continue  # every entry a listed user's plain id: resolved
            # A plain user member is resolved: only the others need an Entry (a third of
            # the cost, with every observed group read for this).
            nested: frozenset[str] | None = None
            for member in members:
                if _plain_id(member, user_ids) is None:
                    nested = said_groups(members) if nested is None else nested
                    entry = self.resolve(member, nested)
                    if entry is not None and (
                        entry.seen is Seen.UNRESOLVED
                        or (entry.seen is Seen.GROUP and not entry.sure)
                    ):
                        out.add(entry.value)
        return out

    def resolve(self, member: Json, nested: frozenset[str] = frozenset()) -> Entry | None:
        """What one member entry is. `nested`: the values its group's other entries say
        are groups (`said_groups`); an untyped entry of such a value is not that group, which
        a group holds once, and is read by the rest of the order (a user the listing hid)."""
        return self._plain_user(member) or self._resolve(member, nested)

    def _resolve(self, member: Json, nested: frozenset[str]) -> Entry | None:
        """`resolve` for a member that is not a plain user id: the full order."""
        if not isinstance(member, Mapping):
            return None
        raw = member.get("value")
        if isinstance(raw, bool) or not isinstance(raw, str | int) or raw == "":
            return None
        value = str(raw)
        if says_group(member):
            return Entry(value, Seen.GROUP)
        ref = member.get("$ref")
        ref = ref if isinstance(ref, str) else ""
        if value in self.user_ids:
            return Entry(value, Seen.USER, value)
        tail = ref.rstrip("/").rsplit("/", 1)[-1]
        if ref_endpoint(ref) == "users" and tail in self.user_ids:
            return Entry(value, Seen.USER, tail)
        if ref_endpoint(ref) not in ("", "users", "user"):
            # Another kind of member (a Databricks service principal, `$ref` to
            # `ServicePrincipals/7`): no user, so no 404 at /Users says it names nothing.
            # (A `type` is free text: some targets stamp every member "Person".)
            return Entry(value, Seen.UNRESOLVED)
        if value not in nested and names_group(value, False, self.group_ids, self.user_ids):
            # No listed user has this id, a listed group has, whatever the entry's `type`
            # says (`names_group`): the nested group, or a user the read did not show
            # (lookup mode, a listing that hides some users), where each kind is counted
            # from 1. Held either way (never added again), but removable only once the
            # target said no user has this id (`dangling`): a removal names the value
            # alone, and would take that user away.
            return Entry(value, Seen.GROUP, sure=value in self.dangling)
        for name, sure in ((value, True), (member.get("display"), False)):
            if isinstance(name, str) and (uid := self.by_name.get(normalise("userName", name))):
                return Entry(value, Seen.USER, uid, sure)
        if value in self.dangling:
            return Entry(value, Seen.DANGLING)
        return Entry(value, Seen.UNRESOLVED)


def names_group(
    value: str | None, said: bool, groups: Container[str], users: Container[str]
) -> bool:
    """Whether a member entry stands for a group: it says so (`said`: `says_group`), or its
    value names a listed group and no listed user, whatever its `type` says. Targets that
    stamp `type: User` on every member label a nested group so: read as a user, it would be
    taken out of its parent (or its parent deleted) with a protected account inside. The
    rule planning (`Directory`, core/spare.py) and apply (scim/apply/protection.py) tell
    members apart by; core/guards.py `_Groups.is_group` counts by the same. (`Directory`
    reads a `$ref` to a listed user, or to another kind of resource, first: the entry
    names its resource there, as a `type` that may be stamped on every member does not.)"""
    return said or (value is not None and value in groups and value not in users)


def said_groups(members: list[Json]) -> frozenset[str]:
    """The values of the entries that say they are groups, by `type` or `$ref`."""
    return frozenset(
        str(m.get("value")) for m in members if isinstance(m, Mapping) and says_group(m)
    )


def says_group(member: Mapping[str, Json]) -> bool:
    """Whether a member entry says it is a group, by its `type` or its `$ref`: read so
    wherever members are told apart (a user and a group may have one id)."""
    kind, ref = member.get("type"), member.get("$ref")
    return str(kind or "").casefold() == "group" or (
        isinstance(ref, str) and ref_endpoint(ref) == "groups"
    )


def ref_endpoint(ref: str) -> str:
    """The endpoint a member's `$ref` names, case-folded (`groups` in `.../v2/groups/7`): a
    target may write it in lower case, and read as a user, a nested group with a user's id
    would be removed for that user (a removal names the value alone)."""
    parts = ref.rstrip("/").rsplit("/", 2)
    # Relative too: Databricks writes `Users/7`, `Groups/7`, `ServicePrincipals/7`.
    return parts[-2].casefold() if len(parts) >= 2 else ""


def _plain_id(member: Json, user_ids: frozenset[str]) -> str | None:
    """The commonest member of all: a listed user's id, typed "User" or untyped, with no
    $ref; what `Directory._plain_user` resolves to that user. Its id, or None for any other."""
    if (
        type(member) is dict
        and member.get("$ref") is None
        and ((kind := member.get("type")) is None or kind == "User")
        and type(value := member.get("value")) is str
        and value in user_ids
    ):
        return value
    return None
