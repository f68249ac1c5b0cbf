"""Prune, ownership, protection and guards, end to end on the real servers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Target, write_spec
from tests.e2e.test_lifecycle import assert_converged, by_name, listing, person, run


def seed(target: Target, *names: str, external: str | None = None) -> None:
    """Users created out of band, as another tool or a person would."""
    with target.http() as http:
        for name in names:
            body: dict[str, Any] = {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": name,
                "active": True,
            }
            if external:
                body["externalId"] = f"{external}{name.split('@')[0]}"
            assert http.post("/Users", json=body).status_code == 201


def test_prune_all_disables_undeclared_but_spares_protected(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(target, "stray@example.com", "admin@example.com")
    users = [person(target, "alice@example.com", "Alice", "Wong")]
    specs = write_spec(tmp_path / "specs", target, users, prune="all", protected=["admin@*"])
    code, out, _ = run(capsys, "plan", str(specs), "--target", "e2e")
    assert code == 0
    assert "- disable user stray@example.com" in out
    assert "admin@example.com is protected: not disabled" in out
    assert run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")[0] == 0
    assert_converged(capsys, specs)
    on_target = by_name(target)
    assert on_target["stray@example.com"]["active"] is False
    assert on_target["admin@example.com"]["active"] is True


def test_prune_owned_touches_only_what_scimrec_owns(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(target, "old-hire@example.com", external="sr-")  # created by scimrec earlier
    seed(target, "someone-else@example.com", external="hr-")  # another system's user
    seed(target, "manual@example.com")  # made by hand, no externalId
    alice = person(target, "alice@example.com", "Alice", "Wong")
    alice["externalId"] = "sr-alice"
    specs = write_spec(
        tmp_path / "specs",
        target,
        [alice],
        prune="owned",
        deprovision="delete",
        ownership={"external_id_prefix": "sr-"},
    )
    code, out, err = run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")
    assert code == 0, out + err
    assert "- delete user old-hire@example.com" in out
    assert_converged(capsys, specs)
    assert sorted(by_name(target)) == [
        "alice@example.com",
        "manual@example.com",
        "someone-else@example.com",
    ]


def test_guard_refuses_mass_deprovision_and_writes_nothing(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    strays = [f"stray{i}@example.com" for i in range(4)]
    seed(target, *strays)
    users = [person(target, "alice@example.com", "Alice", "Wong")]
    specs = write_spec(tmp_path / "specs", target, users, prune="all", guards={"max_deletes": 3})
    before = by_name(target)

    code, out, _ = run(capsys, "plan", str(specs), "--target", "e2e")
    assert (
        "Guard: 4 deprovisions (4 user disables) in one run, more than guards.max_deletes (3)"
        in out
    )
    code, out, err = run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")
    assert code == 1
    assert err.endswith(
        "Error: refusing to apply: 4 deprovisions (4 user disables) in one run, more than "
        "guards.max_deletes (3); re-run with --allow-deletes 4 if that is intended; "
        "nothing was written\n"
    )
    assert by_name(target) == before

    code, out, _ = run(
        capsys, "apply", str(specs), "--target", "e2e", "--auto-approve", "--allow-deletes", "4"
    )
    assert code == 0
    assert all(by_name(target)[s]["active"] is False for s in strays)


def test_guard_on_percent(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(target, "a@example.com", "b@example.com", "c@example.com")
    users = [
        person(target, "a@example.com", "A", "A"),
        {"userName": "b@example.com", "state": "absent"},
        {"userName": "c@example.com", "state": "absent"},
    ]
    specs = write_spec(tmp_path / "specs", target, users, guards={"max_delete_percent": 50})
    code, _, err = run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")
    assert code == 1
    assert "2 of 3 users (66.7%) would be deprovisioned" in err
    assert all(u["active"] is True for u in listing(target, "/Users"))


def test_deprovision_per_user_overrides_the_target(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(target, "keep@example.com", "gone@example.com")
    users = [
        {"userName": "keep@example.com", "state": "absent"},  # the target's: disable
        {"userName": "gone@example.com", "state": "absent", "deprovision": "delete"},
    ]
    specs = write_spec(tmp_path / "specs", target, users, deprovision="disable")
    code, out, err = run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")
    assert code == 0, out + err
    assert "- disable user keep@example.com" in out
    assert "- delete user gone@example.com" in out
    assert_converged(capsys, specs)
    assert sorted(by_name(target)) == ["keep@example.com"]


def test_a_protected_member_keeps_its_group_while_the_others_go(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The break-glass administrator is in Admins on the target, and left out of the group's
    # declared members: the exact membership diff would take the group (and its rights) away.
    seed(target, "admin@example.com", "bob@example.com")
    ids = {u["userName"]: u["id"] for u in listing(target, "/Users")}
    with target.http() as http:
        body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Admins"}
        made = http.post("/Groups", json=body)
        assert made.status_code == 201
        # Members by PATCH, which every server takes (django-scim2 ignores them in a POST).
        add = {
            "op": "add",
            "path": "members",
            "value": [{"value": ids[n]} for n in ("admin@example.com", "bob@example.com")],
        }
        patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [add]}
        assert http.patch(f"/Groups/{made.json()['id']}", json=patch).status_code in (200, 204)
    users = [person(target, "alice@example.com", "Alice", "Wong")]
    groups = [{"displayName": "Admins", "members": ["alice@example.com"]}]
    specs = write_spec(tmp_path / "specs", target, users, groups, protected=["admin@*"])
    code, out, err = run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")
    assert code == 0, out + err
    assert "group Admins: member admin@example.com is protected: not removed" in out, out
    names = {u["id"]: u["userName"] for u in listing(target, "/Users")}
    (admins,) = [g for g in listing(target, "/Groups") if g["displayName"] == "Admins"]
    held = {names[str(m["value"])] for m in admins.get("members") or []}
    assert held == {"admin@example.com", "alice@example.com"}
    assert_converged(capsys, specs)
