"""A target that gives one id to two different objects, in one read: nothing is decided from
either, and nothing is written to either.

A listing whose pages overlap while the target changes, or a hostile one, can show id u1
as bob's on one page and as alice's on the next. Kept as first seen, alice's account looked
like bob's, undeclared: prune disabled it while alice was planned as a create. Ids that
differ only in case or surrounding whitespace (`ABC` and `abc`) are one id to a target
that reads ids so (GUIDs in a case-insensitive column): a disable of the one is a disable
of the other. Each such object is in error instead, named by its id (core/shape.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2
import pytest

from reconciler.cli import main
from reconciler.core.changes import Action
from reconciler.core.plan import Plan
from reconciler.run import prepare
from reconciler.scim.apply.runner import Applier
from tests.fakescim import LIST_RESPONSE, USER_SCHEMA, FakeScim, json_response
from tests.scim.conftest import TOKEN
from tests.scim.test_faults import user, write_spec

pytestmark = pytest.mark.usefixtures("token")

ALICE, BOB, CAROL = "alice@example.com", "bob@example.com", "carol@example.com"


def body(rid: str, name: str) -> dict[str, Any]:
    return {"schemas": [USER_SCHEMA], "id": rid, "userName": name, "active": True}


def listing(fake: FakeScim, items: list[dict[str, Any]], total: int) -> httpx2.MockTransport:
    """`fake`, whose /Users listing (startIndex and count honoured) holds `items` and says
    it holds `total`; filters, reads by id and writes reach `fake` itself."""

    def handle(request: httpx2.Request) -> httpx2.Response:
        params = request.url.params
        if (
            request.method == "GET"
            and request.url.path.endswith("/Users")
            and ("filter" not in params)
        ):
            start, count = int(params.get("startIndex", 1)), int(params.get("count", 100))
            page = items[start - 1 : start - 1 + count]
            return json_response(
                200,
                {
                    "schemas": [LIST_RESPONSE],
                    "Resources": page,
                    "totalResults": total,
                    "startIndex": start,
                    "itemsPerPage": len(page),
                },
            )
        return fake.handle(request)

    return httpx2.MockTransport(handle)


def patched(fake: FakeScim) -> list[str]:
    return [s.path for s in fake.requests if s.method in ("PATCH", "PUT", "DELETE")]


def planned(specs: Path, transport: httpx2.BaseTransport) -> Plan:
    prepared = prepare(specs, "fake", transport=transport)
    prepared.client.close()
    return prepared.plan


def deprovisioned(plan: Plan) -> set[str | None]:
    return {c.target_id for c in plan.changes if c.action in (Action.DISABLE, Action.DELETE)}


def errors(plan: Plan) -> dict[str, str]:
    return {e.key: e.message for e in plan.errors}


def test_one_id_listed_as_two_users_is_never_disabled(tmp_path: Path) -> None:
    fake = FakeScim(token=TOKEN)
    alice = fake.add_user(ALICE, active=True)
    # u1 on the first page as bob's, on the last as alice's; totalResults counts it once.
    items = [body(alice, BOB), body("c1", CAROL), body(alice, ALICE)]
    specs = write_spec(tmp_path, [user(ALICE)], prune="all", page_size=1)
    plan = planned(specs, listing(fake, items, total=2))
    assert alice not in deprovisioned(plan)
    assert "c1" in deprovisioned(plan)  # carol, undeclared and listed once: pruned as ever
    assert not any(c.key == ALICE for c in plan.changes)  # no create beside the account
    assert "listed twice with different content" in errors(plan)[ALICE]
    assert alice in errors(plan)[ALICE]


def test_a_user_declared_absent_is_not_matched_onto_such_an_id(tmp_path: Path) -> None:
    fake = FakeScim(token=TOKEN)
    alice = fake.add_user(ALICE, active=True)
    items = [body(alice, BOB), body("c1", CAROL), body(alice, ALICE)]
    specs = write_spec(tmp_path, [user(BOB, state="absent")], page_size=1)
    # bob is declared absent: matched onto his copy, it would disable alice's account.
    plan = planned(specs, listing(fake, items, total=2))
    assert alice not in deprovisioned(plan)
    assert alice in errors(plan)[BOB]


def test_a_cursor_listing_that_shows_one_id_twice_disables_neither(tmp_path: Path) -> None:
    fake = FakeScim(token=TOKEN)
    fake.paging(cursor=True, index=False)
    alice = fake.add_user(ALICE, active=True)
    pages = {"": [body(alice, BOB)], "next": [body(alice, ALICE)]}

    def handle(request: httpx2.Request) -> httpx2.Response:
        params = request.url.params
        if (
            request.method == "GET"
            and request.url.path.endswith("/Users")
            and ("cursor" in params and "filter" not in params)
        ):
            page = pages.get(params["cursor"], [])
            answer: dict[str, Any] = {
                "schemas": [LIST_RESPONSE], "Resources": page, "totalResults": 1,
            }  # fmt: skip
            if params["cursor"] == "":
                answer["nextCursor"] = "next"
            return json_response(200, answer)
        return fake.handle(request)

    specs = write_spec(tmp_path, [user(ALICE)], prune="all")
    plan = planned(specs, httpx2.MockTransport(handle))
    assert alice not in deprovisioned(plan)
    assert alice in errors(plan)[ALICE]


@pytest.mark.parametrize("other", ["U1", "u1 ", " U1", "u1\t"])
def test_ids_that_differ_only_in_case_or_whitespace_are_never_deprovisioned(
    tmp_path: Path, other: str
) -> None:
    fake = FakeScim(token=TOKEN)
    alice = fake.add_user(ALICE, active=True)
    assert alice == "u1"
    items = [body(alice, ALICE), body(other, BOB)]
    specs = write_spec(tmp_path, [user(ALICE)], prune="all")
    plan = planned(specs, listing(fake, items, total=2))
    assert deprovisioned(plan) == set()
    assert "differs only in case or surrounding whitespace" in errors(plan)[ALICE]
    assert "differs only in case or surrounding whitespace" in errors(plan)[other]


def test_one_id_listed_twice_the_same_is_one_user(tmp_path: Path) -> None:
    # Overlapping pages with nothing changed between them are harmless: one user, no error.
    fake = FakeScim(token=TOKEN)
    alice = fake.add_user(ALICE, active=True)
    items = [body(alice, ALICE), body("c1", CAROL), body(alice, ALICE)]
    specs = write_spec(tmp_path, [user(ALICE)], prune="all", page_size=1)
    plan = planned(specs, listing(fake, items, total=2))
    assert plan.errors == ()
    assert deprovisioned(plan) == {"c1"}


def test_lookups_that_answer_one_id_as_two_users_decide_nothing(tmp_path: Path) -> None:
    fake = FakeScim(token=TOKEN)
    fake.ignore_start_index = True  # lookup mode: each declared user found by its filter
    alice = fake.add_user(ALICE, active=True)
    fake.add_user(CAROL, active=True)

    def handle(request: httpx2.Request) -> httpx2.Response:
        wanted = request.url.params.get("filter", "")
        if request.method == "GET" and BOB in wanted:
            answer = {"schemas": [LIST_RESPONSE], "Resources": [body(alice, BOB)],
                      "totalResults": 1}  # fmt: skip
            return json_response(200, answer)
        return fake.handle(request)

    specs = write_spec(tmp_path, [user(ALICE), user(BOB, state="absent")])
    plan = planned(specs, httpx2.MockTransport(handle))
    assert alice not in deprovisioned(plan)
    assert alice in errors(plan)[BOB]
    assert alice in errors(plan)[ALICE]


def test_the_plan_names_the_id_on_one_line_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeScim(token=TOKEN)
    alice = fake.add_user(ALICE, active=True)
    items = [body(alice, BOB), body("c1", CAROL), body(alice, ALICE)]
    specs = write_spec(tmp_path, [user(ALICE)], prune="all", page_size=1)
    transport = listing(fake, items, total=2)
    code = main(
        ["plan", str(specs), "--target", "fake", "--log-level", "error"], transport=transport
    )
    out, err = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in err
    lines = [line for line in (out + err).splitlines() if "listed twice" in line]
    assert lines and all(alice in line for line in lines)


@pytest.mark.parametrize("rid", [True, ["u9"], {"value": "u9"}, 1.5, " ", "\t"])
def test_an_id_that_is_no_id_leaves_the_object_unread_and_the_read_incomplete(
    tmp_path: Path, rid: Any
) -> None:
    # RFC 7643 §3.1: an id is a string. `true` read as "True", a list as "['u9']", a blank
    # one as " ": each names no object the target has, or one a trimming target resolves
    # to something else. Such an object is not read, as one without an id is.
    fake = FakeScim(token=TOKEN)
    alice = fake.add_user(ALICE, active=True)
    items = [body(alice, ALICE), {**body("x", BOB), "id": rid}]
    specs = write_spec(tmp_path, [user(ALICE)], prune="all")
    plan = planned(specs, listing(fake, items, total=2))
    assert deprovisioned(plan) == set()
    assert not plan.complete_read


def test_a_number_is_an_id(tmp_path: Path) -> None:
    # Some targets number their objects, in JSON numbers: read as the text of the number.
    fake = FakeScim(token=TOKEN)
    alice = fake.add_user(ALICE, active=True)
    items = [body(alice, ALICE), {**body("x", BOB), "id": 7}]
    specs = write_spec(tmp_path, [user(ALICE)], prune="all")
    plan = planned(specs, listing(fake, items, total=2))
    assert deprovisioned(plan) == {"7"}


def test_copies_of_one_id_do_not_dilute_the_percent_guard(tmp_path: Path) -> None:
    # Each copy is one more resource read, but no more accounts: counted as accounts, nine
    # copies of one id made 3 deprovisions of 5 accounts look like 3 of 13.
    fake = FakeScim(token=TOKEN)
    alice = fake.add_user(ALICE, active=True)
    items = [body(alice, ALICE), *(body(f"s{n}", f"s{n}@example.com") for n in range(3))]
    items += [body("x", f"x{n}@example.com") for n in range(9)]
    guards = {"max_deletes": 100, "max_delete_percent": 50}
    specs = write_spec(tmp_path, [user(ALICE)], prune="all", guards=guards)
    plan = planned(specs, listing(fake, items, total=5))
    assert deprovisioned(plan) == {"s0", "s1", "s2"}
    assert any("3 of 5 users (60.0%)" in g for g in plan.guards), plan.guards


def test_a_member_under_such_an_id_is_never_removed(tmp_path: Path) -> None:
    # u1 is bob's (protected) or alice's: which one the group would lose is a guess, and
    # protection read the name of whichever copy came last.
    fake = FakeScim(token=TOKEN)
    alice = fake.add_user(ALICE, active=True)
    carol = fake.add_user(CAROL, active=True)
    fake.add_group("Eng", [alice, carol])
    items = [body(alice, BOB), body(carol, CAROL), body(alice, ALICE)]
    groups = [{"displayName": "Eng", "members": [CAROL]}]
    specs = write_spec(tmp_path, [user(CAROL)], groups, protected=["bob@*"])
    plan = planned(specs, listing(fake, items, total=2))
    assert [m.id for c in plan.changes for m in c.members_remove] == []


def test_a_group_holding_such_an_id_is_not_deleted_if_either_copy_is_protected(
    tmp_path: Path,
) -> None:
    fake = FakeScim(token=TOKEN)
    alice = fake.add_user(ALICE, active=True)
    fake.add_group("Ops", [alice])  # undeclared: prune deletes it, unless it holds bob
    items = [body(alice, BOB), body("c1", CAROL), body(alice, ALICE)]
    specs = write_spec(tmp_path, [user(CAROL)], prune="all", protected=["bob@*"])
    plan = planned(specs, listing(fake, items, total=2))
    assert [c.key for c in plan.changes if c.action is Action.DELETE] == []
    assert any("member bob@example.com is protected" in n for n in plan.notes), plan.notes


def test_a_group_listed_twice_with_other_members_is_in_error_as_such(tmp_path: Path) -> None:
    # Both copies have the declared name: said as two targets objects with one name
    # ("ids g3, g3"), the error sent the reader to remove a duplicate that is not there.
    fake = FakeScim(token=TOKEN)
    alice, bob = fake.add_user(ALICE, active=True), fake.add_user(BOB, active=True)
    gid = fake.add_group("Eng", [alice, bob])
    copies = [fake.groups[gid], {**fake.groups[gid], "members": [{"value": alice}]}]

    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.method == "GET" and request.url.path.endswith("/Groups"):
            answer = {"schemas": [LIST_RESPONSE], "Resources": copies, "totalResults": 1}
            return json_response(200, answer)
        return fake.handle(request)

    groups = [{"displayName": "Eng", "members": [ALICE]}]
    specs = write_spec(tmp_path, [user(ALICE), user(BOB)], groups, prune="all")
    plan = planned(specs, httpx2.MockTransport(handle))
    assert [c for c in plan.changes if c.kind.value == "group"] == []
    assert "listed twice with different content" in errors(plan)["Eng"]
    assert gid in errors(plan)["Eng"]


def test_apply_protects_a_member_whose_id_was_read_under_a_protected_name(tmp_path: Path) -> None:
    # Ops is empty when planned, so prune deletes it; u1 joins it before apply. Apply reads
    # Ops before deleting it (the last line of protection), and must judge u1 by every
    # name the plan's read gave it, not by whichever copy came last.
    fake = FakeScim(token=TOKEN)
    alice = fake.add_user(ALICE, active=True)
    ops = fake.add_group("Ops")
    items = [body(alice, BOB), body("c1", CAROL), body(alice, ALICE)]
    specs = write_spec(tmp_path, [user(CAROL)], prune="all", protected=["bob@*"])
    prepared = prepare(specs, "fake", transport=listing(fake, items, total=2))
    assert [c.key for c in prepared.plan.changes if c.action is Action.DELETE] == ["Ops"]
    fake.groups[ops]["members"] = [{"value": alice, "type": "User"}]
    try:
        applier = Applier(prepared.client, prepared.target, prepared.caps, prepared.log)
        (outcome,) = applier.run(prepared.plan).outcomes
    finally:
        prepared.client.close()
    assert ops in fake.groups
    assert not outcome.ok
    assert "member bob@example.com is protected" in str(outcome.message)
