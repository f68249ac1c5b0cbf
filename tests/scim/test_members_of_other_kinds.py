"""Group members that are no user the listing shows, and whom a 404 at /Users proves
nothing about (core/members.py, core/spare.py).

- Databricks lists users, nested groups and service principals in one `members` list,
  each with a relative `$ref` and no `type` ("Users/7", "Groups/8",
  "ServicePrincipals/9"). A service principal lives at its own endpoint, so
  `GET /Users/<id>` answers 404, and the plan removed it from its group as a member
  naming nothing. An entry whose `$ref` names another kind is never removed;
  relative `$ref`s are read as absolute ones are.
- Keycloak (before 26.8) hides service accounts from /Users but lists them in groups,
  typed User: the 404 stands, and the entry is removable, but only by its `display` is
  it known who it is, so `protected` is matched against that display.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.fakescim import BASE_URL, FakeScim
from tests.scim.test_faults import plan_and_apply, replan, user, write_spec


def _eng(fake: FakeScim, members: list[dict[str, Any]]) -> str:
    gid = fake.add_group("Eng", [])
    fake.groups[gid]["members"] = members
    return gid


def test_a_service_principal_member_is_never_removed(token: str, tmp_path: Path) -> None:
    fake = FakeScim()
    alice = fake.add_user("alice@example.com")
    bob = fake.add_user("bob@example.com")
    sp = {"value": "9001", "display": "etl-sp", "$ref": "ServicePrincipals/9001"}
    gid = _eng(fake, [
        {"value": alice, "display": "alice@example.com", "$ref": f"Users/{alice}"},
        {"value": bob, "display": "bob@example.com", "$ref": f"Users/{bob}"},
        sp,
    ])  # fmt: skip
    specs = write_spec(
        tmp_path,
        [user("alice@example.com"), user("bob@example.com")],
        [{"displayName": "Eng", "members": ["alice@example.com"]}],
    )

    _, result = plan_and_apply(specs, fake)

    assert result.failed == ()
    assert [m["value"] for m in fake.groups[gid]["members"]] == [alice, "9001"]
    assert not replan(specs, fake).plan.has_changes


def test_an_absolute_ref_to_another_kind_is_never_removed(token: str, tmp_path: Path) -> None:
    fake = FakeScim()
    alice = fake.add_user("alice@example.com")
    sp = {"value": "d-7", "$ref": f"{BASE_URL}/ServicePrincipals/d-7", "type": "User"}
    _eng(fake, [{"value": alice}, sp])
    specs = write_spec(
        tmp_path,
        [user("alice@example.com")],
        [{"displayName": "Eng", "members": ["alice@example.com"]}],
    )
    plan = replan(specs, fake).plan
    assert [m.id for c in plan.changes for m in c.members_remove] == []


def test_relative_refs_name_users_and_groups(token: str, tmp_path: Path) -> None:
    # A relative `$ref` to a group is that group: never taken for the user with its id
    # (removing "1" would take alice out); one to a user is that user.
    fake = FakeScim()
    fake.ids_per_kind = True  # user "1" and group "1"
    one = fake.add_user("alice@example.com")
    two = fake.add_user("bob@example.com")
    ops = fake.add_group("Ops", [])
    _eng(fake, [{"value": ops, "$ref": f"Groups/{ops}"}, {"value": two, "$ref": f"Users/{two}"}])
    assert (one, ops) == ("1", "1")
    specs = write_spec(
        tmp_path,
        [user("alice@example.com"), user("bob@example.com")],
        [{"displayName": "Eng", "members": []}, {"displayName": "Ops"}],
    )
    plan = replan(specs, fake).plan
    [eng] = [c for c in plan.changes if c.key == "Eng"]
    assert [(m.key, m.id) for m in eng.members_remove] == [("bob@example.com", two)]


def _hidden_account(protected: list[str], tmp_path: Path) -> tuple[FakeScim, str, Path]:
    fake = FakeScim()
    alice = fake.add_user("alice@example.com")
    hidden = {
        "value": "sa-1",
        "display": "service-account-ci",
        "type": "User",
        "$ref": f"{BASE_URL}/Users/sa-1",
    }
    gid = _eng(fake, [{"value": alice}, hidden])
    specs = write_spec(
        tmp_path,
        [user("alice@example.com")],
        [{"displayName": "Eng", "members": ["alice@example.com"]}],
        protected=protected,
    )
    return fake, gid, specs


def test_a_member_naming_no_user_is_protected_by_its_display(token: str, tmp_path: Path) -> None:
    fake, gid, specs = _hidden_account(["service-account-*"], tmp_path)
    prepared = replan(specs, fake)
    assert [m.id for c in prepared.plan.changes for m in c.members_remove] == []
    assert any("member service-account-ci is protected" in n for n in prepared.plan.notes)
    _, result = plan_and_apply(specs, fake)
    assert result.failed == ()
    assert [m["value"] for m in fake.groups[gid]["members"]][-1] == "sa-1"


def test_a_member_naming_no_user_unprotected_is_removed(token: str, tmp_path: Path) -> None:
    # The 404 at /Users stands: the entry names no user scimrec can see, and the spec's
    # exact list does not hold it.
    fake, _, specs = _hidden_account(["admin@*"], tmp_path)
    prepared = replan(specs, fake)
    assert [m.id for c in prepared.plan.changes for m in c.members_remove] == ["sa-1"]
