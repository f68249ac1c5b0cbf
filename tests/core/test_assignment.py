"""Assignment by group (Entra's "sync only assigned users and groups") and app roles from
groups: who a target receives and why, which groups it receives, and the roles each
user holds there, planned against what the target holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.core.assignment import assignment
from reconciler.core.changes import Action
from reconciler.core.config import Spec
from reconciler.core.guards import refusals
from reconciler.core.model import Capabilities, Json, Observed, Resource
from reconciler.core.plan import Plan, make_plan
from reconciler.report.explain import explain
from reconciler.report.render import plan_text
from tests.core.test_plan import TARGET, group_res, keyed, load, user_res

PEOPLE = (
    "users:\n"
    "  - userName: ana@example.com\n"
    "  - userName: ben@example.com\n"
    "  - userName: cy@example.com\n"
    "  - userName: dee@example.com\n"
)
GROUPS = (
    "groups:\n"
    "  - displayName: Engineering\n"
    "    members: [ana@example.com]\n"
    "    groups: [Platform]\n"
    "  - displayName: Platform\n"
    "    members: [ben@example.com]\n"
    "  - displayName: Sales EMEA\n"
    "    members: [cy@example.com]\n"
    "  - displayName: Platform Admins\n"
    "    members: [ben@example.com, dee@example.com]\n"
)


def plan(
    root: Path,
    settings: str,
    users: tuple[Resource, ...] = (),
    groups: tuple[Resource, ...] = (),
) -> Plan:
    spec = load(root, TARGET + settings + PEOPLE + GROUPS)
    return make_plan(spec, spec.targets["t"], Observed(users, groups))


def spec_of(root: Path, settings: str) -> Spec:
    return load(root, TARGET + settings + PEOPLE + GROUPS)


# -- who is in scope, and why ---------------------------------------------------------


def test_an_assigned_group_brings_its_members_nested_ones_included(tmp_path: Path) -> None:
    result = plan(tmp_path, "    assign: {groups: [engineering]}\n")
    assert keyed(result) == [
        ("user", "ana@example.com", "create"),
        ("user", "ben@example.com", "create"),
        ("group", "Engineering", "create"),
    ]
    scopes = {c.key: c.scope for c in result.changes}
    # ben is in Platform, nested in Engineering: assigned through Engineering all the same.
    assert scopes == {
        "ana@example.com": "assigned through Engineering",
        "ben@example.com": "assigned through Engineering",
        "Engineering": None,
    }
    assert result.out_of_scope == (
        (
            "cy@example.com",
            "out of scope: not in a group assigned to this target (Engineering)",
            "not provisioned",
        ),
        (
            "dee@example.com",
            "out of scope: not in a group assigned to this target (Engineering)",
            "not provisioned",
        ),
    )
    # Only the assigned group is pushed; the others are out of scope, never created.
    assert [g for g, _, _ in result.out_of_scope_groups] == [
        "Platform",
        "Sales EMEA",
        "Platform Admins",
    ]
    engineering = result.changes[-1]
    assert [m.key for m in engineering.members_add] == ["ana@example.com", "ben@example.com"]


def test_the_plan_says_why_each_user_is_in_or_out(tmp_path: Path) -> None:
    text = plan_text(plan(tmp_path, "    assign: {groups: [Engineering, Sales EMEA]}\n").to_json())
    assert "  + create user ana@example.com [assigned through Engineering]\n" in text
    assert "  + create user cy@example.com [assigned through Sales EMEA]\n" in text
    assert (
        "Out of scope: user dee@example.com (not provisioned): out of scope: not in a group "
        "assigned to this target (Engineering, Sales EMEA)\n" in text
    )
    assert "Out of scope: group Platform Admins (not provisioned)" in text


def test_without_assign_every_user_and_group_is_in_scope(tmp_path: Path) -> None:
    result = plan(tmp_path, "")
    assert {c.key for c in result.changes} == {
        "ana@example.com",
        "ben@example.com",
        "cy@example.com",
        "dee@example.com",
        "Engineering",
        "Platform",
        "Sales EMEA",
        "Platform Admins",
    }
    assert all(c.scope is None for c in result.changes)
    assert "scope" not in result.changes[0].to_json()


def test_assignment_and_a_scoping_filter_must_both_hold(tmp_path: Path) -> None:
    settings = (
        "    assign: {groups: [Engineering]}\n"
        "    scope: [[{attribute: userName, operator: NOT EQUALS, value: ben@example.com}]]\n"
    )
    result = plan(tmp_path, settings)
    assert [c.key for c in result.changes if c.kind.value == "user"] == ["ana@example.com"]
    assert result.changes[0].scope == "assigned through Engineering; scoping filter group 1 matched"
    outside = {key: reason for key, reason, _ in result.out_of_scope}
    assert outside["ben@example.com"].startswith("out of scope: group 1 clause 1 (userName")


# -- leaving the assignment -------------------------------------------------------------

ON_TARGET = (
    user_res("u-ana", "ana@example.com", active=True),
    user_res("u-cy", "cy@example.com", active=True),
)
ENGINEERING = group_res("g-eng", "Engineering", ["u-ana", "u-cy"])


@pytest.mark.parametrize(
    ("policy", "cy"),
    [("skip", None), ("deprovision", Action.DISABLE)],
)
def test_a_user_who_left_the_assigned_group_leaves_it_on_the_target(
    tmp_path: Path, policy: str, cy: Action | None
) -> None:
    # cy was in Engineering on the target; the spec has her in Sales EMEA only now.
    settings = f"    assign: {{groups: [Engineering]}}\n    out_of_scope: {policy}\n"
    result = plan(tmp_path, settings, ON_TARGET, (ENGINEERING,))
    group = next(c for c in result.changes if c.key == "Engineering")
    assert [(m.key, m.id) for m in group.members_remove] == [("cy@example.com", "u-cy")]
    actions = {c.key: c.action for c in result.changes if c.kind.value == "user"}
    assert actions.get("cy@example.com") == cy


def test_a_user_scoped_out_by_a_filter_keeps_their_memberships(tmp_path: Path) -> None:
    # The filter leaves cy alone on this target, memberships included (as before assign).
    settings = (
        "    assign: {groups: [Engineering, Sales EMEA]}\n"
        "    scope: [[{attribute: userName, operator: NOT EQUALS, value: cy@example.com}]]\n"
    )
    result = plan(tmp_path, settings, ON_TARGET, (ENGINEERING,))
    group = next((c for c in result.changes if c.key == "Engineering"), None)
    assert group is None or not group.members_remove


def test_out_of_scope_deprovisions_go_through_the_guards_and_protection(tmp_path: Path) -> None:
    settings = (
        "    assign: {groups: [Sales EMEA]}\n    out_of_scope: deprovision\n"
        "    guards: {max_deletes: 0}\n"
    )
    result = plan(tmp_path, settings, ON_TARGET, (ENGINEERING,))
    assert ("user", "ana@example.com", "disable") in keyed(result)
    assert ("group", "Engineering", "delete") in keyed(result)
    spec = spec_of(tmp_path, settings)
    reasons = refusals(result.changes, spec.targets["t"], Observed(ON_TARGET, (ENGINEERING,)))
    assert reasons[0].startswith("2 deprovisions (1 group delete, 1 user disable)")
    protected = plan(
        tmp_path, settings + "    protected: [ana@*, Engineering]\n", ON_TARGET, (ENGINEERING,)
    )
    assert [c for c in protected.changes if c.action in (Action.DISABLE, Action.DELETE)] == []


def test_an_unassigned_group_is_matched_so_prune_never_deletes_it(tmp_path: Path) -> None:
    settings = "    assign: {groups: [Sales EMEA]}\n    prune: all\n"
    result = plan(tmp_path, settings, (), (ENGINEERING,))
    assert ("group", "Engineering", "delete") not in keyed(result)
    assert ("Engineering", "out of scope: not assigned to this target", "left alone") in (
        result.out_of_scope_groups
    )


def test_native_nesting_pushes_the_nested_groups_too(tmp_path: Path) -> None:
    result = plan(tmp_path, "    assign: {groups: [Engineering]}\n    nested_groups: native\n")
    assert [c.key for c in result.changes if c.kind.value == "group"] == ["Engineering", "Platform"]


# -- scoping filters on group membership -------------------------------------------------


@pytest.mark.parametrize(
    ("operator", "value", "in_scope"),
    [
        ("EQUALS", "engineering", {"ana", "ben"}),  # nested members too, case-insensitive
        ("NOT EQUALS", "Engineering", {"cy", "dee", "eve"}),  # eve is in no group at all
        ("INCLUDES", "admin", {"ben", "dee"}),
        ("EXCLUDES", "Admin", {"ana", "cy", "eve"}),
        ("REGEX MATCH", "^Sales", {"cy"}),
        ("NOT REGEX MATCH", "^Sales", {"ana", "ben", "dee", "eve"}),
        ("IS NULL", None, {"eve"}),
        ("IS NOT NULL", None, {"ana", "ben", "cy", "dee"}),
    ],
)
def test_scoping_filters_test_group_membership(
    tmp_path: Path, operator: str, value: str | None, in_scope: set[str]
) -> None:
    clause = f"{{attribute: groups, operator: {operator}" + (
        f", value: '{value}'}}" if value else "}"
    )
    spec = load(
        tmp_path,
        TARGET + f"    scope: [[{clause}]]\n" + PEOPLE + "  - userName: eve@example.com\n" + GROUPS,
    )
    result = make_plan(spec, spec.targets["t"], Observed((), ()))
    created = {c.key.split("@")[0] for c in result.changes if c.kind.value == "user"}
    assert created == in_scope


# -- roles -------------------------------------------------------------------------------

ROLES = "    roles: {admin: [Platform Admins], member: [Engineering]}\n"


def roles_of(result: Plan) -> dict[str, object]:
    return {
        c.key: next((a.after for a in c.attributes if a.path == "roles"), "(unchanged)")
        for c in result.changes
        if c.kind.value == "user"
    }


def test_roles_come_from_groups_in_precedence_order(tmp_path: Path) -> None:
    result = plan(tmp_path, ROLES)
    assert roles_of(result) == {
        "ana@example.com": [{"value": "member", "display": "member", "primary": True}],
        # ben is in Platform Admins and (through Platform) in Engineering: admin comes first.
        "ben@example.com": [
            {"value": "admin", "display": "admin", "primary": True},
            {"value": "member", "display": "member", "primary": False},
        ],
        # cy holds no role: nothing to write on a create.
        "cy@example.com": "(unchanged)",
        "dee@example.com": [{"value": "admin", "display": "admin", "primary": True}],
    }


def test_a_user_who_loses_every_role_loses_it_on_the_target(tmp_path: Path) -> None:
    cy = user_res("u-cy", "cy@example.com", roles=[{"value": "admin", "primary": True}])
    member = [{"value": "member", "display": "member", "primary": True}]
    ana = user_res("u-ana", "ana@example.com", roles=member)
    result = plan(tmp_path, ROLES, (cy, ana))
    change = next(c for c in result.changes if c.key == "cy@example.com")
    # No role is no role: cleared (PATCH remove), never left as it was.
    assert [(a.path, a.before, a.after) for a in change.attributes] == [
        ("roles", cy.body["roles"], None)
    ]
    assert "ana@example.com" not in {c.key for c in result.changes}


def test_role_groups_are_assigned_but_not_pushed(tmp_path: Path) -> None:
    result = plan(tmp_path, "    assign: {groups: [Sales EMEA]}\n" + ROLES)
    users = {c.key: c.scope for c in result.changes if c.kind.value == "user"}
    assert users == {
        "ana@example.com": "assigned through Engineering",
        "ben@example.com": "assigned through Platform Admins, Engineering",
        "cy@example.com": "assigned through Sales EMEA",
        "dee@example.com": "assigned through Platform Admins",
    }
    assert [c.key for c in result.changes if c.kind.value == "group"] == ["Sales EMEA"]


@pytest.mark.parametrize(
    ("mapping", "ben"),
    [
        (
            "roles: 'AppRoleAssignmentsComplex([appRoleAssignments])'",
            [
                {
                    "primary": False,
                    "type": "WindowsAzureActiveDirectoryRole",
                    "display": name,
                    "value": name,
                }
                for name in ("admin", "member")
            ],
        ),
        (
            "'roles[primary eq \"True\"].value': 'SingleAppRoleAssignment([appRoleAssignments])'",
            [{"value": "admin", "primary": True}],
        ),
        ("roles: {constant: null}", "(unchanged)"),
    ],
    ids=["complex", "single", "not-managed"],
)
def test_role_functions_map_the_roles(tmp_path: Path, mapping: str, ben: object) -> None:
    result = plan(tmp_path, ROLES + f"    mappings: {{user: {{{mapping}}}}}\n")
    assert roles_of(result)["ben@example.com"] == ben


def test_a_role_can_go_to_another_attribute(tmp_path: Path) -> None:
    settings = (
        ROLES + "    mappings:\n      user:\n"
        "        userType: {expression: 'SingleAppRoleAssignment([appRoleAssignments])',"
        " default: none}\n"
        "        roles: {constant: null}\n"
    )
    result = plan(tmp_path, settings)
    types = {
        c.key: next(a.after for a in c.attributes if a.path == "userType")
        for c in result.changes
        if c.kind.value == "user"
    }
    assert types == {
        "ana@example.com": "member",
        "ben@example.com": "admin",
        "cy@example.com": "none",
        "dee@example.com": "admin",
    }
    assert roles_of(result)["ben@example.com"] == "(unchanged)"


def test_a_mapped_role_that_comes_out_empty_clears_the_roles(tmp_path: Path) -> None:
    # Elsewhere an empty mapped value leaves the attribute alone; for roles under a role
    # map it means "no role", or a user who lost every role would keep the last one.
    single = "'roles[primary eq \"True\"].value': 'SingleAppRoleAssignment([appRoleAssignments])'"
    cy = user_res("u-cy", "cy@example.com", roles=[{"value": "admin", "primary": True}])
    result = plan(tmp_path, ROLES + f"    mappings: {{user: {{{single}}}}}\n", (cy,))
    change = next(c for c in result.changes if c.key == "cy@example.com")
    assert [(a.path, a.after) for a in change.attributes] == [("roles", None)]


def test_explain_says_why_a_user_and_a_group_are_in_or_out(tmp_path: Path) -> None:
    spec = spec_of(tmp_path, "    assign: {groups: [Engineering]}\n")
    result = make_plan(spec, spec.targets["t"], Observed((), ()))
    declared = {(o.kind, o.key): o for o in (*spec.users, *spec.groups)}
    text = explain(result, declared, spec.targets["t"], Capabilities(), Observed((), ()))
    assert "  3 scope: in scope (declared, state: present) — in scope: assigned through" in text
    assert "  3 scope: out of scope: not assigned to this target → left alone on this target" in (
        text
    )


ACME = "urn:example:params:scim:schemas:extension:acme:2.0:User"


def test_a_role_can_go_to_an_extension_the_app_serves(tmp_path: Path) -> None:
    settings = (
        ROLES + f"    extensions: {{acme: '{ACME}'}}\n"
        "    mappings:\n      user:\n"
        "        acme.appRole: 'SingleAppRoleAssignment([appRoleAssignments])'\n"
        "        acme.firstRole: {expression: 'SingleAppRoleAssignment([appRoleAssignments])',"
        " apply: on_create}\n"
        "        roles: {constant: null}\n"
    )
    result = plan(tmp_path, settings)
    ben = next(c for c in result.changes if c.key == "ben@example.com")
    assert [(a.path, a.after) for a in ben.attributes] == [
        (f"{ACME}:appRole", "admin"),
        (f"{ACME}:firstRole", "admin"),
        ("userName", "ben@example.com"),
    ]
    # Written once: a later change of role leaves firstRole alone, and updates appRole.
    extension: dict[str, Json] = {ACME: {"appRole": "editor", "firstRole": "x"}}
    on_target = user_res("u-b", "ben@example.com", None, **extension)
    again = plan(tmp_path, settings, (on_target,))
    ben = next(c for c in again.changes if c.key == "ben@example.com")
    assert [(a.path, a.before, a.after) for a in ben.attributes] == [
        (f"{ACME}:appRole", "editor", "admin")
    ]


def test_who_is_in_which_group_is_worked_out_only_where_something_reads_it(
    tmp_path: Path,
) -> None:
    # Flattening every membership costs half a second and a tuple per user at 100,000
    # users: only assignment, scoping, mappings and role maps read it.
    spec = spec_of(tmp_path, "")
    target = spec.targets["t"]
    assert assignment(target, spec.groups, derives=False).member_of == {}
    full = assignment(target, spec.groups, derives=True).member_of
    assert sorted(full["ben@example.com"]) == ["Engineering", "Platform", "Platform Admins"]
    assigned = spec_of(tmp_path, "    assign: {groups: [Engineering]}\n").targets["t"]
    assert assignment(assigned, spec.groups, derives=False).member_of == full
    with_roles = spec_of(tmp_path, ROLES).targets["t"]
    assert assignment(with_roles, spec.groups, derives=False).member_of == full
