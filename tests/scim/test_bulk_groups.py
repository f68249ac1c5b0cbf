"""Group creates in Bulk under fault injection (RFC 7644 §3.7, apply/bulk_groups.py): each
operation carries what a single group POST would, nested groups by bulkId; one failed
operation fails one group; an unknown outcome never duplicates; a refused Bulk falls back."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import stamina

from reconciler.core.model import Kind
from reconciler.core.plan import Action
from tests.bulkscim import BulkScim
from tests.scim.test_bulk import apply, converged
from tests.scim.test_faults import user, write_spec

GROUPS = 12
USERS = 4  # fewer than MIN_CREATES: the users go one request each, the groups in Bulk


@pytest.fixture(autouse=True)
def _fast() -> Iterator[None]:
    with stamina.set_testing(True, attempts=3):
        yield


def people() -> list[dict[str, Any]]:
    return [user(f"u{i}@example.com") for i in range(USERS)]


def teams(n: int = GROUPS) -> list[dict[str, Any]]:
    """g0 .. g{n-1}, each with two users."""
    return [
        {
            "displayName": f"g{i}",
            "members": [f"u{i % USERS}@example.com", f"u{(i + 1) % USERS}@example.com"],
        }
        for i in range(n)
    ]


def spec(root: Path, groups: list[dict[str, Any]], users: list[dict[str, Any]] | None = None,
         **target: Any) -> Path:  # fmt: skip
    quirks = {"bulk": "use", **target.pop("quirks", {})}
    return write_spec(root, users or people(), groups, quirks=quirks, **target)


def group_ops(fake: BulkScim) -> list[list[dict[str, Any]]]:
    return [ops for ops in fake.bulk_requests() if ops and ops[0]["path"] == "/Groups"]


def group_named(fake: BulkScim, name: str) -> list[dict[str, Any]]:
    return [g for g in fake.groups.values() if g["displayName"] == name]


def members_of(fake: BulkScim, name: str) -> set[str]:
    """A group's members by userName (users) or displayName (nested groups)."""
    (group,) = group_named(fake, name)
    names = {**{k: v["userName"] for k, v in fake.users.items()},
             **{f"g:{k}": v["displayName"] for k, v in fake.groups.items()}}  # fmt: skip
    return {
        names[f"g:{m['value']}" if m.get("type") == "Group" else m["value"]]
        for m in group.get("members", [])
    }


def groups_on(audit: list[str]) -> list[dict[str, Any]]:
    return [r for r in map(json.loads, audit) if r["kind"] == "group"]


def test_group_creates_go_in_one_bulk_request(tmp_path: Path, token: str) -> None:
    fake = BulkScim(token=token)
    specs = spec(tmp_path, teams())
    result = apply(specs, fake)
    assert not result.failed
    assert [o.action for o in result.outcomes if o.kind is Kind.GROUP] == [Action.CREATE] * GROUPS
    assert fake.count("POST", "/Groups") == 0 and fake.count("PATCH", "/Groups/*") == 0
    (operations,) = group_ops(fake)
    assert len(operations) == GROUPS
    assert members_of(fake, "g1") == {"u1@example.com", "u2@example.com"}
    # One search by name before (an `eq` filter may show what the listing hid); the
    # listing, read once after the request, verified them and showed no same-named group:
    # no GET of each group, no search by name after.
    assert fake.count("GET", "/Groups/*") == 0
    searched = [s for s in fake.requests if s.path == "/Groups" and "filter" in s.params]
    assert len(searched) == GROUPS
    assert all(fake.requests.index(s) < fake.requests.index(bulk) for s in searched
               for bulk in fake.requests if bulk.path == "/Bulk")  # fmt: skip
    assert converged(specs, fake)


def test_an_operation_carries_what_the_single_post_would(tmp_path: Path, token: str) -> None:
    """The same spec applied without Bulk: each group's POST body is its operation's data
    (members compared by name: the two fakes number their users alike only by chance)."""
    groups = teams()
    bulk, alone = BulkScim(token=token), BulkScim(token=token)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert not apply(spec(tmp_path / "a", groups, quirks={"member_ref": "always"}), bulk).failed
    plain = spec(tmp_path / "b", groups, quirks={"bulk": "never", "member_ref": "always"})
    assert not apply(plain, alone).failed

    def named(fake: BulkScim, data: dict[str, Any]) -> dict[str, Any]:
        users = {k: v["userName"] for k, v in fake.users.items()}
        members = [{**m, "value": users[m["value"]], "$ref": m["$ref"].rsplit("/", 1)[0]}
                   for m in data.get("members", [])]  # fmt: skip
        return {**data, "members": members}

    sent = {op["data"]["displayName"]: named(bulk, op["data"]) for op in group_ops(bulk)[0]}
    posts = [s.body for s in alone.requests if s.method == "POST" and s.path == "/Groups"]
    assert sent == {body["displayName"]: named(alone, body) for body in posts}


def test_members_past_the_chunk_follow_per_object(tmp_path: Path, token: str) -> None:
    fake = BulkScim(token=token)
    everyone = [f"u{i}@example.com" for i in range(USERS)]
    groups = [{"displayName": f"g{i}", "members": everyone} for i in range(GROUPS)]
    result = apply(spec(tmp_path, groups, membership_chunk=3), fake)
    assert not result.failed
    (operations,) = group_ops(fake)
    assert {len(op["data"]["members"]) for op in operations} == {3}
    assert fake.count("PATCH", "/Groups/*") == GROUPS  # the fourth member of each
    assert all(members_of(fake, f"g{i}") == set(everyone) for i in range(GROUPS))


def test_nested_groups_are_named_by_bulk_id_members_first(tmp_path: Path, token: str) -> None:
    """Native nesting: "all" holds g0 and g1 (listed before them), g0 holds g2; each nested
    group is created before the group holding it, named by its bulkId, and nothing is left
    for the nested-group PATCHes to add."""
    groups = [
        {"displayName": "all", "members": ["u0@example.com"], "groups": ["g0", "g1"]},
        {"displayName": "g0", "members": ["u1@example.com"], "groups": ["g2"]},
        *teams()[1:],
    ]
    fake = BulkScim(token=token)
    specs = spec(tmp_path, groups, nested_groups="native")
    audit: list[str] = []
    result = apply(specs, fake, audit=audit)
    assert not result.failed
    (operations,) = group_ops(fake)
    order = [op["data"]["displayName"] for op in operations]
    assert order.index("g2") < order.index("g0") < order.index("all")
    assert order.index("g1") < order.index("all")
    by_name = {op["data"]["displayName"]: op for op in operations}
    nested = [m for m in by_name["all"]["data"]["members"] if m.get("type") == "Group"]
    assert nested == [
        {"value": f"bulkId:{by_name['g0']['bulkId']}", "type": "Group"},
        {"value": f"bulkId:{by_name['g1']['bulkId']}", "type": "Group"},
    ]
    assert members_of(fake, "all") == {"u0@example.com", "g0", "g1"}
    assert members_of(fake, "g0") == {"u1@example.com", "g2"}
    assert fake.count("PATCH", "/Groups/*") == 0
    # The audit record names a nested group by the id its bulkId was given.
    (record,) = [r for r in groups_on(audit) if r["key"] == "all"]
    g0 = group_named(fake, "g0")[0]["id"]
    assert {"id": g0, "key": None} in record["members_added"]
    assert converged(specs, fake)


def test_a_failed_nested_group_fails_alone_and_its_holder_goes_per_object(
    tmp_path: Path, token: str
) -> None:
    """g0's operation is refused (403): only g0 fails. "all", which named g0 by bulkId, was
    refused for want of it; a 4xx did nothing, so it is created per object, and its nested
    g0 is reported missing, as without Bulk."""
    groups = [{"displayName": "all", "members": ["u0@example.com"], "groups": ["g0", "g1"]},
              *teams()]  # fmt: skip
    fake = BulkScim(token=token)
    fake.op_status["g0"] = 403
    result = apply(spec(tmp_path, groups, nested_groups="native"), fake)
    failed = {o.key: o.message for o in result.failed}
    assert set(failed) == {"g0", "all"}
    assert failed["g0"].startswith("POST /Groups (in /Bulk) answered 403")
    assert "nested group g0 has no target id" in failed["all"]
    assert fake.count("POST", "/Groups") == 1  # "all", alone
    # As without Bulk, and as a user member whose create failed (write_group): the other
    # nested groups' adds and removals are made, and the group fails after them.
    assert members_of(fake, "all") == {"u0@example.com", "g1"}
    assert group_named(fake, "g0") == []


def test_a_create_with_members_refused_400_goes_per_object(tmp_path: Path, token: str) -> None:
    """As a single POST with members answered 400 is sent again without them: the 400 did
    nothing, so the create goes per object (which sends it empty if refused again)."""
    fake = BulkScim(token=token)
    fake.op_status["g3"] = 400
    fake.fail("POST", "/Groups", status=400, when=lambda seen: "members" in seen.body)
    specs = spec(tmp_path, teams())
    result = apply(specs, fake)
    assert not result.failed
    posts = [s.body for s in fake.requests if s.method == "POST" and s.path == "/Groups"]
    assert [(p["displayName"], "members" in p) for p in posts] == [("g3", True), ("g3", False)]
    assert members_of(fake, "g3") == {"u3@example.com", "u0@example.com"}
    assert converged(specs, fake)


def test_a_member_whose_create_failed_is_left_out_as_without_bulk(
    tmp_path: Path, token: str
) -> None:
    fake = BulkScim(token=token)
    fake.fail(
        "POST", "/Users", status=400, when=lambda seen: seen.body["userName"] == "u1@example.com"
    )
    result = apply(spec(tmp_path, teams()), fake)
    failed = {(o.kind, o.key): o.message for o in result.failed}
    # g0 and g1 hold u1: each is created with its other member, then fails for u1.
    assert set(failed) == {(Kind.USER, "u1@example.com"), (Kind.GROUP, "g0"), (Kind.GROUP, "g1"),
                           (Kind.GROUP, "g4"), (Kind.GROUP, "g5"), (Kind.GROUP, "g8"),
                           (Kind.GROUP, "g9")}  # fmt: skip
    assert (
        failed[(Kind.GROUP, "g0")] == "member u1@example.com has no target id (its create failed)"
    )
    assert members_of(fake, "g0") == {"u0@example.com"}
    assert fake.count("POST", "/Groups") == 0


def test_a_dropped_operation_is_looked_up_never_created_twice(tmp_path: Path, token: str) -> None:
    fake = BulkScim(token=token)
    fake.omit_result.add("g3")  # done, its result left out of the answer
    fake.skip.add("g5")  # not done, and left out
    fake.unique_names = False  # a second create would make a second group
    specs = spec(tmp_path, teams())
    result = apply(specs, fake)
    assert not result.failed
    assert len(group_named(fake, "g3")) == 1 and len(group_named(fake, "g5")) == 1
    assert fake.count("POST", "/Groups") == 1  # g5, once proven absent
    assert members_of(fake, "g3") == {"u3@example.com", "u0@example.com"}
    assert converged(specs, fake)


@pytest.mark.parametrize("done", [True, False], ids=["done", "not-done"])
def test_a_5xx_for_the_whole_request_never_duplicates(
    tmp_path: Path, token: str, done: bool
) -> None:
    fake = BulkScim(token=token)
    fake.unique_names = False
    fake.fail("POST", "/Bulk", status=502, after=done)
    specs = spec(tmp_path, teams())
    result = apply(specs, fake)
    assert not result.failed
    assert all(len(group_named(fake, f"g{i}")) == 1 for i in range(GROUPS))
    assert fake.count("POST", "/Groups") == (0 if done else GROUPS)
    assert converged(specs, fake)


def test_an_operation_answered_409_adopts_the_group(tmp_path: Path, token: str) -> None:
    fake = BulkScim(token=token)
    specs = spec(tmp_path, teams())
    result = apply(specs, fake, before=lambda: fake.add_group("g7"))
    assert not result.failed
    (g7,) = group_named(fake, "g7")
    assert {o.key: o.target_id for o in result.outcomes}["g7"] == g7["id"]
    assert members_of(fake, "g7") == {"u3@example.com", "u0@example.com"}
    assert converged(specs, fake)


def test_a_group_another_run_created_meanwhile_is_kept_and_ours_removed(
    tmp_path: Path, token: str
) -> None:
    """Where names may repeat, a group made while the Bulk request is on its way is not
    seen before the Bulk create; the listing after shows two, and the older one stays, as
    after a single create."""
    fake = BulkScim(token=token)
    fake.unique_names = False
    specs = spec(tmp_path, teams())
    fake.fail("POST", "/Bulk", when=lambda seen: not fake.add_group("g7"))  # then served
    result = apply(specs, fake)
    assert not result.failed
    (g7,) = group_named(fake, "g7")
    assert {o.key: o.target_id for o in result.outcomes}["g7"] == g7["id"]
    assert fake.count("DELETE", "/Groups/*") == 1
    assert members_of(fake, "g7") == {"u3@example.com", "u0@example.com"}
    assert converged(specs, fake)


def test_too_large_a_request_is_halved(tmp_path: Path, token: str) -> None:
    fake = BulkScim(token=token)
    fake.fail("POST", "/Bulk", status=413)
    result = apply(spec(tmp_path, teams()), fake)
    assert not result.failed
    sizes = [len(ops) for ops in group_ops(fake)]
    assert sizes[0] == GROUPS and max(sizes[1:]) <= GROUPS // 2 and sum(sizes[1:]) == GROUPS
    assert fake.count("POST", "/Groups") == 0


@pytest.mark.parametrize("status", [501, 404])
def test_a_refused_bulk_falls_back_for_the_run(tmp_path: Path, token: str, status: int) -> None:
    fake = BulkScim(token=token, max_operations=5)
    fake.fail("POST", "/Bulk", status=status, times=10)
    specs = spec(tmp_path, teams())
    result = apply(specs, fake)
    assert not result.failed
    assert fake.count("POST", "/Bulk") == 1
    assert fake.count("POST", "/Groups") == GROUPS
    assert converged(specs, fake)


def test_users_and_groups_each_in_their_own_requests(tmp_path: Path, token: str) -> None:
    """Both phases in Bulk: the groups' requests name the users Bulk created by id."""
    fake = BulkScim(token=token)
    users = [user(f"u{i}@example.com") for i in range(12)]
    audit: list[str] = []
    specs = spec(tmp_path, teams(), users)
    result = apply(specs, fake, audit=audit)
    assert not result.failed
    paths = [ops[0]["path"] for ops in fake.bulk_requests()]
    assert paths == ["/Users", "/Groups"]
    u1 = fake.user_named("u1@example.com")[0]["id"]
    (g1,) = [op for op in group_ops(fake)[0] if op["data"]["displayName"] == "g1"]
    assert {"value": u1} in g1["data"]["members"]
    records = groups_on(audit)
    assert len(records) == GROUPS
    assert {(r["via"], r["method"], r["path"], r["outcome"]) for r in records} == {
        ("/Bulk", "POST", "/Groups", "ok")
    }
    # The members each operation carried, as a single create's record names them.
    (g1_record,) = [r for r in records if r["key"] == "g1"]
    u2 = fake.user_named("u2@example.com")[0]["id"]
    assert g1_record["members_added"] == [
        {"id": u1, "key": "u1@example.com"},
        {"id": u2, "key": "u2@example.com"},
    ]
    assert converged(specs, fake)


def test_no_group_bulk_once_a_look_up_found_what_the_listing_hid(
    tmp_path: Path, token: str
) -> None:
    """The complete read stands for the look-up before each group create; once a create in
    this run found an object the listing hid (a 409, adopted), that read proves nothing, so
    every group is created alone, after its look-up."""
    fake = BulkScim(token=token)
    fake.hidden.add(fake.add_user("u2@example.com"))  # listed by no page, found by a filter
    result = apply(spec(tmp_path, teams()), fake)
    assert not [o for o in result.failed if o.kind is Kind.GROUP]
    assert fake.count("POST", "/Bulk") == 0
    assert fake.count("POST", "/Groups") == GROUPS
    looked = [s for s in fake.requests if s.path == "/Groups" and "filter" in s.params]
    assert len(looked) >= GROUPS


@pytest.mark.usefixtures("ctrl_c_raises")
def test_ctrl_c_during_a_group_bulk_request_waits_for_it_and_sends_nothing_more(
    tmp_path: Path, token: str
) -> None:
    """The request in flight is answered, as single writes are: a group of it or of an
    earlier request stands (it carried every member), and each is audited."""
    fake = BulkScim(token=token, max_operations=5)
    fake.ctrl_c = lambda seen: len(group_ops(fake)) == 2
    specs = spec(tmp_path, teams())
    audit: list[str] = []
    result = apply(specs, fake, audit=audit)
    assert result.interrupted
    assert [len(ops) for ops in group_ops(fake)] == [5, 5]
    done = {op["data"]["displayName"] for ops in group_ops(fake) for op in ops}
    assert {o.key for o in result.outcomes if o.kind is Kind.GROUP and o.ok} == done
    assert not result.failed
    audited = [r for r in map(json.loads, audit) if r["kind"] == "group"]
    assert {r["key"] for r in audited} == done
    assert all(r["outcome"] == "ok" and r["via"] == "/Bulk" for r in audited)
    assert fake.count("PATCH", "/Groups/*") == 0 and fake.count("POST", "/Groups") == 0
    assert not apply(specs, fake).failed  # a rerun creates the rest
    assert all(len(group_named(fake, f"g{i}")) == 1 for i in range(GROUPS))
    assert converged(specs, fake)


def test_a_target_failing_on_count_is_read_back_without_it(tmp_path: Path, token: str) -> None:
    """The read-back after the Bulk requests is a listing like any other: on a target that
    fails any listing carrying `count`, it leaves `count` out (no 500s waited out)."""
    fake = BulkScim(token=token)
    fake.count_crashes = True
    specs = spec(tmp_path, teams())
    result = apply(specs, fake)
    assert not result.failed
    assert fake.count("POST", "/Bulk") == 1
    with_count = [s for s in fake.requests if s.method == "GET" and "count" in s.params]
    assert len(with_count) == 2  # test_connection's probes alone
    assert converged(specs, fake)


def test_a_group_the_listing_hid_is_adopted_never_created_again(tmp_path: Path, token: str) -> None:
    """As the per-object create looks before it POSTs: a group the listing hides but its
    `eq` filter shows is left out of Bulk and adopted, never created a second time (names
    repeat here, so a second create would make a second group, and no 409)."""
    fake = BulkScim(token=token)
    fake.unique_names = False
    g7 = fake.add_group("g7")
    fake.hidden.add(g7)
    specs = spec(tmp_path, teams())
    result = apply(specs, fake)
    assert not [o for o in result.failed if o.kind is Kind.GROUP]
    assert [g["id"] for g in group_named(fake, "g7")] == [g7]
    (operations,) = group_ops(fake)
    assert len(operations) == GROUPS - 1
    assert members_of(fake, "g7") == {"u3@example.com", "u0@example.com"}


def test_groups_bulk_created_before_the_deadline_are_reported_not_left_unattempted(
    tmp_path: Path, token: str
) -> None:
    """The run's deadline comes after two Bulk requests created ten groups: each of them
    was written, so each has an outcome (ok where its operation carried every member it
    is to get, else failed for a rerun), never "not attempted"; the two never sent are."""
    fake = BulkScim(token=token, max_operations=5)
    slow = [False]

    def late(seen: Any) -> bool:  # the second request outlasts the run's deadline
        if len(fake.groups) >= 5 and not slow[0]:
            slow[0] = True
            time.sleep(2.2)
        return False

    fake.fail("POST", "/Bulk", when=late)
    specs = spec(tmp_path, teams(), run_timeout_seconds=2)
    result = apply(specs, fake)
    assert result.timed_out
    made = {g["displayName"] for g in fake.groups.values()}
    assert len(made) == 10
    reported = {o.key for o in result.outcomes if o.kind is Kind.GROUP}
    assert reported == made
    assert result.not_attempted == GROUPS - len(made)
    assert not apply(spec(tmp_path, teams()), fake).failed
    assert all(len(group_named(fake, f"g{i}")) == 1 for i in range(GROUPS))
