"""The guards count everyone a group deleted holds through every group nested in it
(guards.py `_reach`): each nested group is followed, whichever order they are found in,
and one the read did not list (nothing known about it) stops no other from being counted."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from reconciler.core.changes import Action, Change, Member
from reconciler.core.guards import member_removals
from reconciler.core.model import Json, Kind, Observed
from reconciler.core.plan import make_plan
from tests.core.test_plan import TARGET, group_res, load, user_res

USERS = tuple(user_res(f"id-u{i}", f"u{i}@example.com") for i in range(6))
SETTINGS = "    nested_groups: native\n"
OPS_ABSENT = "groups:\n  - {displayName: Ops, state: absent}\n"


def removals(tmp_path: Path, ops_members: list[Json], *others: object) -> int:
    observed = Observed(USERS, (group_res("g-ops", "Ops", ops_members), *others))  # type: ignore[arg-type]
    spec = load(tmp_path, TARGET + SETTINGS + OPS_ABSENT)
    plan = make_plan(spec, spec.targets["t"], observed)
    [delete] = plan.changes
    return member_removals([delete], observed)


def group(gid: str) -> Json:
    return {"value": gid, "type": "Group"}


def test_every_nested_group_is_counted_with_everyone_it_holds(tmp_path: Path) -> None:
    sub1 = group_res("g-sub1", "Sub1", ["id-u0", "id-u1", "id-u2"])
    sub2 = group_res("g-sub2", "Sub2", ["id-u3"])
    # Sub1, Sub2 and the four people in them.
    assert removals(tmp_path, [group("g-sub1"), group("g-sub2")], sub1, sub2) == 6


def test_a_nested_group_the_read_did_not_list_stops_no_other(tmp_path: Path) -> None:
    # Whichever of A and B is searched first, the unlisted group in it comes next, with
    # the other still to search.
    a = group_res("g-a", "A", [group("g-gone-a"), "id-u0"])
    b = group_res("g-b", "B", [group("g-gone-b"), "id-u1"])
    # A, B, the two unlisted groups, u0 and u1.
    assert removals(tmp_path, [group("g-a"), group("g-b")], a, b) == 6


def test_entries_of_a_nested_group_that_are_no_objects_are_each_counted(tmp_path: Path) -> None:
    # The shape check puts such a group in error (nothing is written to it), but deleting
    # the group it is nested in still takes whatever those entries are from it: each one
    # counts, as the target holds them.
    bad = group_res("g-bad", "Bad", [7, 8.5, "id-u0"])
    bad = dataclasses.replace(bad, problem="members[0]: expected an object, got a number")
    # Bad, the user in it, and its two entries no one can read; the bare 7 names a listed
    # group and no listed user, so it counts as that group, with both its members (the
    # guards count a doubtful entry the way that counts more).
    seven = group_res("7", "Seven", ["id-u1", "id-u2"])
    assert removals(tmp_path, [group("g-bad")], bad, seven) == 6


def test_a_nested_group_sharing_a_users_id_is_counted_with_its_members(tmp_path: Path) -> None:
    # Targets that number users and groups each from 1 give a user and a group one id; an
    # entry typed Group is the group, and takes everyone in it along, at any depth.
    seven = user_res("7", "seven@example.com")
    inner = group_res("7", "Seven", ["id-u0", "id-u1", "id-u2"])
    middle = group_res("g-mid", "Mid", [group("7")])
    observed = Observed(
        (*USERS, seven), (group_res("g-ops", "Ops", [group("g-mid")]), middle, inner)
    )
    spec = load(tmp_path, TARGET + SETTINGS + OPS_ABSENT)
    [delete] = make_plan(spec, spec.targets["t"], observed).changes
    # Mid, Seven and the three in it.
    assert member_removals([delete], observed) == 5
    removal = Change(
        Kind.GROUP, "Mid", Action.UPDATE, "members differ", "g-mid",
        members_remove=(Member(None, "7", "Group"),),
    )  # fmt: skip
    # Seven and the three in it.
    assert member_removals([removal], observed) == 4
