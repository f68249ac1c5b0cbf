"""A create is recorded under the id the target gives it, and later writes of the run (group
members, managers) use that id: an answer naming an id that already belongs to another
object of the run (a Bulk `location` pointing at another account, two operations answered
with one id, a POST answered with another user's resource) must never be recorded, or those
writes would land on the wrong account."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
import stamina

from tests.bulkscim import BulkScim
from tests.fakescim import FakeScim, Seen, json_response
from tests.scim.test_bulk import apply, converged, people
from tests.scim.test_disable_time import logged_apply
from tests.scim.test_faults import plan_and_apply, user, user_id, write_spec

Mangle = Callable[[dict[str, Any], FakeScim], dict[str, Any]]
ADMINS = [{"displayName": "Admins", "members": ["u0@example.com"]}]


@pytest.fixture(autouse=True)
def _fast() -> Iterator[None]:
    with stamina.set_testing(True, attempts=3):
        yield


class MangledBulk(BulkScim):
    """Serves each Bulk request, then rewrites its answer with `mangle`."""

    def __init__(self, mangle: Mangle, *, token: str) -> None:
        super().__init__(token=token)
        self.mangle = mangle

    def _serve(self, seen: Seen) -> httpx2.Response:
        answer = super()._serve(seen)
        if seen.path != "/Bulk" or answer.status_code != 200:
            return answer
        return json_response(200, self.mangle(json.loads(answer.content), self))


def bob_id(fake: FakeScim) -> str:
    return str(fake.user_named("bob@example.com")[0]["id"])


def admins_members(fake: FakeScim) -> list[str]:
    (group,) = [g for g in fake.groups.values() if g["displayName"] == "Admins"]
    return sorted(m["value"] for m in group.get("members", []))


def bulk_run(
    tmp_path: Path, token: str, mangle: Mangle, *, bob_declared: bool = True
) -> tuple[MangledBulk, Any]:
    fake = MangledBulk(mangle, token=token)
    fake.add_user("bob@example.com", active=True)
    users = [*people(12, managers=False), *([user("bob@example.com")] if bob_declared else [])]
    specs = write_spec(tmp_path, users, ADMINS, quirks={"bulk": "use"})
    return fake, apply(specs, fake)


@pytest.mark.parametrize("bob_declared", [True, False])
def test_a_bulk_location_naming_another_account_is_not_recorded(
    tmp_path: Path, token: str, bob_declared: bool
) -> None:
    # Declared, bob is matched; undeclared (prune: none leaves him be), the plan read him
    # but matched him to nothing. Either way an answer naming his id is not the new one's.
    def to_bob(body: dict[str, Any], fake: FakeScim) -> dict[str, Any]:
        body["Operations"][0]["location"] = f"https://elsewhere.test/Users/{bob_id(fake)}"
        return body

    fake, result = bulk_run(tmp_path, token, to_bob, bob_declared=bob_declared)
    u0 = str(fake.user_named("u0@example.com")[0]["id"])
    # u0 is looked up by its name instead; bob never joins Admins in its place.
    assert admins_members(fake) == [u0]
    assert not result.failed
    # u0 was verified from a read of its own, not from bob's resource.
    assert result.not_kept == ()
    assert converged(tmp_path, fake)


def test_two_bulk_operations_answered_with_one_id_are_not_both_recorded(
    tmp_path: Path, token: str
) -> None:
    def doubled(body: dict[str, Any], fake: FakeScim) -> dict[str, Any]:
        first, second = body["Operations"][:2]
        second["location"] = first["location"]
        return body

    fake, result = bulk_run(tmp_path, token, doubled)
    ids = {o.key: o.target_id for o in result.outcomes if o.kind.value == "user"}
    real = {str(u["userName"]): str(u["id"]) for u in fake.users.values()}
    assert {k: real[k] for k in ids} == ids
    assert not result.failed


class OtherAnswer(FakeScim):
    """Creates u0, but answers its POST with bob's resource."""

    def _serve(self, seen: Seen) -> httpx2.Response:
        answer = super()._serve(seen)
        body = seen.body if isinstance(seen.body, dict) else {}
        if seen.method == "POST" and body.get("userName") == "u0@example.com":
            return json_response(201, self.user_named("bob@example.com")[0])
        return answer


def test_a_create_answered_with_another_account_is_not_recorded(tmp_path: Path, token: str) -> None:
    fake = OtherAnswer(token=token)
    fake.add_user("bob@example.com", active=True)
    users = [user("u0@example.com"), user("bob@example.com")]
    specs = write_spec(tmp_path, users, ADMINS)
    _, result = plan_and_apply(specs, fake)
    u0 = str(fake.user_named("u0@example.com")[0]["id"])
    assert bob_id(fake) not in admins_members(fake)
    assert admins_members(fake) == [u0]
    assert not result.failed


class Swallowed(FakeScim):
    """Answers u0's POST with bob's resource, and creates nothing for it."""

    def _serve(self, seen: Seen) -> httpx2.Response:
        body = seen.body if isinstance(seen.body, dict) else {}
        if seen.method == "POST" and body.get("userName") == "u0@example.com":
            return json_response(201, self.user_named("bob@example.com")[0])
        return super()._serve(seen)


def test_a_create_answered_with_another_account_and_found_nowhere_fails_and_says_so(
    tmp_path: Path, token: str
) -> None:
    fake = Swallowed(token=token)
    bob = fake.add_user("bob@example.com", active=True)
    specs = write_spec(tmp_path, [user("u0@example.com"), user("bob@example.com")], ADMINS)
    result, log = logged_apply(specs, fake)
    (u0,) = [o for o in result.outcomes if o.key == "u0@example.com"]
    assert not u0.ok
    assert f"the id {bob} of user bob@example.com" in u0.message
    assert "run plan again" in u0.message
    assert bob not in admins_members(fake)
    assert ("warning", "create answered with another object's id", {
        "step": "action", "kind": "user", "key": "u0@example.com", "target_id": bob,
        "detail": f"{bob} is user bob@example.com's",
        "outcome": "looking the object up by its name",
    }) in log.events  # fmt: skip


class FirstAnswer(FakeScim):
    """Answers every POST /Users with the first user it created."""

    def __init__(self, *, token: str) -> None:
        super().__init__(token=token)
        self.first: dict[str, Any] | None = None
        self.first_lock = threading.Lock()

    def _serve(self, seen: Seen) -> httpx2.Response:
        answer = super()._serve(seen)
        if seen.method != "POST" or not seen.path.endswith("/Users") or answer.status_code != 201:
            return answer
        with self.first_lock:
            self.first = self.first or json.loads(answer.content)
        return json_response(201, self.first)


def test_two_creates_answered_with_one_id_each_keep_their_own(tmp_path: Path, token: str) -> None:
    fake = FirstAnswer(token=token)
    names = [f"n{n}@example.com" for n in range(4)]
    specs = write_spec(tmp_path, [user(n) for n in names], [])
    _, result = plan_and_apply(specs, fake)
    real = {str(u["userName"]): str(u["id"]) for u in fake.users.values()}
    assert {o.key: o.target_id for o in result.outcomes} == {n: real[n] for n in names}
    assert not result.failed


def test_an_adoption_never_takes_another_accounts_id(tmp_path: Path, token: str) -> None:
    """Between plan and apply bob is renamed to u0's name: u0's create meets a 409, and the
    look-up finds bob's account. That id is bob's (the plan matched it), so u0 is not
    adopted onto it: bob is neither brought to u0's attributes nor put in u0's group."""
    fake = FakeScim(token=token)
    fake.add_user("bob@example.com", active=True)
    users = [user("u0@example.com", displayName="U Zero"), user("bob@example.com")]
    specs = write_spec(tmp_path, users, ADMINS)
    bob = bob_id(fake)

    def rename() -> None:
        fake.users[bob]["userName"] = "u0@example.com"

    result = apply(specs, fake, before=rename)
    assert "displayName" not in fake.users[bob]
    assert bob not in admins_members(fake)
    failed = {o.key: o.message for o in result.failed}
    assert "bob@example.com's" in failed["u0@example.com"]


def test_a_group_found_by_its_name_is_not_adopted_when_it_is_anothers(
    tmp_path: Path, token: str
) -> None:
    """Between plan and apply the group Admins is renamed to Ops, a group the spec creates:
    Ops's look-up finds Admins' group, which is not adopted (nor given Ops's members)."""
    fake = FakeScim(token=token)
    bob = fake.add_user("bob@example.com", active=True)
    admins = fake.add_group("Admins", [bob])
    users = [user("bob@example.com"), user("u0@example.com")]
    groups = [
        {"displayName": "Admins", "members": ["bob@example.com"]},
        {"displayName": "Ops", "members": ["u0@example.com"]},
    ]
    specs = write_spec(tmp_path, users, groups)

    def rename() -> None:
        fake.groups[admins]["displayName"] = "Ops"

    result = apply(specs, fake, before=rename)
    assert [m["value"] for m in fake.groups[admins]["members"]] == [bob]
    failed = {o.key: o.message for o in result.failed}
    assert "group Admins's" in failed["Ops"]


class Relay(FakeScim):
    """Creates each user, but answers u1's POST with u0's resource, and (with `hide_u0`)
    u0's with bob's: a later create is answered with an id an earlier one was given."""

    def __init__(self, *, token: str, hide_u0: bool) -> None:
        super().__init__(token=token)
        self.hide_u0 = hide_u0

    def _serve(self, seen: Seen) -> httpx2.Response:
        answer = super()._serve(seen)
        body = seen.body if isinstance(seen.body, dict) else {}
        if seen.method != "POST" or answer.status_code != 201:
            return answer
        if body.get("userName") == "u0@example.com" and self.hide_u0:
            return json_response(201, self.user_named("bob@example.com")[0])
        if body.get("userName") == "u1@example.com":
            return json_response(201, self.user_named("u0@example.com")[0])
        return answer


@pytest.mark.parametrize("how", ["found by name", "adopted after a 409"])
def test_an_id_found_for_one_create_is_never_given_to_another(
    tmp_path: Path, token: str, how: str
) -> None:
    # u0's id comes from a look-up by its name (its answer named bob), or from adopting it
    # after a 409 (it appeared between plan and apply): either way it is u0's from then on,
    # and u1's answer naming it does not make it u1's.
    fake = Relay(token=token, hide_u0=how == "found by name")
    fake.add_user("bob@example.com", active=True)
    users = [user("u0@example.com"), user("u1@example.com"), user("bob@example.com")]
    specs = write_spec(tmp_path, users, [], concurrency=1)

    def appear() -> None:
        if how == "adopted after a 409":
            fake.add_user("u0@example.com", active=True)

    result = apply(specs, fake, before=appear)
    real = {str(u["userName"]): str(u["id"]) for u in fake.users.values()}
    ids = {o.key: o.target_id for o in result.outcomes if o.key != "bob@example.com"}
    assert ids == {
        "u0@example.com": real["u0@example.com"],
        "u1@example.com": real["u1@example.com"],
    }
    assert not result.failed


def test_a_group_created_with_a_users_id_leaves_that_users_removals_alone(
    tmp_path: Path, token: str
) -> None:
    # django-scim2 counts users and groups apart, from 1: the group this run creates is
    # "2", as ann is. Ann's removal from Staff must still go out: what the run created is
    # a group, and only a user it created or adopted is kept out of removals.
    fake = FakeScim(token=token)
    fake.ids_per_kind = True
    ben, ann = fake.add_user("ben@example.com"), fake.add_user("ann@example.com")
    fake.add_group("Staff", [ben, ann])
    users = [user("ben@example.com"), user("ann@example.com")]
    groups = [
        {"displayName": "Staff", "members": ["ben@example.com"]},
        {"displayName": "New", "members": ["ann@example.com"]},
    ]
    specs = write_spec(tmp_path, users, groups, concurrency=1)
    _, result = plan_and_apply(specs, fake)
    created = {o.key: o.target_id for o in result.outcomes}
    assert created["New"] == ann == "2"
    assert not result.failed
    staff = next(g for g in fake.groups.values() if g["displayName"] == "Staff")
    assert [m["value"] for m in staff["members"]] == [ben]
    assert converged(specs, fake)


def test_a_group_adopted_under_a_users_key_never_stands_in_for_that_user(
    tmp_path: Path, token: str
) -> None:
    # User "admins" is created, then group "admins" too, whose answer is lost: it is
    # adopted by its name. Staff gains the user's id, never the group's (on a target that
    # counts ids per kind, that would be another user's).
    fake = FakeScim(token=token)
    ben = fake.add_user("ben@example.com")
    fake.add_group("Staff", [ben])
    users = [user("ben@example.com"), user("admins")]
    groups = [
        {"displayName": "admins", "members": ["ben@example.com"]},
        {"displayName": "Staff", "members": ["ben@example.com", "admins"]},
    ]
    specs = write_spec(tmp_path, users, groups, concurrency=1)
    fake.fail("POST", "/Groups", status=502, after=True)
    _, result = plan_and_apply(specs, fake)
    assert not result.failed
    staff = next(g for g in fake.groups.values() if g["displayName"] == "Staff")
    assert sorted(m["value"] for m in staff["members"]) == sorted([ben, user_id(fake, "admins")])
    assert converged(specs, fake)


class GroupAnswer(FakeScim):
    """Makes u0 when asked, but answers its POST with the group Ops's resource (its
    `meta` or, where `bare`, only its id and displayName)."""

    def __init__(self, *, token: str, bare: bool) -> None:
        super().__init__(token=token)
        self.bare = bare

    def _serve(self, seen: Seen) -> httpx2.Response:
        body = seen.body if isinstance(seen.body, dict) else {}
        if seen.method == "POST" and body.get("userName") == "u0@example.com":
            super()._serve(seen)
            (ops,) = [g for g in self.groups.values() if g["displayName"] == "Ops"]
            answer = {"id": ops["id"], "displayName": "Ops"} if self.bare else ops
            return json_response(201, answer)
        return super()._serve(seen)


@pytest.mark.parametrize("bare", [False, True])
def test_a_user_create_answered_with_a_group_never_nests_that_group(
    tmp_path: Path, token: str, bare: bool
) -> None:
    # Before: the group's id was recorded as u0's, and written as a member of Admins: Ops,
    # with every member's access, nested into Admins.
    fake = GroupAnswer(token=token, bare=bare)
    ops = fake.add_group("Ops")
    groups: list[dict[str, Any]] = [*ADMINS, {"displayName": "Ops"}]
    _, result = plan_and_apply(write_spec(tmp_path, [user("u0@example.com")], groups), fake)
    u0 = str(fake.user_named("u0@example.com")[0]["id"])
    assert admins_members(fake) == [u0]
    assert ops not in admins_members(fake)
    assert not result.failed


class RenamedAnswer(FakeScim):
    """Makes u0 when asked, but answers with a user of another name (an upsert elsewhere)."""

    def _serve(self, seen: Seen) -> httpx2.Response:
        body = seen.body if isinstance(seen.body, dict) else {}
        if seen.method == "POST" and body.get("userName") == "u0@example.com":
            super()._serve(seen)
            return json_response(201, {"id": "zz9", "userName": "someone@example.com"})
        return super()._serve(seen)


def test_a_user_create_answered_with_a_user_of_another_name_is_looked_up(
    tmp_path: Path, token: str
) -> None:
    fake = RenamedAnswer(token=token)
    _, result = plan_and_apply(write_spec(tmp_path, [user("u0@example.com")], ADMINS), fake)
    u0 = str(fake.user_named("u0@example.com")[0]["id"])
    assert admins_members(fake) == [u0]
    assert not result.failed


def test_a_bulk_result_holding_a_group_never_nests_that_group(tmp_path: Path, token: str) -> None:
    # u0's operation answered with the group Admins's own resource (its location dropped):
    # before, Admins's id was recorded as u0's and Admins was made a member of itself.
    def to_group(body: dict[str, Any], fake: FakeScim) -> dict[str, Any]:
        (admins,) = [g for g in fake.groups.values() if g["displayName"] == "Admins"]
        operation = body["Operations"][0]
        operation.pop("location", None)
        operation["response"] = dict(admins)
        return body

    fake = MangledBulk(to_group, token=token)
    fake.add_group("Admins")
    specs = write_spec(tmp_path, people(12, managers=False), ADMINS, quirks={"bulk": "use"})
    result = apply(specs, fake)
    u0 = str(fake.user_named("u0@example.com")[0]["id"])
    assert admins_members(fake) == [u0]
    assert not result.failed


def test_a_create_answered_with_another_name_and_found_nowhere_fails_naming_it(
    tmp_path: Path, token: str
) -> None:
    fake = RenamedAnswer(token=token)
    fake.blind_filters.add("userName")  # u0, once made, is found neither by a filter
    fake.hidden.add("u1")  # ... nor in the listing
    _, result = plan_and_apply(write_spec(tmp_path, [user("u0@example.com")], ADMINS), fake)
    failed = {o.key: o.message for o in result.failed}
    assert (
        "another resource (id 'zz9', userName 'someone@example.com')" in (failed["u0@example.com"])
    )
    assert "zz9" not in admins_members(fake)
