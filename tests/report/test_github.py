"""GitHub Actions output: annotation escaping and placement, the step summary, and when to act.

`github.annotations` is called through the module: with `from __future__ import annotations`
in effect, importing the name itself would clash with that future feature.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.cli.output import append_file
from reconciler.core.diff import AttrChange
from reconciler.core.model import Kind, Location
from reconciler.core.plan import Action, Change, Plan
from reconciler.errors import SpecIssue
from reconciler.report import github
from reconciler.report.github import append_step_summary, escape_data, escape_property, github_mode


@pytest.mark.parametrize(
    ("flag", "environ", "expected"),
    [
        (False, {}, False),
        (True, {}, True),
        (False, {"GITHUB_ACTIONS": "true"}, True),
        (False, {"GITHUB_ACTIONS": "false"}, False),
        (False, {"GITHUB_ACTIONS": "1"}, False),
        (True, {"GITHUB_ACTIONS": "false"}, True),
    ],
)
def test_github_mode(flag: bool, environ: dict[str, str], expected: bool) -> None:
    assert github_mode(flag, environ) is expected


def test_escaping_follows_the_runner() -> None:
    assert escape_data("100% done\r\nnext: a, b") == "100%25 done%0D%0Anext: a, b"
    assert escape_property("a:b,c%\nd") == "a%3Ab%2Cc%25%0Ad"
    # `%` first, or the escapes themselves would be escaped again.
    assert escape_data("%0A") == "%250A"


def test_spec_issues_become_errors_at_their_line() -> None:
    issues = [
        SpecIssue("specs/a,b:c.yaml", 4, 5, "users[0].titel", "unknown 'titel'\nsee docs"),
        SpecIssue("specs/x.yaml", 1, 1, "", "50% of the file is tabs"),
    ]
    assert github.annotations(issues) == [
        "::error file=specs/a%2Cb%3Ac.yaml,line=4,col=5,title=Invalid spec%3A users[0].titel"
        "::unknown 'titel'%0Asee docs",
        "::error file=specs/x.yaml,line=1,col=1,title=Invalid spec::50%25 of the file is tabs",
    ]


def test_destructive_changes_become_warnings_where_declared() -> None:
    where = Location("specs/people.yaml", 20, 5)
    changes = (
        Change(
            Kind.USER,
            "new@example.com",
            Action.CREATE,
            "not found on target",
            location=Location("specs/people.yaml", 3, 5),
        ),
        Change(
            Kind.GROUP,
            "Old, Team",
            Action.DELETE,
            "state: absent",
            target_id="g-1",
            location=Location("specs/groups.yaml", 7, 5),
        ),
        Change(
            Kind.USER,
            "mallory@example.com",
            Action.DISABLE,
            "state: absent",
            target_id="u-9",
            attributes=(AttrChange("active", True, False),),
            location=where,
        ),
        # Pruned objects were never declared, so there is no line to point at.
        Change(Kind.USER, "ghost@example.com", Action.DELETE, "prune: all", target_id="u-0"),
    )
    plan = Plan("prod", "https://idp.example.com/scim/v2", changes).to_json()
    assert github.annotations(plan=plan) == [
        "::warning file=specs/groups.yaml,line=7,title=Delete group Old%2C Team"
        "::scimrec will delete group Old, Team (id g-1) on target prod: state: absent",
        "::warning file=specs/people.yaml,line=20,title=Disable user mallory@example.com"
        "::scimrec will disable user mallory@example.com (id u-9) on target prod: state: absent",
    ]


def test_absolute_paths_are_made_relative_to_the_workspace() -> None:
    issues = [
        SpecIssue("/srv/actions-runner/checkout/specs/a.yaml", 2, 3, "", "bad"),
        SpecIssue("/elsewhere/b.yaml", 1, 1, "", "bad"),
    ]
    assert github.annotations(issues, workspace="/srv/actions-runner/checkout") == [
        "::error file=specs/a.yaml,line=2,col=3,title=Invalid spec::bad",
        "::error file=/elsewhere/b.yaml,line=1,col=1,title=Invalid spec::bad",
    ]


def test_step_summary_appends(tmp_path: Path) -> None:
    summary = tmp_path / "step_summary.md"
    summary.write_text("## from an earlier step\n", encoding="utf-8")
    environ = {"GITHUB_STEP_SUMMARY": str(summary)}
    assert append_step_summary("**1 to create** · 0 to update", environ, append_file) is True
    assert append_step_summary("second → run\n", environ, append_file) is True
    assert summary.read_text(encoding="utf-8") == (
        "## from an earlier step\n**1 to create** · 0 to update\nsecond → run\n"
    )


def test_step_summary_without_the_variable_writes_nothing(tmp_path: Path) -> None:
    assert append_step_summary("x", {}, append_file) is False
    assert append_step_summary("x", {"GITHUB_STEP_SUMMARY": ""}, append_file) is False
    assert list(tmp_path.iterdir()) == []


def test_annotations_are_scrubbed_before_they_are_escaped() -> None:
    from reconciler.scim.redact import forget_secrets, register_secret

    secret = "50%-off-token-value"  # `%` becomes %25 in a workflow command
    register_secret(secret)
    try:
        assert escape_data(f"saw {secret}\n") == "saw ***%0A"
    finally:
        forget_secrets()
