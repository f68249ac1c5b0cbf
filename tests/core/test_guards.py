"""Guards and protection hold whatever produces the change (DESIGN §6): every route to a
disable, a delete or a member removal is tried, and each must be counted and refused.

Each route takes access away from the same three people (a@, b@, c@example.com, active on
the target). A new route to a disable belongs in ROUTES: the tests below then prove the
guards count it and `protected` stops it.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reconciler.core.changes import Action, Change
from reconciler.core.config import LIFECYCLE_URN, Target
from reconciler.core.diff import AttrChange
from reconciler.core.guards import Allowances, check_guards, refusals, role_removals
from reconciler.core.model import Json, Kind, Observed
from reconciler.core.plan import Plan, PlanOptions, make_plan
from reconciler.core.plan_json import plan_from_json
from reconciler.core.roles_held import lost_roles, role_paths
from tests.core.test_plan import TARGET, URL, group_res, load, user_res

PEOPLE = ("a@example.com", "b@example.com", "c@example.com")
NOW = datetime(2025, 3, 1, tzinfo=UTC)
OBSERVED = Observed(
    (
        *tuple(user_res(f"u-{p[0]}", p, active=True) for p in PEOPLE),
        user_res("u-z", "z@example.com", active=True),
    ),
    (),
)
KEEP_Z = "  - userName: z@example.com\n"


def declared(extra: str = "") -> str:
    return "".join(f"  - userName: {p}\n{extra}" for p in PEOPLE)


# (route, target settings, users) — each takes a, b and c's access away.
ROUTES: list[tuple[str, str, str]] = [
    ("state-absent-disable", "", declared("    state: absent\n") + KEEP_Z),
    (
        "state-absent-delete",
        "    deprovision: delete\n",
        declared("    state: absent\n") + KEEP_Z,
    ),
    ("prune-all", "    prune: all\n", KEEP_Z),
    (
        "prune-owned",
        "    prune: owned\n    ownership: {external_id_prefix: sr-}\n",
        KEEP_Z.rstrip("\n") + "\n    externalId: sr-z\n",
    ),
    (
        "out-of-scope-deprovision",
        "    out_of_scope: deprovision\n"
        "    scope: [[{attribute: title, operator: EQUALS, value: Keep}]]\n",
        declared("    title: Leave\n") + KEEP_Z + "    title: Keep\n",
    ),
    (
        "unassigned-deprovision",
        "    assign: {groups: [Keep]}\n    out_of_scope: deprovision\n",
        declared() + KEEP_Z + "groups:\n  - {displayName: Keep, members: [z@example.com]}\n",
    ),
    (
        "delete-after-expired",
        "    deprovision: {action: disable, delete_after: 30d}\n",
        declared("    state: absent\n") + KEEP_Z,
    ),
    ("active-false", "", declared("    active: false\n") + KEEP_Z),
    # Cleared: sent as a PATCH `remove`, which many targets read as false.
    ("active-null", "", declared("    active: null\n") + KEEP_Z),
    (
        "mapping-constant-false",
        "    mappings: {user: {active: {constant: false}}}\n",
        declared() + KEEP_Z,
    ),
    (
        "mapping-iif-string-false",
        '    mappings: {user: {active: \'IIF([title]="Gone", "False", "True")\'}}\n',
        declared("    title: Gone\n") + KEEP_Z + "    title: Here\n",
    ),
    (
        "mapping-lowercase-string",
        "    mappings: {user: {active: 'ToLower(\"FALSE\")'}}\n",
        declared() + KEEP_Z.rstrip("\n") + "\n    active: true\n",
    ),
]


def observed_for(route: str) -> Observed:
    if route == "delete-after-expired":
        # Disabled by scimrec 31 days before the run's clock (NOW).
        stamp = {LIFECYCLE_URN: {"disabledAt": "2025-01-29T00:00:00Z"}}
        users = tuple(
            user_res(r.id, r.body["userName"], None, active=r.id == "u-z", **stamp)
            for r in OBSERVED.users
        )
        return Observed(users, ())
    if route != "prune-owned":
        return OBSERVED
    users = tuple(
        user_res(r.id, r.body["userName"], active=True, externalId=f"sr-{r.id}")
        for r in OBSERVED.users
    )
    return Observed(users, ())


def plan_route(tmp_path: Path, route: str, settings: str, users: str, guards: str = "") -> Plan:
    spec = load(tmp_path, TARGET + settings + guards + "users:\n" + users)
    return make_plan(spec, spec.targets["t"], observed_for(route), PlanOptions(now=NOW))


def taken_away(plan: Plan) -> set[str]:
    return {c.key for c in plan.changes if c.action in (Action.DISABLE, Action.DELETE)}


@pytest.mark.parametrize(("route", "settings", "users"), ROUTES, ids=[r[0] for r in ROUTES])
def test_every_route_to_a_deprovision_is_counted_by_the_guards(
    tmp_path: Path, route: str, settings: str, users: str
) -> None:
    plan = plan_route(tmp_path, route, settings, users, "    guards: {max_deletes: 2}\n")
    assert {"a@example.com", "b@example.com", "c@example.com"} <= taken_away(plan)
    spec = load(tmp_path, TARGET + settings + "    guards: {max_deletes: 2}\nusers:\n" + users)
    spec_target = spec.targets["t"]
    count = len(taken_away(plan))
    reasons = refusals(plan.changes, spec_target, observed_for(route))
    assert reasons, f"{route}: {count} deprovisions passed max_deletes 2"
    assert reasons[0].startswith(f"{count} deprovisions (")
    assert f"--allow-deletes {count}" in reasons[0]
    assert refusals(plan.changes, spec_target, observed_for(route), Allowances(deletes=count)) == []


@pytest.mark.parametrize(("route", "settings", "users"), ROUTES, ids=[r[0] for r in ROUTES])
def test_no_route_disables_or_deletes_a_protected_account(
    tmp_path: Path, route: str, settings: str, users: str
) -> None:
    protect = "    protected: ['A@Example.com', 'b@*', ' c@example.com ']\n"
    plan = plan_route(tmp_path, route, settings + protect, users)
    assert taken_away(plan) & set(PEOPLE) == set()
    # Nothing in any change writes active: false for them either.
    for change in plan.changes:
        if change.key in PEOPLE:
            assert all(a.path != "active" for a in change.attributes), change
    assert sum("is protected" in note for note in plan.notes) == 3


def test_a_mapped_string_false_is_written_as_a_boolean(tmp_path: Path) -> None:
    route, settings, users = ROUTES[7]
    plan = plan_route(tmp_path, route, settings, users)
    assert {c.key for c in plan.changes} >= set(PEOPLE)
    for change in (c for c in plan.changes if c.key in PEOPLE):
        [active] = [a for a in change.attributes if a.path == "active"]
        assert active.after is False
        assert change.action is Action.DISABLE


def test_a_mapping_that_yields_no_boolean_puts_the_object_in_error(tmp_path: Path) -> None:
    spec = load(
        tmp_path,
        TARGET + "    mappings: {user: {active: {constant: 'maybe'}}}\nusers:\n" + declared(),
    )
    plan = make_plan(spec, spec.targets["t"], OBSERVED)
    assert plan.changes == ()
    assert sorted(e.key for e in plan.errors) == list(PEOPLE)
    assert "active: expected a Boolean (true or false), the mapping gave 'maybe'" in (
        plan.errors[0].message
    )


def test_an_edited_plan_file_update_to_inactive_is_a_disable() -> None:
    # A saved plan is data someone may edit: an "update" that sets active to false is a
    # disable however it is labelled.
    change = {
        "kind": "user",
        "key": "a@example.com",
        "action": "update",
        "target_id": "u-a",
        "attributes": [{"path": "active", "before": True, "after": False}],
    }
    data = Plan("t", URL, ()).to_json() | {"changes": [change] * 3}
    plan = plan_from_json(data)
    assert [c.action for c in plan.changes] == [Action.DISABLE] * 3
    target = Target("t", URL, max_deletes=2)
    assert refusals(plan.changes, target, OBSERVED)


@pytest.mark.parametrize(
    ("before", "after", "disable"),
    [
        (True, False, True),
        (None, False, True),  # unset active reads as active
        ("True", "False", True),
        (True, "false", True),
        (False, False, False),
        (False, True, False),
        (True, True, False),
        (True, None, True),  # cleared: no longer active on a target that reads it so
        ("True", None, True),
        (True, 0, True),  # an edited plan file's value that is not true
        (True, "True", False),
        (None, True, False),
        (False, None, False),  # inactive already
    ],
)
def test_what_counts_as_taking_active_away(before: object, after: object, disable: bool) -> None:
    change = Change(
        Kind.USER, "a", Action.UPDATE, "x", "u-a", attributes=(AttrChange("active", before, after),)
    )
    assert (change.action is Action.DISABLE) is disable


def test_groups_never_become_disables() -> None:
    change = Change(
        Kind.GROUP, "g", Action.UPDATE, "x", "g", attributes=(AttrChange("active", True, False),)
    )
    assert change.action is Action.UPDATE


# -- the limits, per run -----------------------------------------------------------------------


def deprovision(kind: Kind, key: str, action: Action = Action.DELETE) -> Change:
    return Change(kind, key, action, "state: absent", f"id-{key}")


def test_limits_hold_per_run_not_per_kind() -> None:
    # max_deletes 2 once let 2 user deletes and 2 group deletes through.
    changes = [deprovision(Kind.USER, "u1"), deprovision(Kind.USER, "u2")]
    changes += [deprovision(Kind.GROUP, "g1"), deprovision(Kind.GROUP, "g2")]
    target = Target("t", URL, max_deletes=2)
    [reason] = refusals(changes, target, Observed((), ()))
    assert reason == (
        "4 deprovisions (2 group deletes, 2 user deletes) in one run, more than "
        "guards.max_deletes (2); re-run with --allow-deletes 4 if that is intended"
    )
    assert refusals(changes[:2], target, Observed((), ())) == []


def test_the_default_limit_is_ten() -> None:
    target = Target("t", URL)
    ten = [deprovision(Kind.USER, f"u{i}", Action.DISABLE) for i in range(10)]
    assert refusals(ten, target, Observed((), ())) == []
    eleven = [*ten, deprovision(Kind.GROUP, "g")]
    assert len(refusals(eleven, target, Observed((), ()))) == 1


def test_percent_is_per_kind_of_what_the_target_holds() -> None:
    users = tuple(user_res(f"u{i}", f"u{i}@x.io") for i in range(10))
    target = Target("t", URL, max_delete_percent=20)
    three = [deprovision(Kind.USER, f"u{i}") for i in range(3)]
    [reason] = refusals(three, target, Observed(users, ()))
    assert reason.startswith("3 of 10 users (30.0%) would be deprovisioned")
    assert refusals(three[:2], target, Observed(users, ())) == []


def removal(group: str, gid: str, count: int) -> Change:
    from reconciler.core.changes import Member

    members = tuple(Member(f"m{i}", f"u{i}") for i in range(count))
    return Change(Kind.GROUP, group, Action.UPDATE, "members differ", gid, members_remove=members)


def test_member_removals_are_capped_per_run() -> None:
    groups = (group_res("g1", "One", [f"u{i}" for i in range(100)]),)
    observed = Observed((), groups)
    target = Target("t", URL)
    assert refusals([removal("One", "g1", 10)], target, observed) == []
    [reason] = refusals([removal("One", "g1", 11)], target, observed)
    assert reason == (
        "11 member removals in one run, more than guards.max_member_removals (10); "
        "re-run with --allow-member-removals 11 if that is intended"
    )
    allowed = Allowances(member_removals=11)
    assert refusals([removal("One", "g1", 11)], target, observed, allowed) == []
    # Deletes and member removals have separate overrides.
    assert refusals([removal("One", "g1", 11)], target, observed, Allowances(deletes=50))


def test_a_guard_an_allowance_lets_pass_is_named_with_the_allowance() -> None:
    # An allowance set in the environment lifts the guards on every run: whatever passes
    # by one says so, one reason per guard, ending with what allowed it.
    users = tuple(user_res(f"u{i}", f"u{i}@x.io") for i in range(10))
    groups = (group_res("g1", "One", [f"u{i}" for i in range(30)]),)
    observed = Observed(users, groups)
    target = Target("t", URL, max_deletes=2, max_delete_percent=20)
    changes = (*(deprovision(Kind.USER, f"u{i}") for i in range(3)), removal("One", "g1", 11))
    plan = Plan("t", URL, changes)
    env = "the environment variable SCIMREC_APPLY_ALLOW_DELETES=5"
    allowed = check_guards(plan, target, observed, Allowances(5, 11, deletes_from=env))
    assert allowed.guards == ()
    assert allowed.guards_passed == (
        f"3 deprovisions (3 user deletes) in one run, more than guards.max_deletes (2); "
        f"allowed by {env}",
        f"3 of 10 users (30.0%) would be deprovisioned, more than guards.max_delete_percent "
        f"(20%); allowed by {env}",
        "11 member removals in one run, more than guards.max_member_removals (10); "
        "allowed by --allow-member-removals 11",
    )
    assert allowed.to_json()["guards_passed"] == list(allowed.guards_passed)
    by_env = Allowances(5, 11, member_removals_from="SCIMREC_APPLY_ALLOW_MEMBER_REMOVALS=11")
    passed = check_guards(plan, target, observed, by_env).guards_passed
    assert passed[-1].endswith("; allowed by SCIMREC_APPLY_ALLOW_MEMBER_REMOVALS=11")
    # Too small an allowance passes nothing: its guards refuse, naming what they need.
    short = check_guards(plan, target, observed, Allowances(2, 11))
    assert [r.rsplit("; ", 1)[1] for r in short.guards] == [
        "re-run with --allow-deletes 3 if that is intended"
    ] * 2
    assert len(short.guards_passed) == 1
    # Where no guard trips, an allowance has nothing to say, and the plan keeps its form.
    calm = check_guards(
        plan, Target("t", URL, max_member_removals=11), observed, Allowances(50, 50)
    )
    assert (calm.guards, calm.guards_passed) == ((), ())
    assert "guards_passed" not in calm.to_json()


def test_emptying_a_group_is_refused_by_its_share() -> None:
    # `members: []` on a group of 8: under the run-wide count, but 100% of the group.
    observed = Observed((), (group_res("g1", "Eight", [f"u{i}" for i in range(8)]),))
    [reason] = refusals([removal("Eight", "g1", 8)], Target("t", URL), observed)
    assert reason == (
        "group Eight would lose 8 of its 8 members (100.0%), more than "
        "guards.max_member_removal_percent (50.0%); re-run with --allow-member-removals 8 "
        "if that is intended"
    )
    # A small group losing two is ordinary.
    small = Observed((), (group_res("g1", "Three", ["u0", "u1", "u2"]),))
    assert refusals([removal("Three", "g1", 2)], Target("t", URL), small) == []


def test_members_empty_on_a_group_of_thirty_trips_a_guard(tmp_path: Path) -> None:
    users = tuple(user_res(f"u{i}", f"p{i}@example.com") for i in range(30))
    groups = (group_res("g1", "Team", [f"u{i}" for i in range(30)]),)
    declared_users = "".join(f"  - userName: p{i}@example.com\n" for i in range(30))
    spec = load(
        tmp_path,
        TARGET + "users:\n" + declared_users + "groups:\n  - displayName: Team\n    members: []\n",
    )
    observed = Observed(users, groups)
    plan = check_guards(make_plan(spec, spec.targets["t"], observed), spec.targets["t"], observed)
    assert len(plan.changes[0].members_remove) == 30
    assert len(plan.guards) == 2
    assert plan.to_json()["guards"] == list(plan.guards)


def test_additive_policy_never_removes(tmp_path: Path) -> None:
    users = tuple(user_res(f"u{i}", f"p{i}@example.com") for i in range(3))
    groups = (group_res("g1", "Team", ["u0", "u1", "u2"]),)
    base = TARGET + "users:\n  - userName: p0@example.com\n"
    for settings, group in (
        ("    members_policy: additive\n", ""),
        ("", "    members_policy: additive\n"),
    ):
        text = base.replace(TARGET, TARGET + settings)
        spec = load(tmp_path, text + "groups:\n  - displayName: Team\n    members: []\n" + group)
        plan = make_plan(spec, spec.targets["t"], Observed(users, groups))
        assert plan.changes == ()
    spec = load(tmp_path, base + "groups:\n  - displayName: Team\n    members: []\n")
    exact = make_plan(spec, spec.targets["t"], Observed(users, groups))
    assert [m.id for m in exact.changes[0].members_remove] == ["u0", "u1", "u2"]


def test_a_run_over_both_limits_gives_both_reasons() -> None:
    # The member guard's reasons come after the deprovision guard's, never instead of them.
    groups = (group_res("g1", "One", [f"u{i}" for i in range(100)]),)
    changes = [deprovision(Kind.USER, f"u{i}") for i in range(3)] + [removal("One", "g1", 4)]
    target = Target("t", URL, max_deletes=2, max_member_removals=3)
    reasons = refusals(changes, target, Observed((), groups))
    assert [r.split(" in one run")[0] for r in reasons] == [
        "3 deprovisions (3 user deletes)",
        "4 member removals",
    ]


def test_a_group_share_set_in_the_spec_replaces_the_default() -> None:
    # 3 of 9 (33.3%) is under the default 50% but over the target's 20%.
    observed = Observed((), (group_res("g1", "Nine", [f"u{i}" for i in range(9)]),))
    target = Target("t", URL, max_member_removal_percent=20)
    [reason] = refusals([removal("Nine", "g1", 3)], target, observed)
    assert reason == (
        "group Nine would lose 3 of its 9 members (33.3%), more than "
        "guards.max_member_removal_percent (20%); re-run with --allow-member-removals 3 "
        "if that is intended"
    )
    assert refusals([removal("Nine", "g1", 3)], Target("t", URL), observed) == []


def test_a_group_losing_exactly_its_share_passes() -> None:
    # "More than" the share is refused: 3 of 6 is 50%, 3 of 5 is 60%.
    six = Observed((), (group_res("g1", "Six", [f"u{i}" for i in range(6)]),))
    assert refusals([removal("Six", "g1", 3)], Target("t", URL), six) == []
    five = Observed((), (group_res("g1", "Five", [f"u{i}" for i in range(5)]),))
    assert len(refusals([removal("Five", "g1", 3)], Target("t", URL), five)) == 1


def test_the_deprovision_share_is_shown_to_one_decimal() -> None:
    users = tuple(user_res(f"u{i}", f"u{i}@x.io") for i in range(3))
    target = Target("t", URL, max_delete_percent=20)
    [reason] = refusals([deprovision(Kind.USER, "u0")], target, Observed(users, ()))
    assert reason == (
        "1 of 3 users (33.3%) would be deprovisioned, more than guards.max_delete_percent "
        "(20%); re-run with --allow-deletes 1 if that is intended"
    )


def role(value: str, **fields: object) -> dict[str, object]:
    return {"value": value, **fields}


@pytest.mark.parametrize(
    ("path", "before", "after", "lost"),
    [
        ("roles", [role("admin"), role("dev")], [role("dev")], {"admin"}),
        ("roles", [role("admin"), role("dev")], None, {"admin", "dev"}),
        ("roles", [role("admin")], [role("admin"), role("dev")], set()),  # one more
        ("roles", None, [role("admin")], set()),  # a first role
        ("roles", [role("")], [], set()),  # an empty value is no role
        # The same role, shown or flagged otherwise, is the same role.
        ("roles", [role("admin", primary=True)], [role("admin", display="Admin")], set()),
        ('roles[value eq "admin"].value', "admin", None, {"admin"}),  # a filtered path
        ("title", "admin", None, set()),  # no role attribute on this target
    ],
)
def test_the_roles_a_change_takes_away(
    path: str, before: Json, after: Json, lost: set[str]
) -> None:
    assert lost_roles(AttrChange(path, before, after), role_paths(Target("t", URL))) == lost


def test_a_refusal_says_how_many_removals_are_roles_lost() -> None:
    admin = [role("admin")]
    changes = [
        Change(
            Kind.USER,
            f"u{i}",
            Action.UPDATE,
            "differs",
            f"id{i}",
            attributes=(AttrChange("roles", admin, None),),
        )
        for i in range(11)
    ]
    [reason] = refusals(changes, Target("t", URL), Observed((), ()))
    assert reason == (
        "11 member removals (11 of them roles lost) in one run, more than "
        "guards.max_member_removals (10); re-run with --allow-member-removals 11 if that is "
        "intended"
    )


def test_the_role_attributes_are_roles_and_what_the_role_map_writes(tmp_path: Path) -> None:
    spec = load(
        tmp_path,
        TARGET
        + "    roles: {admin: [Admins]}\n"
        + "    mappings:\n      user:\n"
        + "        title: 'SingleAppRoleAssignment([appRoleAssignments])'\n"
        + "        userType: {source: appRoleAssignments}\n"
        + "        nickName: {source: displayName}\n"
        + "groups:\n  - displayName: Admins\n    members: []\n",
    )
    assert role_paths(spec.targets["t"]) == {"roles", "entitlements", "title", "userType"}


def test_a_disable_s_roles_are_not_counted_again_as_removals() -> None:
    # Locking the account out is counted as a deprovision; its roles go with it.
    disable = Change(
        Kind.USER, "ana", Action.DISABLE, "absent", "id1",
        attributes=(AttrChange("active", True, False), AttrChange("roles", [role("admin")], None)),
    )  # fmt: skip
    update = dataclasses.replace(disable, action=Action.UPDATE, attributes=disable.attributes[1:])
    target = Target("t", URL)
    assert (role_removals([disable], target), role_removals([update], target)) == (0, 1)


def test_the_deprovision_share_is_of_the_users_not_already_disabled() -> None:
    # deprovision: disable keeps every disabled account: counted among all of them, a run
    # could disable every active user within the share (2 of 10 is 20%).
    users = (
        *(user_res(f"off{i}", f"off{i}@x.io", active=False) for i in range(8)),
        user_res("on0", "on0@x.io", active=True),
        user_res("on1", "on1@x.io"),  # no `active`: not disabled
    )
    target = Target("t", URL, max_delete_percent=25)
    both = [Change(Kind.USER, f"on{i}@x.io", Action.DISABLE, "prune", f"on{i}") for i in (0, 1)]
    [reason] = refusals(both, target, Observed(users, ()))
    assert reason == (
        "2 of 2 users (100.0%) would be deprovisioned, more than guards.max_delete_percent "
        "(25%) (8 users already disabled not counted); re-run with --allow-deletes 2 if that "
        "is intended"
    )
    # A disabled account this run deletes is in play: 1 of 3 (33.3%), and 7 are left.
    one = [Change(Kind.USER, "off0@x.io", Action.DELETE, "delete_after", "off0")]
    [reason] = refusals(one, target, Observed(users, ()))
    assert reason.startswith("1 of 3 users (33.3%) would be deprovisioned")
    assert "(7 users already disabled not counted)" in reason
    # Within the share of those in play: passes.
    wide = Target("t", URL, max_delete_percent=50)
    assert refusals(both[:1], wide, Observed(users, ())) == []


def test_percent_holds_for_groups_too() -> None:
    groups = tuple(group_res(f"g{i}", f"G{i}") for i in range(10))
    target = Target("t", URL, max_delete_percent=20)
    three = [deprovision(Kind.GROUP, f"g{i}") for i in range(3)]
    [reason] = refusals(three, target, Observed((), groups))
    assert reason == (
        "3 of 10 groups (30.0%) would be deprovisioned, more than guards.max_delete_percent "
        "(20%); re-run with --allow-deletes 3 if that is intended"
    )
    assert refusals(three[:2], target, Observed((), groups)) == []


def test_a_group_delete_does_not_count_as_a_user_deleted() -> None:
    # A group whose id is a disabled user's (targets that number each kind from 1) is not
    # that user: the user's share still leaves the disabled one out.
    users = (user_res("7", "old@x.io", active=False), user_res("8", "a@x.io"))
    groups = (group_res("7", "Seven"), *(group_res(f"g{i}", f"G{i}") for i in range(9)))
    target = Target("t", URL, max_delete_percent=50)
    gone = [deprovision(Kind.GROUP, "x"), deprovision(Kind.USER, "8", Action.DISABLE)]
    gone[0] = dataclasses.replace(gone[0], target_id="7")
    [reason] = refusals(gone, target, Observed(users, groups))
    assert reason.startswith("1 of 1 user (100.0%) would be deprovisioned")
    assert reason.endswith(
        "(1 user already disabled not counted); re-run with --allow-deletes 2 if that is intended"
    )
