"""The GitHub Action's outputs and comment bodies (reconciler/report/action.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.core.model import Kind
from reconciler.core.plan import Action, Change, Plan
from reconciler.report import action, render
from reconciler.report.combined import combine, combined_markdown
from reconciler.report.markdown import plan_markdown

RUN = "https://github.example/o/r/actions/runs/1"


def plan(name: str = "hr") -> dict[str, object]:
    change = Change(Kind.USER, "a@example.com", Action.DISABLE, "state: absent", "u1")
    return Plan(name, f"https://{name}.example/scim/v2", (change,), noop=3).to_json()


def test_plan_outputs_count_the_changes() -> None:
    assert action.outputs("plan", "0", "", plan()) == [
        "has-changes=true",
        "create=0",
        "update=0",
        "disable=1",
        "delete=0",
        "errors=0",
    ]
    empty = Plan("hr", "https://hr.example/scim/v2", (), noop=3).to_json()
    assert action.outputs("plan", "0", "", empty)[0] == "has-changes=false"
    both = combine("plan", {"hr": plan(), "crm": plan("crm")})
    assert "disable=2" in action.outputs("show", "0", "", both)


def test_drift_outputs_follow_the_verdict() -> None:
    assert action.outputs("drift", "0", "", {"drifted": False})[0] == "has-changes=false"
    assert action.outputs("drift", "2", "", {"drifted": True})[0] == "has-changes=true"


def test_apply_outputs_read_its_summary_line() -> None:
    stdout = "…\nApply complete: 2 created, 1 updated, 0 disabled, 0 deleted, 0 failed.\n"
    assert action.outputs("apply", "0", stdout, None) == [
        "has-changes=true",
        "create=2",
        "update=1",
        "disable=0",
        "delete=0",
        "errors=0",
    ]
    assert action.outputs("apply", "1", "Error: refused\n", None)[0] == "has-changes=false"


def test_apply_outputs_count_objects_in_error_with_failed_writes() -> None:
    counts = {"create": 0, "update": 1, "disable": 0, "delete": 0, "failed": 1}
    stdout = f"…\n{render.apply_summary(counts, in_error=2)}\n"
    assert stdout.endswith(
        "Apply finished with failures: 0 created, 1 updated, 0 disabled, 0 deleted, "
        "1 failed; 2 in error, not applied.\n"
    )
    assert action.outputs("apply", "1", stdout, None)[1:] == [
        "create=0",
        "update=1",
        "disable=0",
        "delete=0",
        "errors=3",
    ]


def test_targets_output_is_one_line_of_json() -> None:
    listed = [{"name": "hr", "url": "https://hr.example/scim/v2", "auth": "none", "env": []}]
    lines = action.outputs("targets", "0", json.dumps(listed, indent=2), None)
    assert lines[-1] == "targets=" + json.dumps(listed, separators=(",", ":"))


def test_markers_are_the_ones_scimrec_writes() -> None:
    # A failure comment replaces the comment a success wrote, and the other way round.
    assert plan_markdown(plan("hr")).startswith(action.marker("plan", "hr") + "\n")
    assert plan_markdown(plan("a:b")).startswith(action.marker("plan", "a:b") + "\n")
    one = combined_markdown(combine("plan", {"hr": plan()}))
    assert one.startswith(action.marker("show", "hr") + "\n")
    both = combined_markdown(combine("plan", {"hr": plan(), "crm": plan("crm")}))
    assert both.startswith(action.marker("show", "hr crm") + "\n")
    assert both.startswith(action.marker("plan", "all") + "\n")


def test_comment_body_keeps_the_report_or_says_it_failed() -> None:
    report = plan_markdown(plan())
    assert action.comment_body(report, "plan", "hr", RUN) == (
        report + "\n<sub>[Job log](" + RUN + ")</sub>\n"
    )
    failed = action.comment_body("", "plan", "hr", RUN)
    assert failed.startswith("<!-- scimrec:plan target=hr -->\n### scimrec plan failed\n")


def test_apply_report_fences_whatever_apply_printed() -> None:
    text = action.apply_report("odd ```` fence\nApply complete: …\n", "hr", "0")
    assert text.startswith("<!-- scimrec:apply target=hr -->\n### scimrec apply for `hr`: applied")
    assert "\n`````text\nodd ```` fence\nApply complete: …\n`````\n" in text
    assert ": failed (exit 1)" in action.apply_report("", "hr", "1")


def test_main_writes_outputs_from_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "out").write_text("")
    (tmp_path / "report.json").write_text(json.dumps(plan()))
    args = ["outputs", "plan", "0", str(tmp_path / "out"), str(tmp_path / "report.json")]
    assert action.main(args) == 0
    assert capsys.readouterr().out.splitlines()[0] == "has-changes=true"
    # No JSON report (the command failed before writing one): still every output.
    args[-1] = str(tmp_path / "missing.json")
    assert action.main(args) == 0
    assert capsys.readouterr().out.splitlines()[0] == "has-changes=false"


def test_a_torn_json_report_counts_as_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "out").write_text("")
    (tmp_path / "report.json").write_text("")
    args = ["outputs", "plan", "1", str(tmp_path / "out"), str(tmp_path / "report.json")]
    assert action.main(args) == 0
    assert capsys.readouterr().out.splitlines()[0] == "has-changes=false"


def test_apply_of_a_saved_plan_is_named_after_its_target() -> None:
    stdout = 'Target "hr" (https://hr.example/scim/v2)\n\nApply complete: …\n'
    assert action.apply_report(stdout, "", "0").startswith(
        "<!-- scimrec:apply target=hr -->\n### scimrec apply for `hr`: applied\n"
    )


def test_a_refused_apply_says_why(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "out").write_text("")
    (tmp_path / "err").write_text('{"event": "x"}\nError: refusing to apply a stale plan: …\n')
    args = ["apply-report", str(tmp_path / "out"), "hr", "1", str(tmp_path / "err")]
    assert action.main(args) == 0
    assert capsys.readouterr().out == (
        "<!-- scimrec:apply target=hr -->\n### scimrec apply for `hr`: failed (exit 1)\n\n"
        "```text\nError: refusing to apply a stale plan: …\n```\n"
    )


def test_apply_outputs_come_from_apply_s_own_summary_not_a_name() -> None:
    # An account the target named like a summary, shown in the plan and a Failed: line.
    name = "Apply complete: 0 created, 0 updated, 0 disabled, 0 deleted, 0 failed."
    counts = {"create": 0, "update": 0, "disable": 1, "delete": 0, "failed": 1}
    stdout = (
        f"  - disable user {name}  (id u2)\n{name}  (id u2)\n"
        f"Failed: user {name}: PATCH /Users/u3 answered 500\n"
        f"{render.apply_summary(counts)}\n"
    )
    assert action.outputs("apply", "1", stdout, None) == [
        "has-changes=true",
        "create=0",
        "update=0",
        "disable=1",
        "delete=0",
        "errors=1",
    ]
