"""Guards that refuse mass removal of access (DESIGN §6): pure checks over a plan's changes.

They count the final list of changes, whatever produced each one (`state: absent`, prune,
`out_of_scope`, `active: false`, a mapping, an edited plan file): a disable is a disable,
a member removal is a member removal. The limits hold per run, across users and groups.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from reconciler.core import inactive
from reconciler.core.changes import DEPROVISIONS, Action, Change
from reconciler.core.config import Target
from reconciler.core.members import Directory, Seen, says_group
from reconciler.core.model import Json, Kind, Observed
from reconciler.core.plan import Plan
from reconciler.core.roles_held import lost_roles, role_paths

# As careful by default as a reviewer would be: more than this many deprovisions, or
# member removals, in one run needs an explicit override.
DEFAULT_MAX_DELETES = 10
DEFAULT_MAX_MEMBER_REMOVALS = 10
# One group losing more than this share of its members at once (and more than
# MEMBER_SHARE_FLOOR of them: a group of two losing one is ordinary) is refused.
DEFAULT_MAX_MEMBER_REMOVAL_PERCENT = 50.0
MEMBER_SHARE_FLOOR = 2

Held = tuple[str, bool]  # a member entry: its value, and whether it says it is a group


@dataclass(frozen=True)
class Allowances:
    """The operator's explicit overrides for one run (`--allow-deletes`,
    `--allow-member-removals`): up to this many pass the guards."""

    deletes: int = 0
    member_removals: int = 0
    # Where each came from, as the output names it (`SCIMREC_APPLY_ALLOW_DELETES=30`);
    # empty for the flag. An allowance left set in a job's environment lifts the guards
    # on every run, so each guard one lets pass says by what (check_guards).
    deletes_from: str = ""
    member_removals_from: str = ""


def deprovisions(changes: Iterable[Change]) -> list[Change]:
    """Every change that deletes or disables, however it was produced."""
    return [c for c in changes if c.action in DEPROVISIONS]


def member_removals(changes: Iterable[Change], observed: Observed | None = None) -> int:
    """Members removed, each member a deleted group holds on the target among them."""
    changes = list(changes)
    groups = _Groups(observed, _leaving(changes))
    return sum(_lost(c, groups) for c in changes)


def _leaving(changes: Iterable[Change]) -> frozenset[str]:
    """The ids of the users these changes deprovision: each is counted once, as that (the
    deletes guard's), and not again for each group it loses with it (a team that leaves
    with its group is its people's deprovisions, not as many member removals as well)."""
    return frozenset(
        c.target_id
        for c in changes
        if c.kind is Kind.USER and c.action in DEPROVISIONS and c.target_id
    )


class _Groups(dict[str, Mapping[str, Json]]):
    """The observed groups' bodies by id, which member values stand for a group, and which
    name a user the run deprovisions (`gone`: their ids)."""

    def __init__(self, observed: Observed | None, gone: frozenset[str] = frozenset()) -> None:
        # With the nested groups read by id that the listing left out (unlisted_members.py).
        groups = () if observed is None else (*observed.groups, *observed.unlisted_groups)
        super().__init__({g.id: g.body for g in groups})
        self.user_ids = frozenset(() if observed is None else (u.id for u in observed.users))
        self.gone = gone
        self._directory = None if observed is None or not gone else Directory(observed)
        self._leavers: dict[str, frozenset[str]] = {}

    def leaves(self, value: str | None, group_id: str | None) -> bool:
        """Whether a user member entry of this group names a user the run deprovisions.
        Its value is what the target stores, which is not always the id (Canaille stores
        the userName): it is resolved as protection and requirements resolve it, and only
        a sure resolution counts (a `display` alone may be a stale copy of another's name),
        so a leaver's entry is never counted twice and a stayer's always is."""
        if value in self.gone:
            return True
        body = self.get(group_id or "")
        if self._directory is None or body is None or value is None:
            return False
        leavers = self._leavers.get(group_id or "")
        if leavers is None:
            leavers = self._leavers[group_id or ""] = frozenset(
                e.value
                for e in self._directory.entries(body)
                if e.seen is Seen.USER and e.sure and e.uid in self.gone
            )
        return value in leavers

    def is_group(self, value: str | None, said: bool) -> bool:
        """Whether a member entry takes a group's members with it: it says it is a group,
        or its value names a group the target lists and no user it lists. Targets that
        stamp `type: User` on every member label a nested group so; counted as one member,
        a group of any size would leave its parent past the guards."""
        return said or (value in self and value not in self.user_ids)


def _lost(change: Change, groups: _Groups) -> int:
    """The members a change takes the group from: its removals, or, for a group deleted,
    every member it holds (a group deleted takes each one's access through it, as a group
    emptied would, and is counted so: deleting it is no way around the member guards).
    A nested group taken away counts with every member it holds, at any depth: each of
    them loses the group as surely as one removed by name."""
    if change.kind is Kind.GROUP and change.action is Action.DELETE:
        return len(_reach(change.target_id, groups, staying=True))
    return sum(
        len(_reach(m.id, groups, staying=True)) + 1
        if groups.is_group(m.id, m.type == "Group")
        else not groups.leaves(m.id, change.target_id)
        for m in change.members_remove
    )


def _reach(group_id: str | None, groups: _Groups, staying: bool = False) -> set[Held]:
    """The distinct members a group holds, directly or through the groups nested in it;
    `staying`: only those the run does not deprovision."""
    out: set[Held] = set()
    todo, done = [group_id or ""], set()
    while todo:
        gid = todo.pop()
        body = groups.get(gid)
        if gid in done or body is None:
            continue
        done.add(gid)
        held = {(value, groups.is_group(value, said)) for value, said in _held_members(body)}
        out |= {
            (value, is_group)
            for value, is_group in held
            if is_group or not (staying and groups.leaves(value, gid))
        }
        todo += [value for value, is_group in held if is_group]
    return out


def role_removals(changes: Iterable[Change], target: Target) -> int:
    """Roles users lose, each one counted as a member removal: a role is access, and a role
    map that stops granting one (an edit of `roles:`, a role group emptied) takes it from
    every holder in a single run without any group losing a member."""
    paths = role_paths(target)
    return sum(
        len(lost_roles(a, paths))
        for c in changes
        if c.kind is Kind.USER and c.action is Action.UPDATE
        for a in c.attributes
    )


def refusals(
    changes: tuple[Change, ...] | list[Change],
    target: Target,
    observed: Observed,
    allow: Allowances | None = None,
) -> list[str]:
    """The reasons the guards refuse these changes; empty when they may proceed."""
    return judged(changes, target, observed, allow)[0]


def judged(
    changes: tuple[Change, ...] | list[Change],
    target: Target,
    observed: Observed,
    allow: Allowances | None = None,
) -> tuple[list[str], list[str]]:
    """The reasons the guards refuse these changes, and the guards an allowance lets pass
    that would refuse them without it, each naming the allowance."""
    allow = allow or Allowances()
    refused: list[str] = []
    passed: list[str] = []
    gone = deprovisions(changes)
    if gone:
        over = len(gone) > allow.deletes
        then = _then(over, "--allow-deletes", len(gone), allow.deletes, allow.deletes_from)
        (refused if over else passed).extend(_deprovision_reasons(gone, target, observed, then))
    roles = role_removals(changes, target)
    removed = member_removals(changes, observed) + roles
    if removed:
        over = removed > allow.member_removals
        flag, granted = "--allow-member-removals", allow.member_removals
        then = _then(over, flag, removed, granted, allow.member_removals_from)
        reasons = _member_reasons(changes, removed, target, observed, roles, then)
        (refused if over else passed).extend(reasons)
    return refused, passed


def _then(over: bool, flag: str, needed: int, granted: int, where: str) -> str:
    """What a guard's reason ends with: the override it needs, or the one that passed it."""
    if over:
        return f"re-run with {flag} {needed} if that is intended"
    return f"allowed by {where or f'{flag} {granted}'}"


def check_guards(
    plan: Plan, target: Target, observed: Observed, allow: Allowances | None = None
) -> Plan:
    """The plan with the reasons any guard refuses it (an empty tuple: none tripped), after
    the requirements it breaks, which no allowance overrides; and the guards its
    allowances let pass."""
    refused, passed = judged(plan.changes, target, observed, allow)
    return dataclasses.replace(
        plan, guards=(*plan.requirements, *refused), guards_passed=tuple(passed)
    )


def _deprovision_reasons(
    gone: list[Change], target: Target, observed: Observed, then: str
) -> list[str]:
    reasons = []
    count = len(gone)
    limit = target.max_deletes if target.max_deletes is not None else DEFAULT_MAX_DELETES
    if count > limit:
        reasons.append(
            f"{_count(count, 'deprovision')} ({_breakdown(gone)}) in one run, more than "
            f"guards.max_deletes ({limit}){_unshown(gone, target, observed)}; {then}"
        )
    percent = target.max_delete_percent
    if percent is None:
        return reasons
    users, idle = _users_in_play(gone, observed)
    groups = len({g.id for g in observed.groups})
    for kind, held in ((Kind.USER, users), (Kind.GROUP, groups)):
        mine = sum(1 for c in gone if c.kind is kind)
        if mine and held and mine * 100 / held > percent:
            left = f" ({_count(idle, 'user')} already disabled not counted)"
            reasons.append(
                f"{mine} of {_count(held, kind.value)} ({round(mine * 100 / held, 1)}%) would be "
                f"deprovisioned, more than guards.max_delete_percent ({percent}%)"
                f"{left if kind is Kind.USER and idle else ''}; {then}"
            )
    return reasons


def _unshown(gone: list[Change], target: Target, observed: Observed) -> str:
    """Where disables of users shown without `active` may be no disables at all: a target
    that shows `active: true` and never `active: false` may leave `active` out of its
    disabled users (core/inactive.py), each of them then disabled again on every run. They
    are still counted: the reading is the quirk's to declare, not the guards' to guess."""
    if inactive.unshown(target):
        return ""
    shown = {u.body.get("active") for u in observed.users}
    if True not in shown or False in shown:
        return ""
    n = sum(
        1
        for c in gone
        if c.kind is Kind.USER
        and c.action is Action.DISABLE
        and any(a.path == "active" and a.before is None for a in c.attributes)
    )
    if not n:
        return ""
    return (
        f" ({n} of them shown without `active` on a target that shows no user with "
        "`active: false`: if it leaves `active` out of disabled users, declare "
        "quirks: {inactive: absent} for it)"
    )


def _users_in_play(gone: list[Change], observed: Observed) -> tuple[int, int]:
    """The users a share of deprovisions is taken of: those not already disabled, and the
    disabled ones this run deletes; and how many disabled ones it leaves. Counted among all
    accounts, a target holding many disabled ones (deprovision: disable keeps them) would let
    a run disable every active user within the share: 10 of 100 when 90 are disabled.
    Accounts, not resources read: an id shown more than once (core/shape.py `clashing`)
    is one account."""
    disabled = {u.id for u in observed.users if u.body.get("active") is False}
    live = {u.id for u in observed.users} - disabled
    deleted = {c.target_id for c in gone if c.kind is Kind.USER and c.action is Action.DELETE}
    return len(live) + len(disabled & deleted), len(disabled - deleted)


def _member_reasons(
    changes: Iterable[Change],
    removed: int,
    target: Target,
    observed: Observed,
    roles: int,
    then: str,
) -> list[str]:
    reasons = []
    limit = (
        target.max_member_removals
        if target.max_member_removals is not None
        else DEFAULT_MAX_MEMBER_REMOVALS
    )
    if removed > limit:
        reasons.append(
            f"{_count(removed, 'member removal')}"
            f"{f' ({roles} of them roles lost)' if roles else ''} in one run, more than "
            f"guards.max_member_removals ({limit}); {then}"
        )
    share = (
        target.max_member_removal_percent
        if target.max_member_removal_percent is not None
        else DEFAULT_MAX_MEMBER_REMOVAL_PERCENT
    )
    changes = list(changes)
    groups = _Groups(observed, _leaving(changes))
    for change in changes:
        lost = _lost(change, groups)
        if lost <= MEMBER_SHARE_FLOOR:
            continue
        held = len(_reach(change.target_id, groups))
        lost = min(lost, held)
        if held and lost * 100 / held > share:
            reasons.append(
                f"group {change.key} would lose {lost} of its {held} members "
                f"({round(lost * 100 / held, 1)}%), more than "
                f"guards.max_member_removal_percent ({share}%); {then}"
            )
    return reasons


def _held_members(body: Mapping[str, Json]) -> set[Held]:
    """The members a group lists: distinct entries, by value and kind (a user and a nested
    group may share an id). A target that lists a member twice (typed and untyped, a join
    repeated) holds it once; counted twice, a group emptied would pass as half-emptied."""
    members = body.get("members")
    if not isinstance(members, list):
        return set()
    return {
        (str(m.get("value")), says_group(m)) if isinstance(m, Mapping) else (repr(m), False)
        for m in members
    }


def _breakdown(gone: list[Change]) -> str:
    parts: dict[str, int] = {}
    for change in gone:
        label = f"{change.kind.value} {change.action.value}"
        parts[label] = parts.get(label, 0) + 1
    return ", ".join(f"{n} {label}{'s' if n != 1 else ''}" for label, n in sorted(parts.items()))


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
