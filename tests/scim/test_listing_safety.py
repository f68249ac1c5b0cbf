"""A target whose listing hides objects, under-reports them, or races another run never makes
scimrec remove, deprovision or duplicate anything (issue 12 §4-6, §9), fault-injected.

Each test is a scenario that once took access away or duplicated objects; the comment says
what used to happen.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import httpx2
import pytest

from reconciler.core.changes import Action, Change, Member
from reconciler.core.model import Kind
from reconciler.scim.apply.runner import Applier
from reconciler.scim.audit import AuditLog
from reconciler.scim.client import ScimClient
from tests.fakescim import FakeScim, Seen
from tests.scim.conftest import TOKEN
from tests.scim.test_faults import outcomes, plan_and_apply, replan, user, user_id, write_spec

pytestmark = pytest.mark.usefixtures("token")


def seeded(names: list[str]) -> FakeScim:
    fake = FakeScim(token=TOKEN)
    for name in names:
        fake.add_user(name, active=True)
    return fake


def members_of(fake: FakeScim, name: str) -> set[str]:
    (group,) = [g for g in fake.groups.values() if g["displayName"] == name]
    return {str(m["value"]) for m in group.get("members", [])}


def test_a_hidden_member_is_never_removed_and_never_flips(tmp_path: Path) -> None:
    # Before: the listing hid inactive bob, bob was created (409), adopted, added to the
    # group, then removed again as an unknown user, every run, "0 failed".
    fake = seeded(["alice@example.com", "bob@example.com"])
    bob = user_id(fake, "bob@example.com")
    fake.add_group("Eng", [user_id(fake, "alice@example.com"), bob])
    fake.hidden.add(bob)
    specs = write_spec(
        tmp_path,
        [user("alice@example.com"), user("bob@example.com")],
        [{"displayName": "Eng", "members": ["alice@example.com", "bob@example.com"]}],
    )
    for _ in range(2):
        prepared, result = plan_and_apply(specs, fake)
        assert not result.failed, result.failed
        assert members_of(fake, "Eng") == {user_id(fake, "alice@example.com"), bob}
        assert len(fake.user_named("bob@example.com")) == 1
        # The group told on the listing: asked for, bob was found and matched.
        assert prepared.plan.changes == ()
        assert not prepared.observed.complete
    assert any("did not show 1 user(s)" in n for n in replan(specs, fake).plan.notes)


def test_an_unlisted_member_is_removed_only_once_the_target_says_it_is_gone(tmp_path: Path) -> None:
    fake = seeded(["alice@example.com"])
    alice = user_id(fake, "alice@example.com")
    fake.add_group("Eng", [alice, "ghost-id"])
    specs = write_spec(
        tmp_path,
        [user("alice@example.com")],
        [{"displayName": "Eng", "members": ["alice@example.com"]}],
    )
    plan = replan(specs, fake).plan
    [change] = plan.changes
    assert [m.id for m in change.members_remove] == ["ghost-id"]  # GET /Users/ghost-id: 404
    assert fake.count("GET", "/Users/ghost-id") == 1


def test_total_results_lower_than_the_truth_loses_no_one(tmp_path: Path) -> None:
    # Before: a target reporting totalResults 5 for 20 users made a group of 20 lose 15.
    names = [f"u{i:02}@example.com" for i in range(20)]
    fake = seeded(names)
    fake.add_group("All", [user_id(fake, n) for n in names])
    fake.max_count = 5
    fake.total_override = 5
    specs = write_spec(
        tmp_path,
        [user(n) for n in names],
        [{"displayName": "All", "members": names}],
        page_size=5,
    )
    prepared, result = plan_and_apply(specs, fake)
    assert len(prepared.observed.users) == 20
    assert prepared.plan.changes == ()
    assert any("totalResults said 5" in n for n in prepared.plan.notes)
    assert len(members_of(fake, "All")) == 20
    assert not result.failed


def test_after_a_short_read_creates_are_looked_up_and_adopted(tmp_path: Path) -> None:
    # A listing that stops early must not turn into duplicates: each planned create is
    # looked up first, and what is found is adopted (and brought to the spec) instead.
    fake = seeded(["alice@example.com", "bob@example.com"])
    # A listed user without an id cannot be read: the read is incomplete.
    fake.users["no-id"] = {"schemas": [], "userName": "noid@example.com"}
    specs = write_spec(tmp_path, [user("alice@example.com"), user("carol@example.com", title="T")])
    fake.hidden.add(user_id(fake, "alice@example.com"))
    prepared, result = plan_and_apply(specs, fake)
    assert not prepared.plan.complete_read
    # Adopted, not created again: an update of the account found, as its summary says.
    assert outcomes(result)["alice@example.com"] == (Action.UPDATE, True)
    assert len(fake.user_named("alice@example.com")) == 1
    assert len(fake.user_named("carol@example.com")) == 1
    assert fake.count("POST", "/Users") == 1  # carol only


def test_a_conflict_with_several_candidates_adopts_none(tmp_path: Path) -> None:
    fake = seeded(["dave@example.com", "dave@example.com"])  # the target allows duplicates
    for rid in [u["id"] for u in fake.users.values()]:
        fake.hidden.add(rid)
    fake.fail("POST", "/Users", status=409, body={"detail": "exists", "scimType": "uniqueness"})
    specs = write_spec(tmp_path, [user("dave@example.com", title="T")])
    _, result = plan_and_apply(specs, fake)
    [failed] = result.failed
    assert "no single object with its key can be found" in failed.message
    assert all("title" not in u for u in fake.users.values())


@pytest.mark.parametrize("twins", [1, 2])
def test_a_conflict_no_lookup_finds_withholds_only_the_deprovisions_of_its_likes(
    tmp_path: Path, twins: int
) -> None:
    """A create answered 409 says the target holds the account, which the listing did not
    show, even where no lookup then finds one (a filter that hides it too) or finds two.
    The account may be one the plan deprovisions under a name a reader cannot tell apart:
    that disable waits, naming the create that blocks it and what resolves it. Any other
    (an unrelated stray) is made: planning again shows the same (a Salesforce username taken
    in another org never shows), and one such user kept every leaver's access, run after
    run. A group's member removals are withheld alike: the look-alike stays a member, the
    stray is removed."""
    like = "d\u00e1ve@example.com"  # a skeleton equal to dave's: maybe the same person
    names = ["stray@example.com", "alice@example.com", like, *["dave@example.com"] * twins]
    fake = seeded(names)
    for rid in [u["id"] for u in fake.users.values() if u["userName"] == "dave@example.com"]:
        fake.hidden.add(rid)
    if twins == 1:
        fake.blind_filters.add("userName")  # its filter hides the one dave as well
    stray, alice = user_id(fake, "stray@example.com"), user_id(fake, "alice@example.com")
    fake.add_group("Team", [alice, stray, user_id(fake, like)])
    fake.fail("POST", "/Users", status=409, body={"detail": "exists", "scimType": "uniqueness"})
    users = [user("alice@example.com"), user("dave@example.com")]
    groups = [{"displayName": "Team", "members": ["alice@example.com"]}]
    specs = write_spec(tmp_path, users, groups, prune="all")
    prepared, result = plan_and_apply(specs, fake)
    planned = {(c.action, c.key) for c in prepared.plan.changes}
    assert {(Action.DISABLE, "stray@example.com"), (Action.DISABLE, like)} <= planned
    assert fake.users[stray]["active"] is False  # unrelated: disabled
    assert fake.users[user_id(fake, like)]["active"] is True
    assert members_of(fake, "Team") == {alice, user_id(fake, like)}
    failed = {o.key: o.message for o in result.failed}
    assert failed["Team"] == (
        "1 member removal(s) withheld: user dave@example.com could not be created (the "
        f"target says it exists, but no lookup or listing shows it) and may be member {like} "
        "(an equivalent name); withheld until user dave@example.com is resolved: find it on "
        "the target and match it, or take it out of the spec"
    )
    assert "no single object with its key can be found" in failed["dave@example.com"]
    assert failed[like] == (
        "not disabled: user dave@example.com could not be created (the target says it "
        "exists, but no lookup or listing shows it) and may be this account (an equivalent "
        "name); withheld until user dave@example.com is resolved: find it on the target and "
        "match it, or take it out of the spec"
    )
    assert "stray@example.com" not in failed


def test_a_conflict_withholds_the_deprovision_of_an_account_whose_own_name_is_alike(
    tmp_path: Path,
) -> None:
    """The account a deprovision names may hold another name than its declared key (carol,
    declared absent, is matched by externalId to an account named like dave): that name,
    read from the plan's read of the account, decides whether it may be the account a
    create answered 409 is for, as the key does."""
    like = "d\u00e1ve@example.com"
    fake = seeded(["alice@example.com", "dave@example.com"])
    fake.hidden.add(user_id(fake, "dave@example.com"))
    fake.blind_filters.add("userName")
    carols = fake.add_user(like, active=True, externalId="e-carol")
    fake.fail("POST", "/Users", status=409, body={"detail": "exists", "scimType": "uniqueness"})
    users = [
        user("alice@example.com"),
        user("dave@example.com"),
        user("carol@example.com", state="absent", externalId="e-carol"),
    ]
    specs = write_spec(tmp_path, users, matching={"user": ["userName", "externalId"]})
    prepared, result = plan_and_apply(specs, fake)
    planned = {(c.action, c.key, c.target_id) for c in prepared.plan.changes}
    assert (Action.DISABLE, "carol@example.com", carols) in planned
    assert fake.users[carols]["active"] is True
    failed = {o.key: o.message for o in result.failed}
    assert failed["carol@example.com"].startswith(
        "not disabled: user dave@example.com could not be created"
    )
    assert "(an equivalent name)" in failed["carol@example.com"]


def test_a_delete_answered_412_is_a_failure(tmp_path: Path, token: str) -> None:
    fake = seeded(["mallory@example.com"])
    fake.fail("DELETE", "/Users/*", status=412, body={"detail": "version mismatch"})
    specs = write_spec(
        tmp_path, [user("mallory@example.com", state="absent")], deprovision="delete"
    )
    _, result = plan_and_apply(specs, fake)
    assert outcomes(result)["mallory@example.com"] == (Action.DELETE, False)


def test_no_deprovision_while_the_equivalent_create_failed(tmp_path: Path) -> None:
    # Before: the target held "dave@example.com " (trailing space); the plan created
    # "dave@example.com" (409 on a normalising server) and still deleted the old one.
    fake = seeded(["davé@example.com"])  # an accent: matching keeps it, a skeleton not
    fake.fail("POST", "/Users", status=400, body={"detail": "no", "scimType": "invalidValue"})
    specs = write_spec(tmp_path, [user("dave@example.com")], prune="all", deprovision="delete")
    prepared, result = plan_and_apply(specs, fake)
    assert {c.action for c in prepared.plan.changes} == {Action.CREATE, Action.DELETE}
    held = [o for o in result.outcomes if o.action is Action.DELETE]
    assert [(o.ok, "equivalent name failed" in o.message) for o in held] == [(False, True)]
    assert len(fake.users) == 1


def test_a_failed_group_create_never_withholds_a_users_deprovision(tmp_path: Path) -> None:
    # A group "Admins" is no account: its failed create says nothing of user "admins",
    # whose delete goes ahead (and a failed user create withholds no group's delete).
    fake = seeded(["admins"])
    fake.add_group("ops")
    fake.fail("POST", "/Groups", status=400, body={"detail": "no", "scimType": "invalidValue"})
    fake.fail("POST", "/Users", status=400, body={"detail": "no", "scimType": "invalidValue"})
    users = [user("admins", state="absent"), user("ops")]
    groups = [{"displayName": "Admins"}]
    specs = write_spec(tmp_path, users, groups, prune="all", deprovision="delete")
    prepared, result = plan_and_apply(specs, fake)
    assert {(c.kind, c.key, c.action) for c in prepared.plan.changes} >= {
        (Kind.USER, "admins", Action.DELETE),
        (Kind.GROUP, "ops", Action.DELETE),
    }
    deletes = [(o.kind, o.key, o.ok) for o in result.outcomes if o.action is Action.DELETE]
    assert sorted(deletes) == [(Kind.GROUP, "ops", True), (Kind.USER, "admins", True)]
    assert fake.user_named("admins") == []


def test_once_a_lookup_finds_what_the_listing_hid_nothing_is_taken_away(tmp_path: Path) -> None:
    fake = seeded(["alice@example.com", "old@example.com"])
    fake.hidden.add(user_id(fake, "alice@example.com"))
    fake.add_group("Eng", [user_id(fake, "old@example.com")])
    specs = write_spec(
        tmp_path,
        [user("alice@example.com")],
        [{"displayName": "Eng", "members": ["alice@example.com"]}],
        prune="all",
    )
    # alice is planned as a create; the 409 shows the listing hid her.
    fake.fail("POST", "/Users", status=409, body={"detail": "exists", "scimType": "uniqueness"})
    prepared, result = plan_and_apply(specs, fake)
    assert any(c.action is Action.DISABLE for c in prepared.plan.changes)
    assert fake.users[user_id(fake, "old@example.com")]["active"] is True
    assert user_id(fake, "old@example.com") in members_of(fake, "Eng")
    assert user_id(fake, "alice@example.com") in members_of(fake, "Eng")
    assert any("its listing did not show" in o.message for o in result.failed)


@pytest.mark.parametrize("lost", [True, False], ids=["answer lost", "answered"])
def test_an_id_created_in_the_run_is_never_removed_in_it(tmp_path: Path, lost: bool) -> None:
    # A plan that asks to remove a member this very run creates (a stale plan, an edited
    # one) loses that removal: the spec wants the person in, the run just made them.
    fake = seeded([])
    gid = fake.add_group("Eng")
    if lost:  # the create happens, its answer is lost: found by lookup, adopted as ours
        fake.fail("POST", "/Users", after=True, exc=httpx2.ReadTimeout("lost"))
    specs = write_spec(tmp_path, [user("bob@example.com")])
    prepared = replan(specs, fake)
    planned = next(c for c in prepared.plan.changes if c.key == "bob@example.com")
    remove_bob = Change(
        Kind.GROUP,
        "Eng",
        Action.UPDATE,
        "members differ",
        gid,
        members_add=(Member("bob@example.com", None),),
        members_remove=(Member("bob@example.com", "u2"),),
    )
    plan = dataclasses.replace(prepared.plan, changes=(planned, remove_bob))
    client = ScimClient.for_target(prepared.target, transport=fake.transport)
    result = Applier(client, prepared.target, prepared.caps, prepared.log).run(plan)
    bob = user_id(fake, "bob@example.com")
    assert bob == "u2"  # the id the fake gives the next user
    assert members_of(fake, "Eng") == {bob}
    assert not result.failed, result.failed


class RacingFake(FakeScim):
    """Another run creates the same group just before each of our group creates lands."""

    def _create(self, seen: Seen, store: dict[str, dict[str, Any]], kind: str) -> httpx2.Response:
        if kind == "Group" and seen.body:
            super()._create(seen, store, kind)  # theirs, first: a lower id
        return super()._create(seen, store, kind)


def test_a_group_created_twice_at_once_is_kept_once(tmp_path: Path) -> None:
    fake = RacingFake(token=TOKEN)
    fake.unique_names = False  # as many targets: two groups may share a displayName
    fake.add_user("alice@example.com")
    specs = write_spec(
        tmp_path,
        [user("alice@example.com")],
        [{"displayName": "Eng", "members": ["alice@example.com"]}],
    )
    _, result = plan_and_apply(specs, fake)
    assert not result.failed
    [eng] = fake.groups.values()  # ours was deleted; the other run's is used
    assert {str(m["value"]) for m in eng["members"]} == {user_id(fake, "alice@example.com")}
    assert fake.count("DELETE", "/Groups/*") == 1


def test_a_group_another_run_created_since_the_plan_is_adopted(tmp_path: Path) -> None:
    fake = seeded(["alice@example.com"])
    specs = write_spec(
        tmp_path,
        [user("alice@example.com")],
        [{"displayName": "Eng", "externalId": "eng", "members": ["alice@example.com"]}],
    )
    prepared = replan(specs, fake)
    fake.add_group("Eng")  # between the plan and the apply
    client = ScimClient.for_target(prepared.target, transport=fake.transport)
    lines: list[str] = []
    audit = AuditLog(lines.append)
    applier = Applier(client, prepared.target, prepared.caps, prepared.log, audit=audit)
    result = applier.run(prepared.plan)
    [eng] = fake.groups.values()
    assert eng["externalId"] == "eng"
    assert fake.count("POST", "/Groups") == 0
    assert members_of(fake, "Eng") == {user_id(fake, "alice@example.com")}
    # The listing the plan was made from did not hold the group: nothing is taken away.
    assert not any(o.action.value in ("delete", "disable") for o in result.outcomes)
    # Another made it: this run updated it, and says so, never that it created it.
    assert (result.counts()["create"], result.counts()["update"]) == (0, 1)
    writes = [json.loads(line) for line in lines]
    assert writes and all(w["action"] == "update" and w["method"] != "POST" for w in writes)


def test_a_create_answered_409_and_adopted_is_counted_an_update(tmp_path: Path) -> None:
    fake = seeded(["alice@example.com", "bob@example.com"])
    bob = user_id(fake, "bob@example.com")
    fake.hidden.add(bob)  # the listing hides bob; a lookup finds him
    fake.fail("POST", "/Users", status=409, body={"detail": "exists", "scimType": "uniqueness"})
    specs = write_spec(tmp_path, [user("alice@example.com"), user("bob@example.com", title="T")])
    prepared = replan(specs, fake)
    client = ScimClient.for_target(prepared.target, transport=fake.transport)
    lines: list[str] = []
    applier = Applier(
        client, prepared.target, prepared.caps, prepared.log, audit=AuditLog(lines.append)
    )
    result = applier.run(prepared.plan)
    assert fake.users[bob]["title"] == "T"
    assert (result.counts()["create"], result.counts()["update"]) == (0, 1)
    writes = [(w["method"], w["action"], w["outcome"]) for w in map(json.loads, lines)]
    assert writes == [("POST", "create", "failed"), ("PATCH", "update", "ok")]


@pytest.mark.parametrize("endpoint", ["/Users", "/Groups"])
def test_a_short_read_of_either_listing_makes_the_read_incomplete(
    tmp_path: Path, endpoint: str
) -> None:
    fake = seeded(["alice@example.com", "bob@example.com"])
    fake.add_group("Eng")
    fake.add_group("Ops")
    # Each listing reports one more object than it shows.
    fake.fail(
        "GET",
        endpoint,
        when=lambda seen: "filter" not in seen.params,
        status=200,
        body={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": 3,
            "Resources": [
                (fake.users if endpoint == "/Users" else fake.groups)[k]
                for k in sorted(fake.users if endpoint == "/Users" else fake.groups)[:1]
            ],
        },
        times=5,
    )
    specs = write_spec(tmp_path, [], prune="all")
    prepared = replan(specs, fake)
    assert not prepared.observed.complete
    assert prepared.plan.changes == ()  # nothing deprovisioned from what was not seen


class SlowerRacingFake(FakeScim):
    """The other run's group was created first (older meta.created) but its answer reached
    the target's id counter after ours: the oldest, not the least id, must stay."""

    def _create(self, seen: Seen, store: dict[str, dict[str, Any]], kind: str) -> httpx2.Response:
        response = super()._create(seen, store, kind)
        if kind == "Group" and response.status_code == 201:
            ours = response.json()["id"]
            store[ours]["meta"]["created"] = "2026-01-01T10:00:05Z"
            theirs = f"{ours}9"  # a greater id
            store[theirs] = {
                **store[ours],
                "id": theirs,
                "members": [],
                "meta": {**store[ours]["meta"], "created": "2026-01-01T10:00:01Z"},
            }
        return response


def test_of_two_racing_groups_the_oldest_stays(tmp_path: Path) -> None:
    fake = SlowerRacingFake(token=TOKEN)
    fake.unique_names = False
    fake.add_user("alice@example.com")
    specs = write_spec(
        tmp_path,
        [user("alice@example.com")],
        [{"displayName": "Eng", "members": ["alice@example.com"]}],
    )
    _, result = plan_and_apply(specs, fake)
    assert not result.failed
    [(gid, eng)] = fake.groups.items()
    assert gid.endswith("9")  # theirs: created first
    assert {str(m["value"]) for m in eng["members"]} == {user_id(fake, "alice@example.com")}


def test_after_a_short_read_a_create_finding_several_candidates_creates_nothing(
    tmp_path: Path,
) -> None:
    # The look before a create finds two accounts of the name (a target that allows
    # duplicates, both hidden from the short listing): adopting either is a guess, and
    # creating a third makes another duplicate. The create fails, naming both.
    fake = seeded(["dave@example.com", "dave@example.com", "erin@example.com"])
    fake.users["no-id"] = {"schemas": [], "userName": "noid@example.com"}  # a short read
    daves = sorted(u["id"] for u in fake.user_named("dave@example.com"))
    fake.hidden.update(daves)
    specs = write_spec(tmp_path, [user("dave@example.com", title="T"), user("erin@example.com")])
    prepared, result = plan_and_apply(specs, fake)
    assert not prepared.plan.complete_read
    [failed] = result.failed
    assert failed.message == (
        f"2 users on the target have this name (ids {', '.join(daves)}): not created"
    )
    assert fake.count("POST", "/Users") == 0
    assert all("title" not in u for u in fake.users.values())
