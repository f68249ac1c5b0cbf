"""With native nesting, a user member whose id equals a declared group's id is never
removed as if it were a nested group.

Many targets number users and groups from 1 in separate tables (django-scim2 does), so a
user and a group share an id. core/action.py `with_nested` counts as a nested group every
member that is typed Group *or whose value is a declared group's id*, even when the member
says `type: User`. Such a member is not among the group's declared subgroups, so it is
removed ("- member group Eng (id 1)"), although it is a declared user member that the
membership diff itself keeps: every run flipped. A member is a group by its type or $ref.
"""

from __future__ import annotations

from pathlib import Path

from reconciler.core.model import Capabilities, Observed
from reconciler.core.plan import make_plan
from reconciler.report.explain import explain
from tests.core.test_plan import TARGET, group_res, load, user_res

SPEC = (
    TARGET
    + "    nested_groups: native\n"
    + "users:\n"
    + "  - userName: alice@example.com\n"
    + "  - userName: bob@example.com\n"
    + "groups:\n"
    + "  - displayName: Eng\n"
    + "    members: [bob@example.com]\n"
    + "  - displayName: All\n"
    + "    members: [alice@example.com, bob@example.com]\n"
)


def test_user_members_are_never_removed_as_nested_groups(tmp_path: Path) -> None:
    spec = load(tmp_path, SPEC)
    # Users 1 and 2, groups 1 and 2: separate id spaces, as on django-scim2.
    users = (user_res("1", "alice@example.com"), user_res("2", "bob@example.com"))
    user = "User"
    groups = (
        group_res("1", "Eng", [{"value": "2", "type": user}]),
        group_res("2", "All", [{"value": "1", "type": user}, {"value": "2", "type": user}]),
    )
    plan = make_plan(spec, spec.targets["t"], Observed(users, groups))
    # The target already holds exactly the declared memberships: nothing to change.
    removed = [(c.key, m.id, m.type) for c in plan.changes for m in c.members_remove]
    assert removed == []
    assert plan.changes == ()


def test_explain_tells_a_nested_group_from_a_user_of_the_same_name(tmp_path: Path) -> None:
    # A user "admins" and a group "admins" both join Outer: each line says which it is,
    # as the plan's text does ("+ member group admins").
    spec = load(
        tmp_path,
        TARGET
        + "    nested_groups: native\n"
        + "users:\n  - userName: admins\n"
        + "groups:\n"
        + "  - {displayName: Outer, members: [admins], groups: [admins]}\n"
        + "  - {displayName: admins, members: []}\n",
    )
    groups = (group_res("1", "admins"), group_res("2", "Outer"))
    observed = Observed((user_res("1", "admins"),), groups)
    plan = make_plan(spec, spec.targets["t"], observed)
    declared = {(o.kind, o.key): o for o in (*spec.users, *spec.groups)}
    text = explain(plan, declared, spec.targets["t"], Capabilities(), observed)
    assert "      + member admins\n      + member group admins\n" in text
