"""A protected account is never removed from a group (README: protected).

A membership removed is access taken away, as a disable is: the break-glass administrator
left out of a group's declared `members` (undeclared, or declared under its own key) would
lose the group, and with it the rights the group gives. Protection takes those removals
out of the plan and says so; other members still go, and a saved plan that puts such a
removal back is refused (core/plancheck.py, through the same function).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from reconciler.core.changes import Action, Change, Member
from reconciler.core.model import Kind, Observed, Resource
from reconciler.core.plan import make_plan
from reconciler.core.plancheck import protection_problems
from tests.core.test_plan import TARGET, group_res, load, plan_for, user_res

PROTECTED = '    protected: ["admin@*", "Root*"]\n'
USERS = [
    user_res("u-admin", "Admin@Example.com"),
    user_res("u-x", "x@example.com"),
    user_res("u-alice", "alice@example.com"),
]


def test_a_protected_member_stays_and_the_others_go(tmp_path: Path) -> None:
    spec = load(tmp_path, TARGET + PROTECTED + "groups:\n  - displayName: Ops\n    members: []\n")
    plan = plan_for(spec, USERS, [group_res("g-ops", "Ops", ["u-admin", "u-x"])])
    [change] = plan.changes
    assert [m.id for m in change.members_remove] == ["u-x"]
    assert "group Ops: member Admin@Example.com is protected: not removed" in plan.notes


def test_a_group_whose_only_removal_is_protected_has_no_change(tmp_path: Path) -> None:
    spec = load(tmp_path, TARGET + PROTECTED + "groups:\n  - displayName: Ops\n    members: []\n")
    plan = plan_for(spec, USERS, [group_res("g-ops", "Ops", ["u-admin"])])
    assert plan.changes == ()
    assert plan.notes == ("group Ops: member Admin@Example.com is protected: not removed",)


def test_a_declared_protected_user_keeps_its_groups_too(tmp_path: Path) -> None:
    text = "users:\n  - userName: admin@example.com\n  - userName: alice@example.com\n"
    groups = "groups:\n  - displayName: Ops\n    members: [alice@example.com]\n"
    spec = load(tmp_path, TARGET + PROTECTED + text + groups)
    plan = plan_for(spec, USERS, [group_res("g-ops", "Ops", ["u-admin", "u-alice"])])
    assert plan.changes == ()


def test_a_protected_nested_group_is_not_removed_either(tmp_path: Path) -> None:
    text = "    nested_groups: native\n" + PROTECTED
    groups = "groups:\n  - displayName: Ops\n    groups: [Sub]\n  - displayName: Sub\n"
    spec = load(tmp_path, TARGET + text + groups)
    nested = [{"value": g, "type": "Group"} for g in ("g-root", "g-sub", "g-other")]
    ops = group_res("g-ops", "Ops", nested)
    listed = [ops, group_res("g-sub", "Sub"), group_res("g-root", "Root admins")]
    plan = plan_for(spec, USERS, [*listed, group_res("g-other", "Other")])
    removed = [(m.id, m.type) for c in plan.changes for m in c.members_remove]
    assert removed == [("g-other", "Group")]
    assert "group Ops: member Root admins is protected: not removed" in plan.notes


def test_a_saved_plan_that_removes_a_protected_member_is_refused(tmp_path: Path) -> None:
    spec = load(tmp_path, TARGET + PROTECTED + "groups:\n  - displayName: Ops\n    members: []\n")
    groups = [group_res("g-ops", "Ops", ["u-admin", "u-x"])]
    plan = plan_for(spec, USERS, groups)
    [change] = plan.changes
    edited = dataclasses.replace(
        change, members_remove=(*change.members_remove, Member(None, "u-admin"))
    )
    observed = Observed(tuple(USERS), tuple(groups))
    assert protection_problems((edited,), spec.targets["t"], observed) == [
        "the plan goes past the spec's `protected`: group Ops: member Admin@Example.com is "
        "protected: not removed"
    ]
    assert protection_problems((change,), spec.targets["t"], observed) == []


def test_a_protected_member_stored_by_another_value_than_its_id_stays(tmp_path: Path) -> None:
    # The declared key (admin@example.com) is not protected; the name the mapping gives it
    # on the target is. The target stores the member by its userName, or by an id of its
    # own with a `$ref` to the user: by id alone, neither is known as the protected account.
    mapped = '    mappings:\n      user:\n        userName: \'Join("", "root-", [userName])\'\n'
    users = "users:\n  - userName: admin@example.com\n  - userName: alice@example.com\n"
    groups = "groups:\n  - displayName: Ops\n    members: [alice@example.com]\n"
    text = TARGET + '    protected: ["root-*"]\n' + mapped + users + groups
    spec = load(tmp_path, text)
    listed = [user_res("u-admin", "root-admin@example.com"), user_res("u-x", "x@example.com")]
    listed.append(user_res("u-alice", "root-alice@example.com"))
    for stored in ({"value": "root-admin@example.com"}, {"value": "m1", "$ref": "/Users/u-admin"}):
        ops = group_res("g-ops", "Ops", [stored, "u-alice", "u-x"])
        plan = plan_for(spec, listed, [ops])
        [change] = plan.changes
        assert [m.id for m in change.members_remove] == ["u-x"], stored
        assert plan.notes == ("group Ops: member root-admin@example.com is protected: not removed",)
        edited = dataclasses.replace(change, members_remove=(Member("x", str(stored["value"])),))
        observed = Observed(tuple(listed), (ops,))
        assert protection_problems((edited,), spec.targets["t"], observed) == [
            "the plan goes past the spec's `protected`: " + plan.notes[0]
        ]


def test_a_member_no_user_has_is_still_removed_beside_protection(tmp_path: Path) -> None:
    # The target confirmed no user has "u-gone": nothing names it, and it goes.
    spec = load(tmp_path, TARGET + PROTECTED + "groups:\n  - displayName: Ops\n    members: []\n")
    groups = (group_res("g-ops", "Ops", ["u-gone", "u-x"]),)
    observed = Observed(tuple(USERS), groups, dangling=frozenset({"u-gone"}))
    plan = make_plan(spec, spec.targets["t"], observed)
    [change] = plan.changes
    assert [m.id for m in change.members_remove] == ["u-gone", "u-x"]


MAPPED = '    mappings:\n      user:\n        userName: \'Join("", "root-", [userName])\'\n'


def test_a_member_protected_by_its_declared_key_alone_stays(tmp_path: Path) -> None:
    # admin@example.com is protected by its declared key; on the target it is
    # root-admin@example.com, which no pattern names.
    users = "users:\n  - userName: admin@example.com\n  - userName: alice@example.com\n"
    groups = "groups:\n  - displayName: Ops\n    members: [alice@example.com]\n"
    spec = load(tmp_path, TARGET + '    protected: ["admin@*"]\n' + MAPPED + users + groups)
    listed = [user_res("u-admin", "root-admin@example.com")]
    listed.append(user_res("u-alice", "root-alice@example.com"))
    plan = plan_for(spec, listed, [group_res("g-ops", "Ops", ["u-admin", "u-alice"])])
    assert plan.changes == ()
    assert plan.notes == ("group Ops: member root-admin@example.com is protected: not removed",)


def test_a_group_keeps_its_other_changes_when_its_removal_is_spared(tmp_path: Path) -> None:
    groups = "groups:\n  - displayName: Ops\n    externalId: ops-1\n    members: []\n"
    spec = load(tmp_path, TARGET + PROTECTED + groups)
    plan = plan_for(spec, USERS, [group_res("g-ops", "Ops", ["u-admin"])])
    [change] = plan.changes
    assert ([a.path for a in change.attributes], change.members_remove) == (["externalId"], ())


def test_the_changes_after_a_spared_one_are_all_kept(tmp_path: Path) -> None:
    groups = "groups:\n" + "".join(
        f"  - displayName: {name}\n    members: []\n" for name in ("Alpha", "Beta", "Gamma")
    )
    spec = load(tmp_path, TARGET + PROTECTED + groups)
    held = [group_res(f"g-{n}", n, [m]) for n, m in (("Alpha", "u-admin"), ("Beta", "u-x"))]
    plan = plan_for(spec, USERS, [*held, group_res("g-Gamma", "Gamma", ["u-alice"])])
    assert sorted(c.key for c in plan.changes) == ["Beta", "Gamma"]


def test_a_group_sharing_a_protected_users_id_does_not_hide_it(tmp_path: Path) -> None:
    # Targets that number users and groups apart (django-scim2) give user 1 and group 1
    # one id; Ops holds both. The user is protected by its name on the target alone.
    users = "users:\n  - userName: admin@example.com\n"
    spec = load(
        tmp_path,
        TARGET + '    protected: ["root-*"]\n' + MAPPED + users
        + "groups:\n  - displayName: Ops\n    members: []\n",
    )  # fmt: skip
    both = [{"value": "1", "type": "User"}, {"value": "1", "type": "Group"}]
    groups = [group_res("2", "Ops", both), group_res("1", "Sub")]
    plan = plan_for(spec, [user_res("1", "root-admin@example.com")], groups)
    assert [m.id for c in plan.changes for m in c.members_remove if m.type == "User"] == []


def test_a_member_whose_user_has_no_name_in_text_is_judged_without_one(tmp_path: Path) -> None:
    # A target user whose userName is a number is an object the read cannot use; the plan
    # still judges the group's other members, and does not stop at it.
    spec = load(tmp_path, TARGET + PROTECTED + "groups:\n  - displayName: Ops\n    members: []\n")
    odd = Resource("u-odd", {"id": "u-odd", "userName": 5})
    plan = plan_for(spec, [*USERS, odd], [group_res("g-ops", "Ops", ["u-odd", "u-x", "u-admin"])])
    removed = {m.id for c in plan.changes for m in c.members_remove}
    assert "u-x" in removed and "u-admin" not in removed


def test_an_id_shown_under_two_names_is_protected_when_either_name_is(tmp_path: Path) -> None:
    # Which copy is the account is not known: protection holds for each, whichever the
    # listing showed first. Planning leaves such a member in place; a saved plan edited to
    # remove it is refused.
    spec = load(tmp_path, TARGET + PROTECTED + "groups:\n  - displayName: Ops\n    members: []\n")
    for first, second in (("x@example.com", "Admin@Example.com"), ("Admin@Example.com", "x@e.com")):
        users = [user_res("u-1", first), user_res("u-1", second), user_res("u-x", "x2@e.com")]
        groups = [group_res("g-ops", "Ops", ["u-1", "u-x"])]
        [change] = plan_for(spec, users, groups).changes
        assert [m.id for m in change.members_remove] == ["u-x"]
        edited = dataclasses.replace(change, members_remove=(Member(None, "u-1"),))
        observed = Observed(tuple(users), tuple(groups))
        assert protection_problems((edited,), spec.targets["t"], observed) == [
            "the plan goes past the spec's `protected`: group Ops: member Admin@Example.com "
            "is protected: not removed"
        ], (first, second)


def test_a_nested_group_naming_a_protected_member_without_an_id_is_not_removed(
    tmp_path: Path,
) -> None:
    # An entry with no usable id (an unreadable group's, which a hostile target sends) may
    # still be the protected account: its display says so. Planning decides nothing from
    # such a group; a saved plan edited to take it out of another is refused.
    text = "    nested_groups: native\n" + PROTECTED
    spec = load(tmp_path, TARGET + text + "groups:\n  - displayName: Ops\n")
    entries = ["u-x", 7, {"value": "u-x"}, {"display": "Admin@Example.com"}]
    odd = Resource("g-odd", {**group_res("g-odd", "Odd").body, "members": entries})
    listed = [group_res("g-ops", "Ops", [{"value": "g-odd", "type": "Group"}]), odd]
    plan = plan_for(spec, USERS, listed)
    assert [m.id for c in plan.changes for m in c.members_remove] == []
    removal = Change(
        Kind.GROUP,
        "Ops",
        Action.UPDATE,
        "members",
        target_id="g-ops",
        members_remove=(Member(None, "g-odd", "Group"),),
    )
    observed = Observed(tuple(USERS), tuple(listed))
    assert protection_problems((removal,), spec.targets["t"], observed) == [
        "the plan goes past the spec's `protected`: group Ops: member Admin@Example.com is "
        "protected: not removed"
    ]
