"""The share guard counts a group's members as the members they are, however the target
lists them: a group listing each member twice (typed and untyped, or a join repeated) has
lost all of them when every one goes, not half (DESIGN §6: guards count the same whatever
the read looks like)."""

from __future__ import annotations

from pathlib import Path

from reconciler.core.guards import check_guards
from reconciler.core.model import Json, Observed
from reconciler.core.plan import make_plan
from tests.core.test_plan import TARGET, group_res, load, user_res

GUARDS = "    guards: {max_member_removals: 100}\n"


def _plan_guards(tmp_path: Path, members: list[Json]) -> tuple[int, tuple[str, ...]]:
    users = tuple(user_res(f"u{i}", f"p{i}@example.com") for i in range(6))
    observed = Observed(users, (group_res("g1", "Team", members),))
    declared = "".join(f"  - userName: p{i}@example.com\n" for i in range(6))
    groups = "groups:\n  - displayName: Team\n    members: []\n"
    spec = load(tmp_path, TARGET + GUARDS + "users:\n" + declared + groups)
    target = spec.targets["t"]
    plan = check_guards(make_plan(spec, target, observed), target, observed)
    return len(plan.changes[0].members_remove), plan.guards


def test_a_group_listing_each_member_twice_is_emptied_at_one_hundred_percent(
    tmp_path: Path,
) -> None:
    twice: list[Json] = []
    for i in range(6):
        twice += [{"value": f"u{i}"}, {"value": f"u{i}", "type": "User"}]
    removed, guards = _plan_guards(tmp_path, twice)
    assert removed == 6
    assert guards == (
        "group Team would lose 6 of its 6 members (100.0%), more than "
        "guards.max_member_removal_percent (50.0%); re-run with --allow-member-removals 6 "
        "if that is intended",
    )


def test_a_group_listing_each_member_once_is_refused_the_same(tmp_path: Path) -> None:
    removed, guards = _plan_guards(tmp_path, [f"u{i}" for i in range(6)])
    assert removed == 6
    assert len(guards) == 1
    assert "6 of its 6 members (100.0%)" in guards[0]


def test_a_group_losing_few_members_does_not_hide_a_later_one_losing_most(
    tmp_path: Path,
) -> None:
    # Groups losing too few members to weigh come first and are passed over; every group
    # after them is still weighed.
    users = tuple(user_res(f"u{i}", f"p{i}@example.com") for i in range(6))
    few = group_res("g1", "A-few", [{"value": "u0"}, {"value": "u1"}])
    most = group_res("g2", "B-most", [{"value": f"u{i}"} for i in range(6)])
    observed = Observed(users, (few, most))
    declared = "".join(f"  - userName: p{i}@example.com\n" for i in range(6))
    groups = (
        "groups:\n  - displayName: A-few\n    members: []\n"
        "  - displayName: B-most\n    members: []\n"
    )
    spec = load(tmp_path, TARGET + GUARDS + "users:\n" + declared + groups)
    target = spec.targets["t"]
    plan = check_guards(make_plan(spec, target, observed), target, observed)
    assert [c.key for c in plan.changes] == ["A-few", "B-most"]
    assert len(plan.guards) == 1
    assert plan.guards[0].startswith("group B-most would lose 6 of its 6 members (100.0%)")
