"""The audit trail: each write says exactly what it changed (scim/audit.py)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
import pytest
import structlog

from reconciler.core.changes import Action, Change, Member
from reconciler.core.diff import AttrChange
from reconciler.core.model import Json, Kind
from reconciler.scim.audit import AuditLog, attributes_written, member_changes, write_record
from reconciler.scim.member_ops import add_members, remove_members
from reconciler.scim.redact import register_secret
from tests.fakescim import FakeScim
from tests.scim.test_bulk import apply
from tests.scim.test_faults import user, write_spec


@pytest.mark.parametrize(
    ("operations", "added", "removed"),
    [
        pytest.param(add_members(["1", "2"]), ["1", "2"], [], id="add"),
        pytest.param(remove_members(["3", 'a"b'], "filter"), [], ["3", 'a"b'], id="filter"),
        pytest.param(remove_members(["4"], "value"), [], ["4"], id="value-list"),
        pytest.param(
            [{"op": "replace", "path": "displayName", "value": "x"}], [], [], id="not-members"
        ),
    ],
)
def test_members_are_read_from_the_operations_sent(
    operations: list[dict[str, Json]], added: list[str], removed: list[str]
) -> None:
    assert member_changes(operations) == (added, removed)


def test_a_reference_records_the_id_it_set_and_a_password_is_masked() -> None:
    attributes = (
        AttrChange("enterprise.manager", None, None, ref="bob@example.com"),
        AttrChange("password", None, "hunter2-secret"),
        AttrChange("title", "A", "B"),
    )
    assert attributes_written(attributes, {"bob@example.com": "u-bob"}) == [
        {"path": "enterprise.manager", "before": None, "after": "u-bob", "ref": "bob@example.com"},
        {"path": "password", "before": None, "after": "(sensitive)"},
        {"path": "title", "before": "A", "after": "B"},
    ]


def test_a_membership_write_names_who_was_added_and_removed() -> None:
    change = Change(
        Kind.GROUP,
        "Eng",
        Action.UPDATE,
        "members differ",
        "g1",
        members_add=(Member("carol@example.com", "u3"),),
        members_remove=(Member("bob@example.com", "u2"),),
    )
    ops = add_members(["u3", "u9"]) + remove_members(["u2"], "filter")
    record = write_record(change, "PATCH", "/Groups/g1", 200, None, (), ops, {"dave": "u9"})
    assert record == {
        "kind": "group",
        "key": "Eng",
        "action": "update",
        "method": "PATCH",
        "path": "/Groups/g1",
        "status": 200,
        "outcome": "ok",
        "attributes": [],
        "members_added": [
            {"id": "u3", "key": "carol@example.com"},
            {"id": "u9", "key": "dave"},  # created in this run
        ],
        "members_removed": [{"id": "u2", "key": "bob@example.com"}],
    }


def test_the_audit_log_appends_redacted_lines_with_the_run_context() -> None:
    register_secret("tok-audit-never-print-me")
    lines: list[str] = []
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(run_id="r1", target="prod")
    audit = AuditLog(lines.append)
    audit.append({"key": "a", "error": "echoed tok-audit-never-print-me", "token": "x"})
    audit.append({"key": "b"})
    assert all(line.endswith("\n") and line.count("\n") == 1 for line in lines)
    first, second = (json.loads(line) for line in lines)
    assert first.pop("time").endswith("+00:00")
    assert first == {
        "run_id": "r1",
        "target": "prod",
        "key": "a",
        "error": "echoed ***",
        "token": "***",
    }
    assert second["key"] == "b"


def test_members_are_named_by_kind_and_id(tmp_path: Path, token: str) -> None:
    # Ids counted per kind: Eng gains user ben "1" and nested group Inner "1" in two
    # writes, and each is named as what it is.
    fake = FakeScim(token=token)
    fake.ids_per_kind = True
    fake.add_user("ben@example.com")
    fake.add_group("Inner")
    fake.add_group("Eng")
    groups = [
        {"displayName": "Eng", "members": ["ben@example.com"], "groups": ["Inner"]},
        {"displayName": "Inner", "members": []},
    ]
    specs = write_spec(tmp_path, [user("ben@example.com")], groups, nested_groups="native")
    lines: list[str] = []
    result = apply(specs, fake, audit=lines)
    assert result.failed == ()
    added = [r["members_added"] for r in map(json.loads, lines) if r.get("members_added")]
    assert added == [[{"id": "1", "key": "ben@example.com"}], [{"id": "1", "key": "Inner"}]]


def test_a_delete_resent_after_a_lost_answer_is_recorded_twice_and_done(
    tmp_path: Path, token: str
) -> None:
    """The target carried out the DELETE, its answer was lost, and the retry got 404: both
    requests are on record, the first as resent, the one the delete went by as done (the
    account read back gone), as apply counts it; never a failed 404."""
    fake = FakeScim(token=token)
    fake.add_user("alice@example.com")
    gone = fake.add_user("old@example.com")
    fake.fail("DELETE", "/Users/*", after=True, exc=httpx2.ReadError("connection reset by peer"))
    users = [user("alice@example.com"), user("old@example.com", state="absent")]
    specs = write_spec(tmp_path, users, deprovision="delete")
    lines: list[str] = []
    result = apply(specs, fake, audit=lines)
    assert result.failed == () and result.counts()["delete"] == 1
    assert gone not in fake.users and fake.count("DELETE", "/Users/*") == 2
    records = [(r["method"], r["path"], r["status"], r["outcome"]) for r in map(json.loads, lines)]
    path = f"/Users/{gone}"
    assert records == [("DELETE", path, 0, "resent"), ("DELETE", path, 404, "ok")]
    assert "connection reset by peer" in json.loads(lines[0])["error"]


def test_a_delete_answered_404_but_still_held_is_recorded_failed(
    tmp_path: Path, token: str
) -> None:
    """A 404 from a gateway (the account still served) is no delete: failed on record too."""
    fake = FakeScim(token=token)
    fake.add_user("alice@example.com")
    held = fake.add_user("old@example.com")
    fake.fail("DELETE", "/Users/*", status=404, times=10)
    users = [user("alice@example.com"), user("old@example.com", state="absent")]
    specs = write_spec(tmp_path, users, deprovision="delete")
    lines: list[str] = []
    result = apply(specs, fake, audit=lines)
    assert [o.key for o in result.failed] == ["old@example.com"] and held in fake.users
    (record,) = map(json.loads, lines)
    assert record["outcome"] == "failed" and "still holds the user" in record["error"]


def test_a_delete_answered_204_but_still_held_is_recorded_failed(
    tmp_path: Path, token: str
) -> None:
    """Verified before it is recorded: a DELETE answered 204 whose account is still served
    is failed on record, with the answer's status, as apply counts it."""
    fake = FakeScim(token=token)
    fake.add_user("alice@example.com")
    held = fake.add_user("old@example.com")
    fake.fail("DELETE", "/Users/*", status=204, times=10)
    users = [user("alice@example.com"), user("old@example.com", state="absent")]
    specs = write_spec(tmp_path, users, deprovision="delete")
    lines: list[str] = []
    result = apply(specs, fake, audit=lines)
    assert [o.key for o in result.failed] == ["old@example.com"] and held in fake.users
    (record,) = map(json.loads, lines)
    assert (record["method"], record["status"], record["outcome"]) == ("DELETE", 204, "failed")
    assert "still holds the user" in record["error"]


@pytest.mark.parametrize("quirks", [{}, {"patch": "never"}], ids=["patch", "put"])
def test_a_disable_the_target_ignores_is_recorded_failed(
    tmp_path: Path, token: str, quirks: dict[str, str]
) -> None:
    """A disable answered success while the account stays active is failed on record, and
    so is each second try of it (a PUT after an ignored PATCH): none of them disabled it."""
    fake = FakeScim(token=token)
    fake.add_user("alice@example.com", active=True)
    fake.add_user("mallory@example.com", active=True)
    fake.ignores = {"active"}
    users = [user("alice@example.com"), user("mallory@example.com", state="absent")]
    specs = write_spec(tmp_path, users, deprovision="disable", quirks=quirks)
    lines: list[str] = []
    result = apply(specs, fake, audit=lines)
    assert [o.key for o in result.failed] == ["mallory@example.com"]
    records = list(map(json.loads, lines))
    assert records and all(r["key"] == "mallory@example.com" for r in records)
    assert [r["outcome"] for r in records] == ["failed"] * len(records)
    assert all("still shows the account active" in r["error"] for r in records)
    # In the order sent: the PATCH's record is made once its second try is judged too.
    assert [r["method"] for r in records] == (["PUT"] if quirks else ["PATCH", "PUT"])
