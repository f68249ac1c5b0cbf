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
from reconciler.core.guards import check_guards
from reconciler.core.model import Json, Observed
from reconciler.core.plan import Plan, make_plan
from reconciler.core.plancheck import protection_problems
from tests.core.test_plan import TARGET, group_res, load, user_res
from tests.fakescim import USER_SCHEMA

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


ACME = "urn:example:params:scim:schemas:extension:acme:2.0:User"


def test_a_role_mapped_into_a_custom_extension_is_counted_and_kept(tmp_path: Path) -> None:
    # The mapping names its target by the extension's alias (`acme.appRole`); changes name
    # it by the URN. Both must be the same role attribute to the guards and to `protected`.
    settings = (
        PROTECT
        + f"    extensions: {{acme: '{ACME}'}}\n"
        + "    roles: {admin: [Admins]}\n"
        + "    guards: {max_member_removals: 0}\n"
        + "    mappings:\n      user:\n"
        + "        acme.appRole:\n"
        + "          expression: 'SingleAppRoleAssignment([appRoleAssignments])'\n"
        + "          default: none\n"
    )
    text = TARGET + settings + DECLARED + "groups:\n  - {displayName: Admins, members: []}\n"
    spec = load(tmp_path, text)
    target = spec.targets["t"]
    held: dict[str, Json] = {"schemas": [USER_SCHEMA, ACME], ACME: {"appRole": "admin"}}
    observed = Observed(
        (
            user_res("id-root", "root@example.com", **held),
            user_res("id-a", "a@example.com", **held),
        ),
        (),
    )
    plan = check_guards(make_plan(spec, target, observed), target, observed)
    demoted = {
        c.key: a.after for c in plan.changes for a in c.attributes if a.path == f"{ACME}:appRole"
    }
    assert demoted == {"a@example.com": "none"}
    assert "user root@example.com is protected: keeps its roles (admin)" in plan.notes
    assert plan.guards == (
        "1 member removal (1 of them roles lost) in one run, more than "
        "guards.max_member_removals (0); re-run with --allow-member-removals 1 if that is "
        "intended",
    )


@pytest.mark.parametrize("ref", ["[groups]", "[ groups ]", "[\tgroups ]"])
def test_an_access_level_computed_from_membership_is_counted_and_kept(
    tmp_path: Path, ref: str
) -> None:
    # However the reference is spaced, the parser reads `groups`: a demotion is a role lost
    # to the guards and to `protected` alike.
    settings = (
        PROTECT
        + "    guards: {max_member_removals: 0}\n"
        + "    mappings:\n      user:\n"
        + f'        userType: \'IIF(IsPresent({ref}), "Admin", "User")\'\n'
    )
    text = TARGET + settings + DECLARED + "groups:\n  - {displayName: Admins, members: []}\n"
    spec = load(tmp_path, text)
    target = spec.targets["t"]
    observed = Observed(
        (
            user_res("id-root", "root@example.com", userType="Admin"),
            user_res("id-a", "a@example.com", userType="Admin"),
        ),
        (),
    )
    plan = check_guards(make_plan(spec, target, observed), target, observed)
    demoted = {c.key: a.after for c in plan.changes for a in c.attributes if a.path == "userType"}
    assert demoted == {"a@example.com": "User"}
    assert "user root@example.com is protected: keeps its roles (Admin)" in plan.notes
    assert plan.guards == (
        "1 member removal (1 of them roles lost) in one run, more than "
        "guards.max_member_removals (0); re-run with --allow-member-removals 1 if that is "
        "intended",
    )
