"""Entra's assignment model end to end: targets assigned by group, roles per target from
groups, a user moving between groups gaining and losing the app and the role, on the real
servers. Every scenario ends with the invariant: after apply, plan says `No changes.`"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx2
import pytest
import yaml

from tests.conftest import TOKEN_ENV, Target, write_spec
from tests.e2e.test_lifecycle import assert_converged, by_name, listing, person, run
from tests.servers.launch import Server


def people(moved: bool) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One people directory; `moved`: ben has left Engineering and its admins for Sales
    EMEA, and cy has taken over from dee as the Sales lead."""
    users = [{"userName": f"{n}@example.com", "externalId": n} for n in ("ana", "ben", "cy", "dee")]
    eng = ["ana@example.com"] if moved else ["ana@example.com", "ben@example.com"]
    admins = [] if moved else ["ben@example.com"]
    sales = ["cy@example.com", "dee@example.com"] + (["ben@example.com"] if moved else [])
    leads = ["cy@example.com"] if moved else ["dee@example.com"]
    groups = [
        {"displayName": "Engineering", "members": eng},
        {"displayName": "Platform Admins", "members": admins},
        {"displayName": "Sales EMEA", "members": sales},
        {"displayName": "Sales Leads", "members": leads},
    ]
    return users, groups


def directory(root: Path, server: Server, tenants: dict[str, str], moved: bool) -> Path:
    users, groups = people(moved)
    auth = {"type": "bearer", "token_env": TOKEN_ENV}
    doc = {
        "version": 1,
        "targets": {
            "wiki": {
                "url": tenants["wiki"],
                "auth": auth,
                "assign": {"groups": ["Engineering"]},
                "roles": {"admin": ["Platform Admins"], "editor": ["Engineering"]},
                "out_of_scope": "deprovision",
            },
            "crm": {
                "url": tenants["crm"],
                "auth": auth,
                "assign": {"groups": ["Sales EMEA"]},
                "roles": {"manager": ["Sales Leads"], "rep": ["Sales EMEA"]},
                "out_of_scope": "deprovision",
            },
        },
        "users": users,
        "groups": groups,
    }
    root.mkdir(parents=True, exist_ok=True)
    (root / "spec.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return root


def read(server: Server, url: str, endpoint: str) -> dict[str, dict[str, Any]]:
    with httpx2.Client(headers={"Authorization": f"Bearer {server.token}"}) as http:
        items = http.get(f"{url}{endpoint}", params={"count": 100}).json().get("Resources", [])
    key = "userName" if endpoint == "/Users" else "displayName"
    return {item[key]: item for item in items}


def roles(user: dict[str, Any]) -> list[tuple[str, bool]]:
    return [(r["value"], bool(r.get("primary"))) for r in user.get("roles", [])]


def members(group: dict[str, Any], users: dict[str, dict[str, Any]]) -> set[str]:
    names = {u["id"]: name for name, u in users.items()}
    return {names[m["value"]] for m in group.get("members", [])}


def test_two_targets_assigned_by_group_with_their_own_roles(
    scim2_server: Server,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(TOKEN_ENV, scim2_server.token)
    tenants = {n: f"{scim2_server.url}/t{uuid.uuid4().hex[:10]}/v2" for n in ("wiki", "crm")}
    specs = directory(tmp_path / "specs", scim2_server, tenants, moved=False)

    code, out, _ = run(capsys, "plan", str(specs), "--target", "wiki")
    assert code == 0
    assert "  + create user ben@example.com [assigned through Engineering, Platform Admins]" in out
    assert (
        "Out of scope: user cy@example.com (not provisioned): out of scope: not in a group "
        "assigned to this target (Engineering, Platform Admins)\n" in out
    )
    for name in ("wiki", "crm"):
        assert run(capsys, "apply", str(specs), "--target", name, "--auto-approve")[0] == 0
        assert_converged_on(capsys, specs, name)

    wiki_users = read(scim2_server, tenants["wiki"], "/Users")
    assert sorted(wiki_users) == ["ana@example.com", "ben@example.com"]
    assert roles(wiki_users["ben@example.com"]) == [("admin", True), ("editor", False)]
    assert roles(wiki_users["ana@example.com"]) == [("editor", True)]
    wiki_groups = read(scim2_server, tenants["wiki"], "/Groups")
    assert list(wiki_groups) == ["Engineering"]  # group push: the assigned group only
    assert members(wiki_groups["Engineering"], wiki_users) == {"ana@example.com", "ben@example.com"}
    crm_users = read(scim2_server, tenants["crm"], "/Users")
    assert sorted(crm_users) == ["cy@example.com", "dee@example.com"]
    assert roles(crm_users["dee@example.com"]) == [("manager", True), ("rep", False)]
    assert roles(crm_users["cy@example.com"]) == [("rep", True)]

    # ben moves from Engineering (and its admins) to Sales EMEA; cy takes over from dee.
    directory(tmp_path / "specs", scim2_server, tenants, moved=True)
    code, out, _ = run(capsys, "plan", str(specs), "--target", "wiki")
    assert code == 0
    assert "  - disable user ben@example.com  (id " in out
    assert "      - member ben@example.com (id " in out
    for name in ("wiki", "crm"):
        code, out, err = run(capsys, "apply", str(specs), "--target", name, "--auto-approve")
        assert code == 0, out + err
        assert_converged_on(capsys, specs, name)

    wiki_users = read(scim2_server, tenants["wiki"], "/Users")
    assert wiki_users["ben@example.com"]["active"] is False  # lost the app
    engineering = read(scim2_server, tenants["wiki"], "/Groups")["Engineering"]
    assert members(engineering, wiki_users) == {"ana@example.com"}
    crm_users = read(scim2_server, tenants["crm"], "/Users")
    assert sorted(crm_users) == ["ben@example.com", "cy@example.com", "dee@example.com"]
    assert roles(crm_users["ben@example.com"]) == [("rep", True)]  # gained the app and a role
    assert roles(crm_users["cy@example.com"]) == [("manager", True), ("rep", False)]
    assert roles(crm_users["dee@example.com"]) == [("rep", True)]  # lost the manager role
    sales = read(scim2_server, tenants["crm"], "/Groups")["Sales EMEA"]
    assert members(sales, crm_users) == {"ben@example.com", "cy@example.com", "dee@example.com"}


def assert_converged_on(capsys: pytest.CaptureFixture[str], specs: Path, name: str) -> None:
    code, out, _ = run(capsys, "plan", str(specs), "--target", name, "--detailed-exitcode")
    assert "No changes." in out, out
    assert code == 0


def test_leaving_the_assigned_group_leaves_the_pushed_group(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """On both servers: the pushed group follows its declared members, and a user no
    assigned group holds is left alone (`out_of_scope: skip`): kept, but out of the group."""
    users = [
        person(target, "ana@example.com", "Ana", "Ng"),
        person(target, "ben@example.com", "Ben", "Okafor"),
    ]
    both = [{"displayName": "Engineering", "members": ["ana@example.com", "ben@example.com"]}]
    settings = {"assign": {"groups": ["Engineering"]}}
    specs = write_spec(tmp_path / "specs", target, users, both, **settings)
    assert run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")[0] == 0
    assert_converged(capsys, specs)

    only_ana = [{"displayName": "Engineering", "members": ["ana@example.com"]}]
    write_spec(tmp_path / "specs", target, users, only_ana, **settings)
    code, out, _ = run(capsys, "plan", str(specs), "--target", "e2e")
    assert code == 0
    assert "Out of scope: user ben@example.com (left alone)" in out
    assert "      - member ben@example.com (id " in out
    assert run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")[0] == 0
    assert_converged(capsys, specs)
    on_target = by_name(target)
    assert on_target["ben@example.com"]["active"] is True  # skip: left alone
    [group] = listing(target, "/Groups")
    ids = {m["value"] for m in group.get("members", [])}
    assert ids == {on_target["ana@example.com"]["id"]}
