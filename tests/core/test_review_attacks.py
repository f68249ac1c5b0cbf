"""Attacks on the removal invariants found in review: each test fails without its fix."""

from __future__ import annotations

from pathlib import Path

from reconciler.core.changes import Action, Change
from reconciler.core.diff import AttrChange
from reconciler.core.guards import refusals, role_removals
from reconciler.core.model import Json, Kind, Observed
from reconciler.core.plan import make_plan
from tests.core.test_plan import TARGET, group_res, load, user_res

NATIVE = TARGET + "    nested_groups: native\n"


def test_additive_group_never_loses_a_nested_group(tmp_path: Path) -> None:
    """`members_policy: additive` means nobody is removed; with native nesting a nested
    group the spec does not list was removed all the same."""
    spec = load(
        tmp_path,
        NATIVE
        + "users:\n  - userName: alice@example.com\n"
        + "groups:\n  - displayName: All\n    members_policy: additive\n"
        + "    members: [alice@example.com]\n",
    )
    users = (user_res("u1", "alice@example.com"),)
    groups = (
        group_res("g1", "All", [{"value": "u1", "type": "User"}, {"value": "g9", "type": "Group"}]),
        group_res("g9", "Contractors"),
    )
    plan = make_plan(spec, spec.targets["t"], Observed(users, groups))
    assert [(c.key, m.id) for c in plan.changes for m in c.members_remove] == []


def test_lookup_mode_never_removes_a_nested_group_it_did_not_see(tmp_path: Path) -> None:
    """In lookup mode only declared objects are read: a nested group the run never saw is
    unresolved, and an unresolved member is never removed."""
    spec = load(
        tmp_path,
        NATIVE
        + "users:\n  - userName: alice@example.com\n"
        + "groups:\n  - displayName: All\n    members: [alice@example.com]\n",
    )
    users = (user_res("u1", "alice@example.com"),)
    groups = (
        group_res("g1", "All", [{"value": "u1", "type": "User"}, {"value": "g9", "type": "Group"}]),
    )
    plan = make_plan(spec, spec.targets["t"], Observed(users, groups, lookup=True))
    assert [(c.key, m.id) for c in plan.changes for m in c.members_remove] == []


def test_a_mass_loss_of_roles_is_refused_like_member_removals(tmp_path: Path) -> None:
    """A role is access: twelve users losing theirs (one edit of `roles:`) is as much a
    mass removal as twelve leaving a group, and the guards must count it."""
    names = [f"u{i}@example.com" for i in range(12)]
    spec = load(
        tmp_path,
        TARGET
        + "    roles: {admin: [Admins]}\n"
        + "users:\n"
        + "".join(f"  - userName: {n}\n" for n in names)
        + "groups:\n  - displayName: Admins\n    members: []\n",
    )
    admin = [{"value": "admin", "display": "admin", "primary": True}]
    users = tuple(user_res(f"id{i}", n, roles=admin) for i, n in enumerate(names))
    target = spec.targets["t"]
    plan = make_plan(spec, target, Observed(users, ()))
    assert len([c for c in plan.changes if c.kind.value == "user"]) == 12
    assert refusals(plan.changes, target, Observed(users, ()))


def test_a_role_lost_from_a_mapped_attribute_counts_too(tmp_path: Path) -> None:
    """A role map written to an extension attribute (SingleAppRoleAssignment) loses a role
    when the value changes: counted like `roles`."""
    spec = load(
        tmp_path,
        TARGET
        + "    roles: {admin: [Admins]}\n"
        + "    mappings:\n      user:\n"
        + "        roles: {constant: null}\n"
        + "        title: 'SingleAppRoleAssignment([appRoleAssignments])'\n"
        + "groups:\n  - displayName: Admins\n    members: []\n",
    )
    target = spec.targets["t"]
    change = Change(
        Kind.USER,
        "ana@example.com",
        Action.UPDATE,
        "attributes differ",
        target_id="u1",
        attributes=(AttrChange("title", "admin", None),),
    )
    assert role_removals([change], target) == 1


def test_a_member_resolved_only_by_its_display_is_never_removed(tmp_path: Path) -> None:
    """`display` is a copy the target keeps of a name, and goes stale: after a rename, an
    entry whose value is no listed user (h1: inactive, left out of the listing) can carry
    the display of another user. core/members.py resolves it by that display to bob, and
    the plan removes h1, a member the run never resolved (and never asks the target
    about: resolved entries are not confirmed)."""
    spec = load(
        tmp_path,
        TARGET
        + "users:\n  - userName: alice@example.com\n  - userName: bob@example.com\n"
        + "groups:\n  - displayName: Eng\n    members: [alice@example.com]\n",
    )
    users = (user_res("u1", "alice@example.com"), user_res("u2", "bob@example.com"))
    entries: list[Json] = [
        {"value": "u1", "type": "User"},
        {"value": "h1", "display": "bob@example.com", "type": "User"},
    ]
    groups = (group_res("g1", "Eng", entries),)
    plan = make_plan(spec, spec.targets["t"], Observed(users, groups))
    assert [m.id for c in plan.changes for m in c.members_remove] == []
