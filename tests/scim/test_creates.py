"""A create's answer (apply/creates.py): the new object's id from the body, else from the
Location header, else looked up; and where the object lives (meta.location, else
Location), which later member `$ref`s name. Each answer form is fault-injected against
FakeScim, which otherwise answers with both."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import stamina

from reconciler.core.plan import Action
from reconciler.run import prepare
from reconciler.scim.apply.runner import Applier, ApplyResult
from reconciler.scim.retries import RetryPolicy
from tests.fakescim import BASE_URL, FakeScim, Seen
from tests.scim.conftest import TOKEN
from tests.scim.test_faults import RecordingLog, outcomes, plan_and_apply, user, write_spec
from tests.scim.test_member_refs import CANONICAL, member_writes

pytestmark = pytest.mark.usefixtures("token")
ALICE = [user("alice@example.com", displayName="Alice")]
# An empty fake numbers its resources from 1: alice's create makes u1.
ALICE_ID = "u1"


@pytest.fixture(autouse=True)
def _fast() -> Iterator[None]:
    with stamina.set_testing(True, attempts=3):
        yield


def answered(fake: FakeScim, path: str, body: Any = None, **headers: str) -> None:
    """The create is made, and answered 201 with this body and these headers only."""
    fake.fail("POST", path, status=201, after=True, body=body, headers=headers)


def lookups(fake: FakeScim) -> list[str]:
    """The searches for alice (the connection test's own probes left out)."""
    asked = [s.params.get("filter", "") for s in fake.requests]
    return [f for f in asked if "alice" in f]


def unfindable(fake: FakeScim) -> None:
    """Alice, once created, is found neither by a filter nor in a listing."""
    fake.blind_filters.add("userName")
    fake.hidden.add(ALICE_ID)


def created(specs: Path, fake: FakeScim) -> tuple[Action, bool, str | None, str]:
    _, result = plan_and_apply(specs, fake)
    (outcome,) = result.outcomes
    return outcome.action, outcome.ok, outcome.target_id, outcome.message


@pytest.mark.parametrize(
    ("location", "rid"),
    [
        (f"{BASE_URL}/Users/{ALICE_ID}", ALICE_ID),
        (f"{BASE_URL}/Users/{ALICE_ID}/", ALICE_ID),
        (ALICE_ID, ALICE_ID),
    ],
)
def test_the_id_is_the_location_s_last_segment_when_no_body_says(
    tmp_path: Path, location: str, rid: str
) -> None:
    fake = FakeScim(token=TOKEN)
    answered(fake, "/Users", Location=location)
    assert created(write_spec(tmp_path, ALICE), fake)[:3] == (Action.CREATE, True, rid)
    assert lookups(fake) == []  # the Location was enough


@pytest.mark.parametrize(
    "location",
    [
        f"{BASE_URL}/Users",  # the collection: its last segment is no id
        f"{BASE_URL}/Users/",
        f"{BASE_URL}/users?attributes=id",
        f"{BASE_URL}/Groups/g9",  # another endpoint's object
        "Users",
    ],
)
def test_a_location_naming_no_user_is_looked_up(tmp_path: Path, location: str) -> None:
    # Before: "Users" (or the group's id) was taken for the new user's id, and written as
    # a member of its groups.
    fake = FakeScim(token=TOKEN)
    answered(fake, "/Users", Location=location)
    assert created(write_spec(tmp_path, ALICE), fake)[:3] == (Action.CREATE, True, ALICE_ID)
    assert lookups(fake) == ['userName eq "alice@example.com"']


@pytest.mark.parametrize("endpoint", ["users", "USERS"])
def test_a_location_naming_the_endpoint_in_another_case_is_read(
    tmp_path: Path, endpoint: str
) -> None:
    fake = FakeScim(token=TOKEN)
    answered(fake, "/Users", Location=f"{BASE_URL}/{endpoint}/{ALICE_ID}")
    assert created(write_spec(tmp_path, ALICE), fake)[:3] == (Action.CREATE, True, ALICE_ID)
    assert lookups(fake) == []


def test_a_location_that_names_nothing_is_looked_up(tmp_path: Path) -> None:
    fake = FakeScim(token=TOKEN)
    answered(fake, "/Users", Location="/")
    assert created(write_spec(tmp_path, ALICE), fake)[:3] == (Action.CREATE, True, ALICE_ID)
    assert lookups(fake) == ['userName eq "alice@example.com"']


@pytest.mark.parametrize("named", ["X/", "undefined", f"{BASE_URL}/Users/undefined"])
def test_a_location_whose_id_answers_404_is_looked_up(tmp_path: Path, named: str) -> None:
    # scimgateway answers a create it cannot read back (a userName its regex lookup misses,
    # `erin+ops@...`) with the resource sent, no id, and `Location: .../Users/undefined`.
    # Before, "undefined" was recorded as the id and written as members and managers.
    fake = FakeScim(token=TOKEN)
    answered(fake, "/Users", {"userName": "alice@example.com"}, Location=named)
    assert created(write_spec(tmp_path, ALICE), fake)[:3] == (Action.CREATE, True, ALICE_ID)
    assert lookups(fake) == ['userName eq "alice@example.com"']


def test_a_location_answering_404_and_no_user_found_fails_the_create(tmp_path: Path) -> None:
    fake = FakeScim(token=TOKEN)
    unfindable(fake)
    answered(fake, "/Users", {"userName": "alice@example.com"}, Location="/Users/undefined")
    assert created(write_spec(tmp_path, ALICE), fake) == (
        Action.CREATE,
        False,
        None,
        "the target accepted the create but its answer held no id, and its Location names "
        "'undefined', which answers 404; no user with its name was found either: run plan "
        "again",
    )


def test_the_body_s_id_needs_no_location(tmp_path: Path) -> None:
    # A lookup finds nothing here, so only the body can have given the id.
    fake = FakeScim(token=TOKEN)
    unfindable(fake)
    answered(fake, "/Users", {"id": ALICE_ID, "userName": "alice@example.com"})
    assert created(write_spec(tmp_path, ALICE), fake)[:3] == (Action.CREATE, True, ALICE_ID)


def test_an_answer_with_no_id_anywhere_fails_the_create(tmp_path: Path) -> None:
    fake = FakeScim(token=TOKEN)
    unfindable(fake)
    fake.create_without_body = True
    assert created(write_spec(tmp_path, ALICE), fake) == (
        Action.CREATE,
        False,
        None,
        "the target accepted the create but sent neither a body nor a Location",
    )


def refs_to_alice(tmp_path: Path, fake: FakeScim) -> list[Any]:
    """The `$ref`s the group's members carry, alice created in the same run."""
    fake.require_member_ref = True
    specs = write_spec(tmp_path, ALICE, [{"displayName": "Eng", "members": ["alice@example.com"]}])
    _, result = plan_and_apply(specs, fake)
    assert outcomes(result) == {
        "alice@example.com": (Action.CREATE, True),
        "Eng": (Action.CREATE, True),
    }
    return [m.get("$ref") for _, _, members in member_writes(fake) for m in members]


def test_a_member_s_ref_is_the_meta_location_its_create_answered(tmp_path: Path) -> None:
    fake = FakeScim(token=TOKEN)
    body = {
        "id": ALICE_ID,
        "userName": "alice@example.com",
        "meta": {"location": f"{CANONICAL}/Users/{ALICE_ID}"},
    }
    answered(fake, "/Users", body, Location=f"https://elsewhere.test/Users/{ALICE_ID}")
    # Refused without a $ref first; then sent with the create's meta.location.
    assert refs_to_alice(tmp_path, fake) == [None, f"{CANONICAL}/Users/{ALICE_ID}"]


def test_else_it_is_the_location_header(tmp_path: Path) -> None:
    fake = FakeScim(token=TOKEN)
    body = {"id": ALICE_ID, "userName": "alice@example.com"}
    answered(fake, "/Users", body, Location=f"{CANONICAL}/Users/{ALICE_ID}")
    assert refs_to_alice(tmp_path, fake) == [None, f"{CANONICAL}/Users/{ALICE_ID}"]


def test_a_meta_location_that_is_no_text_is_not_used(tmp_path: Path) -> None:
    # Nor is the header then: the $ref is built from the id.
    fake = FakeScim(token=TOKEN)
    body = {"id": ALICE_ID, "userName": "alice@example.com", "meta": {"location": 7}}
    answered(fake, "/Users", body, Location=f"{CANONICAL}/Users/{ALICE_ID}")
    assert refs_to_alice(tmp_path, fake) == [None, f"{BASE_URL}/Users/{ALICE_ID}"]


def sent_under(policy: RetryPolicy, tmp_path: Path) -> tuple[str, int, list[float]]:
    """A create whose every POST is answered 502 (and not made), under this policy, with
    real waits: its outcome's message, how many POSTs were sent, and the waits between."""
    fake = FakeScim(token=TOKEN)
    fake.fail("POST", "/Users", status=502, times=99, body={"detail": "bad gateway"})
    waits: list[float] = []
    hooks = stamina.instrumentation.get_on_retry_hooks()
    stamina.instrumentation.set_on_retry_hooks([lambda d: waits.append(d.wait_for)])
    try:
        with stamina.set_testing(False):
            specs = write_spec(tmp_path, ALICE)
            prepared = prepare(specs, "fake", transport=fake.transport, retry=policy)
            applier = Applier(prepared.client, prepared.target, prepared.caps, prepared.log)
            (outcome,) = applier.run(prepared.plan).outcomes
            prepared.client.close()
    finally:
        stamina.instrumentation.set_on_retry_hooks(hooks)
    assert not outcome.ok
    return outcome.message, fake.count("POST"), waits


def test_a_create_is_sent_again_as_the_retry_policy_says(tmp_path: Path) -> None:
    # Each 502 is looked up (nothing made), then sent again after the policy's backoff:
    # doubling from wait_initial, capped at wait_max, no jitter asked for.
    policy = RetryPolicy(attempts=4, timeout=30, wait_initial=0.001, wait_max=0.003, wait_jitter=0)
    message, sent, waits = sent_under(policy, tmp_path)
    assert message == (
        "POST /Users answered 502: bad gateway; sent 4 times without success: run apply again"
    )
    assert (sent, waits) == (4, [0.001, 0.002, 0.003])


def test_a_create_is_not_sent_again_past_the_policy_s_timeout(tmp_path: Path) -> None:
    policy = RetryPolicy(attempts=4, timeout=1e-6, wait_initial=0.001, wait_max=0.003)
    message, sent, waits = sent_under(policy, tmp_path)
    assert (sent, waits) == (1, [])
    assert message.endswith("sent 1 times without success: run apply again")


def test_a_last_create_answered_502_after_it_happened_is_adopted(tmp_path: Path) -> None:
    # No attempt is left to send it again: the look that follows finds it, ours.
    fake = FakeScim(token=TOKEN)
    fake.fail("POST", "/Users", status=502, after=True, body={"detail": "bad gateway"})
    log = RecordingLog()
    once = RetryPolicy(attempts=1)
    with stamina.set_testing(False):
        specs = write_spec(tmp_path, ALICE)
        prepared = prepare(specs, "fake", transport=fake.transport, retry=once)
        applier = Applier(prepared.client, prepared.target, prepared.caps, log)
        (outcome,) = applier.run(prepared.plan).outcomes
        prepared.client.close()
    assert (outcome.ok, outcome.target_id, fake.count("POST")) == (True, ALICE_ID, 1)
    [adopted] = [e[2] for e in log.events if e[1].startswith("create answered by adopting")]
    assert (adopted["status"], adopted["target_id"]) == (502, ALICE_ID)


def test_each_create_is_written_to_the_audit_trail_as_sent(tmp_path: Path) -> None:
    fake = FakeScim(token=TOKEN)
    alice = fake.add_user("alice@example.com")
    specs = write_spec(tmp_path, ALICE, [{"displayName": "Eng", "members": ["alice@example.com"]}])
    prepared = prepare(specs, "fake", transport=fake.transport)
    log = RecordingLog()
    Applier(prepared.client, prepared.target, prepared.caps, log).run(prepared.plan)
    prepared.client.close()
    [post] = [e[2] for e in log.events if e[1] == "write" and e[2]["key"] == "Eng"]
    assert (post["method"], post["path"], post["outcome"]) == ("POST", "/Groups", "ok")
    assert post["members_added"] == [{"id": alice, "key": "alice@example.com"}]


def test_after_a_short_read_many_user_creates_list_the_users_once(tmp_path: Path) -> None:
    # A hidden member makes the read short, so every create looks first. The first look
    # finds p0, whom the listing hid too: the userName filter works, and finds p0 in other
    # case as well, so its empty answers for the others are believed.
    fake = FakeScim(token=TOKEN)
    hid = fake.add_user("hid@example.com")
    fake.add_group("Eng", [hid])
    fake.hidden.update({hid, fake.add_user("p0@example.com", displayName="P 0")})
    people = [user(f"p{n}@example.com", displayName=f"P {n}") for n in range(6)]
    specs = write_spec(
        tmp_path,
        [user("hid@example.com"), *people],
        [{"displayName": "Eng", "members": ["hid@example.com", "p0@example.com"]}],
        concurrency=1,
    )
    prepared = prepare(specs, "fake", transport=fake.transport)
    assert not prepared.observed.complete
    before = len(fake.requests)
    log = RecordingLog()
    result = Applier(prepared.client, prepared.target, prepared.caps, log).run(prepared.plan)
    prepared.client.close()
    assert [o.message for o in result.outcomes if not o.ok] == []
    assert len(fake.users) == 7
    # p0 was adopted on a look, not on an answer: no status to report.
    [adopted] = [e[2] for e in log.events if e[1].startswith("create answered by adopting")]
    assert (adopted["key"], adopted["status"]) == ("p0@example.com", 0)
    # The group gets the adopted p0, by the id the look found.
    (eng,) = fake.groups.values()
    assert {m["value"] for m in eng["members"]} == {hid, fake.user_named("p0@example.com")[0]["id"]}
    asked = fake.requests[before:]
    listed = [
        s for s in asked if s.method == "GET" and s.path == "/Users" and "filter" not in s.params
    ]
    assert len(listed) <= 1  # the first look, before the filter has proven itself
    assert 'userName eq "P0@EXAMPLE.COM"' in [s.params.get("filter") for s in asked]


def applied_after(
    specs: Path, fake: FakeScim, between: Callable[[], object]
) -> tuple[ApplyResult, list[Seen]]:
    """Plan, run `between` (the target changes), apply: the result and what apply asked."""
    prepared = prepare(specs, "fake", transport=fake.transport)
    between()
    before = len(fake.requests)
    applier = Applier(prepared.client, prepared.target, prepared.caps, prepared.log)
    try:
        result = applier.run(prepared.plan)
    finally:
        prepared.client.close()
    return result, fake.requests[before:]


def test_a_group_create_s_look_reads_no_more_than_max_objects(tmp_path: Path) -> None:
    # Groups made after the plan's read take the listing past the bound: the look fails
    # as the plan's read would have, rather than read on.
    fake = FakeScim(token=TOKEN)
    specs = write_spec(tmp_path, [], [{"displayName": "Eng"}], max_objects=3)
    result, _ = applied_after(specs, fake, lambda: [fake.add_group(f"G{n}") for n in range(5)])
    [failed] = result.failed
    assert (failed.key, "max_objects" in failed.message) == ("Eng", True), failed.message


def test_a_create_s_look_reads_the_listing_by_cursor_where_the_target_pages_so(
    tmp_path: Path,
) -> None:
    fake = FakeScim(token=TOKEN)
    fake.paging(cursor=True, index=False)
    specs = write_spec(tmp_path, [], [{"displayName": "Eng"}])
    result, asked = applied_after(specs, fake, lambda: None)
    assert result.failed == ()
    listed = [s for s in asked if s.path == "/Groups" and s.method == "GET"]
    listed = [s for s in listed if "filter" not in s.params]
    assert listed and all("cursor" in s.params for s in listed)


def test_in_lookup_mode_a_create_s_look_never_reads_the_listing(tmp_path: Path) -> None:
    fake = FakeScim(token=TOKEN)
    specs = write_spec(tmp_path, [], [{"displayName": "Eng"}], quirks={"listing": "none"})
    result, asked = applied_after(specs, fake, lambda: None)
    assert result.failed == ()
    # Of the collection: the new group itself is read by its id (apply/creates.py
    # `_read_as_sent`), which is no listing.
    looks = [s.params.get("filter") for s in asked if s.method == "GET" and s.path == "/Groups"]
    assert 'displayName eq "Eng"' in looks and None not in looks


def test_a_create_without_a_name_attribute_looks_itself_up_by_its_key(tmp_path: Path) -> None:
    # ana's userName maps from a source she lacks, so her create carries no userName: the
    # look before it (the read was short) asks for her key, and finds her.
    fake = FakeScim(token=TOKEN)
    hid = fake.add_user("hid@example.com")
    fake.add_group("Eng", [hid])
    ana = fake.add_user("ana@example.com")
    fake.hidden.update({hid, ana})
    specs = write_spec(
        tmp_path,
        [
            user("hid@example.com", custom={"mail": "hid@example.com"}),
            user("ana@example.com"),
            user("bob@example.com", custom={"mail": "bob@example.com"}),
        ],
        [{"displayName": "Eng", "members": ["hid@example.com"]}],
        mappings={"user": {"userName": {"source": "mail"}}},
        concurrency=1,
    )
    prepared = prepare(specs, "fake", transport=fake.transport)
    create = next(c for c in prepared.plan.changes if c.key == "ana@example.com")
    assert (create.action, create.attributes) == (Action.CREATE, ())
    before = len(fake.requests)
    applier = Applier(prepared.client, prepared.target, prepared.caps, prepared.log)
    result = applier.run(prepared.plan)
    prepared.client.close()
    assert outcomes(result)["ana@example.com"] == (Action.UPDATE, True)  # adopted
    assert [o.target_id for o in result.outcomes if o.key == "ana@example.com"] == [ana]
    assert [s.body["userName"] for s in fake.requests if s.method == "POST"] == ["bob@example.com"]
    # Her key, found in other case too, proved the filter: bob's look reads no listing.
    asked = fake.requests[before:]
    listed = [s for s in asked if s.method == "GET" and s.path == "/Users"]
    assert [s for s in listed if "filter" not in s.params] == []
    assert 'userName eq "ANA@EXAMPLE.COM"' in [s.params.get("filter") for s in asked]


def test_a_create_sent_again_waits_the_policy_s_jitter_more(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Up to wait_jitter more, at random (stamina draws it), so that threads spread out.
    drawn: list[tuple[float, float]] = []

    def uniform(low: float, high: float) -> float:
        drawn.append((low, high))
        return 0.0

    monkeypatch.setattr(random, "uniform", uniform)
    policy = RetryPolicy(attempts=2, timeout=30, wait_initial=0.001, wait_max=1, wait_jitter=0.2)
    _, sent, _ = sent_under(policy, tmp_path)
    assert (sent, set(drawn)) == (2, {(0, 0.2)})


def test_a_409_for_an_id_another_user_holds_says_so(tmp_path: Path) -> None:
    # scimgateway makes a user's id from its userName and keeps it through a rename, so
    # after bob became robert, a new bob is refused: "Duplicate key for property id".
    fake = FakeScim(token=TOKEN)
    body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "robert"}
    fake.users["bob"] = fake._stamp("User", "bob", body)
    detail = "Duplicate key for property id: bob"
    fake.fail("POST", "/Users", status=409, body={"status": "409", "detail": detail})
    specs = write_spec(tmp_path, [user("robert"), user("bob")])
    _, result = plan_and_apply(specs, fake)
    (failed,) = result.failed
    assert failed.key == "bob"
    assert failed.message.endswith(
        "; user robert has the id 'bob' on this target, which makes ids from "
        "names: this user cannot be created under that name while robert holds it"
    )
