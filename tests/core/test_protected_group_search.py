"""How planning searches a group to delete for a protected account (spare.py
`Holders.protected_member`): through every nested group, typed or not, past groups already
seen, and by every name an entry may stand for, its own value and display among them
(a target that keeps members by name, an account the read did not hold)."""

from __future__ import annotations

from pathlib import Path

from reconciler.core.changes import Action
from reconciler.core.model import Json, Observed
from reconciler.core.plan import Plan, make_plan
from tests.core.test_plan import TARGET, group_res, load, user_res

PROTECT = "    nested_groups: native\n    protected: ['admin@*']\n"
OPS_ABSENT = "groups:\n  - {displayName: Ops, state: absent}\n"
ADMIN = user_res("id-admin", "admin@example.com")
BOB = user_res("id-bob", "bob@example.com")


def delete_ops(tmp_path: Path, ops_members: list[Json], *others: object) -> Plan:
    ops = group_res("g-ops", "Ops", ops_members)
    observed = Observed((ADMIN, BOB), (ops, *others))  # type: ignore[arg-type]
    spec = load(tmp_path, TARGET + PROTECT + OPS_ABSENT)
    return make_plan(spec, spec.targets["t"], observed)


def deleted(plan: Plan) -> bool:
    return any(c.action is Action.DELETE and c.key == "Ops" for c in plan.changes)


def test_a_search_goes_on_past_a_group_already_seen(tmp_path: Path) -> None:
    # Sub2 (searched first) holds Ops again; Sub1, after it, holds admin@.
    subs = [{"value": "g-sub1", "type": "Group"}, {"value": "g-sub2", "type": "Group"}]
    sub1 = group_res("g-sub1", "Sub1", ["id-admin"])
    sub2 = group_res("g-sub2", "Sub2", [{"value": "g-ops", "type": "Group"}])
    plan = delete_ops(tmp_path, subs, sub1, sub2)
    assert not deleted(plan)
    assert plan.notes == (
        "group Ops: member admin@example.com is protected: the group is not deleted",
    )


def test_a_cycle_holding_no_protected_account_ends_and_is_deleted(tmp_path: Path) -> None:
    sub = group_res("g-sub", "Sub", [{"value": "g-ops", "type": "Group"}, "id-bob"])
    plan = delete_ops(tmp_path, [{"value": "g-sub", "type": "Group"}], sub)
    assert deleted(plan)


def test_an_untyped_nested_group_is_searched_too(tmp_path: Path) -> None:
    # A target that does not type its members: the value is a group's id, and no user's.
    sub = group_res("g-sub", "Sub", ["id-admin"])
    plan = delete_ops(tmp_path, [{"value": "g-sub"}], sub)
    assert not deleted(plan)


def test_a_member_kept_by_a_protected_name_keeps_its_group(tmp_path: Path) -> None:
    # No account the read holds has that name (one the listing hid, say): the entry's
    # value is all there is to judge.
    plan = delete_ops(tmp_path, [{"value": "admin@corp.example.com"}, "id-bob"])
    assert not deleted(plan)
    assert plan.notes == (
        "group Ops: member admin@corp.example.com is protected: the group is not deleted",
    )


def test_a_member_displayed_by_a_protected_name_keeps_its_group(tmp_path: Path) -> None:
    plan = delete_ops(tmp_path, [{"value": "id-hidden", "display": "admin@corp.example.com"}])
    assert not deleted(plan)
    assert plan.notes == (
        "group Ops: member admin@corp.example.com is protected: the group is not deleted",
    )


def test_a_group_holding_only_unprotected_members_is_deleted(tmp_path: Path) -> None:
    plan = delete_ops(tmp_path, [{"value": "id-hidden", "display": "bob@corp.example.com"}])
    assert deleted(plan)


def test_the_changes_after_a_group_kept_are_all_kept(tmp_path: Path) -> None:
    # Ops is kept for admin@; Zed, deleted after it, holds no one protected.
    ops = group_res("g-ops", "Ops", ["id-admin"])
    zed = group_res("g-zed", "Zed", ["id-bob"])
    groups = OPS_ABSENT + "  - {displayName: Zed, state: absent}\n"
    spec = load(tmp_path, TARGET + PROTECT + groups)
    plan = make_plan(spec, spec.targets["t"], Observed((ADMIN, BOB), (ops, zed)))
    assert [(c.key, c.action) for c in plan.changes] == [("Zed", Action.DELETE)]
