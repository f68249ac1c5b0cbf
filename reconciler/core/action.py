"""Step 5, `action`: the one action each object gets, with the attributes and members to
change; pure, from the declared object, its match, and what the target holds."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import cast

from reconciler.core.changes import Action, Change, Member
from reconciler.core.config import Target
from reconciler.core.diff import AttrChange, diff_attributes
from reconciler.core.match import NAME_ATTRIBUTE, Match, normalise
from reconciler.core.members import Directory, Entry, Seen
from reconciler.core.model import Declared, Json, Resource

Resolver = Callable[[str, Json], tuple[Json, str | None]]


def user_change(
    user: Declared,
    match: Match,
    target: Target,
    resolve: Resolver,
    create_only: frozenset[str] = frozenset(),
) -> Change | None:
    found = match.resource
    if not user.present:
        if found is None:
            return None
        if (user.deprovision or target.deprovision) == "delete":
            return make_change(user, match, Action.DELETE, "state: absent")
        if found.body.get("active") is False:
            return None
        disable = (AttrChange("active", found.body.get("active"), False),)
        return make_change(user, match, Action.DISABLE, "state: absent", disable)
    declared = user.attrs
    if found is not None and create_only:
        # `apply: on_create` values are written once, at create, and never diffed after.
        declared = {k: v for k, v in declared.items() if k not in create_only}
    attrs = diff_attributes(declared, found.body if found else {}, resolve)
    if found is None:
        # A create writes what is declared; explicit nulls have nothing to clear yet.
        attrs = [a for a in attrs if a.after is not None or a.ref is not None]
        ordered = tuple(sorted(attrs, key=lambda a: a.path))
        return make_change(user, match, Action.CREATE, "not found on target", ordered)
    if not attrs:
        return None
    return make_change(user, match, Action.UPDATE, "attributes differ", tuple(attrs))


@dataclass(frozen=True)
class Membership:
    """What every group's membership diff needs, built once per plan (per group it would
    make planning quadratic)."""

    directory: Directory
    user_ids: Mapping[str, str]  # declared user key → target id, for users in scope
    key_of: Mapping[str, str]  # target id → declared user key (the inverse)
    shielded: frozenset[str]  # ids never removed: candidates of failed matches, out of scope
    failed: frozenset[str]  # declared keys neither added nor removed until fixed
    policy: str = "exact"  # the target's members_policy


def group_change(group: Declared, match: Match, members: Membership) -> tuple[Change | None, int]:
    """Attributes, then memberships diffed against the target; and how many of the
    target's member entries could not be resolved (never removed, so the plan notes them)."""
    found = match.resource
    if not group.present:
        change = (
            None if found is None else make_change(group, match, Action.DELETE, "state: absent")
        )
        return change, 0
    body = found.body if found else {}
    attrs = diff_attributes(group.attrs, body)
    adds: list[Member] = []
    removes: list[Member] = []
    unresolved = 0
    if group.members is not None:
        directory = members.directory
        entries: list[Entry] | None = None
        plain = directory.plain_users(body)
        if plain is not None:
            have, unresolved, dangling = plain, 0, 0
        else:
            entries = directory.entries(body)
            have, unresolved, dangling = _held(entries)
        want, adds = _wanted(group.members, members, have)
        exact = (group.members_policy or members.policy) == "exact"
        # Only a user held and not wanted, or a dangling entry, can be removed: with neither
        # (every unchanged group), the entries need no second walk.
        if exact and (dangling or not have <= want):
            held = entries if entries is not None else directory.entries(body)
            removes = _removals(held, want, members)
    if found is None:
        attrs = [a for a in attrs if a.after is not None]
        change = make_change(group, match, Action.CREATE, "not found on target", tuple(attrs), adds)
        return change, 0
    if not attrs and not adds and not removes:
        return None, unresolved
    reason = "attributes differ" if attrs else "members differ"
    change = make_change(group, match, Action.UPDATE, reason, tuple(attrs), adds, removes)
    return change, unresolved


def _held(entries: list[Entry]) -> tuple[set[str], int, int]:
    """One walk over what can be large (a group of 12,000): the users held, how many
    entries resolve to nothing, and how many the target confirmed dangling."""
    have: set[str] = set()
    unresolved = dangling = 0
    for entry in entries:
        seen = entry.seen
        if seen is Seen.USER:
            have.add(entry.uid or "")
        elif seen is Seen.UNRESOLVED:
            unresolved += 1
        elif seen is Seen.DANGLING:
            dangling += 1
    return have, unresolved, dangling


def _wanted(
    keys: tuple[str, ...], members: Membership, have: set[str]
) -> tuple[set[str], list[Member]]:
    """The target ids the declared members stand for, and the members to add: those the
    target does not hold, or whose user is not on it yet. A key whose match failed is
    neither added nor removed until that is fixed."""
    user_ids = members.user_ids
    if members.failed.isdisjoint(keys):
        # Every unchanged group: each key matched and held, decided in C. `have` holds
        # strings only, so a key with no id (None) sends it to the loop below.
        found = set(map(user_ids.get, keys))
        if found <= have:
            return cast(set[str], found), []
    want: set[str] = set()
    adds: list[Member] = []
    for key in keys:
        if key in members.failed:
            continue
        uid = user_ids.get(key)
        if uid is not None:
            want.add(uid)
        if uid is None or uid not in have:
            adds.append(Member(key, uid))
    return want, adds


def _removals(entries: list[Entry], want: set[str], members: Membership) -> list[Member]:
    """Members the target holds and the spec does not: resolved users, and entries the
    target confirmed dangling. Never an unresolved entry, a nested group, or a user whose
    match failed or who is out of this target's scope."""
    out: dict[str, Member] = {}
    for entry in entries:
        if (
            entry.seen is Seen.USER
            and entry.sure
            and entry.uid not in want
            and entry.uid not in members.shielded
        ):
            uid = entry.uid or ""
            name = members.key_of.get(uid) or members.directory.names.get(uid)
            out.setdefault(entry.value, Member(name, entry.value))
        elif entry.seen is Seen.DANGLING:
            out.setdefault(entry.value, Member(None, entry.value))
    return [out[v] for v in sorted(out)]


def make_change(
    obj: Declared,
    match: Match,
    action: Action,
    reason: str,
    attributes: tuple[AttrChange, ...] = (),
    adds: list[Member] | None = None,
    removes: list[Member] | None = None,
) -> Change:
    found = match.resource
    return Change(
        kind=obj.kind,
        key=obj.key,
        action=action,
        reason=reason,
        target_id=found.id if found else None,
        matched_on=match.matched_on,
        version=found.version if found else None,
        attributes=attributes,
        members_add=tuple(adds or ()),
        members_remove=tuple(removes or ()),
        location=obj.location,
        renamed_from=renamed_from(obj, found, attributes),
    )


def renamed_from(
    obj: Declared, found: Resource | None, attributes: tuple[AttrChange, ...]
) -> str | None:
    """The target object's current name when this change gives it another: matched on an
    immutable key or a former name, it is renamed in place (the plan says "rename A → B").
    A name that differs only in case or invisibly is the same name, corrected."""
    name = NAME_ATTRIBUTE[obj.kind]
    change = next((a for a in attributes if a.path == name), None)
    if found is None or change is None:
        return None
    old, new = change.before, change.after
    if not isinstance(old, str) or not isinstance(new, str) or not old:
        return None
    return old if normalise(name, old) != normalise(name, new) else None


def with_nested(
    change: Change | None,
    group: Declared,
    match: Match,
    groups_by_id: Mapping[str, str],
    directory: Directory,
    policy: str = "exact",
    held: frozenset[str] = frozenset(),
) -> Change | None:
    """For targets that nest groups natively: nested groups as `type: Group` members.

    A member is a nested group by its type or `$ref` (core/members.py), never because its
    id equals a group's: targets that number users and groups apart share ids. Removals
    follow the rules user members do: none under `members_policy: additive`, and none of a
    group the read did not show (lookup mode, a listing that hid it): unresolved, kept.
    Nor of a group in `held`: one that cannot be read, or that a declared group whose
    match failed may be (its name read masked, say), so it may be the very group nested.
    """
    ids = {key: gid for gid, key in groups_by_id.items()}
    body = match.resource.body if match.resource else {}
    entries = [e for e in directory.entries(body) if e.seen is Seen.GROUP]
    have = {e.value for e in entries}
    # An untyped entry with a group's id may be a user the read did not show (Entry.sure):
    # held, so never added again, but never removed.
    sure = {e.value for e in entries if e.sure}
    want = {ids[key] for key in group.subgroups if key in ids}
    adds = [
        Member(key, ids.get(key), "Group")
        for key in group.subgroups
        if ids.get(key) is None or ids[key] not in have
    ]
    gone = sorted(sure - want - held) if policy == "exact" else []
    listed = directory.listed_group_ids  # one read by id for protection alone stays
    removes = [Member(groups_by_id.get(g), g, "Group") for g in gone if g in listed]
    if not adds and not removes:
        return change
    if change is None:
        change = make_change(group, match, Action.UPDATE, "members differ")
    return dataclasses.replace(
        change,
        members_add=change.members_add + tuple(adds),
        members_remove=change.members_remove + tuple(removes),
    )


def flatten(groups: Mapping[str, Declared]) -> dict[str, tuple[str, ...]]:
    """Each group's members with those of its nested groups, for targets that nest nothing.

    Depth first, nested groups before the groups holding them, on a stack of its own: on
    Python's, a chain of nested groups a thousand deep ended in RecursionError (exit 3).
    The spec loader refuses cycles; one met here is a bug, not a loop forever.
    """
    done: dict[str, tuple[str, ...]] = {}
    expanded: set[str] = set()
    for root in groups:
        stack = [root]
        while stack:
            key = stack[-1]
            if key in done:
                stack.pop()
                continue
            group = groups[key]
            pending = [child for child in group.subgroups if child not in done]
            if pending:
                if key in expanded:
                    raise ValueError(f"group {key!r} is nested in itself")
                expanded.add(key)
                stack.extend(reversed(pending))  # the first nested group is done first
                continue
            found = dict.fromkeys(group.members or ())
            for child in group.subgroups:
                found |= dict.fromkeys(done[child])
            done[key] = tuple(found)
            stack.pop()
    return done


def user_name(resource: Resource) -> str | None:
    value = resource.body.get("userName")
    return value if isinstance(value, str) else None
