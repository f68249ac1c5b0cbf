"""The last line of protection, where every write is sent (Session.write): a plan that
reaches apply without passing through planning's protection (a caller of the Applier, a
bug in a route) still never takes a role from a protected account, nor removes one from a
group."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from reconciler.run import prepare
from reconciler.scim.apply.runner import Applier
from tests.fakescim import USER_SCHEMA, FakeScim
from tests.scim.test_faults import plan_and_apply, replan, write_spec

ADMIN = [{"value": "admin", "display": "admin", "primary": True}]


def test_a_role_lost_by_a_protected_account_is_refused_where_writes_are_sent(
    tmp_path: Path, token: str
) -> None:
    fake = FakeScim(token=token)
    root = fake.add_user("root@example.com", roles=ADMIN)
    other = fake.add_user("a@example.com", roles=ADMIN)
    users = [{"userName": "root@example.com"}, {"userName": "a@example.com"}]
    groups = [{"displayName": "Admins", "members": []}]
    # Planned with no `protected`: both lose role admin.
    specs = write_spec(tmp_path, users, groups, roles={"admin": ["Admins"]})
    prepared = prepare(specs, "fake", transport=fake.transport)
    lost = {c.key for c in prepared.plan.changes if any(a.path == "roles" for a in c.attributes)}
    assert lost == {"root@example.com", "a@example.com"}
    target = dataclasses.replace(prepared.target, protected=("root@*",))
    try:
        result = Applier(prepared.client, target, prepared.caps, prepared.log).run(prepared.plan)
    finally:
        prepared.client.close()
    [failed] = result.failed
    assert (failed.key, failed.message) == (
        "root@example.com",
        "user root@example.com is protected: keeps its roles",
    )
    assert fake.users[root]["roles"] == ADMIN
    assert not fake.users[other].get("roles")


def test_a_protected_member_is_not_removed_where_group_writes_are_sent(
    tmp_path: Path, token: str
) -> None:
    fake = FakeScim(token=token)
    admin = fake.add_user("admin@example.com")
    bob = fake.add_user("bob@example.com")
    ops = fake.add_group("Ops", [admin, bob])
    # Planned with no `protected`: both leave Ops (admin is not even declared).
    specs = write_spec(tmp_path, [{"userName": "bob@example.com"}], [{"displayName": "Ops"}])
    (specs / "spec.yaml").write_text(
        (specs / "spec.yaml")
        .read_text(encoding="utf-8")
        .replace("- displayName: Ops", "- displayName: Ops\n  members: []"),
        encoding="utf-8",
    )
    prepared = prepare(specs, "fake", transport=fake.transport)
    [change] = prepared.plan.changes
    assert {m.id for m in change.members_remove} == {admin, bob}
    target = dataclasses.replace(prepared.target, protected=("ADMIN@*",))
    try:
        result = Applier(prepared.client, target, prepared.caps, prepared.log).run(prepared.plan)
    finally:
        prepared.client.close()
    [failed] = result.failed
    assert (failed.key, failed.message) == (
        "Ops",
        "member admin@example.com is protected: not removed, nothing written",
    )
    assert [m["value"] for m in fake.groups[ops]["members"]] == [admin, bob]


def test_an_account_protected_by_its_name_on_the_target_is_not_disabled(
    tmp_path: Path, token: str
) -> None:
    fake = FakeScim(token=token)
    admin = fake.add_user("admin@example.com", externalId="e-admin", active=True)
    # Declared under another name, matched by externalId, and absent: a disable.
    users = [{"userName": "ops-bot@example.com", "externalId": "e-admin", "state": "absent"}]
    specs = write_spec(tmp_path, users, matching={"user": ["externalId"]})
    prepared = prepare(specs, "fake", transport=fake.transport)
    [change] = prepared.plan.changes
    assert (change.key, change.action.value) == ("ops-bot@example.com", "disable")
    target = dataclasses.replace(prepared.target, protected=("admin@*",))
    try:
        result = Applier(prepared.client, target, prepared.caps, prepared.log).run(prepared.plan)
    finally:
        prepared.client.close()
    [failed] = result.failed
    assert failed.message == "user ops-bot@example.com is protected: not disabled"
    assert fake.users[admin]["active"] is True


def test_a_member_protected_by_its_name_on_the_target_alone_is_not_removed(
    tmp_path: Path, token: str
) -> None:
    # Declared as ops-bot@ (matched by externalId), the member's key is not protected: its
    # name on the target, read by the plan as a user's, is.
    fake = FakeScim(token=token)
    admin = fake.add_user("admin@example.com", externalId="e-admin")
    ops = fake.add_group("Ops", [admin])
    users = [{"userName": "ops-bot@example.com", "externalId": "e-admin"}]
    groups = [{"displayName": "Ops", "members": []}]
    specs = write_spec(tmp_path, users, groups, matching={"user": ["externalId"]})
    prepared = prepare(specs, "fake", transport=fake.transport)
    [removal] = [c for c in prepared.plan.changes if c.members_remove]
    assert [(m.key, m.id) for m in removal.members_remove] == [("ops-bot@example.com", admin)]
    target = dataclasses.replace(prepared.target, protected=("admin@*",))
    try:
        result = Applier(prepared.client, target, prepared.caps, prepared.log).run(prepared.plan)
    finally:
        prepared.client.close()
    [failed] = [o for o in result.failed if o.key == "Ops"]
    assert failed.message == "member admin@example.com is protected: not removed, nothing written"
    assert [m["value"] for m in fake.groups[ops]["members"]] == [admin]


def test_a_nested_group_protected_by_its_name_is_not_removed(tmp_path: Path, token: str) -> None:
    # An undeclared nested group has no key: only the plan's read names it, as a group.
    fake = FakeScim(token=token)
    root = fake.add_group("Root admins")
    ops = fake.add_group("Ops")
    fake.groups[ops]["members"] = [{"value": root, "type": "Group"}]
    fake.add_group("Sub")
    groups: list[dict[str, Any]] = [
        {"displayName": "Ops", "groups": ["Sub"]},
        {"displayName": "Sub"},
    ]
    specs = write_spec(tmp_path, [], groups, nested_groups="native")
    prepared = prepare(specs, "fake", transport=fake.transport)
    [change] = prepared.plan.changes
    assert [(m.key, m.id, m.type) for m in change.members_remove] == [(None, root, "Group")]
    assert [m.key for m in change.members_add] == ["Sub"]
    target = dataclasses.replace(prepared.target, protected=("Root*",))
    try:
        result = Applier(prepared.client, target, prepared.caps, prepared.log).run(prepared.plan)
    finally:
        prepared.client.close()
    assert {(o.key, o.message) for o in result.failed} == {
        ("Ops", "member Root admins is protected: not removed, nothing written")
    }
    assert fake.groups[ops]["members"] == [{"value": root, "type": "Group"}]  # nor Sub added


def test_a_member_nothing_protects_is_removed_while_protection_is_on(
    tmp_path: Path, token: str
) -> None:
    fake = FakeScim(token=token)
    admin = fake.add_user("admin@example.com")
    bob = fake.add_user("bob@example.com")
    ops = fake.add_group("Ops", [admin, bob])
    users = [{"userName": "admin@example.com"}, {"userName": "bob@example.com"}]
    groups = [{"displayName": "Ops", "members": ["admin@example.com"]}]
    specs = write_spec(tmp_path, users, groups)
    prepared = prepare(specs, "fake", transport=fake.transport)
    [change] = prepared.plan.changes
    assert [(m.key, m.id) for m in change.members_remove] == [("bob@example.com", bob)]
    target = dataclasses.replace(prepared.target, protected=("admin@*",))
    try:
        result = Applier(prepared.client, target, prepared.caps, prepared.log).run(prepared.plan)
    finally:
        prepared.client.close()
    assert result.failed == ()
    assert [m["value"] for m in fake.groups[ops]["members"]] == [admin]


def test_an_account_protected_at_apply_does_not_have_active_cleared(
    tmp_path: Path, token: str
) -> None:
    # `active: null` is sent as a PATCH `remove`: on a target that reads an absent
    # `active` as false, a disable. The plan counts it as one; the last line does too.
    fake = FakeScim(token=token)
    admin = fake.add_user("admin@example.com", active=True)
    specs = write_spec(tmp_path, [{"userName": "admin@example.com", "active": None}])
    prepared = prepare(specs, "fake", transport=fake.transport)
    [change] = prepared.plan.changes
    assert (change.key, change.action.value) == ("admin@example.com", "disable")
    target = dataclasses.replace(prepared.target, protected=("admin@*",))
    try:
        result = Applier(prepared.client, target, prepared.caps, prepared.log).run(prepared.plan)
    finally:
        prepared.client.close()
    [failed] = result.failed
    assert failed.message == "user admin@example.com is protected: not disabled"
    assert fake.users[admin]["active"] is True
    assert fake.count("PATCH") == fake.count("PUT") == 0


def test_a_role_in_a_custom_extension_lost_by_a_protected_account_is_refused(
    tmp_path: Path, token: str
) -> None:
    # The role map writes into `acme.appRole`, which the write names by its URN.
    acme = "urn:example:params:scim:schemas:extension:acme:2.0:User"
    fake = FakeScim(token=token)
    fake.schemas = [USER_SCHEMA, acme]
    root = fake.add_user("root@example.com", **{acme: {"appRole": "admin"}})
    users = [{"userName": "root@example.com"}]
    groups = [{"displayName": "Admins", "members": []}]
    mapping = {"expression": "SingleAppRoleAssignment([appRoleAssignments])", "default": "none"}
    specs = write_spec(
        tmp_path,
        users,
        groups,
        extensions={"acme": acme},
        roles={"admin": ["Admins"]},
        mappings={"user": {"acme.appRole": mapping}},
    )
    prepared = prepare(specs, "fake", transport=fake.transport)
    [demoted] = [c for c in prepared.plan.changes if c.key == "root@example.com"]
    assert [(a.path, a.after) for a in demoted.attributes] == [(f"{acme}:appRole", "none")]
    target = dataclasses.replace(prepared.target, protected=("root@*",))
    try:
        result = Applier(prepared.client, target, prepared.caps, prepared.log).run(prepared.plan)
    finally:
        prepared.client.close()
    assert [(o.key, o.message) for o in result.failed] == [
        ("root@example.com", "user root@example.com is protected: keeps its roles")
    ]
    assert fake.users[root][acme] == {"appRole": "admin"}


def test_a_protected_account_declared_inactive_is_created_as_planned(
    tmp_path: Path, token: str
) -> None:
    # A create takes no access away: the break-glass admin provisioned dormant is made,
    # as the plan shows, not refused as a disable on every run.
    fake = FakeScim(token=token)
    users = [{"userName": "admin@example.com", "active": False}]
    groups = [{"displayName": "Breakglass", "members": ["admin@example.com"]}]
    specs = write_spec(tmp_path, users, groups, protected=["admin@*"])
    prepared, result = plan_and_apply(specs, fake)
    assert {(c.key, c.action.value) for c in prepared.plan.changes} == {
        ("admin@example.com", "create"),
        ("Breakglass", "create"),
    }
    assert result.failed == ()
    [admin] = fake.user_named("admin@example.com")
    assert admin["active"] is False
    assert replan(specs, fake).plan.changes == ()


def _apply_protected(specs: Path, fake: FakeScim, protected: tuple[str, ...]) -> Any:
    """Apply the plan made with no `protected`, to the target with it: only the last line
    (own_protection.py, where every write is sent) stands between the plan and the target."""
    prepared = prepare(specs, "fake", transport=fake.transport)
    target = dataclasses.replace(prepared.target, protected=protected)
    try:
        return Applier(prepared.client, target, prepared.caps, prepared.log).run(prepared.plan)
    finally:
        prepared.client.close()


@pytest.mark.parametrize(
    ("declared", "settings", "refused"),
    [
        (
            {"userName": "new@example.com", "previously": ["root@example.com"]},
            {},
            "user root@example.com is protected: not renamed",
        ),
        ({"userName": "root@example.com", "active": False}, {}, "is protected: not disabled"),
        (
            {"userName": "root@example.com", "state": "absent"},
            {"deprovision": "delete"},
            "is protected: not deleted",
        ),
        (
            {"userName": "root@example.com", "state": "absent"},
            {"deprovision": "disable"},
            "is protected: not disabled",
        ),
    ],
)
def test_a_protected_account_is_never_renamed_disabled_or_deleted_where_writes_are_sent(
    tmp_path: Path, token: str, declared: dict[str, Any], settings: dict[str, Any], refused: str
) -> None:
    fake = FakeScim(token=token)
    root = fake.add_user("root@example.com")
    before = dict(fake.users[root])
    specs = write_spec(tmp_path, [declared], **settings)
    planned = replan(specs, fake).plan
    assert [c.target_id for c in planned.changes if c.action.value != "noop"] == [root]
    # Protected by the name it holds, whatever the declared key.
    result = _apply_protected(specs, fake, ("root@*",))
    [failed] = result.failed
    assert failed.message.endswith(refused), failed.message
    assert fake.users[root] == before
    # Not protected: the same plan is made, as the control.
    result = _apply_protected(specs, fake, ("someone-else@*",))
    assert result.failed == ()
    assert fake.users.get(root) != before
