"""Protection as planning applies it (DESIGN §6): every delete, disable, rename and
member removal of a protected object taken out of the plan, however it was produced, and
said in the plan's notes. `protected` (core/prune.py) says which names are protected; the
apply-time last line is scim/apply/protection.py."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from reconciler.core.changes import DEPROVISIONS, Action, Change
from reconciler.core.config import Target
from reconciler.core.members import Directory, Seen, names_group, said_groups
from reconciler.core.model import Kind, Observed
from reconciler.core.prune import NAME, protected
from reconciler.core.roles_held import lost_roles, role_paths


def spare_protected(
    target: Target, changes: Iterable[Change], observed: Observed
) -> tuple[list[Change], list[str]]:
    """Take every delete and disable of a protected object out of the plan, however it was
    produced; say which were spared, for the plan's notes.

    An object is protected when its declared key or its name on the target matches a
    pattern. A disable that also changes other attributes keeps those, minus `active`; a
    protected object is never renamed either (out of its pattern, it would be unprotected).
    """
    if not target.protected:
        return list(changes), []
    names = _names(target, observed)
    holders = Holders(observed)
    roles = role_paths(target)
    kept: list[Change] = []
    notes: list[str] = []
    for change in changes:
        if change.members_remove:
            held_by = holders.users_of(change.target_id)
            trimmed = _keep_members(target, change, (held_by, names), notes, holders)
            if trimmed is None:
                continue
            change = trimmed  # noqa: PLW2901
        if change.kind is Kind.GROUP and change.action is Action.DELETE:
            keeper = holders.protected_member(target, change.target_id, names)
            if keeper is not None:
                # Deleting the group takes it from every member: from a protected one too.
                notes.append(
                    f"group {change.key}: member {keeper} is protected: the group is not deleted"
                )
                continue
        held = names.get((change.kind, change.target_id or ""))
        shielded = protected(target, change.key) or protected(
            target, held if isinstance(held, str) else None
        )
        if not shielded:
            kept.append(change)
            continue
        name = NAME[change.kind]
        if change.action is not Action.CREATE and any(a.path == name for a in change.attributes):
            # A protected object keeps the name it is protected by: renamed, nothing would
            # stop the next run from disabling it.
            notes.append(f"{change.kind.value} {held or change.key} is protected: not renamed")
            left = tuple(a for a in change.attributes if a.path != name)
            change = dataclasses.replace(change, attributes=left, renamed_from=None)  # noqa: PLW2901
            if change.action is Action.UPDATE and not (
                left or change.members_add or change.members_remove
            ):
                continue
        lost = [lost_roles(a, roles) for a in change.attributes]
        if any(lost):
            # A role is access, as a group is: a protected account keeps both.
            gone = ", ".join(sorted(set().union(*lost)))
            notes.append(f"{change.kind.value} {change.key} is protected: keeps its roles ({gone})")
            left = tuple(a for a, taken in zip(change.attributes, lost, strict=True) if not taken)
            change = dataclasses.replace(change, attributes=left)  # noqa: PLW2901
            if change.action is Action.UPDATE and not (
                left or change.members_add or change.members_remove
            ):
                continue
        if change.action not in DEPROVISIONS:
            kept.append(change)
            continue
        notes.append(f"{change.kind.value} {change.key} is protected: not {change.action}d")
        rest = tuple(a for a in change.attributes if a.path != "active")
        if change.action is Action.DISABLE and (rest or change.members_add):
            kept.append(dataclasses.replace(change, action=Action.UPDATE, attributes=rest))
    return kept, notes


def _names(target: Target, observed: Observed) -> dict[tuple[Kind, str], object]:
    """Each observed object's name by (kind, id). An id the target showed under several
    names (core/shape.py `clashing`) takes a protected one where any is: which copy is
    the account is not known, and protection must hold for each."""
    names: dict[tuple[Kind, str], object] = {}
    groups = (*observed.groups, *observed.unlisted_groups)
    for kind, resources in ((Kind.USER, observed.users), (Kind.GROUP, groups)):
        for r in resources:
            name, key = r.body.get(NAME[kind]), (kind, r.id)
            if key not in names or (isinstance(name, str) and protected(target, name)):
                names[key] = name
    return names


class Holders:
    """Which user each member entry of a group stands for, resolved as planning resolved
    it (core/members.py). A removal names the entry's value as the target stores it, and
    that is not always the user's id: some targets store the userName, or an id of their
    own with a `$ref` to the user. Looked up by id alone, such a member would not be known
    as the protected account it is."""

    def __init__(self, observed: Observed) -> None:
        self._observed = observed
        self._groups = {g.id: g for g in (*observed.groups, *observed.unlisted_groups)}
        self._directory: Directory | None = None

    @property
    def directory(self) -> Directory:
        if self._directory is None:
            self._directory = Directory(self._observed)
        return self._directory

    def is_group(self, value: str, said: bool) -> bool:
        """Whether a removal's member stands for a group (members.names_group)."""
        directory = self.directory
        return names_group(value, said, directory.group_ids, directory.user_ids)

    def users_of(self, group_id: str | None) -> dict[tuple[Kind, str], object]:
        group = self._groups.get(group_id or "")
        if group is None:
            return {}
        names = self.directory.names
        held: dict[tuple[Kind, str], object] = {
            (Kind.USER, e.value): names.get(e.uid)
            for e in self.directory.entries(group.body)
            if e.seen is Seen.USER and e.uid is not None and e.value != e.uid
        }
        # An entry the target says names no user is known by its `display` alone: an
        # account hidden from /Users (Keycloak's service accounts) may stand behind it.
        members = group.body.get("members")
        for member in members if isinstance(members, list) else ():
            entry = self.directory.resolve(member)
            if entry is not None and entry.seen is Seen.DANGLING and isinstance(member, dict):
                held.setdefault((Kind.USER, entry.value), member.get("display"))
        return held

    def protected_member(
        self, target: Target, group_id: str | None, names: Mapping[tuple[Kind, str], object]
    ) -> str | None:
        """The name of a protected member the group holds, directly or through the groups
        nested in it (each loses the group with it), or None. Every name an entry may
        stand for is tried (the user or group it resolves to, its value, its display): a
        group that might hold a protected account is not taken away on a guess."""
        todo, done = [group_id or ""], set()
        while todo:
            gid = todo.pop()
            group = self._groups.get(gid)
            if gid in done or group is None:
                continue
            done.add(gid)
            members = group.body.get("members")
            raw = members if isinstance(members, list) else []
            nested = said_groups(raw)
            for member in raw:
                entry = self.directory.resolve(member, nested)
                is_group = entry is not None and entry.seen is Seen.GROUP
                value = None if entry is None else entry.uid or entry.value
                if is_group and value:
                    todo.append(value)
                found = names.get((Kind.GROUP if is_group else Kind.USER, value or ""))
                said = (
                    [member.get(k) for k in ("value", "display")]
                    if isinstance(member, dict)
                    else []
                )
                for name in (found, *said):
                    if isinstance(name, str) and protected(target, name):
                        return name
        return None


def _keep_members(
    target: Target,
    change: Change,
    names: tuple[Mapping[tuple[Kind, str], object], ...],
    notes: list[str],
    holders: Holders,
) -> Change | None:
    """`change` without its removals of protected members, noted; None when nothing is
    left of it. A membership removed is access taken away, as a disable is: a protected
    account (a break-glass administrator, say) keeps its groups whatever the spec says."""
    left = []
    for member in change.members_remove:
        mid, said = member.id or "", member.type == "Group"
        # Told apart as the guards count it (members.names_group), whatever the removal's
        # `type` says: one that says User and names a listed group is tried as both.
        group = holders.is_group(mid, said)
        kinds = (Kind.GROUP,) if said else (Kind.GROUP, Kind.USER) if group else (Kind.USER,)
        found = [n[k] for kind in kinds for n in names if (k := (kind, mid)) in n]
        # A nested group taken out takes the group from everyone in it too.
        inner = holders.protected_member(target, member.id, names[-1]) if group else None
        shielded = [f for f in found if isinstance(f, str) and protected(target, f)]
        held = inner or next(iter(shielded), None) or next(iter(found), None)
        if inner is not None or shielded or protected(target, member.key):
            notes.append(
                f"{change.kind.value} {change.key}: member {held or member.key} is protected: "
                "not removed"
            )
        else:
            left.append(member)
    if len(left) == len(change.members_remove):
        return change
    change = dataclasses.replace(change, members_remove=tuple(left))
    if change.action is Action.UPDATE and not (
        change.attributes or change.members_add or change.members_remove
    ):
        return None
    return change
