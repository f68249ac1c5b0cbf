"""Markdown for pull requests: golden comments, and the cut that keeps one under GitHub's limit."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from reconciler.core.diff import AttrChange
from reconciler.core.model import Kind, Location
from reconciler.core.plan import Action, Change, Member, ObjectError, Plan
from reconciler.report.markdown import BUDGET, change_lines, drift_markdown, plan_markdown

GOLDEN = Path(__file__).parent / "golden"
# GitHub's hard limit for an issue or pull-request comment body.
GITHUB_LIMIT = 65_536
NOTE = re.compile(
    r"^… ([\d,]+) lines omitted \(the full plan is in the job log / plan artifact\) …$", re.M
)


def golden(name: str) -> str:
    # Golden files were written once, read by eye, and committed; a diff here is a change
    # in what reviewers see, so update the file by hand and review it again.
    return (GOLDEN / name).read_text(encoding="utf-8")


def here(line: int) -> Location:
    return Location("specs/people.yaml", line, 5)


def small_plan() -> dict[str, Any]:
    """Every action kind, a reference, a secret, members, a guard, an error and a note."""
    changes = (
        Change(
            Kind.USER,
            "alice@example.com",
            Action.CREATE,
            "not found on target",
            attributes=(
                AttrChange("active", None, True),
                AttrChange("enterprise.manager", None, "u-bob", ref="bob@example.com"),
                AttrChange("password", None, "correct horse battery staple"),
                AttrChange("userName", None, "alice@example.com"),
            ),
            location=here(3),
        ),
        Change(
            Kind.USER,
            "bob@example.com",
            Action.UPDATE,
            "attributes differ",
            target_id="u-bob",
            matched_on="userName",
            attributes=(
                AttrChange("name.givenName", "Rob", "Bob"),
                AttrChange("title", "Engineer", None),
            ),
            location=here(9),
        ),
        Change(
            Kind.GROUP,
            "Engineering",
            Action.CREATE,
            "not found on target",
            attributes=(AttrChange("displayName", None, "Engineering"),),
            members_add=(Member("alice@example.com", None), Member("bob@example.com", "u-bob")),
        ),
        Change(
            Kind.GROUP,
            "Ops",
            Action.UPDATE,
            "members differ",
            target_id="g-ops",
            members_remove=(Member(None, "u-zed"),),
        ),
        Change(Kind.GROUP, "Old Team", Action.DELETE, "state: absent", target_id="g-old"),
        Change(
            Kind.USER,
            "mallory@example.com",
            Action.DISABLE,
            "state: absent",
            target_id="u-mal",
            attributes=(AttrChange("active", True, False),),
            location=here(20),
        ),
    )
    errors = (
        ObjectError(
            Kind.USER,
            "carol@example.com",
            "match",
            "2 target users match userName 'carol@example.com' (ids u-1, u-2); "
            "remove the duplicate <b>first</b>",
        ),
    )
    guards = (
        "2 users would be deprovisioned, more than guards.max_deletes (1); "
        "re-run with --allow-deletes 2 if that is intended",
    )
    notes = ("/Users: a resource without an id was skipped",)
    plan = Plan("sandbox", "http://127.0.0.1:8000/scim/v2", changes, errors, 7, notes, guards)
    return plan.to_json()


def many_changes_plan(count: int) -> dict[str, Any]:
    creates = [
        Change(
            Kind.USER,
            f"user{i:05d}@example.com",
            Action.CREATE,
            "not found on target",
            attributes=(
                AttrChange("displayName", None, f"User {i}"),
                AttrChange("userName", None, f"user{i:05d}@example.com"),
            ),
        )
        for i in range(count - 40)
    ]
    disables = [
        Change(
            Kind.USER,
            f"zz-leaver{i:02d}@example.com",
            Action.DISABLE,
            "state: absent",
            target_id=f"u-{i}",
            attributes=(AttrChange("active", True, False),),
            location=here(1000 + i),
        )
        for i in range(40)
    ]
    return Plan("prod", "https://idp.example.com/scim/v2", (*creates, *disables)).to_json()


def drift_report() -> dict[str, Any]:
    return {
        "format_version": 1,
        "target": {"name": "prod", "url": "https://idp.example.com/scim/v2"},
        "summary": {"checked": 120, "in_sync": 113, "changed": 2, "missing": 1, "unmanaged": 4},
        "changed": [
            {
                "kind": "user",
                "key": "bob@example.com",
                "target_id": "u-bob",
                "attributes": [{"path": "title", "before": "Engineer", "after": "Staff Engineer"}],
            },
            {
                "kind": "group",
                "key": "Engineering",
                "target_id": "g-eng",
                "attributes": [],
                "members": {
                    "add": [{"key": "alice@example.com", "id": "u-al"}],
                    "remove": [{"key": None, "id": "u-zed"}],
                },
            },
        ],
        "missing": [{"kind": "user", "key": "carol@example.com"}],
        "unmanaged": [
            {"kind": "user", "id": "u-zed", "name": "zed@example.com"},
            {"kind": "user", "id": "u-9", "name": None},
            {"kind": "group", "id": "g-x", "name": "Contractors"},
            {"kind": "group", "id": "g-y", "name": "Interns"},
        ],
    }


def test_small_plan_golden() -> None:
    assert plan_markdown(small_plan()) == golden("plan_small.md")


def test_no_changes_golden() -> None:
    plan = Plan("sandbox", "http://127.0.0.1:8000/scim/v2", (), noop=12).to_json()
    assert plan_markdown(plan) == golden("plan_no_changes.md")


def test_drift_golden() -> None:
    assert drift_markdown(drift_report()) == golden("drift.md")


def test_no_drift() -> None:
    report = drift_report() | {"changed": [], "missing": [], "unmanaged": []}
    assert drift_markdown(report) == (
        "<!-- scimrec:drift target=prod -->\n"
        "### scimrec drift report for `prod` (`https://idp.example.com/scim/v2`)\n"
        "\n"
        "No drift. The target matches the spec (120 objects checked).\n"
    )


def test_drift_with_objects_in_error_is_no_match() -> None:
    # What the text report says: the run failed on them, so the target is not in line.
    error = {"kind": "user", "key": "alice@example.com", "step": "match", "message": "dup"}
    report = drift_report() | {"changed": [], "missing": [], "unmanaged": [], "errors": [error]}
    report["summary"] = report["summary"] | {"changed": 0, "missing": 0, "unmanaged": 0, "error": 1}
    text = drift_markdown(report)
    assert "No drift" not in text
    assert "matches the spec" not in text
    assert "**0 changed · 0 missing · 0 unmanaged · 120 checked · 1 error**" in text
    assert "> - **Error** in user `alice@example.com` (match): dup" in text


def test_drift_in_lookup_mode_does_not_say_the_target_matches() -> None:
    # Only declared objects were looked up: undeclared ones were never seen.
    report = drift_report() | {"changed": [], "missing": [], "unmanaged": []}
    text = drift_markdown(report | {"unmanaged_checked": False, "notes": ["lookup mode"]})
    assert "matches the spec" not in text
    assert "No drift among the declared objects (120 objects checked)." in text
    assert "> - lookup mode\n> - Unmanaged objects not checked: the target cannot" in text
    report = drift_report() | {"unmanaged": [], "unmanaged_checked": False}
    assert "**2 changed · 1 missing · unmanaged not checked · 120 checked**" in drift_markdown(
        report
    )


def test_drift_names_the_deprovisions_apply_would_make() -> None:
    zed = {"kind": "user", "key": "zed@example.com", "target_id": "u-zed", "attributes": []}
    report = drift_report() | {"changed": [zed | {"action": "delete"}]}
    text = drift_markdown(report)
    assert "- delete user zed@example.com (id u-zed)\n" in text
    assert "> - **delete** user `zed@example.com` (id `u-zed`)" in text
    assert "changed user zed@example.com" not in text


def test_secret_never_reaches_the_comment() -> None:
    text = plan_markdown(small_plan())
    assert "correct horse" not in text
    assert "password            (sensitive)" in text


def test_truncates_the_middle_of_5000_changes() -> None:
    plan = many_changes_plan(5_000)
    text = plan_markdown(plan)
    assert len(text) <= BUDGET < GITHUB_LIMIT
    every = [line for change in plan["changes"] for line in change_lines(change)]
    body = text.split("```diff\n", 1)[1].split("\n```\n", 1)[0].split("\n")
    notes = NOTE.findall(text)
    assert len(notes) == 1
    cut = body.index(next(line for line in body if NOTE.match(line)))
    head, tail = body[:cut], body[cut + 1 :]
    # The head and tail are the real first and last lines, and the note counts the rest.
    assert head == every[: len(head)]
    assert tail == every[len(every) - len(tail) :]
    assert int(notes[0].replace(",", "")) == len(every) - len(head) - len(tail)
    assert len(head) > 500 and len(tail) > 500
    # Both cuts fall between changes, so no change is shown half.
    assert every[len(head)].startswith("+ create user ")
    assert tail[0].startswith(("+ create user ", "- disable user "))
    assert text.endswith("\n```\n\n</details>\n")
    assert text.count("<details>") == text.count("</details>") == 1
    assert text.count("```") == 2
    # Destructive changes stay above the fold, capped, and the summary line is whole.
    assert "**4,960 to create · 0 to update · 40 to disable · 0 to delete**" in text
    assert "**40 destructive changes:**" in text
    assert "> - … and 10 more (see the job log)" in text
    assert "<summary>Full plan: 5,000 changes (middle omitted, see the job log)</summary>" in text


def test_one_enormous_change_is_cut_inside_it() -> None:
    members = tuple(Member(f"m{i:06d}@example.com", f"u-{i}") for i in range(20_000))
    change = Change(
        Kind.GROUP, "Everyone", Action.UPDATE, "members differ", "g-1", members_add=members
    )
    text = plan_markdown(Plan("prod", "https://x.example/scim/v2", (change,)).to_json())
    assert len(text) <= BUDGET
    assert "~ update group Everyone (id g-1)\n+     member m000000@example.com\n" in text
    assert "+     member m019999@example.com\n```\n\n</details>\n" in text
    assert len(NOTE.findall(text)) == 1


def test_drift_truncation_points_at_the_job_log() -> None:
    unmanaged = [{"kind": "user", "id": f"u-{i}", "name": f"x{i}"} for i in range(10_000)]
    text = drift_markdown(drift_report() | {"unmanaged": unmanaged})
    assert len(text) <= BUDGET
    assert "lines omitted (the full report is in the job log) …\n" in text
    assert text.endswith("\n```\n\n</details>\n")


def test_backticks_in_values_lengthen_the_fence() -> None:
    change = Change(
        Kind.USER,
        "a`b",
        Action.UPDATE,
        "attributes differ",
        "u-1",
        attributes=(AttrChange("title", "x", "```"),),
    )
    text = plan_markdown(Plan("t", "https://x.example/scim/v2", (change,)).to_json())
    assert "\n````diff\n~ update user a`b (id u-1)\n" in text
    assert text.endswith('~     title  "x" → "```"\n````\n\n</details>\n')


def test_prose_is_inert_and_the_marker_cannot_end_early() -> None:
    plan = Plan(
        "a --> b",
        "https://x.example/scim/v2",
        (),
        errors=(ObjectError(Kind.USER, "`x`", "match", "<img src=x> *bold* [link](y)\nnext"),),
    ).to_json()
    text = plan_markdown(plan)
    assert text.startswith("<!-- scimrec:plan target=a_--__b -->\n### scimrec plan for `a --> b`")
    assert (
        "> - **Error** in user `` `x` `` (match): &lt;img src=x&gt; \\*bold\\* \\[link\\](y) next\n"
    ) in text


@pytest.mark.parametrize(
    ("said", "shown"),
    [
        ("ids u1, u9 @acme/security-team", "ids u1, u9 @\u200dacme/security-team"),
        ("see #1, GH-2 and acme/infra#3", "see #\u200d1, GH\u200d-2 and acme/infra#\u200d3"),
        ("https://evil.example/approve", "https:\u200d//evil.example/approve"),
        ("www.evil.example", "www\u200d.evil.example"),
        ("alice@example.com", "alice@example.com"),  # an address pings no one
        ("C\u202etes \x1b]52;c;eA==\x07", "C\\\\u202etes \\\\x1b\\]52;c;eA==\\\\x07"),
    ],
)
def test_target_text_in_a_comment_cannot_ping_reference_or_link(said: str, shown: str) -> None:
    # GitHub finds mentions, references and links in the rendered text, past a backslash.
    error = ObjectError(Kind.USER, "alice@example.com", "match", said)
    text = plan_markdown(Plan("t", "https://x.example/scim/v2", (), errors=(error,)).to_json())
    assert f"> - **Error** in user `alice@example.com` (match): {shown}\n" in text


def test_errors_without_changes_show_no_empty_diff() -> None:
    error = ObjectError(Kind.GROUP, "Ops", "match", "2 target groups match displayName 'Ops'")
    plan = Plan("t", "https://x.example/scim/v2", (), errors=(error,), noop=3).to_json()
    assert plan_markdown(plan) == (
        "<!-- scimrec:plan target=t -->\n"
        "### scimrec plan for `t` (`https://x.example/scim/v2`)\n"
        "\n"
        "**0 to create · 0 to update · 0 to disable · 0 to delete · 1 error**\n"
        "\n"
        "> [!CAUTION]\n"
        "> - **Error** in group `Ops` (match): 2 target groups match displayName 'Ops'\n"
    )


def test_a_key_with_line_breaks_stays_on_one_diff_line() -> None:
    change = Change(Kind.GROUP, "Two\nLines", Action.DELETE, "state: absent", "g-2")
    text = plan_markdown(Plan("t", "https://x.example/scim/v2", (change,)).to_json())
    # The line break is shown escaped: a name's hidden characters are made visible.
    assert '\n- delete group "Two\\nLines" (id g-2)\n```\n' in text
    assert '> - **delete** group `"Two\\nLines"` (id `g-2`) · state: absent\n' in text


def test_a_secret_is_scrubbed_before_the_comment_cuts_or_escapes_it() -> None:
    from reconciler.scim.redact import forget_secrets, register_secret

    secret = "sec_ret~" + "q" * 300  # markdown escapes _ and ~; TEXT_CAP cuts it
    register_secret(secret)
    try:
        error = ObjectError(Kind.USER, "a@example.com", "match", "x" * 100 + secret)
        plan = Plan("t", "https://x.example/scim/v2", (), errors=(error,)).to_json()
        text = plan_markdown(plan)
    finally:
        forget_secrets()
    assert "x" * 100 + "\\*\\*\\*" in text
    assert "q" * 16 not in text


def test_a_removed_nested_group_is_named_as_a_group() -> None:
    # A user "admins" and a nested group "admins" leaving Outer are two members.
    removed = (Member("admins", "1"), Member("admins", "1", "Group"))
    change = Change(
        Kind.GROUP, "Outer", Action.UPDATE, "members differ", "2", members_remove=removed
    )
    text = plan_markdown(Plan("t", "https://x.example/scim/v2", (change,)).to_json())
    assert "> - **remove 2 members** from group `Outer`: `admins`, group `admins`\n" in text


def test_a_guard_an_allowance_passed_is_an_alert_beside_the_guards() -> None:
    change = Change(Kind.USER, "a@example.com", Action.DELETE, "state: absent", "u-a")
    passed = (
        "1 deprovision (1 user delete) in one run, more than guards.max_deletes (0); "
        "allowed by --allow-deletes 1",
    )
    plan = Plan("t", "https://x.example/scim/v2", (change,), guards_passed=passed)
    shown = passed[0].replace("_", "\\_")  # inert Markdown
    assert f"> - **Guard passed:** {shown}\n" in plan_markdown(plan.to_json())
