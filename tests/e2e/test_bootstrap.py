"""The first thing a new user tries, on every server (issue 14): 40 users and 4 groups with
members in one apply at the default concurrency, then No changes; then an update, a drift
audit and an import round trip of what the bootstrap made.

django-scim2 runs on Django's default SQLite settings, so concurrent writes meet
`500: database is locked` there (tests/servers/django_scim/QUIRKS.md §14): a briefly
overloaded target must slow a run down, never fail it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Target, write_spec
from tests.e2e.test_lifecycle import assert_converged, by_name, listing, person, run

USERS = 40
GROUPS = 4


def bootstrap(target: Target) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    users = [person(target, f"boot{i:02d}@example.com", f"Boot{i}", "Strap") for i in range(USERS)]
    groups = [
        # Overlapping groups of 15, so memberships of one user are written concurrently.
        {"displayName": f"Crew {g}", "members": [u["userName"] for u in users[g * 8 : g * 8 + 15]]}
        for g in range(GROUPS)
    ]
    return users, groups


def members_by_group(target: Target) -> dict[str, set[str]]:
    names = {u["id"]: u["userName"] for u in listing(target, "/Users")}
    out: dict[str, set[str]] = {}
    for group in listing(target, "/Groups"):
        out[group["displayName"]] = {names[str(m["value"])] for m in group.get("members") or []}
    return out


def test_bootstrap_update_drift_and_import(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    users, groups = bootstrap(target)
    specs = write_spec(tmp_path / "specs", target, users, groups)

    code, out, err = run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")
    assert code == 0, out + err[-3000:]
    assert f"Apply complete: {USERS + GROUPS} created, 0 updated" in out
    assert out.rstrip().endswith("0 failed.")
    assert_converged(capsys, specs)
    assert sorted(by_name(target)) == sorted(u["userName"] for u in users)
    assert members_by_group(target) == {g["displayName"]: set(g["members"]) for g in groups}

    # An update: ten users renamed, one group's membership shifted.
    for user in users[:10]:
        user["name"]["givenName"] += "x"
    # Users whose ids equal a group's id (django-scim2 numbers both from 1) first: a
    # member is a user or a group by its type, never by an id the other kind also has.
    group_ids = {g["id"] for g in listing(target, "/Groups")}
    ids = {name: u["id"] for name, u in by_name(target).items()}
    dropped = set(sorted(groups[0]["members"], key=lambda m: (ids[m] not in group_ids, m))[:5])
    if target.flavour == "django-scim2":
        assert any(ids[m] in group_ids for m in dropped)  # the case this is about, present
    groups[0]["members"] = [m for m in groups[0]["members"] if m not in dropped]
    groups[0]["members"].append(users[-1]["userName"])
    write_spec(tmp_path / "specs", target, users, groups)
    code, out, err = run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")
    assert code == 0, out + err[-3000:]
    assert "Apply complete: 0 created, 11 updated, 0 disabled, 0 deleted, 0 failed." in out
    assert_converged(capsys, specs)
    assert members_by_group(target)["Crew 0"] == set(groups[0]["members"])

    # Drift: one user edited out of band is found, and nothing is written.
    on_target = by_name(target)
    edited = on_target[users[20]["userName"]]
    with target.http() as http:
        ops = [{"op": "replace", "path": "name.familyName", "value": "Drifted"}]
        patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops}
        assert http.patch(f"/Users/{edited['id']}", json=patch).status_code in (200, 204)
    code, out, _ = run(capsys, "drift", str(specs), "--target", "e2e", "--format", "json")
    assert code == 2
    report = json.loads(out)
    assert [c["key"] for c in report["changed"]] == [users[20]["userName"]]
    assert report["missing"] == []
    assert run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")[0] == 0

    # Import round trip: the target as YAML plans to No changes.
    imported = tmp_path / "imported"
    code, _, err = run(
        capsys, "import", str(specs), "--target", "e2e", "--out", str(imported), "--adopt"
    )
    assert code == 0, err[-3000:]
    assert_converged(capsys, imported)
    assert len(listing(target, "/Users")) == USERS


def test_a_large_group_written_in_big_chunks(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """120 members in writes of 120: Better Auth takes at most 100 members per write
    (tests/servers/better_auth_scim/QUIRKS.md §7); scimrec learns it from the 400."""
    users = [person(target, f"big{i:03d}@example.com", f"Big{i}", "Group") for i in range(120)]
    groups = [{"displayName": "Everyone", "members": [u["userName"] for u in users]}]
    specs = write_spec(tmp_path / "specs", target, users, groups, membership_chunk=120)
    code, out, err = run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")
    assert code == 0, out + err[-3000:]
    assert_converged(capsys, specs)
    assert members_by_group(target) == {"Everyone": {u["userName"] for u in users}}
