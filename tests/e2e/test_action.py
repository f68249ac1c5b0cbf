"""The composite action's own script (action.yml, step "Run scimrec"), run by bash as the
runner would, against the sandbox: its command line, its outputs and what it publishes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import yaml

from reconciler.scim.sandbox import Sandbox
from tests.conftest import SANDBOX_TOKEN
from tests.e2e.test_targets import specs

ROOT = Path(__file__).resolve().parents[2]
STEPS = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))["runs"]["steps"]
[RUN] = [step for step in STEPS if step.get("id") == "run"]


def action(
    tmp_path: Path, environ: dict[str, str] | None = None, *, step: int = 0, **inputs: str
) -> tuple[dict[str, str], str]:
    """Run the step with these inputs; its outputs, and what it wrote to the step summary
    (with `step`, the step's own exit code, its error line instead of the summary)."""
    runner = tmp_path / f"runner-{len(list(tmp_path.glob('runner-*')))}"
    runner.mkdir()
    env = {
        **os.environ,
        "GITHUB_ACTIONS": "true",
        "GITHUB_ACTION_PATH": str(ROOT),
        "GITHUB_OUTPUT": str(runner / "output"),
        "GITHUB_STEP_SUMMARY": str(runner / "summary"),
        "RUNNER_TEMP": str(runner),
        "VENV": sys.prefix,  # the action's own venv; here, the one running the tests
        # Every input the step reads, as the runner passes it: empty unless given.
        **{name: "" for name in RUN["env"] if name.startswith("ACTION_")},
        "ACTION_SPECS": str(tmp_path / "specs"),
    }
    env |= {f"ACTION_{k.upper()}": v for k, v in inputs.items()}
    env |= environ or {}
    # `shell: bash` runs `bash --noprofile --norc -eo pipefail {0}`.
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", RUN["run"]],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == step, done.stderr
    assert SANDBOX_TOKEN not in done.stdout + done.stderr
    if step:
        return {}, done.stdout
    lines = (runner / "output").read_text(encoding="utf-8").splitlines()
    summary = runner / "summary"
    return dict(line.split("=", 1) for line in lines), (
        summary.read_text(encoding="utf-8") if summary.exists() else ""
    )


def test_plan_show_apply_drift_through_the_action(sandbox: Sandbox, tmp_path: Path) -> None:
    specs(tmp_path / "specs", sandbox)
    plans = tmp_path / "plans"

    out, _ = action(tmp_path, command="targets")
    assert [t["name"] for t in json.loads(out["targets"])] == ["crm", "hr"]

    out, summary = action(
        tmp_path, command="plan", targets="hr crm", plan_file=f"{plans}/{{target}}.plan"
    )
    assert (out["exit-code"], out["has-changes"], out["create"]) == ("0", "true", "6")
    assert Path(out["report"]).read_text().startswith("<!-- scimrec:plan targets -->\n")
    assert json.loads(Path(out["json"]).read_text())["summary"]["create"] == 6
    assert summary.startswith("<!-- scimrec:plan targets -->\n")
    assert sorted(p.name for p in plans.iterdir()) == ["crm.plan", "hr.plan"]

    # The plans of a matrix's jobs, gathered into the one comment.
    out, _ = action(tmp_path, command="show", specs="", targets="hr crm", plan_file=f"{plans}/*")
    assert (out["exit-code"], out["create"]) == ("0", "6")
    assert "| `hr` | 3 | 0 | 0 | 0 | 0 |" in Path(out["report"]).read_text()

    # Every target: the input, and the old spelling it replaces (no target may be `all`).
    for targets, all_targets in (("", "true"), ("all", "")):
        out, _ = action(tmp_path, command="plan", targets=targets, all_targets=all_targets)
        assert (out["exit-code"], out["create"]) == ("0", "6")
    _, error = action(tmp_path, command="plan", targets="hr", all_targets="true", step=1)
    assert "give either targets or all-targets" in error
    _, error = action(tmp_path, command="plan", all_targets="yes", step=1)
    assert "all-targets: expected" in error

    out, summary = action(
        tmp_path,
        command="apply",
        targets="",
        plan_file=str(plans / "hr.plan"),
        args="--auto-approve",
    )
    assert (out["exit-code"], out["has-changes"], out["create"]) == ("0", "true", "3")
    report = Path(out["report"]).read_text()
    assert report.startswith("<!-- scimrec:apply target=")
    assert "Apply complete: 3 created" in report
    assert summary == report

    out, _ = action(tmp_path, command="drift", targets="hr")
    assert (out["exit-code"], out["has-changes"]) == ("0", "false")
    out, _ = action(tmp_path, command="drift", targets="crm")
    assert (out["exit-code"], out["has-changes"]) == ("2", "true")

    out, _ = action(tmp_path, command="plan", targets="nope")
    assert (out["exit-code"], out["has-changes"]) == ("1", "false")
    assert "json" not in out
    assert out["error"] == "Error: no target named 'nope' in the spec (defined: crm, hr)"


def test_credentials_come_from_the_environment_s_one_secret_name(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    # A matrix job: its environment stores the target's token as SCIM_CREDENTIAL, and the
    # action hands it to scimrec under the name the spec reads it from.
    specs(tmp_path / "specs", sandbox)
    moved = {"SANDBOX_SCIM_TOKEN": "", "SCIM_CREDENTIAL": SANDBOX_TOKEN}
    out, _ = action(
        tmp_path, moved, command="plan", targets="hr", credential_names="SANDBOX_SCIM_TOKEN"
    )
    assert (out["exit-code"], out["create"]) == ("0", "3")
    out, _ = action(tmp_path, moved, command="plan", targets="hr")
    assert out["exit-code"] == "1"
    assert "SANDBOX_SCIM_TOKEN" in out["error"]


class _Seen(BaseHTTPRequestHandler):
    tokens: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).tokens.append(self.headers.get("Authorization", ""))
        self.send_response(401)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


def test_the_job_of_a_target_named_all_reaches_no_other_target(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    # A matrix passes `targets: ${{ matrix.target.name }}`; the action once read the name
    # `all` as --all-targets, and the job of that target (the sandbox here) sent its token
    # to every other target (a server that notes what reaches it).
    other = ThreadingHTTPServer(("127.0.0.1", 0), _Seen)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    try:
        (tmp_path / "specs").mkdir()
        (tmp_path / "specs" / "targets.yaml").write_text(
            f"targets:\n  all:\n    url: {sandbox.url}\n"
            "    auth: {type: bearer, token_env: SCIM_TOKEN}\n"
            f"  other:\n    url: http://127.0.0.1:{other.server_port}/scim/v2\n"
            "    auth: {type: bearer, token_env: SCIM_TOKEN}\n"
        )
        out, _ = action(
            tmp_path,
            {"SCIM_CREDENTIAL": SANDBOX_TOKEN},
            command="plan",
            targets="all",
            credential_names="SCIM_TOKEN",
        )
    finally:
        other.shutdown()
    assert _Seen.tokens == []
    assert out["exit-code"] == "1"
    assert out["error"] == "Error: 1 problem in the spec."  # the name `all`, reserved
