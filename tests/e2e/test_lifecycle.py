"""End to end against real SCIM servers we did not write (scim2-server, django-scim2).

Every scenario ends with the invariant: after apply, plan reports `No changes.`
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from reconciler.cli import main
from tests.conftest import TOKEN_ENV, Target, write_spec


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the CLI in-process; every output of the suite is checked for the secret."""
    code = main(list(args))
    out, err = capsys.readouterr()
    token = os.environ[TOKEN_ENV]
    assert token not in out
    assert token not in err
    assert "Traceback" not in out + err
    return code, out, err


# The servers that keep a title, a displayName, typed emails and the enterprise extension.
RICH = frozenset({"scim2-server", "better-auth-scim"})


def person(target: Target, key: str, given: str, family: str, **extra: Any) -> dict[str, Any]:
    """A user with the attributes the server keeps.

    django-scim2 keeps one email and drops its `type`, and keeps no title, displayName
    or enterprise extension (tests/servers/django_scim/QUIRKS.md), so richer attributes
    are declared only for the others.
    """
    user: dict[str, Any] = {
        "userName": key,
        "externalId": key.split("@", maxsplit=1)[0],
        "name": {"givenName": given, "familyName": family},
        "emails": [{"value": key, "primary": True}],
        "active": True,
    }
    if target.flavour in RICH:
        user["emails"][0]["type"] = "work"
        user["displayName"] = f"{given} {family}"
        user["title"] = extra.pop("title", "Engineer")
        user["enterprise"] = {"department": "Engineering", **extra.pop("enterprise", {})}
    user.update(extra)
    return user


def listing(target: Target, endpoint: str) -> list[dict[str, Any]]:
    """Everything at `endpoint`, paged by what the server gives (Better Auth caps at 100)."""
    items: list[dict[str, Any]] = []
    with target.http() as http:
        while True:
            params = {"startIndex": len(items) + 1, "count": 1000}
            page = http.get(endpoint, params=params).json().get("Resources") or []
            if not page:
                return items
            items += page


def by_name(target: Target) -> dict[str, dict[str, Any]]:
    return {u["userName"]: u for u in listing(target, "/Users")}


def assert_converged(capsys: pytest.CaptureFixture[str], specs: Path) -> None:
    code, out, _ = run(capsys, "plan", str(specs), "--target", "e2e", "--detailed-exitcode")
    assert "No changes." in out, out
    assert code == 0


def test_create_then_no_changes(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manager = {"enterprise": {"manager": "bob@example.com"}} if target.flavour in RICH else {}
    users = [
        person(target, "alice@example.com", "Alice", "Wong", **manager),
        person(target, "bob@example.com", "Bob", "Martin"),
    ]
    groups = [{"displayName": "Engineering", "members": ["alice@example.com", "bob@example.com"]}]
    specs = write_spec(tmp_path / "specs", target, users, groups)

    code, out, _ = run(capsys, "plan", str(specs), "--target", "e2e", "--detailed-exitcode")
    assert code == 2
    assert "+ create user alice@example.com" in out
    assert "+ create group Engineering" in out
    assert out.rstrip().endswith("Plan: 3 to create, 0 to update, 0 to disable, 0 to delete.")
    assert listing(target, "/Users") == []  # plan wrote nothing

    code, out, err = run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")
    assert code == 0, out + err
    assert "Apply complete: 3 created, 0 updated, 0 disabled, 0 deleted, 0 failed." in out
    assert_converged(capsys, specs)

    users_on_target = by_name(target)
    assert sorted(users_on_target) == ["alice@example.com", "bob@example.com"]
    ids = {u["id"] for u in users_on_target.values()}
    [group] = listing(target, "/Groups")
    assert {m["value"] for m in group["members"]} == ids
    if target.flavour in RICH:
        alice = users_on_target["alice@example.com"]
        ext = alice["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]
        assert ext["manager"]["value"] == users_on_target["bob@example.com"]["id"]


def test_changes_in_yaml_become_exactly_those_updates(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    users = [
        person(target, "alice@example.com", "Alice", "Wong"),
        person(target, "bob@example.com", "Bob", "Martin"),
        person(target, "carol@example.com", "Carol", "Diaz"),
    ]
    groups = [{"displayName": "Engineering", "members": ["alice@example.com", "bob@example.com"]}]
    specs = write_spec(tmp_path / "specs", target, users, groups)
    assert run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")[0] == 0

    users[0]["name"]["givenName"] = "Alicia"
    users[1]["active"] = False
    groups[0]["members"] = ["alice@example.com", "carol@example.com"]
    write_spec(tmp_path / "specs", target, users, groups)

    code, out, _ = run(capsys, "plan", str(specs), "--target", "e2e", "--format", "json")
    assert code == 0
    plan = json.loads(out)
    changes = {(c["kind"], c["key"]): c for c in plan["changes"]}
    assert set(changes) == {
        ("user", "alice@example.com"),
        ("user", "bob@example.com"),
        ("group", "Engineering"),
    }
    alice = changes[("user", "alice@example.com")]
    assert [(a["path"], a["before"], a["after"]) for a in alice["attributes"]] == [
        ("name.givenName", "Alice", "Alicia")
    ]
    bob = changes[("user", "bob@example.com")]
    assert [(a["path"], a["before"], a["after"]) for a in bob["attributes"]] == [
        ("active", True, False)
    ]
    members = changes[("group", "Engineering")]["members"]
    assert [m["key"] for m in members["add"]] == ["carol@example.com"]
    assert [m["key"] for m in members["remove"]] == ["bob@example.com"]
    assert bob["action"] == "disable"  # `active: false` takes access away: a disable
    assert plan["summary"] == {
        "create": 0,
        "update": 2,
        "disable": 1,
        "delete": 0,
        "noop": 1,
        "error": 0,
    }

    code, out, err = run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")
    assert code == 0, out + err
    assert_converged(capsys, specs)
    on_target = by_name(target)
    assert on_target["alice@example.com"]["name"]["givenName"] == "Alicia"
    assert on_target["bob@example.com"]["active"] is False
    [group] = listing(target, "/Groups")
    assert {m["value"] for m in group["members"]} == {
        on_target["alice@example.com"]["id"],
        on_target["carol@example.com"]["id"],
    }


@pytest.mark.parametrize("deprovision", ["disable", "delete"])
def test_state_absent_deprovisions(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str], deprovision: str
) -> None:
    users = [
        person(target, "alice@example.com", "Alice", "Wong"),
        person(target, "mallory@example.com", "Mallory", "Evil"),
    ]
    specs = write_spec(tmp_path / "specs", target, users, deprovision=deprovision)
    assert run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")[0] == 0

    users[1] = {"userName": "mallory@example.com", "state": "absent"}
    write_spec(tmp_path / "specs", target, users, deprovision=deprovision)
    code, out, _ = run(capsys, "plan", str(specs), "--target", "e2e", "--detailed-exitcode")
    assert code == 2
    assert f"- {deprovision} user mallory@example.com" in out

    code, out, err = run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")
    assert code == 0, out + err
    assert_converged(capsys, specs)
    on_target = by_name(target)
    if deprovision == "disable":
        assert on_target["mallory@example.com"]["active"] is False
    else:
        assert "mallory@example.com" not in on_target
    assert on_target["alice@example.com"]["active"] is True


def test_existing_case_variant_is_adopted_not_duplicated(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with target.http() as http:
        created = http.post(
            "/Users",
            json={
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "Alice@Example.COM",
                "name": {"givenName": "Old", "familyName": "Wong"},
            },
        )
        assert created.status_code == 201
    users = [person(target, "alice@example.com", "Alice", "Wong")]
    specs = write_spec(tmp_path / "specs", target, users)

    code, out, _ = run(capsys, "plan", str(specs), "--target", "e2e")
    assert code == 0
    assert "create" not in out.split("Plan:")[0]
    assert "~ update user alice@example.com" in out
    assert run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")[0] == 0
    assert_converged(capsys, specs)

    on_target = listing(target, "/Users")
    assert len(on_target) == 1
    assert on_target[0]["id"] == created.json()["id"]
    assert on_target[0]["name"]["givenName"] == "Alice"


def test_duplicates_on_target_are_an_error_never_a_guess(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with target.http() as http:
        for name in ("dup@example.com", "DUP@example.com"):
            http.post(
                "/Users",
                json={
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": name,
                },
            )
    if len(listing(target, "/Users")) < 2:
        pytest.skip(f"{target.flavour} enforces case-insensitive userName uniqueness")
    users = [
        person(target, "dup@example.com", "Dup", "Licate"),
        person(target, "ok@example.com", "Ok", "Fine"),
    ]
    specs = write_spec(tmp_path / "specs", target, users)
    code, out, err = run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")
    assert code == 1
    assert "DuplicateTargetEntries" in out
    assert '"step": "match"' in err
    names = sorted(u["userName"] for u in listing(target, "/Users"))
    assert names == ["DUP@example.com", "dup@example.com", "ok@example.com"]
