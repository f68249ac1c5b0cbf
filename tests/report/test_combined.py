"""Reports of several targets: the JSON form, and one comment that fits GitHub's limit."""

from __future__ import annotations

from reconciler.core.model import Kind
from reconciler.core.plan import Action, Change, Plan
from reconciler.report.combined import combine, combined_markdown, combined_text
from reconciler.report.markdown import BUDGET


def plan(name: str, creates: int) -> dict[str, object]:
    changes = tuple(
        Change(Kind.USER, f"user{i:05d}@example.com", Action.CREATE, "not found")
        for i in range(creates)
    )
    return Plan(name, f"https://{name}.example/scim/v2", changes, noop=2).to_json()


def test_json_sums_the_targets_and_keeps_each_report_whole() -> None:
    hr, crm = plan("hr", 2), plan("crm", 1)
    data = combine("plan", {"hr": hr, "crm": crm, "erp": "cannot connect"})
    assert data == {
        "format_version": 1,
        "report": "plan",
        "targets": {"hr": hr, "crm": crm, "erp": {"error": "cannot connect"}},
        "summary": {
            "create": 3,
            "update": 0,
            "disable": 0,
            "delete": 0,
            "noop": 4,
            "error": 0,
            "targets": 3,
            "failed": 1,
        },
    }
    text = combined_text(data)
    assert 'Target "erp": Error: cannot connect\n' in text
    assert text.endswith(
        "All targets (3 targets; 1 failed): 3 to create, 0 to update, 0 to disable, 0 to delete.\n"
    )


def test_drift_is_drift_when_any_target_drifted() -> None:
    quiet = {"summary": {"checked": 1, "in_sync": 1}, "drifted": False}
    loud = {"summary": {"checked": 2, "changed": 1}, "drifted": True}
    assert combine("drift", {"a": quiet})["drifted"] is False
    assert combine("drift", {"a": quiet, "b": loud})["drifted"] is True
    assert combine("drift", {"a": quiet, "b": "unreachable"})["drifted"] is False


def test_one_comment_for_many_large_targets_fits_the_budget() -> None:
    names = [f"app{i}" for i in range(6)]
    text = combined_markdown(combine("plan", {n: plan(n, 3_000) for n in names}))
    assert len(text) <= BUDGET
    assert text.count("<!-- scimrec:") == 1
    for name in names:
        assert f"### scimrec plan for `{name}` (" in text
        assert f"| `{name}` | 3,000 | 0 | 0 | 0 | 0 |" in text
    # Each section is cut on its own, and keeps its head and tail.
    assert text.count("lines omitted") == len(names)
    assert text.count("user02999@example.com") == len(names)
