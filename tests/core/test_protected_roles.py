"""A protected account keeps its roles, whatever route would take one away (DESIGN §6).

A role is access, as a group is (the guards count a role lost as a member removal): the
break-glass administrator that protection keeps in group Admins must not lose the role
Admins grants either, through the role group emptied or the role map edited. Others lose
theirs; a saved plan that takes the role away is refused.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.core.changes import Action
from reconciler.core.model import Observed
from reconciler.core.plan import Plan, make_plan
from reconciler.core.plancheck import protection_problems
from tests.core.test_plan import TARGET, group_res, load, user_res

ADMIN = [{"value": "admin", "display": "admin", "primary": True}]
USERS = (
    user_res("id-root", "root@example.com", roles=ADMIN),
    user_res("id-a", "a@example.com", roles=ADMIN),
)
DECLARED = "users:\n  - userName: root@example.com\n  - userName: a@example.com\n"
PROTECT = "    protected: ['ROOT@*']\n"

# (route, role map, groups) — each takes role admin from root@ and a@.
ROUTES = [
    ("role-group-emptied", "{admin: [Admins]}", "  - {displayName: Admins, members: []}\n"),
    (
        "role-map-edited",
        "{admin: [Other]}",
        "  - {displayName: Admins, members: [root@example.com, a@example.com]}\n"
        "  - {displayName: Other, members: []}\n",
    ),
]


def plan_route(tmp_path: Path, roles: str, groups: str, settings: str = "") -> Plan:
    text = TARGET + settings + f"    roles: {roles}\n" + DECLARED + "groups:\n" + groups
    spec = load(tmp_path, text)
    admins = group_res("g-adm", "Admins", ["id-root", "id-a"])
    return make_plan(spec, spec.targets["t"], Observed(USERS, (admins, group_res("g-o", "Other"))))


def roles_after(plan: Plan) -> dict[str, object]:
    return {
        c.key: a.after
        for c in plan.changes
        if c.action is not Action.CREATE
        for a in c.attributes
        if a.path == "roles"
    }


@pytest.mark.parametrize(("route", "roles", "groups"), ROUTES, ids=[r[0] for r in ROUTES])
def test_every_route_takes_the_role_unprotected(
    tmp_path: Path, route: str, roles: str, groups: str
) -> None:
    assert roles_after(plan_route(tmp_path, roles, groups)) == {
        "a@example.com": None,
        "root@example.com": None,
    }


@pytest.mark.parametrize(("route", "roles", "groups"), ROUTES, ids=[r[0] for r in ROUTES])
def test_no_route_takes_a_protected_accounts_role(
    tmp_path: Path, route: str, roles: str, groups: str
) -> None:
    plan = plan_route(tmp_path, roles, groups, PROTECT)
    assert roles_after(plan) == {"a@example.com": None}, route
    assert "user root@example.com is protected: keeps its roles (admin)" in plan.notes


def test_a_saved_plan_that_takes_a_protected_accounts_role_is_refused(tmp_path: Path) -> None:
    _, roles, groups = ROUTES[0]
    plan = plan_route(tmp_path, roles, groups)
    [root] = [c for c in plan.changes if c.key == "root@example.com"]
    spec = load(
        tmp_path, TARGET + PROTECT + f"    roles: {roles}\n" + DECLARED + "groups:\n" + groups
    )
    admins = group_res("g-adm", "Admins", ["id-root", "id-a"])
    assert protection_problems((root,), spec.targets["t"], Observed(USERS, (admins,))) == [
        "the plan goes past the spec's `protected`: user root@example.com is protected: "
        "keeps its roles (admin)"
    ]


def test_a_protected_account_keeps_its_roles_and_its_other_changes(tmp_path: Path) -> None:
    # Two roles lost (both named in the note) beside a title changed, which goes ahead.
    held = [{"value": "admin"}, {"value": "ops"}]
    observed = Observed((user_res("id-root", "root@example.com", roles=held, title="A"),), ())
    declared = "users:\n  - {userName: root@example.com, title: B, roles: []}\n"
    spec = load(tmp_path, TARGET + PROTECT + declared)
    plan = make_plan(spec, spec.targets["t"], observed)
    [change] = plan.changes
    assert (change.action, [(a.path, a.after) for a in change.attributes]) == (
        Action.UPDATE,
        [("title", "B")],
    )
    assert plan.notes == ("user root@example.com is protected: keeps its roles (admin, ops)",)


def test_a_protected_group_keeps_its_member_changes_whatever_is_withheld_as_roles(
    tmp_path: Path,
) -> None:
    # A user mapping that writes role assignments into externalId makes externalId a
    # role path: a protected group's externalId change is then held back as a role lost,
    # but the member it adds still joins.
    mappings = "    mappings: {user: {externalId: {source: appRoleAssignments}}}\n"
    declared = (
        "users:\n  - {userName: a@example.com}\n"
        "groups:\n  - {displayName: Ops, externalId: new, members: [a@example.com]}\n"
    )
    spec = load(tmp_path, TARGET + "    protected: ['Ops']\n" + mappings + declared)
    ops = group_res("g-ops", "Ops", [], externalId="old")
    plan = make_plan(
        spec, spec.targets["t"], Observed((user_res("id-a", "a@example.com"),), (ops,))
    )
    [change] = plan.changes
    assert (change.key, [m.id for m in change.members_add]) == ("Ops", ["id-a"])
