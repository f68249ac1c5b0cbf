"""Step 5 for groups: the change each declared group gets (attributes, members, nested
groups), with the membership context built once for all of them."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from operator import attrgetter

from reconciler.core.action import Membership, flatten, group_change, with_nested
from reconciler.core.changes import Change, ObjectError
from reconciler.core.config import Target
from reconciler.core.match import Match
from reconciler.core.members import Directory, Seen
from reconciler.core.model import Declared, Kind, Observed
from reconciler.core.targetview import TargetView
from reconciler.core.twins import kept_twins

_PROBLEM = attrgetter("problem")


@dataclass
class GroupPlan:
    changes: list[Change] = field(default_factory=list)
    errors: list[ObjectError] = field(default_factory=list)
    noop: int = 0
    notes: list[str] = field(default_factory=list)


def plan_groups(
    groups: list[Declared],
    group_matches: Mapping[str, Match],
    user_matches: Mapping[str, Match],
    view: TargetView,
    observed: Observed,
    target: Target,
) -> GroupPlan:
    out = GroupPlan()
    members = membership(user_matches, view, observed, target)
    native = target.nested_groups == "native"
    nested = flatten({g.key: g for g in view.all_groups})
    groups_by_id = {m.resource.id: k for k, m in group_matches.items() if m.resource}
    # Groups never taken out of another: unreadable ones, those a failed match may be, and
    # a declared group's other accounts (twins.py), as a user's are kept.
    held = (
        frozenset(r.id for r in observed.groups if r.problem is not None)
        | frozenset(
            c for m in group_matches.values() if m.error for a in m.attempts for c in a.candidates
        )
        | (kept_twins(target, observed, Kind.GROUP, group_matches, view) if native else frozenset())
    )
    for group in groups:
        match = group_matches[group.key]
        if group.subgroups and not native:
            group = dataclasses.replace(group, members=nested[group.key])  # noqa: PLW2901
        if match.error:
            error = ObjectError(Kind.GROUP, group.key, "match", match.error, group.location)
            out.errors.append(error)
            continue
        change, unresolved = group_change(group, match, members)
        if unresolved:
            out.notes.append(
                f"group {group.key}: {unresolved} member(s) on the target resolve to no listed "
                "user; they are left in place (run `scimrec doctor` to see why)"
            )
        if native and group.present and group.members is not None:
            policy = group.members_policy or members.policy
            change = with_nested(
                change, group, match, groups_by_id, members.directory, policy, held
            )
            left = _unsure_nested(group, match, groups_by_id, members.directory)
            if left and policy == "exact":
                out.notes.append(
                    f"group {group.key}: {left} untyped member(s) with a nested group's id may "
                    "be users the read did not show; they are left in place"
                )
        if change is None:
            out.noop += 1
        else:
            out.changes.append(change)
    return out


def membership(
    user_matches: Mapping[str, Match], view: TargetView, observed: Observed, target: Target
) -> Membership:
    outside = {u.key for u, _ in view.out_of_scope}
    # A user no assigned group holds is in none of the groups this target receives, by
    # their declared members: those groups lose them (not shielded, as scoped-out users are).
    shield = outside - view.unassigned
    user_ids = {
        key: m.resource.id
        for key, m in user_matches.items()
        if m.resource is not None and key not in outside
    }
    errored = [key for key, m in user_matches.items() if m.error]
    # Whether a user is present is asked only of those: mostly none (100,000 users).
    declared = (
        {u.key: u for u in (*view.all_users, *view.failed) if u.kind is Kind.USER}
        if errored
        else {}
    )
    # Ids a membership diff must not remove: candidates of users whose match failed,
    # users out of this target's scope (left alone, not managed), and a declared user's
    # other accounts (twins.py).
    covered = [key for key in errored if declared[key].present]
    covered += [key for key in shield if key in user_matches]
    shielded = frozenset(
        cid for key in covered for a in user_matches[key].attempts for cid in a.candidates
    ) | kept_twins(target, observed, Kind.USER, user_matches, view)
    # Users in error (core/shape.py): one id the target gave to two people, a body it
    # cannot read. Who would leave the group is not known, nor whether protection covers
    # them: nothing is decided from such a user, a removal neither.
    if not {None}.issuperset(map(_PROBLEM, observed.users)):  # nearly always: none in error
        shielded |= frozenset(r.id for r in observed.users if r.problem is not None)
    if Kind.USER in view.unknown_accounts(target):
        # A user whose mapping failed may hold any account no declared user claims.
        shielded |= frozenset(r.id for r in observed.users) - frozenset(user_ids.values())
    failed = set(errored) | outside
    failed |= {key for kind, key, _, _ in view.errors if kind is Kind.USER}
    return Membership(
        directory=Directory(observed),
        user_ids=user_ids,
        key_of={uid: key for key, uid in user_ids.items()},
        shielded=shielded,
        failed=frozenset(failed),
        policy=target.members_policy,
    )


def _unsure_nested(
    group: Declared, match: Match, groups_by_id: Mapping[str, str], directory: Directory
) -> int:
    """How many untyped entries the group holds that only a group's id resolves (members.py
    Entry.sure), and that its declared nested groups do not call for: never removed."""
    if match.resource is None:
        return 0
    wanted = {gid for gid, key in groups_by_id.items() if key in group.subgroups}
    return sum(
        1
        for e in directory.entries(match.resource.body)
        if e.seen is Seen.GROUP and not e.sure and e.value not in wanted
    )
