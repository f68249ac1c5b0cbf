"""The plan as data: Action, Change, Plan, and `make_plan`, the pure heart of scimrec.

`make_plan` runs steps 3-5 (scope, match, action) for every object. It does no I/O and
reads no clock: the same spec and the same observed state always give the same plan.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from itertools import repeat
from operator import attrgetter

from reconciler.core import collector, masked, unproven
from reconciler.core.action import (
    user_change,
)
from reconciler.core.changes import DEPROVISIONS, Action, Change, Member, ObjectError, phase
from reconciler.core.config import Spec, Target
from reconciler.core.finish import finish
from reconciler.core.group_plan import plan_groups
from reconciler.core.lifecycle import Dormant, Scheduled
from reconciler.core.masking import write_only
from reconciler.core.match import NAME_ATTRIBUTE, Index, Match, every_candidate, match_all
from reconciler.core.model import Declared, Json, Kind, Observed, Resource
from reconciler.core.outside import plan_outside
from reconciler.core.prune import (
    disabled_strays,
    prune_changes,
    twin_strays,
    unreadable_strays,
)
from reconciler.core.requirements import broken
from reconciler.core.selection import with_dependencies
from reconciler.core.shape import shaped, unreadable
from reconciler.core.targetview import TargetView, target_view
from reconciler.core.twins import held_elsewhere
from reconciler.expressions.dotnet_dates import Clock
from reconciler.expressions.dotnet_regex import forget_strikes

FORMAT_VERSION = 1
_KEY = attrgetter("key")
_PROBLEM = attrgetter("problem")
# The plan's vocabulary lives in changes.py; it is re-exported here, where people look.
__all__ = [
    "DEPROVISIONS",
    "FORMAT_VERSION",
    "Action",
    "Change",
    "Member",
    "ObjectError",
    "Plan",
    "PlanOptions",
    "make_plan",
    "phase",
]


@dataclass(frozen=True)
class Plan:
    target: str
    url: str
    changes: tuple[Change, ...]
    errors: tuple[ObjectError, ...] = ()
    noop: int = 0
    notes: tuple[str, ...] = ()
    # Reasons a safety guard refuses the deprovisions in this plan (empty: none tripped).
    guards: tuple[str, ...] = ()
    # False when the target's listing ended early: apply then looks before each create.
    complete_read: bool = True
    matches: Mapping[tuple[Kind, str], Match] = field(default_factory=dict, compare=False)
    # Users a scoping filter leaves out: (key, reason, what happens to them).
    out_of_scope: tuple[tuple[str, str, str], ...] = ()
    # Groups a target that assigns by group does not take: (key, reason, what happens).
    out_of_scope_groups: tuple[tuple[str, str, str], ...] = ()
    # Disabled accounts `delete_after` will delete, and when.
    scheduled: tuple[Scheduled, ...] = ()
    # Groups' and roles' required members this plan would break (core/requirements.py):
    # refused like a guard, with no override; the guards keep them first among theirs.
    requirements: tuple[str, ...] = field(default=(), compare=False)
    # Guards that would refuse it and an allowance lets pass, each naming the allowance.
    guards_passed: tuple[str, ...] = ()
    view: TargetView | None = field(default=None, compare=False)
    # What the read held, every object: no create of the run can be answered with one of
    # their ids (each existed before), so apply holds each for its own (owners.py). The
    # read itself, not a copy: the plan command never needs it.
    read: Observed | None = field(default=None, compare=False)
    # The attributes the target's /Schemas marks write-only: masked in the JSON form, so
    # in every rendering of it and in plan files (apply --plan takes them from the spec).
    write_only: frozenset[str] = field(default=frozenset(), compare=False)

    @property
    def summary(self) -> dict[str, int]:
        counts = {a.value: 0 for a in Action}
        for change in self.changes:
            counts[change.action.value] += 1
        counts[Action.NOOP.value] += self.noop
        counts["error"] = len(self.errors)
        return counts

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    def to_json(self) -> dict[str, Json]:
        return {
            "format_version": FORMAT_VERSION,
            "target": {"name": self.target, "url": self.url},
            "summary": self.summary,
            "changes": [c.to_json(self.write_only) for c in self.changes],
            "errors": [e.to_json() for e in self.errors],
            "guards": list(self.guards),
            # Only where there is something to say, so plans without it keep their form.
            **({"guards_passed": list(self.guards_passed)} if self.guards_passed else {}),
            "notes": list(self.notes),
            "complete_read": self.complete_read,
            **(
                {"scheduled_deletes": [s.to_json() for s in self.scheduled]}
                if self.scheduled
                else {}
            ),
            "out_of_scope": [
                {"kind": kind, "key": key, "reason": reason, "outcome": outcome}
                for kind, entries in (
                    ("user", self.out_of_scope),
                    ("group", self.out_of_scope_groups),
                )
                for key, reason, outcome in entries
            ],
        }


@dataclass(frozen=True)
class PlanOptions:
    # Restrict the plan to these (kind, key) objects, as `--only` asks; None means all.
    only: frozenset[tuple[Kind, str]] | None = None
    # What Now() and Guid() return in mappings: the caller's clock and GUID source.
    now: Clock | None = None
    new_guid: Callable[[], str] | None = None


def make_plan(
    spec: Spec, target: Target, observed: Observed, options: PlanOptions | None = None
) -> Plan:
    """Steps 3-5 for every declared object (or those `options.only` selects)."""
    forget_strikes()  # each plan's patterns get their own timeouts (dotnet_regex.STRIKES)
    with collector.paused():  # a plan is a tree without cycles (core/collector.py)
        return _make_plan(spec, target, observed, options or PlanOptions())


def _make_plan(spec: Spec, target: Target, observed: Observed, options: PlanOptions) -> Plan:
    observed = shaped(observed)
    view = target_view(spec, target, options.now, options.new_guid)
    user_matches, group_matches = _match(view, observed, target)
    only = options.only
    picked: list[str] = []
    if only is not None:
        native = target.nested_groups == "native"
        only, picked = with_dependencies(only, view, user_matches, group_matches, native)
    users = [u for u in view.users if _selected(only, u)]
    groups = [g for g in view.groups if _selected(only, g)]
    groups_out = [(g, r) for g, r in view.groups_out if _selected(only, g)]
    # Split once: three later steps read only one side (each pass over every user costs).
    present = [u for u in users if u.present]
    absent = [u for u in users if not u.present] if len(present) < len(users) else []

    changes, errors, noop = _plan_users(
        users, user_matches, target, view, observed.capabilities.write_only
    )
    errors += [ObjectError(kind, key, "import", msg, loc) for kind, key, msg, loc in view.errors]
    outside = [(u, r) for u, r in view.out_of_scope if _selected(only, u)]
    left = plan_outside(outside, user_matches, target, view.inactive)
    left_groups = plan_outside(groups_out, group_matches, target)
    changes += left.changes + left_groups.changes
    planned = plan_groups(groups, group_matches, user_matches, view, observed, target)
    changes += planned.changes
    errors += planned.errors
    group_noop = planned.noop
    notes = list(observed.notes) + unproven.note(observed) + picked + planned.notes
    dormant = [Dormant(u.key, r, why) for u, r, why in left.dormant]
    dormant += _absent_and_disabled(absent, user_matches, target)
    if target.not_kept:
        notes.append(
            "not managed on this target, which does not keep them (quirks: not_kept): "
            + ", ".join(target.not_kept)
        )
    if options.only is None and not observed.lookup:
        # In lookup mode nothing undeclared was seen, so there is nothing to prune.
        matched = _all_matches(user_matches, group_matches)
        spare = view.unknown_accounts(target)
        changes += prune_changes(target, observed, matched, spare)
        errors += unreadable_strays(target, observed, matched)
        errors += twin_strays(target, observed, matched, (*view.all_users, *view.all_groups))
        strays = disabled_strays(target, observed, matched, spare)
        dormant += [Dormant(k, r, "not declared") for k, r in strays]
        notes += [_SPARED[kind] for kind in (Kind.GROUP, Kind.USER) if kind in spare]
    now = options.now if isinstance(options.now, datetime) else None
    kept = _kept(present, outside, view.inactive, user_matches)
    done = finish(changes, target, observed, dormant, kept, now)
    changes = done.changes
    notes += done.notes
    errors += done.errors
    # An absent user already disabled counted as a no-op; deleted now, it is a change.
    noop -= len(done.deleted & {u.key for u in absent})
    required = broken(changes, view, observed, user_matches, group_matches, target)
    changes.sort(key=lambda c: (phase(c), c.key.casefold(), c.key))
    matches = _keyed(Kind.USER, user_matches, [*users, *(u for u, _ in outside)])
    matches |= _keyed(Kind.GROUP, group_matches, [*groups, *(g for g, _ in groups_out)])
    out_of_scope = left.outcomes(changes, done.taken)  # what the finished plan does
    groups_left = left_groups.outcomes(changes, done.taken)
    return Plan(
        target=target.name,
        url=target.url,
        changes=tuple(changes),
        errors=tuple(errors),
        noop=noop + group_noop,
        notes=tuple(notes),
        matches=matches,
        complete_read=observed.complete,
        out_of_scope=out_of_scope,
        out_of_scope_groups=groups_left,
        scheduled=done.scheduled,
        requirements=tuple(required),
        guards=tuple(required),
        view=view,
        read=observed,
        write_only=observed.capabilities.write_only,
    )


# Why prune spares a kind (TargetView.unknown_accounts); group_plan spares the members.
_SPARED = {
    Kind.USER: "a user's mapping failed, and its account may hold a mapped name: no "
    "undeclared user is pruned or taken out of a group in this plan",
    Kind.GROUP: "a group's mapping failed, and its account may hold a mapped name: no "
    "undeclared group is pruned in this plan",
}


def _match(
    view: TargetView, observed: Observed, target: Target
) -> tuple[dict[str, Match], dict[str, Match]]:
    """Step 4 for every object this target sees (whatever `--only` selects: the checks of
    the whole plan need them all)."""
    # Former names are looked up on the name attribute, matching on it or not.
    renamed = {u.kind for u in (*view.all_users, *view.all_groups) if u.previously}
    failed_users = [o for o in view.failed if o.kind is Kind.USER]
    failed_groups = [o for o in view.failed if o.kind is Kind.GROUP]
    user_index = Index(observed.users, target.user_matching, _names(Kind.USER, renamed))
    users = dict(match_all([*view.all_users, *failed_users], user_index))
    group_index = Index(observed.groups, target.group_matching, _names(Kind.GROUP, renamed))
    groups = dict(match_all([*view.all_groups, *failed_groups], group_index))
    if observed.no_groups is not None:
        # No group was read: a create planned now would duplicate, after a passing 404,
        # every group that exists, and add every member again.
        why = (
            f"the target has no /Groups endpoint ({observed.no_groups}), so no group can be "
            "planned there; if it has one, plan again once it answers"
        )
        groups = {k: Match(None, None, m.attempts, why) for k, m in groups.items()}
    # An object whose mapping failed is matched as declared, and its match is a failed one:
    # its account stays claimed (a failed match's candidates are never pruned) and out of
    # every membership diff, while the plan reports the mapping error.
    for key in (o.key for o in failed_users):
        users[key] = _in_error(users[key])
    for key in (o.key for o in failed_groups):
        groups[key] = _in_error(groups[key])
    users = masked.shield(Kind.USER, view.all_users, observed.users, users)
    groups = masked.shield(Kind.GROUP, view.all_groups, observed.groups, groups)
    users = _readable(Kind.USER, users, observed.users)
    groups = _readable(Kind.GROUP, groups, observed.groups)
    # An object renamed in the YAML keeps its owned externalId: its account is not a
    # stray, nor is a second one to be created (twins.py).
    users = held_elsewhere(target, view.all_users, observed.users, users)
    groups = held_elsewhere(target, view.all_groups, observed.groups, groups)
    users = unproven.in_doubt(Kind.USER, view.all_users, users, observed)
    groups = unproven.in_doubt(Kind.GROUP, view.all_groups, groups, observed)
    # Whatever failed a match, each account any of the object's values names is claimed.
    for matches, objects, index in (
        (users, (*view.all_users, *failed_users), user_index),
        (groups, (*view.all_groups, *failed_groups), group_index),
    ):
        for obj in objects:
            if (match := matches[obj.key]).error is not None:
                matches[obj.key] = every_candidate(obj, index, match)
    return users, groups


def _readable(
    kind: Kind, matches: dict[str, Match], resources: tuple[Resource, ...]
) -> dict[str, Match]:
    """Each match `unreadable` (shape.py) leaves as it is, or fails. Every matched resource
    is one of `resources` (the index read them), so where none has a problem, none fails."""
    if {None}.issuperset(map(_PROBLEM, resources)):
        return matches
    return {k: unreadable(kind, m) for k, m in matches.items()}


def _in_error(match: Match) -> Match:
    return Match(None, match.matched_on, match.attempts, match.error or "its mapping failed")


def _absent_and_disabled(
    users: list[Declared], matches: Mapping[str, Match], target: Target
) -> list[Dormant]:
    """Users with `state: absent` already disabled on the target: for `delete_after`."""
    out: list[Dormant] = []
    for user in users:
        match = matches[user.key]
        found = match.resource
        if user.present or found is None or match.error or found.body.get("active") is not False:
            continue
        if (user.deprovision or target.deprovision) == "disable":
            out.append(Dormant(user.key, found, "state: absent"))
    return out


def _plan_users(
    users: list[Declared],
    user_matches: Mapping[str, Match],
    target: Target,
    view: TargetView,
    hidden: frozenset[str] = frozenset(),
) -> tuple[list[Change], list[ObjectError], int]:
    """Each declared user's change. An attribute the target's /Schemas marks write-only
    (`hidden`) is written at create only, as `password` is: never shown by the target, it
    would look unset to every plan, and each run would write it again (reset a PIN)."""
    changes: list[Change] = []
    errors: list[ObjectError] = []
    noop = 0

    def resolve(path: str, value: Json) -> tuple[Json, str | None]:
        if path != "enterprise.manager" or not isinstance(value, str):
            return value, None
        match = user_matches.get(value)
        return (match.resource.id if match and match.resource else None), value

    for user in users:
        match = user_matches[user.key]
        manager = user.attrs.get("enterprise.manager")
        if match.error:
            errors.append(ObjectError(Kind.USER, user.key, "match", match.error, user.location))
        elif isinstance(manager, str) and user_matches[manager].error:
            message = f"manager '{manager}' could not be matched: {user_matches[manager].error}"
            errors.append(ObjectError(Kind.USER, user.key, "match", message, user.location))
        elif (
            change := user_change(user, match, target, resolve, _once(view, user, hidden))
        ) is None:
            noop += 1
        else:
            if target.assign_groups is not None:
                why = view.scope_reasons.get(user.key, "").removeprefix("in scope: ")
                change = dataclasses.replace(change, scope=why)
            changes.append(change)
    return changes, errors, noop


def _once(view: TargetView, user: Declared, hidden: frozenset[str]) -> frozenset[str]:
    """The user's attributes written at create only: `apply: on_create`, and write-only."""
    once = view.create_only(Kind.USER, user.key)
    # Nearly every target: no /Schemas read, or none marked, and nothing to look at.
    return once | frozenset(k for k in user.attrs if write_only(k, hidden)) if hidden else once


def _kept(
    present: list[Declared],
    outside: list[tuple[Declared, str]],
    inactive: frozenset[str],
    matches: Mapping[str, Match],
) -> frozenset[str]:
    """The ids of the accounts the spec keeps: every present user's in scope, and those of
    users out of scope it keeps with `active: false`. Their disables are no deprovision:
    never stamped with a time of disabling, never deleted by `delete_after`."""
    users = [*present, *(user for user, _ in outside if user.key in inactive)]
    return frozenset(m.resource.id for u in users if (m := matches[u.key]).resource)


def _all_matches(
    users: Mapping[str, Match], groups: Mapping[str, Match]
) -> dict[tuple[Kind, str], Match]:
    out = dict(zip(zip(repeat(Kind.USER), users), users.values(), strict=True))
    return out | dict(zip(zip(repeat(Kind.GROUP), groups), groups.values(), strict=True))


def _keyed(
    kind: Kind, matches: Mapping[str, Match], objects: list[Declared]
) -> dict[tuple[Kind, str], Match]:
    """`{(kind, o.key): matches[o.key] for o in objects}`, built in C (100,000 users)."""
    keys = list(map(_KEY, objects))
    return dict(zip(zip(repeat(kind), keys), map(matches.__getitem__, keys), strict=True))


def _names(kind: Kind, renamed: set[Kind]) -> tuple[str, ...]:
    return (NAME_ATTRIBUTE[kind],) if kind in renamed else ()


def _selected(only: frozenset[tuple[Kind, str]] | None, obj: Declared) -> bool:
    return only is None or (obj.kind, obj.key) in only
