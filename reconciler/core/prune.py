"""Pruning and protection (DESIGN §2, §6): which undeclared objects a target deprovisions.

`prune: none` touches nothing undeclared. `prune: all` deprovisions every undeclared
object. `prune: owned` deprovisions only undeclared objects whose `externalId` starts with
the target's `ownership.external_id_prefix`: scimrec writes the declared externalIds, which
must carry that prefix, so ownership is read from the target alone, with no state file.
`protected` patterns are never disabled or deleted, whatever the spec says.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping

from reconciler.core.changes import DEPROVISIONS, Action, Change, ObjectError
from reconciler.core.config import Target
from reconciler.core.diff import AttrChange
from reconciler.core.match import Match, normalise
from reconciler.core.members import Directory, Seen, said_groups
from reconciler.core.model import Kind, Observed, Resource
from reconciler.core.roles_held import lost_roles, role_paths
from reconciler.core.twins import twin_errors, twins

NAME = {Kind.USER: "userName", Kind.GROUP: "displayName"}


def protected(target: Target, name: str | None) -> bool:
    """Whether a userName or displayName matches a `protected` pattern, compared the way
    matching compares names (NFKC, case-folded, surrounding whitespace ignored)."""
    if not name:
        return False
    folded = normalise("userName", name)
    return any(_pattern(normalise("userName", p)).fullmatch(folded) for p in target.protected)


@functools.lru_cache(maxsize=1024)
def _pattern(pattern: str) -> re.Pattern[str]:
    """`*` is any run of characters, `?` any one; everything else is itself. Not fnmatch:
    there `[prod]` is a character set, and "Admins [prod]" would protect nothing."""
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL)


def owned(target: Target, resource: Resource) -> bool:
    external = resource.body.get("externalId")
    prefix = target.ownership_prefix
    return bool(prefix) and isinstance(external, str) and external.startswith(prefix or "")


def prune_changes(
    target: Target,
    observed: Observed,
    matches: Mapping[tuple[Kind, str], Match],
    spare: frozenset[Kind] = frozenset(),
) -> list[Change]:
    """Deprovisions for undeclared objects, per the target's prune policy; none of the
    kinds in `spare` (mapping.unknown_accounts)."""
    out: list[Change] = []
    for kind, resource, key in _keyed(_strays(target, observed, matches, spare)):
        change = _deprovision(kind, resource, target, key)
        if change is not None:
            out.append(change)
    return out


def disabled_strays(
    target: Target,
    observed: Observed,
    matches: Mapping[tuple[Kind, str], Match],
    spare: frozenset[Kind] = frozenset(),
) -> list[tuple[str, Resource]]:
    """Undeclared users prune covers that are already disabled (nothing left to change,
    unless `delete_after` deletes them), with the key a plan names them by."""
    if target.deprovision != "disable":
        return []
    return [
        (key, resource)
        for kind, resource, key in _keyed(_strays(target, observed, matches, spare))
        if kind is Kind.USER and resource.body.get("active") is False
    ]


def _keyed(strays: Iterable[tuple[Kind, Resource]]) -> list[tuple[Kind, Resource, str]]:
    """Each stray with the key a plan names it by: its name, or its name and id where
    another stray of its kind has that name (group names need not be unique). A plan
    file holds one change per key: two deletes of "Contractors" made one apply refused."""
    listed = [(kind, resource, _key(kind, resource)) for kind, resource in strays]
    seen = Counter((kind, key) for kind, _, key in listed)
    return [(k, r, n if seen[(k, n)] == 1 else f"{n} (id {r.id})") for k, r, n in listed]


def _strays(
    target: Target,
    observed: Observed,
    matches: Mapping[tuple[Kind, str], Match],
    spare: frozenset[Kind] = frozenset(),
) -> Iterator[tuple[Kind, Resource]]:
    """The undeclared objects the target's prune policy covers, of no kind in `spare`."""
    if target.prune == "none":
        return
    claimed = {(kind, m.resource.id) for (kind, _), m in matches.items() if m.resource}
    claimed |= set(twins(target, observed, matches))  # in error instead: twin_strays
    claimed |= {
        (kind, cid)
        for (kind, _), m in matches.items()
        if m.error
        for attempt in m.attempts
        for cid in attempt.candidates
    }
    for kind, resources in ((Kind.USER, observed.users), (Kind.GROUP, observed.groups)):
        if kind in spare:
            continue
        for resource in resources:
            if (kind, resource.id) in claimed or resource.problem is not None:
                continue  # an unreadable object is never deprovisioned: unreadable_strays
            if target.prune == "owned" and not owned(target, resource):
                continue
            yield kind, resource


def twin_strays(
    target: Target, observed: Observed, matches: Mapping[tuple[Kind, str], Match]
) -> list[ObjectError]:
    """Undeclared objects prune would take but for a matching value they share with a
    declared object's account (twins.py): each one in error, never deprovisioned."""
    if target.prune == "none":
        return []
    found = twins(target, observed, matches)
    held = {
        (k, r.id): r
        for k, rs in ((Kind.USER, observed.users), (Kind.GROUP, observed.groups))
        for r in rs
    }
    # Only where prune would have acted: an account outside `owned`'s prefix, one
    # already disabled that nothing will delete, or a protected one (spare_protected)
    # was never going to be touched.
    return twin_errors(
        {
            key: twin
            for key, twin in found.items()
            if (resource := held.get(key)) is not None
            and (target.prune != "owned" or owned(target, resource))
            and not _settled(key[0], resource, target)
            and not _protected_name(target, key[0], resource)
        }
    )


def _protected_name(target: Target, kind: Kind, resource: Resource) -> bool:
    name = resource.body.get(NAME[kind])
    return protected(target, name if isinstance(name, str) else None)


def _settled(kind: Kind, resource: Resource, target: Target) -> bool:
    """An undeclared user already disabled, on a target that disables and never deletes
    later: prune has nothing left to do to it."""
    return (
        kind is Kind.USER
        and target.deprovision == "disable"
        and target.delete_after is None
        and resource.body.get("active") is False
    )


def unreadable_strays(
    target: Target, observed: Observed, matches: Mapping[tuple[Kind, str], Match]
) -> list[ObjectError]:
    """Undeclared objects prune would look at but cannot read: each one in error, so the
    run says so instead of deprovisioning (or silently skipping) what it cannot see."""
    if target.prune == "none":
        return []
    claimed = {
        (kind, cid) for (kind, _), m in matches.items() for a in m.attempts for cid in a.candidates
    }
    return [
        ObjectError(
            kind, r.id, "import", f"the target's {kind.value} {r.id} cannot be read: {r.problem}"
        )
        for kind, resources in ((Kind.USER, observed.users), (Kind.GROUP, observed.groups))
        for r in resources
        if r.problem is not None and (kind, r.id) not in claimed
    ]


def _key(kind: Kind, resource: Resource) -> str:
    name = resource.body.get(NAME[kind])
    return name if isinstance(name, str) and name else resource.id


def _deprovision(kind: Kind, resource: Resource, target: Target, key: str) -> Change | None:
    reason = f"not declared (prune: {target.prune})"
    attributes: tuple[AttrChange, ...] = ()
    if kind is Kind.GROUP or target.deprovision == "delete":
        action = Action.DELETE
    elif resource.body.get("active") is False:
        return None
    else:
        action = Action.DISABLE
        attributes = (AttrChange("active", resource.body.get("active"), False),)
    return Change(
        kind=kind,
        key=key,
        action=action,
        reason=reason,
        target_id=resource.id,
        version=resource.version,
        attributes=attributes,
    )


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
    holders = _Holders(observed)
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
    for kind, resources in ((Kind.USER, observed.users), (Kind.GROUP, observed.groups)):
        for r in resources:
            name, key = r.body.get(NAME[kind]), (kind, r.id)
            if key not in names or (isinstance(name, str) and protected(target, name)):
                names[key] = name
    return names


class _Holders:
    """Which user each member entry of a group stands for, resolved as planning resolved
    it (core/members.py). A removal names the entry's value as the target stores it, and
    that is not always the user's id: some targets store the userName, or an id of their
    own with a `$ref` to the user. Looked up by id alone, such a member would not be known
    as the protected account it is."""

    def __init__(self, observed: Observed) -> None:
        self._observed = observed
        self._groups = {g.id: g for g in observed.groups}
        self._directory: Directory | None = None

    def users_of(self, group_id: str | None) -> dict[tuple[Kind, str], object]:
        group = self._groups.get(group_id or "")
        if group is None:
            return {}
        if self._directory is None:
            self._directory = Directory(self._observed)
        names = self._directory.names
        return {
            (Kind.USER, e.value): names.get(e.uid)
            for e in self._directory.entries(group.body)
            if e.seen is Seen.USER and e.uid is not None and e.value != e.uid
        }

    def protected_member(
        self, target: Target, group_id: str | None, names: Mapping[tuple[Kind, str], object]
    ) -> str | None:
        """The name of a protected member the group holds, directly or through the groups
        nested in it (each loses the group with it), or None. Every name an entry may
        stand for is tried (the user or group it resolves to, its value, its display): a
        group that might hold a protected account is not taken away on a guess."""
        if self._directory is None:
            self._directory = Directory(self._observed)
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
                entry = self._directory.resolve(member, nested)
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
    holders: _Holders,
) -> Change | None:
    """`change` without its removals of protected members, noted; None when nothing is
    left of it. A membership removed is access taken away, as a disable is: a protected
    account (a break-glass administrator, say) keeps its groups whatever the spec says."""
    left = []
    for member in change.members_remove:
        kind = Kind.GROUP if member.type == "Group" else Kind.USER
        held = next((n[k] for n in names if (k := (kind, member.id or "")) in n), None)
        # A nested group taken out takes the group from everyone in it too.
        inner = (
            holders.protected_member(target, member.id, names[-1]) if kind is Kind.GROUP else None
        )
        if inner is not None:
            held = inner
        if (
            inner is not None
            or protected(target, member.key)
            or protected(target, held if isinstance(held, str) else None)
        ):
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
