"""Several targets in one command: one combined report, the worst exit code, and commands
that write refusing more than one target. Against the sandbox, one store per target."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from reconciler.cli import main
from reconciler.scim.sandbox import Sandbox
from tests.conftest import SANDBOX_TOKEN
from tests.servers.launch import free_port

AUTH = {"type": "bearer", "token_env": "SANDBOX_SCIM_TOKEN"}


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main([*args, "--log-level", "error"])
    out, err = capsys.readouterr()
    assert SANDBOX_TOKEN not in out + err
    assert "Traceback" not in out + err
    return code, out, err


def specs(root: Path, sandbox: Sandbox, *, down: bool = False) -> Path:
    base = sandbox.url.removesuffix("/scim/v2")
    targets = {name: {"url": f"{base}/apps/{name}/scim/v2", "auth": AUTH} for name in ("hr", "crm")}
    if down:
        targets["down"] = {"url": f"http://127.0.0.1:{free_port()}/scim/v2", "auth": AUTH}
    doc = {
        "targets": targets,
        "users": [{"userName": "alice@example.com"}, {"userName": "bob@example.com"}],
        "groups": [{"displayName": "Staff", "members": ["alice@example.com"]}],
    }
    root.mkdir(exist_ok=True)
    (root / "spec.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    return root


def test_plan_several_targets_in_one_report(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = str(specs(tmp_path / "specs", sandbox))
    code, out, _ = run(
        capsys, "plan", tree, "--target", "hr", "--target", "crm", "--format", "json"
    )
    assert code == 0
    data = json.loads(out)
    assert list(data["targets"]) == ["hr", "crm"]  # in the order given
    assert "target" not in data
    assert data["format_version"] == 1
    assert data["report"] == "plan"
    assert data["summary"] == {
        "create": 6,
        "update": 0,
        "disable": 0,
        "delete": 0,
        "noop": 0,
        "error": 0,
        "targets": 2,
        "failed": 0,
    }
    for name in ("hr", "crm"):
        section = data["targets"][name]
        assert section["target"]["name"] == name
        assert section["summary"]["create"] == 3

    # One target: the one-target JSON, exactly as before.
    code, out, _ = run(capsys, "plan", tree, "--target", "hr", "--format", "json")
    single = json.loads(out)
    assert (code, single["target"]["name"], "targets" in single) == (0, "hr", False)
    assert single == data["targets"]["hr"]

    code, out, _ = run(capsys, "plan", tree, "--all-targets", "--detailed-exitcode")
    assert code == 2
    assert out.startswith('Target "crm" (')  # sorted by name
    assert '\nTarget "hr" (' in out
    assert out.endswith(
        "All targets (2 targets): 6 to create, 0 to update, 0 to disable, 0 to delete.\n"
    )

    as_json = tmp_path / "plan.json"
    code, out, _ = run(
        capsys, "plan", tree, "--all-targets", "--format", "markdown", "--json-out", str(as_json)
    )
    assert out.startswith("<!-- scimrec:plan targets -->\n## scimrec plan for 2 targets\n")
    # The JSON form alongside, from the same run (a workflow reads its counts).
    assert json.loads(as_json.read_text())["targets"]["hr"] == data["targets"]["hr"]
    assert "| `crm` | 3 | 0 | 0 | 0 | 0 |" in out
    assert "### scimrec plan for `hr` (" in out
    assert out.count("<!-- scimrec:") == 1


def test_the_worst_exit_code_wins_and_a_failure_stops_nothing(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = str(specs(tmp_path / "specs", sandbox, down=True))
    code, out, _ = run(capsys, "plan", tree, "--all-targets", "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert data["targets"]["down"]["error"].startswith("cannot connect to http://127.0.0.1:")
    assert data["targets"]["hr"]["summary"]["create"] == 3
    assert (data["summary"]["targets"], data["summary"]["failed"]) == (3, 1)
    code, out, _ = run(capsys, "drift", tree, "--all-targets")
    assert code == 1
    assert 'Target "down": Error: cannot connect to' in out
    assert 'Drift on target "hr"' in out


def test_saved_plans_one_per_target_then_applied_one_at_a_time(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = str(specs(tmp_path / "specs", sandbox))
    plans = tmp_path / "plans"
    code, _, err = run(capsys, "plan", tree, "--all-targets", "--out", str(plans / "p.plan"))
    assert code == 1
    assert err == (
        "Error: --out with several targets needs {target} in the file name (one plan file "
        "per target), e.g. --out plans/{target}.plan\n"
    )
    code, _, err = run(capsys, "plan", tree, "--all-targets", "--out", f"{plans}/{{target}}.plan")
    assert code == 0
    assert sorted(p.name for p in plans.iterdir()) == ["crm.plan", "hr.plan"]
    assert f"Saved the plan to {plans / 'hr.plan'}" in err

    # The plans of several jobs, gathered into one report (the pull-request comment).
    hr, crm = str(plans / "hr.plan"), str(plans / "crm.plan")
    code, out, _ = run(capsys, "show", crm, hr, "--format", "markdown")
    assert code == 0
    assert out.startswith("<!-- scimrec:plan targets -->\n## scimrec plan for 2 targets\n")
    assert out.index("`crm` (") < out.index("`hr` (")  # in the order given
    code, out, _ = run(capsys, "show", hr, "--combined", "--format", "json")
    assert (code, list(json.loads(out)["targets"])) == (0, ["hr"])
    # A target whose job made no plan is reported, not silently left out.
    code, out, _ = run(capsys, "show", hr, crm, "-t", "hr", "-t", "crm", "-t", "erp")
    assert code == 1
    assert 'Target "erp": Error: no plan file for this target' in out
    # No plan file at all (every plan job failed): still one report, one section each.
    code, out, _ = run(capsys, "show", "-t", "hr", "-t", "crm", "--format", "json")
    assert code == 1
    assert json.loads(out)["summary"]["failed"] == 2

    # apply writes: one target at a time, never the last of several silently.
    code, out, err = run(
        capsys, "apply", tree, "--target", "hr", "--target", "crm", "--auto-approve"
    )
    assert (code, out) == (1, "")
    assert err == (
        "Error: apply works on one target at a time (got: hr, crm); each target's apply is "
        "reviewed, guarded and approved on its own; run it once per target\n"
    )
    for name in ("hr", "crm"):
        plan = str(plans / f"{name}.plan")
        code, out, _ = run(capsys, "apply", "--plan", plan, tree, "--auto-approve")
        assert code == 0, out
    as_json = tmp_path / "drift.json"
    code, out, _ = run(capsys, "drift", tree, "--target", "hr", "--json-out", str(as_json))
    assert code == 0
    assert out.startswith('Drift on target "hr"')
    assert json.loads(as_json.read_text())["drifted"] is False
    code, out, _ = run(capsys, "plan", tree, "--all-targets", "--detailed-exitcode")
    assert code == 0
    assert out.count("No changes.") == 2
