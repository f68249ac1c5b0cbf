"""Every route by which a group's members lose it is counted by the guards and stopped by
`protected` (DESIGN §6): emptying the group, deleting it (`state: absent`), pruning it,
taking it out of assignment. A group deleted takes each member's access through it as
surely as a group emptied, so its members count as member removals, and a group that holds
a protected account is not deleted.

Each route takes group Ops away from the same twelve people: admin@ (protected where the
test says so) and eleven others. A new route belongs in ROUTES.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.core.changes import Action
from reconciler.core.guards import Allowances, refusals
from reconciler.core.model import Observed
from reconciler.core.plan import Plan, make_plan
from reconciler.core.plancheck import protection_problems
from tests.core.test_plan import TARGET, group_res, load, user_res

PEOPLE = ["admin@example.com", *(f"u{i:02d}@example.com" for i in range(11))]
USERS = tuple(
    user_res(f"id-{p.split('@')[0]}", p, active=True, externalId=f"sr-{p}") for p in PEOPLE
)
HOLDERS = [u.id for u in USERS]
DECLARED = "users:\n" + "".join(f"  - {{userName: {p}, externalId: sr-{p}}}\n" for p in PEOPLE)
KEEP = "  - {displayName: Keep, externalId: sr-keep}\n"

# (route, target settings, groups, Ops's externalId on the target)
ROUTES: list[tuple[str, str, str, str | None]] = [
    ("emptied", "", "groups:\n  - {displayName: Ops, members: []}\n", None),
    ("state-absent", "", "groups:\n  - {displayName: Ops, state: absent}\n", None),
    ("prune-all", "    prune: all\n", "groups:\n" + KEEP, None),
    (
        "prune-owned",
        "    prune: owned\n    ownership: {external_id_prefix: sr-}\n",
        "groups:\n" + KEEP,
        "sr-ops",
    ),
    (
        "unassigned-deprovision",
        "    assign: {groups: [Keep]}\n    out_of_scope: deprovision\n",
        f"groups:\n  - {{displayName: Ops, members: [{', '.join(PEOPLE)}]}}\n"
        f"  - {{displayName: Keep, externalId: sr-keep, members: [{', '.join(PEOPLE)}]}}\n",
        None,
    ),
    (
        "moved-to-another-group",
        "",
        "groups:\n  - {displayName: Ops, members: []}\n"
        f"  - {{displayName: Keep, members: [{', '.join(PEOPLE)}]}}\n",
        None,
    ),
]


def observed(external: str | None) -> Observed:
    extra = {} if external is None else {"externalId": external}
    ops = group_res("g-ops", "Ops", HOLDERS, **extra)
    return Observed(USERS, (ops, group_res("g-keep", "Keep", externalId="sr-keep")))


def plan_route(tmp_path: Path, settings: str, groups: str, external: str | None) -> Plan:
    spec = load(tmp_path, TARGET + settings + DECLARED + groups)
    return make_plan(spec, spec.targets["t"], observed(external))


def loses_ops(plan: Plan) -> set[str]:
    """The ids of the people this plan takes group Ops from."""
    out: set[str] = set()
    for change in plan.changes:
        if change.target_id != "g-ops":
            continue
        if change.action is Action.DELETE:
            out |= set(HOLDERS)
        out |= {m.id for m in change.members_remove if m.id}
    return out


@pytest.mark.parametrize(("route", "settings", "groups", "external"), ROUTES)
def test_every_route_out_of_a_group_is_counted_as_member_removals(
    tmp_path: Path, route: str, settings: str, groups: str, external: str | None
) -> None:
    plan = plan_route(tmp_path, settings, groups, external)
    assert loses_ops(plan) == set(HOLDERS), route
    spec = load(tmp_path, TARGET + settings + DECLARED + groups)
    reasons = refusals(plan.changes, spec.targets["t"], observed(external))
    removals = [r for r in reasons if "member removal" in r]
    assert removals, f"{route}: twelve people lost group Ops and no guard counted it"
    assert removals[0].startswith("12 member removals in one run, more than ")
    assert any("group Ops would lose 12 of its 12 members (100.0%)" in r for r in reasons)
    allow = Allowances(deletes=1, member_removals=12)
    assert refusals(plan.changes, spec.targets["t"], observed(external), allow) == []


@pytest.mark.parametrize(("route", "settings", "groups", "external"), ROUTES)
def test_no_route_takes_a_group_from_a_protected_account(
    tmp_path: Path, route: str, settings: str, groups: str, external: str | None
) -> None:
    protect = "    protected: ['ADMIN@example.com']\n"
    plan = plan_route(tmp_path, settings + protect, groups, external)
    assert "id-admin" not in loses_ops(plan), route
    assert any("admin@example.com is protected" in note for note in plan.notes), plan.notes


def test_a_saved_plan_that_deletes_a_group_holding_a_protected_account_is_refused(
    tmp_path: Path,
) -> None:
    plan = plan_route(tmp_path, "", "groups:\n  - {displayName: Ops, state: absent}\n", None)
    [delete] = [c for c in plan.changes if c.action is Action.DELETE]
    spec = load(tmp_path, TARGET + "    protected: ['admin@*']\n" + DECLARED)
    assert protection_problems((delete,), spec.targets["t"], observed(None)) == [
        "the plan goes past the spec's `protected`: group Ops: member admin@example.com is "
        "protected: the group is not deleted"
    ]


@pytest.mark.parametrize(
    ("member", "note"),
    [
        ({"value": "id-admin"}, "admin@example.com"),
        ({"value": "id-admin", "type": "User"}, "admin@example.com"),
        ({"value": "Admin@Example.com"}, "admin@example.com"),  # stored by userName
        ({"value": "x-9", "display": "admin@example.com"}, "admin@example.com"),
        ({"value": "g-root", "type": "Group"}, "Root admins"),  # a protected nested group
    ],
)
def test_a_group_deleted_is_checked_for_protected_members_however_stored(
    tmp_path: Path, member: dict[str, str], note: str
) -> None:
    spec = load(
        tmp_path,
        TARGET
        + "    protected: ['admin@*', 'Root*']\n"
        + "groups:\n  - {displayName: Ops, state: absent}\n",
    )
    ops = group_res("g-ops", "Ops", [member, {"value": "id-u00"}])
    groups = (ops, group_res("g-root", "Root admins"))
    plan = make_plan(spec, spec.targets["t"], Observed(USERS, groups))
    assert plan.changes == ()
    assert plan.notes == (f"group Ops: member {note} is protected: the group is not deleted",)
    unprotected = group_res("g-ops", "Ops", [{"value": "id-u00"}, {"value": "id-u01"}])
    plan = make_plan(spec, spec.targets["t"], Observed(USERS, (unprotected,)))
    assert [(c.key, c.action) for c in plan.changes] == [("Ops", Action.DELETE)]


# -- nested groups (nested_groups: native): Ops holds Sub, and Sub the twelve people ------

NATIVE = "    nested_groups: native\n"
NESTED_ROUTES = [
    ("sub-taken-out-of-ops", "groups:\n  - {displayName: Ops, members: []}\n"),
    ("ops-deleted", "groups:\n  - {displayName: Ops, state: absent}\n"),
]


def nested() -> Observed:
    ops = group_res("g-ops", "Ops", [{"value": "g-sub", "type": "Group"}])
    return Observed(USERS, (ops, group_res("g-sub", "Sub", HOLDERS)))


def nested_plan(tmp_path: Path, settings: str, groups: str) -> Plan:
    spec = load(tmp_path, TARGET + NATIVE + settings + groups + "  - {displayName: Sub}\n")
    return make_plan(spec, spec.targets["t"], nested())


@pytest.mark.parametrize(("route", "groups"), NESTED_ROUTES)
def test_a_nested_group_taken_away_counts_everyone_it_holds(
    tmp_path: Path, route: str, groups: str
) -> None:
    plan = nested_plan(tmp_path, "", groups)
    assert [c.target_id for c in plan.changes] == ["g-ops"], route
    reasons = refusals(plan.changes, load(tmp_path, TARGET + NATIVE).targets["t"], nested())
    # Sub and the twelve people in it lose Ops.
    assert reasons[-2].startswith("13 member removals in one run, more than "), reasons
    assert reasons[-1].startswith("group Ops would lose 13 of its 13 members (100.0%)")


@pytest.mark.parametrize(("route", "groups"), NESTED_ROUTES)
def test_a_nested_group_holding_a_protected_account_is_not_taken_away(
    tmp_path: Path, route: str, groups: str
) -> None:
    plan = nested_plan(tmp_path, "    protected: ['admin@*']\n", groups)
    assert plan.changes == (), route
    [note] = plan.notes
    assert note.startswith("group Ops: member admin@example.com is protected"), note


def test_nested_groups_in_a_cycle_are_each_counted_once(tmp_path: Path) -> None:
    # A target may hold Ops in Sub and Sub in Ops: followed once each, never forever.
    ops = group_res("g-ops", "Ops", [{"value": "g-sub", "type": "Group"}, "id-u00"])
    sub = group_res("g-sub", "Sub", [{"value": "g-ops", "type": "Group"}, *HOLDERS[2:5]])
    observed = Observed(USERS, (ops, sub))
    spec = load(tmp_path, TARGET + NATIVE + "groups:\n  - {displayName: Ops, state: absent}\n")
    plan = make_plan(spec, spec.targets["t"], observed)
    [delete] = plan.changes
    reasons = refusals(plan.changes, spec.targets["t"], observed)
    # Sub, Ops itself (through Sub), u00, u01..u03.
    assert reasons == [
        "group Ops would lose 6 of its 6 members (100.0%), more than "
        "guards.max_member_removal_percent (50.0%); re-run with --allow-member-removals 6 "
        "if that is intended"
    ], delete
    protect = TARGET + NATIVE + "    protected: ['u03@*']\n"
    spec = load(tmp_path, protect + "groups:\n  - {displayName: Ops, state: absent}\n")
    assert make_plan(spec, spec.targets["t"], observed).changes == ()
