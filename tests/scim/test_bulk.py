"""Bulk creates under fault injection (RFC 7644 §3.7, apply/bulk.py): one failed operation
fails one object, an unknown outcome never duplicates, a refused Bulk falls back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
import stamina

from reconciler.core.plan import Action
from reconciler.run import prepare
from reconciler.scim.apply.runner import Applier, ApplyResult
from reconciler.scim.audit import AuditLog
from reconciler.scim.bulk_requests import MIN_CREATES
from tests.bulkscim import BulkScim
from tests.fakescim import FakeScim
from tests.scim.test_faults import replan, user, write_spec

N = MIN_CREATES + 2


@pytest.fixture(autouse=True)
def _fast() -> Iterator[None]:
    with stamina.set_testing(True, attempts=3):
        yield


def bulk_spec(root: Path, users: list[dict[str, Any]], **target: Any) -> Path:
    """A spec whose target asks for Bulk (`quirks: {bulk: use}`) unless told otherwise."""
    return write_spec(root, users, **{"quirks": {"bulk": "use"}, **target})


def people(n: int = N, *, managers: bool = True) -> list[dict[str, Any]]:
    """u0 manages u1 and u2, u1 manages u3 and u4, ...: a tree, listed reports first."""
    out = []
    for i in reversed(range(n)):
        extra: dict[str, Any] = {"displayName": f"User {i}"}
        if managers and i:
            extra["enterprise"] = {"manager": f"u{(i - 1) // 2}@example.com"}
        out.append(user(f"u{i}@example.com", **extra))
    return out


def apply(
    specs: Path, fake: FakeScim, *, before: Any = None, audit: list[str] | None = None
) -> ApplyResult:
    prepared = prepare(specs, "fake", transport=fake.transport)
    if before is not None:
        before()  # what changes on the target between the plan and the apply
    log = AuditLog(audit.append) if audit is not None else None
    try:
        applier = Applier(prepared.client, prepared.target, prepared.caps, prepared.log, audit=log)
        return applier.run(prepared.plan)
    finally:
        prepared.client.close()


def converged(specs: Path, fake: FakeScim) -> bool:
    plan = replan(specs, fake).plan
    return not plan.has_changes and not plan.errors


def names(fake: BulkScim) -> list[str]:
    return sorted(str(u["userName"]) for u in fake.users.values())


def manager_of(fake: BulkScim, name: str) -> str | None:
    (found,) = fake.user_named(name)
    manager = found.get("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", {})
    value = manager.get("manager", {}).get("value")
    return None if value is None else str(value)


def test_creates_go_in_one_bulk_request_with_bulk_id_references(tmp_path: Path, token: str) -> None:
    fake = BulkScim(token=token)
    specs = bulk_spec(tmp_path, people())
    result = apply(specs, fake)
    assert [(o.action, o.ok) for o in result.outcomes] == [(Action.CREATE, True)] * N
    assert fake.count("POST", "/Users") == 0
    (operations,) = fake.bulk_requests()
    # Managers before their reports, each report naming its manager by bulkId.
    assert [op["data"]["userName"] for op in operations[:3]] == [
        "u0@example.com", "u1@example.com", "u2@example.com"
    ]  # fmt: skip
    report = operations[1]["data"]["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]
    assert report["manager"] == {"value": f"bulkId:{operations[0]['bulkId']}"}
    u0 = fake.user_named("u0@example.com")[0]["id"]
    assert manager_of(fake, "u1@example.com") == u0
    assert {o.target_id for o in result.outcomes} == {u["id"] for u in fake.users.values()}
    assert converged(specs, fake)


def test_max_operations_splits_and_later_requests_use_real_ids(tmp_path: Path, token: str) -> None:
    fake = BulkScim(token=token, max_operations=5)
    specs = bulk_spec(tmp_path, people())
    result = apply(specs, fake)
    assert not result.failed
    sent = fake.bulk_requests()
    assert [len(ops) for ops in sent] == [5, 5, N - 10]
    # u5's manager u2 was made by the first request: the second names it by its id.
    (u5,) = [op for op in sent[1] if op["data"]["userName"] == "u5@example.com"]
    manager = u5["data"]["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"]
    assert manager == {"value": fake.user_named("u2@example.com")[0]["id"]}
    assert converged(specs, fake)


def test_a_failed_operation_fails_its_object_only(tmp_path: Path, token: str) -> None:
    fake = BulkScim(token=token)
    fake.op_status["u2@example.com"] = 400
    specs = bulk_spec(tmp_path, people(managers=False))
    result = apply(specs, fake)
    (failed,) = result.failed
    assert failed.key == "u2@example.com"
    assert failed.message.startswith("POST /Users (in /Bulk) answered 400: operation user-")
    assert len(result.outcomes) == N and len(fake.users) == N - 1
    assert "u2@example.com" not in names(fake)


def test_a_report_of_a_failed_manager_is_created_alone(tmp_path: Path, token: str) -> None:
    """The reports' operations failed for want of their manager (and theirs for want of
    them): a 4xx did nothing, so each is sent again per object, and a manager that does not
    exist is then reported missing, as without Bulk."""
    fake = BulkScim(token=token)
    fake.op_status["u0@example.com"] = 400  # the manager of u1 and u2, who manage the rest
    specs = bulk_spec(tmp_path, people())
    result = apply(specs, fake)
    failed = sorted(o.key for o in result.failed)
    assert failed == ["u0@example.com", "u1@example.com", "u2@example.com"]
    assert names(fake) == sorted(f"u{i}@example.com" for i in range(1, N))
    assert fake.count("POST", "/Users") == N - 1
    u1 = fake.user_named("u1@example.com")[0]["id"]
    assert manager_of(fake, "u3@example.com") == u1  # set once u1 existed
    assert manager_of(fake, "u1@example.com") is None
    messages = {o.key: o.message for o in result.failed}
    assert "manager u0@example.com was not created" in messages["u1@example.com"]


def test_a_report_sent_before_its_manager_exists_gets_it_set_after(
    tmp_path: Path, token: str
) -> None:
    """u0 alone is over the payload limit, so it goes per object, after the Bulk requests:
    its reports u1 and u2 went in Bulk without a manager, and the follow-up sets it."""
    fake = BulkScim(token=token)
    staff = people()
    (u0,) = [u for u in staff if u["userName"] == "u0@example.com"]
    u0["displayName"] = "x" * 1_000_000
    specs = bulk_spec(tmp_path, staff)
    result = apply(specs, fake)
    assert not result.failed
    sent = [op["data"]["userName"] for ops in fake.bulk_requests() for op in ops]
    assert "u0@example.com" not in sent and "u1@example.com" in sent
    u0_id = fake.user_named("u0@example.com")[0]["id"]
    assert manager_of(fake, "u1@example.com") == u0_id
    assert manager_of(fake, "u2@example.com") == u0_id
    assert converged(specs, fake)


def test_a_conflict_is_adopted_as_without_bulk(tmp_path: Path, token: str) -> None:
    fake = BulkScim(token=token)
    specs = bulk_spec(tmp_path, people(managers=False))
    result = apply(specs, fake, before=lambda: fake.add_user("u4@example.com"))
    assert not result.failed
    assert names(fake) == sorted(f"u{i}@example.com" for i in range(N))
    adopted = {o.key: o.target_id for o in result.outcomes}["u4@example.com"]
    assert adopted == fake.user_named("u4@example.com")[0]["id"]
    assert converged(specs, fake)


def test_a_lost_bulk_answer_adopts_instead_of_creating_again(tmp_path: Path, token: str) -> None:
    fake = BulkScim(token=token)
    fake.fail("POST", "/Bulk", status=502, after=True)  # done, but the answer is lost
    specs = bulk_spec(tmp_path, people())
    result = apply(specs, fake)
    assert not result.failed
    assert names(fake) == sorted(f"u{i}@example.com" for i in range(N))  # once each
    assert fake.count("POST", "/Users") == 0 and fake.count("POST", "/Bulk") == 1
    assert converged(specs, fake)


def test_a_bulk_that_did_nothing_is_sent_per_object_after_looking(
    tmp_path: Path, token: str
) -> None:
    fake = BulkScim(token=token)
    fake.fail("POST", "/Bulk", status=504)  # not done; the outcome is unknown to scimrec
    specs = bulk_spec(tmp_path, people())
    result = apply(specs, fake)
    assert not result.failed
    assert names(fake) == sorted(f"u{i}@example.com" for i in range(N))
    assert fake.count("POST", "/Users") == N
    looked = [s for s in fake.requests if s.method == "GET" and "filter" in s.params]
    assert len(looked) >= N  # each one looked up before it was sent again
    assert converged(specs, fake)


@pytest.mark.parametrize(
    "fault",
    [
        # A gateway that gave up waiting: a page, no SCIM error, though the service ran it.
        {"status": 503, "text": "<html>503 Service Unavailable</html>"},
        {"status": 503},
        {"status": 502},
        {"status": 504},
        {"exc": httpx2.ReadError("connection reset by peer")},
        {"exc": httpx2.ReadTimeout("read timed out")},
    ],
    ids=["503-page", "503-empty", "502", "504", "reset", "read-timeout"],
)
def test_a_bulk_done_but_unanswered_is_looked_up_never_resent(
    tmp_path: Path, token: str, fault: dict[str, Any]
) -> None:
    """Whatever hides the answer of a Bulk request the target carried out, nothing is
    created twice, even on a target that takes a second account of one userName."""
    fake = BulkScim(token=token)
    fake.unique_names = False
    fake.fail("POST", "/Bulk", after=True, **fault)
    specs = bulk_spec(tmp_path, people())
    result = apply(specs, fake)
    assert not result.failed
    assert names(fake) == sorted(f"u{i}@example.com" for i in range(N))  # once each
    assert fake.count("POST", "/Bulk") == 1 and fake.count("POST", "/Users") == 0
    assert converged(specs, fake)


@pytest.mark.parametrize("done", [True, False], ids=["done", "not-done"])
def test_an_operation_with_no_result_is_never_assumed_created(
    tmp_path: Path, token: str, done: bool
) -> None:
    fake = BulkScim(token=token)
    (fake.omit_result if done else fake.skip).add("u2@example.com")
    specs = bulk_spec(tmp_path, people(managers=False))
    result = apply(specs, fake)
    assert not result.failed
    assert names(fake) == sorted(f"u{i}@example.com" for i in range(N))  # never twice
    assert fake.count("POST", "/Users") == (0 if done else 1)
    assert converged(specs, fake)


@pytest.mark.parametrize("status", [404, 405, 501, 403, 400])
def test_a_refused_bulk_falls_back_for_the_run(tmp_path: Path, token: str, status: int) -> None:
    fake = BulkScim(token=token, max_operations=5)
    fake.fail("POST", "/Bulk", status=status, times=10)
    specs = bulk_spec(tmp_path, people())
    result = apply(specs, fake)
    assert not result.failed
    assert fake.count("POST", "/Bulk") == 1  # remembered: not tried again
    assert fake.count("POST", "/Users") == N
    assert converged(specs, fake)


def test_too_large_a_request_is_halved(tmp_path: Path, token: str) -> None:
    fake = BulkScim(token=token)
    fake.fail("POST", "/Bulk", status=413)
    specs = bulk_spec(tmp_path, people())
    result = apply(specs, fake)
    assert not result.failed
    sizes = [len(ops) for ops in fake.bulk_requests()]
    assert sizes[0] == N and max(sizes[1:]) <= N // 2 and sum(sizes[1:]) == N
    assert fake.count("POST", "/Users") == 0


def test_answers_with_the_resource_are_verified_without_reading(tmp_path: Path, token: str) -> None:
    fake = BulkScim(token=token)
    fake.with_resource = True
    fake.drops.add("title")  # answered success, not kept
    specs = bulk_spec(tmp_path, [dict(u, title="Eng") for u in people()])
    result = apply(specs, fake)
    assert not result.failed
    assert fake.count("GET", "/Users/*") == 0
    assert {(k.value, key) for k, key, paths in result.not_kept if paths == ("title",)} == {
        ("user", f"u{i}@example.com") for i in range(N)
    }


def test_answers_without_the_resource_are_verified_from_the_listing(
    tmp_path: Path, token: str
) -> None:
    fake = BulkScim(token=token)
    fake.drops.add("title")
    specs = bulk_spec(tmp_path, [dict(u, title="Eng") for u in people()])
    result = apply(specs, fake)
    assert len(result.not_kept) == N
    assert fake.count("GET", "/Users/*") == 0  # one listing, not a GET per user


def test_each_operation_is_in_the_audit_log(tmp_path: Path, token: str) -> None:
    fake = BulkScim(token=token)
    fake.op_status["u2@example.com"] = 400
    audit: list[str] = []
    apply(bulk_spec(tmp_path, people(managers=False)), fake, audit=audit)
    records = [json.loads(line) for line in audit]
    assert len(records) == N
    assert {r["via"] for r in records} == {"/Bulk"}
    assert {(r["method"], r["path"]) for r in records} == {("POST", "/Users")}
    (failed,) = [r for r in records if r["outcome"] == "failed"]
    assert failed["key"] == "u2@example.com" and failed["status"] == 400
    assert "(in /Bulk) answered 400: operation user-" in failed["error"]


def test_an_operation_not_processed_is_audited_as_such(tmp_path: Path, token: str) -> None:
    # A 429 for one operation did nothing: its record says so, and its own create follows.
    fake = BulkScim(token=token)
    fake.op_status["u2@example.com"] = 429
    audit: list[str] = []
    result = apply(bulk_spec(tmp_path, people(managers=False)), fake, audit=audit)
    assert not result.failed
    records = [json.loads(line) for line in audit]
    [bulk] = [r for r in records if r["key"] == "u2@example.com" and r.get("via") == "/Bulk"]
    assert (bulk["status"], bulk["error"]) == (429, "not processed: sent per object")
    [single] = [r for r in records if r["key"] == "u2@example.com" and "via" not in r]
    assert single["outcome"] == "ok"


@pytest.mark.parametrize(
    ("setting", "users"),
    [
        ({"quirks": {"bulk": "never"}}, N),
        ({"quirks": {}}, N),
        ({}, MIN_CREATES - 1),
    ],
    ids=["never", "by-default", "too-few"],
)
def test_no_bulk_where_turned_off_or_it_does_not_pay(
    tmp_path: Path, token: str, setting: dict[str, Any], users: int
) -> None:
    fake = BulkScim(token=token)
    result = apply(bulk_spec(tmp_path, people(users), **setting), fake)
    assert not result.failed
    assert fake.count("POST", "/Bulk") == 0
    assert fake.count("POST", "/Users") == users


def test_no_bulk_after_a_short_read(tmp_path: Path, token: str) -> None:
    """A listing that hid objects: every create looks first, one by one."""
    fake = BulkScim(token=token)
    fake.add_user("zz@example.com")
    # A listed user without an id cannot be read: the read is incomplete.
    fake.users["no-id"] = {"schemas": [], "userName": "noid@example.com"}
    # And it hides one of the declared users, which is adopted rather than created again.
    fake.hidden.add(fake.add_user("u3@example.com"))
    result = apply(bulk_spec(tmp_path, people()), fake)
    assert not result.failed
    assert fake.count("POST", "/Bulk") == 0
    assert fake.count("POST", "/Users") == N - 1
    assert len(fake.user_named("u3@example.com")) == 1


@pytest.mark.usefixtures("ctrl_c_raises")
def test_ctrl_c_during_a_bulk_request_waits_for_it_and_sends_nothing_more(
    tmp_path: Path, token: str
) -> None:
    """As for single writes, the request in flight is answered: its creates stand and are
    audited, as are the ones answered before, and no other request is sent."""
    fake = BulkScim(token=token, max_operations=5)
    fake.ctrl_c = lambda seen: len(fake.bulk_requests()) == 2
    specs = bulk_spec(tmp_path, people())
    audit: list[str] = []
    result = apply(specs, fake, audit=audit)
    assert result.interrupted
    assert [len(ops) for ops in fake.bulk_requests()] == [5, 5]
    sent = sorted(op["data"]["userName"] for ops in fake.bulk_requests() for op in ops)
    assert sorted(o.key for o in result.outcomes if o.ok) == sent
    assert not result.failed and result.not_attempted == N - 10
    records = [json.loads(line) for line in audit]
    assert sorted(r["key"] for r in records) == sent
    assert all(r["outcome"] == "ok" and r["via"] == "/Bulk" for r in records)
    requests = len(fake.requests)
    assert fake.count("GET", "/Users/*") == 0 and fake.count("POST", "/Users") == 0
    # A rerun converges: the rest are created.
    assert not apply(specs, fake).failed
    assert len(fake.requests) > requests and converged(specs, fake)


def test_a_protected_account_created_inactive_goes_in_bulk(tmp_path: Path, token: str) -> None:
    """Where every write is checked (Session.write), a create takes no access away: a
    protected account declared inactive (provisioned dormant) is created with the others,
    as the plan shows, not refused as a disable."""
    fake = BulkScim(token=token)
    users = [*people(managers=False), user("admin@example.com", active=False)]
    result = apply(bulk_spec(tmp_path, users, protected=["admin@*"]), fake)
    assert result.failed == ()
    sent = [op["data"]["userName"] for ops in fake.bulk_requests() for op in ops]
    assert len(sent) == N + 1 and "admin@example.com" in sent
    [admin] = fake.user_named("admin@example.com")
    assert admin["active"] is False


def test_a_member_ref_is_where_the_bulk_answer_says_the_user_lives(
    tmp_path: Path, token: str
) -> None:
    """With `$ref`s on members, a user created in Bulk is named by the `location` its
    operation answered with, as a single create's is by its answer's."""
    fake = BulkScim(token=token)
    fake.location_base = "https://canonical.scim.test/v2"
    groups = [{"displayName": "Ops", "members": ["u0@example.com"]}]
    quirks = {"bulk": "use", "member_ref": "always"}
    specs = write_spec(tmp_path, people(managers=False), groups, quirks=quirks)
    result = apply(specs, fake)
    assert not result.failed
    u0 = fake.user_named("u0@example.com")[0]["id"]
    (ops,) = fake.groups.values()
    assert ops["members"] == [{"value": u0, "$ref": f"https://canonical.scim.test/v2/Users/{u0}"}]
