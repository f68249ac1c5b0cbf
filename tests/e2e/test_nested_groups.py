"""Nested groups: validated (no cycles), flattened into user memberships on the target."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Target, write_spec
from tests.e2e.test_lifecycle import assert_converged, by_name, listing, person, run


def test_nested_groups_are_flattened(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    users = [person(target, f"{n}@example.com", n.title(), "Nest") for n in ("ann", "ben", "cy")]
    groups = [
        {"displayName": "Everyone", "members": ["cy@example.com"], "groups": ["Engineering"]},
        {"displayName": "Engineering", "groups": ["Platform"], "members": ["ben@example.com"]},
        {"displayName": "Platform", "members": ["ann@example.com"]},
    ]
    specs = write_spec(tmp_path / "specs", target, users, groups)
    code, out, err = run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")
    assert code == 0, out + err
    assert_converged(capsys, specs)
    ids = {name: u["id"] for name, u in by_name(target).items()}
    members = {
        g["displayName"]: sorted(m["value"] for m in g.get("members") or [])
        for g in listing(target, "/Groups")
    }
    assert members == {
        "Everyone": sorted(ids[f"{n}@example.com"] for n in ("ann", "ben", "cy")),
        "Engineering": sorted(ids[f"{n}@example.com"] for n in ("ann", "ben")),
        "Platform": [ids["ann@example.com"]],
    }


def test_native_nesting_where_the_target_supports_it(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if target.flavour != "scim2-server":
        pytest.skip("django-scim2 groups hold users only: nested groups are flattened there")
    users = [person(target, f"{n}@example.com", n.title(), "Nest") for n in ("ann", "ben")]
    groups = [
        {"displayName": "Everyone", "members": ["ben@example.com"], "groups": ["Platform"]},
        {"displayName": "Platform", "members": ["ann@example.com"]},
    ]
    specs = write_spec(tmp_path / "specs", target, users, groups, nested_groups="native")
    code, out, err = run(capsys, "plan", str(specs), "--target", "e2e")
    assert "+ member group Platform" in out
    code, out, err = run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")
    assert code == 0, out + err
    assert_converged(capsys, specs)
    ids = {name: u["id"] for name, u in by_name(target).items()}
    found = {g["displayName"]: g for g in listing(target, "/Groups")}
    members = {m["value"] for m in found["Everyone"]["members"]}
    assert members == {ids["ben@example.com"], found["Platform"]["id"]}

    groups[0]["groups"] = []
    write_spec(tmp_path / "specs", target, users, groups, nested_groups="native")
    code, out, err = run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")
    assert code == 0, out + err
    assert "- member group Platform" in out
    assert_converged(capsys, specs)
    found = {g["displayName"]: g for g in listing(target, "/Groups")}
    assert {m["value"] for m in found["Everyone"]["members"]} == {ids["ben@example.com"]}
