"""The audit trail on real servers: each write's log event and `--audit-log` line say exactly
what it changed (the manager's id, the members added and removed), and how it ended."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.core.model import ENTERPRISE_URN
from tests.conftest import Target, write_spec
from tests.e2e.test_lifecycle import RICH, assert_converged, by_name, listing, person, run


def audit_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def write_events(err: str) -> list[dict[str, Any]]:
    found = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    return [e for e in found if e["event"] == "write"]


def test_audit_log_and_write_events_say_what_changed(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rich = target.flavour in RICH  # django-scim2 keeps no enterprise extension
    manager = {"enterprise": {"manager": "bob@example.com"}} if rich else {}
    users = [
        person(target, "alice@example.com", "Alice", "Wong", **manager),
        person(target, "bob@example.com", "Bob", "Martin"),
        person(target, "carol@example.com", "Carol", "Diaz"),
    ]
    groups = [{"displayName": "Eng", "members": ["alice@example.com", "bob@example.com"]}]
    specs = write_spec(tmp_path / "specs", target, users, groups)
    audit = tmp_path / "audit.jsonl"
    args = ["--target", "e2e", "--auto-approve", "--audit-log", str(audit)]

    code, out, err = run(capsys, "apply", str(specs), *args)
    assert code == 0, out + err
    ids = {k: u["id"] for k, u in by_name(target).items()}
    first = audit_lines(audit)
    # Three users and a group; django-scim2 ignores members on POST, so they follow in a PATCH.
    assert len(first) == len(write_events(err)) == (4 if rich else 5)
    assert {(a["run_id"], a["target"], a["outcome"]) for a in first} == {
        (write_events(err)[0]["run_id"], "e2e", "ok")
    }
    if rich:
        [alice] = [a for a in first if a["key"] == "alice@example.com"]
        reference = {"path": "enterprise.manager", "before": None}
        reference |= {"after": ids["bob@example.com"], "ref": "bob@example.com"}
        assert reference in alice["attributes"]
        stored = by_name(target)["alice@example.com"][ENTERPRISE_URN]["manager"]["value"]
        assert stored == ids["bob@example.com"]
    created = next(a for a in first if a["key"] == "Eng")
    assert (created["method"], created["members_removed"]) == ("POST", [])
    assert sorted(m["key"] for m in created["members_added"]) == [
        "alice@example.com",
        "bob@example.com",
    ]

    groups[0]["members"] = ["alice@example.com", "carol@example.com"]
    write_spec(tmp_path / "specs", target, users, groups)
    code, out, err = run(capsys, "apply", str(specs), *args)
    assert code == 0, out + err
    second = audit_lines(audit)[len(first) :]  # appended
    assert len({a["run_id"] for a in second}) == 1
    assert second[0]["run_id"] != first[0]["run_id"]
    done = [a for a in second if a["outcome"] == "ok"]
    added = [m for a in done for m in a["members_added"]]
    removed = [m for a in done for m in a["members_removed"]]
    assert added == [{"id": ids["carol@example.com"], "key": "carol@example.com"}]
    assert removed == [{"id": ids["bob@example.com"], "key": "bob@example.com"}]
    # The log's write events say the same, refusals included (django-scim2 refuses the
    # RFC's removal path, and scimrec then sends Entra's value list).
    events = write_events(err)
    assert [(e["outcome"], e["status"]) for e in events] == [
        (a["outcome"], a["status"]) for a in second
    ]
    if not rich:
        assert [a["outcome"] for a in second].count("failed") == 1
    [group] = listing(target, "/Groups")
    assert {m["value"] for m in group["members"]} == {
        ids["alice@example.com"],
        ids["carol@example.com"],
    }
    assert_converged(capsys, specs)


def test_an_audit_log_that_cannot_be_opened_stops_apply_before_it_starts(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    specs = write_spec(tmp_path / "specs", target, [{"userName": "a@example.com"}])
    missing = tmp_path / "no" / "such" / "audit.jsonl"
    code, out, err = run(
        capsys,
        "apply",
        str(specs),
        "--target",
        "e2e",
        "--auto-approve",
        "--audit-log",
        str(missing),
    )
    assert (code, out) == (1, "")
    assert err == f"Error: cannot open the audit log {missing}: No such file or directory\n"
    assert listing(target, "/Users") == []
