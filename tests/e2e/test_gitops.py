"""Saved plans, drift audits and on-demand runs, end to end on the real servers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.core.planfile import digest_of, fingerprint
from reconciler.scim.resources import resource
from tests.conftest import Target, write_spec
from tests.e2e.test_lifecycle import assert_converged, by_name, listing, person, run
from tests.servers.launch import free_port


def team(target: Target) -> list[dict[str, Any]]:
    return [
        person(target, "alice@example.com", "Alice", "Wong"),
        person(target, "bob@example.com", "Bob", "Martin"),
    ]


def test_saved_plan_refused_when_target_changed_then_applied_then_replay_refused(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    users = team(target)
    specs = write_spec(tmp_path / "specs", target, users)
    assert run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")[0] == 0
    users[0]["name"]["givenName"] = "Alicia"
    write_spec(tmp_path / "specs", target, users)
    planfile = tmp_path / "plan.json"

    code, _, err = run(capsys, "plan", str(specs), "--target", "e2e", "--out", str(planfile))
    assert code == 0
    assert f"Saved the plan to {planfile}" in err
    saved = json.loads(planfile.read_text())
    assert [s["key"] for s in saved["seen"]] == ["alice@example.com"]
    assert target.token not in planfile.read_text()

    # Out of band: someone edits alice on the target after the plan was made.
    alice = by_name(target)["alice@example.com"]
    with target.http() as http:
        body = {k: v for k, v in alice.items() if k not in ("meta", "groups")}
        body["name"] = {**body["name"], "familyName": "Changed"}
        assert http.put(f"/Users/{alice['id']}", json=body).status_code == 200
    before = by_name(target)

    code, _, err = run(capsys, "apply", "--plan", str(planfile), str(specs))
    assert code == 1
    assert "refusing to apply a stale plan: user alice@example.com" in err
    assert "changed on the target since the plan" in err
    assert by_name(target) == before  # nothing written

    # A fresh plan applies, and replaying that same plan file is refused.
    assert run(capsys, "plan", str(specs), "--target", "e2e", "--out", str(planfile))[0] == 0
    code, out, _ = run(capsys, "apply", "--plan", str(planfile), str(specs))
    assert code == 0
    assert "Apply complete: 0 created, 1 updated" in out
    assert by_name(target)["alice@example.com"]["name"]["givenName"] == "Alicia"
    code, _, err = run(capsys, "apply", "--plan", str(planfile), str(specs))
    assert code == 1
    assert "refusing to apply a stale plan" in err


def test_saved_plan_refused_for_another_target_or_too_old(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    specs = write_spec(tmp_path / "specs", target, team(target))
    planfile = tmp_path / "plan.json"
    assert run(capsys, "plan", str(specs), "--target", "e2e", "--out", str(planfile))[0] == 0

    code, _, err = run(capsys, "apply", "--plan", str(planfile), str(specs), "--target", "prod")
    assert (code, err) == (
        1,
        f"Error: refusing to apply: {planfile} was made for target 'e2e', not 'prod'\n",
    )
    saved = json.loads(planfile.read_text())
    saved["created_at"] = "2020-01-01T00:00:00+00:00"
    # Re-digested, as anyone who edits a file without the key can: the age still counts.
    saved["digest"] = digest_of({k: v for k, v in saved.items() if k != "digest"}, None)
    planfile.write_text(json.dumps(saved))
    code, _, err = run(
        capsys,
        "apply",
        "--plan",
        str(planfile),
        str(specs),
        "--max-plan-age",
        "12h",
        "--log-level",
        "error",
    )
    assert code == 1
    assert "older than the maximum 12h00m" in err
    assert listing(target, "/Users") == []


def test_show_renders_a_saved_plan_as_plan_printed_it(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    users = team(target)
    specs = write_spec(tmp_path / "specs", target, users)
    assert run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")[0] == 0
    users[0]["name"]["givenName"] = "Alicia"
    users[1] = {"userName": "bob@example.com", "state": "absent"}
    write_spec(tmp_path / "specs", target, [*users, person(target, "dana@example.com", "D", "E")])
    planfile = tmp_path / "scimrec.plan"
    for fmt in ("json", "text", "markdown"):
        code, planned, _ = run(
            capsys, "plan", str(specs), "--target", "e2e", "--format", fmt, "--out", str(planfile)
        )
        assert code == 0
        code, shown, err = run(capsys, "show", str(planfile), "--format", fmt)
        assert code == 0
        assert shown == planned
        assert err.startswith(f"{planfile}: the plan for target 'e2e', made 20")
    summary = json.loads(run(capsys, "show", str(planfile), "--format", "json")[1])["summary"]
    assert (summary["create"], summary["update"], summary["disable"]) == (1, 1, 1)


def test_drift_buckets(target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    users = [*team(target), person(target, "carol@example.com", "Carol", "Diaz")]
    specs = write_spec(tmp_path / "specs", target, users)
    assert run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")[0] == 0
    code, out, _ = run(capsys, "drift", str(specs), "--target", "e2e")
    assert code == 0
    assert "Drift: 0 changed, 0 missing, 0 unmanaged; 3 in sync of 3 checked." in out

    on_target = by_name(target)
    with target.http() as http:
        alice = on_target["alice@example.com"]
        ops = [{"op": "replace", "path": "name.familyName", "value": "Drifted"}]
        patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops}
        assert http.patch(f"/Users/{alice['id']}", json=patch).status_code in (200, 204)
        assert http.delete(f"/Users/{on_target['bob@example.com']['id']}").status_code == 204
        extra = {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "intruder@example.com",
        }
        assert http.post("/Users", json=extra).status_code == 201

    code, out, _ = run(capsys, "drift", str(specs), "--target", "e2e", "--format", "json")
    assert code == 2
    report = json.loads(out)
    assert report["summary"] == {
        "checked": 4,
        "in_sync": 1,
        "changed": 1,
        "missing": 1,
        "unmanaged": 1,
        "error": 0,
    }
    [changed] = report["changed"]
    assert (changed["key"], changed["attributes"]) == (
        "alice@example.com",
        [{"path": "name.familyName", "before": "Drifted", "after": "Wong"}],
    )
    assert report["missing"] == [{"kind": "user", "key": "bob@example.com"}]
    assert [u["name"] for u in report["unmanaged"]] == ["intruder@example.com"]
    assert len(listing(target, "/Users")) == 3  # drift is read-only


def test_drift_is_quiet_about_unmanaged_accounts_unless_asked(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    specs = write_spec(tmp_path / "specs", target, team(target))
    assert run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")[0] == 0
    with target.http() as http:
        extra = {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "service-account@example.com",
        }
        assert http.post("/Users", json=extra).status_code == 201

    # prune: none: an account the spec does not declare is expected; reported, exit 0.
    code, out, _ = run(capsys, "drift", str(specs), "--target", "e2e", "--log-level", "error")
    assert code == 0
    assert "? user service-account@example.com (id " in out
    assert "Drift: 0 changed, 0 missing, 1 unmanaged; 2 in sync of 3 checked." in out
    code, out, _ = run(
        capsys, "drift", str(specs), "--target", "e2e", "--fail-on-unmanaged", "--format", "json"
    )
    assert code == 2
    assert json.loads(out)["drifted"] is True

    # prune: all: apply would disable it, so it is drift.
    write_spec(tmp_path / "specs", target, team(target), prune="all")
    code, out, _ = run(capsys, "drift", str(specs), "--target", "e2e", "--format", "json")
    assert code == 2
    report = json.loads(out)
    assert [(c["key"], c["action"]) for c in report["changed"]] == [
        ("service-account@example.com", "disable")
    ]


def test_only_touches_only_the_chosen_object(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    users = team(target)
    specs = write_spec(
        tmp_path / "specs",
        target,
        users,
        [{"displayName": "Team", "members": ["alice@example.com", "bob@example.com"]}],
    )
    code, out, _ = run(
        capsys,
        "plan",
        str(specs),
        "--target",
        "e2e",
        "--only",
        "user:ALICE@example.com",
        "--explain",
    )
    assert code == 0
    assert "4 match: attributes in precedence order" in out
    assert "POST " + target.url + "/Users" in out
    assert "Authorization: Bearer ***" in out
    assert target.token not in out
    assert listing(target, "/Users") == []  # explain is read-only

    code, out, _ = run(
        capsys,
        "apply",
        str(specs),
        "--target",
        "e2e",
        "--auto-approve",
        "--only",
        "user:alice@example.com",
    )
    assert code == 0
    assert "Apply complete: 1 created" in out
    assert sorted(by_name(target)) == ["alice@example.com"]
    assert listing(target, "/Groups") == []

    assert run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")[0] == 0
    assert_converged(capsys, specs)


def test_markdown_and_github_mode(
    target: Target,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    users = team(target)
    specs = write_spec(tmp_path / "specs", target, users)
    assert run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")[0] == 0
    users[1] = {"userName": "bob@example.com", "state": "absent"}
    write_spec(tmp_path / "specs", target, users)
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))

    code, out, err = run(
        capsys,
        "plan",
        str(specs),
        "--target",
        "e2e",
        "--format",
        "markdown",
        "--log-level",
        "error",
    )
    assert code == 0
    assert out.startswith("<!-- scimrec:plan target=e2e -->\n")
    assert "**0 to create · 0 to update · 1 to disable · 0 to delete**" in out
    assert summary.read_text() == out
    assert "::warning file=specs/spec.yaml,line=" in err
    assert "bob@example.com" in err

    (tmp_path / "specs" / "bad.yaml").write_text("users:\n  - userName: [oops]\n")
    code, _, err = run(capsys, "validate", str(specs))
    assert code == 1
    assert "::error file=specs/bad.yaml,line=2,col=" in err


def _resave(path: Path, data: dict[str, Any]) -> None:
    """Write an edited plan file, re-digested as anyone without the key can."""
    data["digest"] = digest_of({k: v for k, v in data.items() if k != "digest"}, None)
    path.write_text(json.dumps(data), encoding="utf-8")


def test_an_edited_saved_plan_gains_nothing(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The attack of the issue: 20 users, guards {max_deletes: 2}, a plan with one update.
    users = [person(target, f"p{i:02d}@example.com", "P", f"N{i}") for i in range(20)]
    guards: dict[str, Any] = {"guards": {"max_deletes": 2}, "deprovision": "delete"}
    specs = write_spec(tmp_path / "specs", target, users, **guards)
    assert run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")[0] == 0
    users[0]["name"]["familyName"] = "Changed"
    write_spec(tmp_path / "specs", target, users, **guards)
    planfile = tmp_path / "plan.json"
    assert run(capsys, "plan", str(specs), "--target", "e2e", "--out", str(planfile))[0] == 0
    reviewed = planfile.read_text(encoding="utf-8")
    before = by_name(target)

    edited = json.loads(reviewed)
    edited["plan"]["changes"][0]["action"] = "delete"
    _resave(planfile, edited)
    code, _, err = run(capsys, "apply", "--plan", str(planfile), str(specs))
    assert code == 1
    assert "p00@example.com: the plan's delete differs from what the spec" in err

    edited = json.loads(reviewed)
    for name, found in sorted(before.items())[1:]:
        edited["plan"]["changes"].append(
            {"kind": "user", "key": name, "action": "delete", "target_id": found["id"]}
        )
        seen = resource(found)
        assert seen is not None
        edited["seen"].append(
            {"kind": "user", "key": name, "id": seen.id, "fingerprint": fingerprint(seen)}
        )
    _resave(planfile, edited)
    code, _, err = run(capsys, "apply", "--plan", str(planfile), str(specs))
    assert code == 1
    assert "the spec and the target no longer call for that (and 18 more)" in err

    edited = json.loads(reviewed)
    elsewhere = f"http://127.0.0.1:{free_port()}/scim/v2"
    edited["target"]["url"] = edited["plan"]["target"]["url"] = elsewhere
    _resave(planfile, edited)
    code, _, err = run(capsys, "apply", "--plan", str(planfile), str(specs))
    assert code == 1
    assert "differ between the plan and the spec (url)" in err
    assert by_name(target) == before  # nothing was written by any of them

    planfile.write_text(reviewed, encoding="utf-8")
    code, out, err = run(capsys, "apply", "--plan", str(planfile), str(specs))
    assert code == 0, err
    assert "Apply complete: 0 created, 1 updated, 0 disabled, 0 deleted, 0 failed." in out
    assert_converged(capsys, specs)
