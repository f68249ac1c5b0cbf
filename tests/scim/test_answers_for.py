"""Whether a create's answer is the object sent (creates.answers_for), and what a create
says when the answer is another resource and nothing of its own is found; and two creates
answered with one id, each under its own name, each keeping its own."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
import stamina

from reconciler.core.changes import Action, Change
from reconciler.core.diff import AttrChange
from reconciler.core.model import Kind
from reconciler.scim.apply.creates import answers_for
from tests.fakescim import FakeScim, Seen, json_response
from tests.scim.test_faults import plan_and_apply, user, write_spec


@pytest.fixture(autouse=True)
def _fast() -> Iterator[None]:
    with stamina.set_testing(True, attempts=3):
        yield


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
