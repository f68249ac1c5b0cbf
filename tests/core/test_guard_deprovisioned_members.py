"""A member whose own account the same run deprovisions is counted once, as a deprovision
(DESIGN §6): a team that leaves, each person `state: absent` and their group with them,
is five deprovisions and a group delete, not also five member removals. Counted twice, an
ordinary offboarding tripped the member guards (the group "would lose 5 of its 5"), which
no group emptied of people who stay could tell apart from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.core.guards import member_removals, refusals
from reconciler.core.model import Json, Observed
from reconciler.core.plan import make_plan
from tests.core.test_plan import TARGET, group_res, load, user_res

PEOPLE = [f"u{i}@example.com" for i in range(5)]
USERS = tuple(user_res(f"id-{i}", p, active=True) for i, p in enumerate(PEOPLE))
TEAM = group_res("g-team", "Team", [u.id for u in USERS])


def absent(people: list[str]) -> str:
    return "".join(f"  - {{userName: {p}, state: absent}}\n" for p in people)


def present(people: list[str]) -> str:
    return "".join(f"  - {{userName: {p}}}\n" for p in people)


GROUP_ROUTES = {
    "deleted": "groups:\n  - {displayName: Team, state: absent}\n",
    "emptied": "groups:\n  - {displayName: Team, members: []}\n",
}


@pytest.mark.parametrize("route", sorted(GROUP_ROUTES))
@pytest.mark.parametrize("deprovision", ["disable", "delete"])
def test_a_team_that_leaves_with_its_group_is_counted_once(
    tmp_path: Path, route: str, deprovision: str
) -> None:
    settings = f"    deprovision: {deprovision}\n"
    spec = load(tmp_path, TARGET + settings + "users:\n" + absent(PEOPLE) + GROUP_ROUTES[route])
    observed = Observed(USERS, (TEAM,))
    plan = make_plan(spec, spec.targets["t"], observed)
    assert member_removals(plan.changes, observed) == 0
    assert refusals(plan.changes, spec.targets["t"], observed) == []


@pytest.mark.parametrize("route", sorted(GROUP_ROUTES))
def test_the_members_who_stay_are_counted(tmp_path: Path, route: str) -> None:
    # Two leave, three stay: the three lose the group, and 3 of 5 is past half.
    people = "users:\n" + absent(PEOPLE[:2]) + present(PEOPLE[2:])
    spec = load(tmp_path, TARGET + people + GROUP_ROUTES[route])
    observed = Observed(USERS, (TEAM,))
    plan = make_plan(spec, spec.targets["t"], observed)
    assert member_removals(plan.changes, observed) == 3
    assert [r for r in refusals(plan.changes, spec.targets["t"], observed) if "Team" in r] == [
        "group Team would lose 3 of its 5 members (60.0%), more than "
        "guards.max_member_removal_percent (50.0%); re-run with --allow-member-removals 3 "
        "if that is intended"
    ]


@pytest.mark.parametrize("route", sorted(GROUP_ROUTES))
def test_members_who_stay_and_are_updated_are_still_counted(tmp_path: Path, route: str) -> None:
    # Only a deprovision makes a member's loss of the group part of their own leaving: the
    # three who stay, each given a new title in the same run, still lose the group.
    stay = "".join(f"  - {{userName: {p}, title: Engineer}}\n" for p in PEOPLE[2:])
    spec = load(tmp_path, TARGET + "users:\n" + absent(PEOPLE[:2]) + stay + GROUP_ROUTES[route])
    observed = Observed(USERS, (TEAM,))
    plan = make_plan(spec, spec.targets["t"], observed)
    actions = sorted(c.action.value for c in plan.changes if c.kind.value == "user")
    assert actions == ["disable"] * 2 + ["update"] * 3
    assert member_removals(plan.changes, observed) == 3


# A target that stores each member's userName as its `value` (Canaille), not its id.
BY_NAME = tuple(
    group_res(f"g-{name}", name, [{"value": p, "type": "User"} for p in PEOPLE]) for name in "ABC"
)


def test_a_leaver_stored_by_user_name_is_counted_once(tmp_path: Path) -> None:
    # Three leave, each from three groups, and the groups keep the two who stay: three
    # deprovisions, not nine member removals as well (values are userNames, not ids).
    groups = "groups:\n" + "".join(
        f"  - {{displayName: {name}, members: [{', '.join(PEOPLE[3:])}]}}\n" for name in "ABC"
    )
    spec = load(tmp_path, TARGET + "users:\n" + absent(PEOPLE[:3]) + present(PEOPLE[3:]) + groups)
    observed = Observed(USERS, BY_NAME)
    plan = make_plan(spec, spec.targets["t"], observed)
    assert sum(len(c.members_remove) for c in plan.changes) == 9
    assert member_removals(plan.changes, observed) == 0
    assert refusals(plan.changes, spec.targets["t"], observed) == []


@pytest.mark.parametrize("route", sorted(GROUP_ROUTES))
def test_a_stayer_stored_by_user_name_is_still_counted(tmp_path: Path, route: str) -> None:
    # Two leave and two stay; a fifth entry names a leaver only by its `display`, which may
    # be a stale copy of a name: another account's, so it is counted, never discounted
    # (the plan never removes such an entry; deleting the group takes it).
    members: list[Json] = [{"value": p, "type": "User"} for p in PEOPLE[:4]]
    members.append({"value": "someone-renamed", "display": PEOPLE[0], "type": "User"})
    team = group_res("g-team", "Team", members)
    people = "users:\n" + absent(PEOPLE[:2]) + present(PEOPLE[2:])
    spec = load(tmp_path, TARGET + people + GROUP_ROUTES[route])
    observed = Observed(USERS, (team,))
    plan = make_plan(spec, spec.targets["t"], observed)
    assert member_removals(plan.changes, observed) == {"deleted": 3, "emptied": 2}[route]
