"""Whether a create's answer is the object sent (answers.answers_for), and what a create
says when the answer is another resource and nothing of its own is found; and two creates
answered with one id, each under its own name, each keeping its own."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import httpx2
import pytest

from reconciler.core.changes import Action, Change
from reconciler.core.diff import AttrChange
from reconciler.core.model import Kind
from reconciler.scim.apply.answers import answers_for
from tests.fakescim import FakeScim, Seen, json_response
from tests.scim.test_bulk import apply
from tests.scim.test_faults import plan_and_apply, user, write_spec


def create(kind: Kind, name: str | None) -> Change:
    path = "userName" if kind is Kind.USER else "displayName"
    attributes = () if name is None else (AttrChange(path, None, name),)
    return Change(kind, name or "k", Action.CREATE, "not found on target", attributes=attributes)


ALICE = create(Kind.USER, "alice@example.com")
TEAM = create(Kind.GROUP, "Team")


@pytest.mark.parametrize(
    ("change", "answer", "expected"),
    [
        # The kind the target says decides first, in any case, whatever the name.
        (ALICE, {"id": "g9", "userName": "alice@example.com", "meta": {"resourceType": "Group"}},
         False),
        (ALICE, {"id": "u1", "userName": "alice@example.com", "meta": {"resourceType": "user"}},
         True),
        (ALICE, {"id": "u1", "userName": "ALICE@example.com "}, True),  # matching's form
        (ALICE, {"id": "u1", "userName": "bob@example.com"}, False),
        # No name in the answer: a user's answer holding a group's name is a group.
        (ALICE, {"id": "g1", "displayName": "Team"}, False),
        (ALICE, {"id": "u1"}, True),
        (TEAM, {"id": "g1", "members": []}, True),
        (TEAM, {"id": "g1", "displayName": "Other"}, False),
        # Nothing sent to compare with: only the kind can refuse it.
        (create(Kind.USER, None), {"id": "u1", "userName": "x"}, True),
        # No resource at all: the Location or a look-up gives the id.
        (ALICE, {}, True),
        (ALICE, "created", True),
    ],
)  # fmt: skip
def test_what_a_create_answer_is_taken_for(change: Change, answer: Any, expected: bool) -> None:
    assert answers_for(change, answer) is expected


class Rebadged(FakeScim):
    """Creates each user, and answers with its resource under the first user's id."""

    def __init__(self, *, token: str) -> None:
        super().__init__(token=token)
        self.first_id: str | None = None
        self.first_lock = threading.Lock()

    def _serve(self, seen: Seen) -> httpx2.Response:
        answer = super()._serve(seen)
        if seen.method != "POST" or seen.path != "/Users" or answer.status_code != 201:
            return answer
        body = json.loads(answer.content)
        with self.first_lock:
            self.first_id = self.first_id or str(body["id"])
        return json_response(201, {**body, "id": self.first_id})


def test_two_creates_answered_with_one_id_under_their_own_names_keep_their_own(
    tmp_path: Path, token: str
) -> None:
    fake = Rebadged(token=token)
    names = [f"n{n}@example.com" for n in range(3)]
    specs = write_spec(tmp_path, [user(n) for n in names], [], concurrency=1)
    _, result = plan_and_apply(specs, fake)
    real = {str(u["userName"]): str(u["id"]) for u in fake.users.values()}
    assert {o.key: o.target_id for o in result.outcomes} == {n: real[n] for n in names}
    assert not result.failed


class GroupAnswer(FakeScim):
    """Answers u0's POST with a group's resource, and creates nothing for it."""

    def _serve(self, seen: Seen) -> httpx2.Response:
        body = seen.body if isinstance(seen.body, dict) else {}
        if seen.method == "POST" and body.get("userName") == "u0@example.com":
            group = next(iter(self.groups.values()))
            return json_response(201, group)
        return super()._serve(seen)


def test_a_user_create_answered_with_a_group_and_found_nowhere_names_the_group(
    tmp_path: Path, token: str
) -> None:
    fake = GroupAnswer(token=token)
    gid = fake.add_group("Staff")
    specs = write_spec(tmp_path, [user("u0@example.com")], [{"displayName": "Staff"}])
    _, result = plan_and_apply(specs, fake)
    [failed] = result.failed
    assert failed.message == (
        f"the target answered the create with another resource (id {gid!r}, userName "
        "'Staff'), and no user of its own was found by its name: run plan again (a target "
        "that rewrites userName needs it mapped to the name it keeps)"
    )


def test_a_create_answered_with_a_group_never_takes_a_renamed_accounts_id(
    tmp_path: Path, token: str
) -> None:
    # u0's create is answered with a group's resource; looked up by its name, u0 is found
    # on bob's account (renamed to u0's name since the plan read it). That id is bob's:
    # u0 fails, and bob is neither u0 nor put in u0's group.
    fake = GroupAnswer(token=token)
    fake.add_group("Staff")
    bob = fake.add_user("bob@example.com", active=True)
    specs = write_spec(
        tmp_path,
        [user("u0@example.com"), user("bob@example.com")],
        [{"displayName": "Staff", "members": ["u0@example.com"]}],
    )

    def rename() -> None:
        fake.users[bob]["userName"] = "u0@example.com"

    result = apply(specs, fake, before=rename)
    failed = {o.key for o in result.failed}
    assert "u0@example.com" in failed
    [staff] = fake.groups.values()
    assert bob not in [m["value"] for m in staff.get("members", [])]


class CreatedButAnsweredWithAGroup(FakeScim):
    """Creates u0, and answers its POST with a group's resource."""

    def _serve(self, seen: Seen) -> httpx2.Response:
        answer = super()._serve(seen)
        body = seen.body if isinstance(seen.body, dict) else {}
        if seen.method == "POST" and body.get("userName") == "u0@example.com":
            return json_response(201, next(iter(self.groups.values())))
        return answer


def test_a_create_answered_with_a_group_is_verified_from_its_own_account(
    tmp_path: Path, token: str
) -> None:
    # The group's id is no one's in this run: u0 is found by its name, and what it holds
    # is read from u0's own account, not from the group's resource (where its userName and
    # title would look dropped), nor is the group's location remembered as u0's.
    fake = CreatedButAnsweredWithAGroup(token=token)
    fake.add_group("Staff")
    specs = write_spec(tmp_path, [user("u0@example.com", title="T")], [{"displayName": "Staff"}])
    _, result = plan_and_apply(specs, fake)
    assert not result.failed
    [u0] = fake.user_named("u0@example.com")
    assert {o.key: o.target_id for o in result.outcomes} == {"u0@example.com": u0["id"]}
    assert result.not_kept == ()


class AnsweredWithTheHidden(FakeScim):
    """Creates u0, and answers its POST with the resource of u1, which the listing hides."""

    def _serve(self, seen: Seen) -> httpx2.Response:
        answer = super()._serve(seen)
        body = seen.body if isinstance(seen.body, dict) else {}
        if seen.method == "POST" and body.get("userName") == "u0@example.com":
            return json_response(201, self.user_named("u1@example.com")[0])
        return answer


def test_an_id_a_create_was_answered_with_stays_free_for_its_own_object(
    tmp_path: Path, token: str
) -> None:
    # u0's answer names u1's account, which no one held: u0 gives it back and is found by
    # its name; u1's own create then meets a 409 and adopts that account, its own.
    fake = AnsweredWithTheHidden(token=token)
    u1 = fake.add_user("u1@example.com")
    fake.hidden.add(u1)
    specs = write_spec(tmp_path, [user("u0@example.com"), user("u1@example.com")], concurrency=1)
    _, result = plan_and_apply(specs, fake)
    assert not result.failed
    [u0] = fake.user_named("u0@example.com")
    assert {o.key: o.target_id for o in result.outcomes} == {
        "u0@example.com": u0["id"],
        "u1@example.com": u1,
    }


class U1AnsweredAsU0(FakeScim):
    """Creates u1, and answers with u1's name under u0's id (which the run holds by then);
    with `group_for_u0`, also creates u0 and answers its POST with a group's resource."""

    def __init__(self, *, token: str, group_for_u0: bool) -> None:
        super().__init__(token=token)
        self.group_for_u0 = group_for_u0

    def _serve(self, seen: Seen) -> httpx2.Response:
        answer = super()._serve(seen)
        name = (seen.body if isinstance(seen.body, dict) else {}).get("userName")
        if seen.method != "POST" or answer.status_code != 201:
            return answer
        if name == "u0@example.com" and self.group_for_u0:
            return json_response(201, next(iter(self.groups.values())))
        if name == "u1@example.com":
            u0 = self.user_named("u0@example.com")[0]["id"]
            return json_response(201, {**json.loads(answer.content), "id": u0})
        return answer


@pytest.mark.parametrize("how", ["adopted after a 409", "found by its name"])
def test_an_id_the_run_gave_one_user_is_never_given_to_another(
    tmp_path: Path, token: str, how: str
) -> None:
    # u0 gets its id by adoption (its create meets a 409 on an account the listing hid) or
    # by its name (its create was answered with a group's resource); u1's create is then
    # answered under u0's id. That id is u0's: u1 is found by its own name.
    fake = U1AnsweredAsU0(token=token, group_for_u0=how == "found by its name")
    fake.add_group("Staff")
    if how == "adopted after a 409":
        fake.hidden.add(fake.add_user("u0@example.com"))
    specs = write_spec(
        tmp_path,
        [user("u0@example.com"), user("u1@example.com")],
        [{"displayName": "Staff"}],
        concurrency=1,
    )
    _, result = plan_and_apply(specs, fake)
    ids = {str(u["userName"]): str(u["id"]) for u in fake.users.values()}
    assert {o.key: o.target_id for o in result.outcomes if o.kind is Kind.USER} == {
        "u0@example.com": ids["u0@example.com"],
        "u1@example.com": ids["u1@example.com"],
    }
