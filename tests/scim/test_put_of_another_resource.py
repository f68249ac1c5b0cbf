"""A GET-merge-PUT sends back what the GET answered: a GET answered with another resource
(a cache or proxy mixing up answers, a target that resolves ids loosely) would have the
PUT write that other account's name, emails and roles over this one. The GET must answer
for the resource asked for, or nothing is sent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
import stamina

from tests.fakescim import FakeScim, json_response
from tests.scim.conftest import TOKEN, TOKEN_ENV
from tests.scim.test_faults import plan_and_apply, user, write_spec

ALICE, BOB = "alice@example.com", "bob@example.com"


class MixedUp(FakeScim):
    """Answers GET /Users/<alice> with bob."""

    def __init__(self) -> None:
        super().__init__(token=TOKEN)
        self.patch_unsupported = True
        self.alice = self.add_user(ALICE, title="Engineer")
        self.bob = self.add_user(BOB, title="Admin", roles=[{"value": "admin"}])

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        if request.method == "GET" and request.url.path.endswith(f"/Users/{self.alice}"):
            url = str(request.url).replace(self.alice, self.bob)
            bob = super().handle(httpx2.Request("GET", url, headers=request.headers))
            return json_response(200, json.loads(bob.content))
        return super().handle(request)


@pytest.fixture(autouse=True)
def _setup(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    stamina.set_testing(True)
    yield
    stamina.set_testing(False)


def test_a_get_answered_with_another_resource_is_not_put_back(tmp_path: Path) -> None:
    fake = MixedUp()
    specs = write_spec(tmp_path, [user(ALICE, title="Manager"), user(BOB, title="Admin")])
    _, result = plan_and_apply(specs, fake)
    [failed] = result.failed
    assert failed.key == ALICE
    assert fake.count("PUT") == 0
    assert fake.users[fake.alice]["userName"] == ALICE
    assert "roles" not in fake.users[fake.alice]


class MembersOfAnother(FakeScim):
    """GET /Groups/<team> leaves members out; asked for them, it answers with Admins."""

    def __init__(self) -> None:
        super().__init__(token=TOKEN)
        self.patch_unsupported = True
        self.alice, self.bob = self.add_user(ALICE), self.add_user(BOB)
        self.carol = self.add_user("carol@example.com")
        self.team = self.add_group("Team", [self.alice])
        self.admins = self.add_group("Admins", [self.alice, self.carol])

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        response = super().handle(request)
        if request.method != "GET" or not request.url.path.endswith(f"/Groups/{self.team}"):
            return response
        if "attributes" in request.url.params:
            return json_response(200, self.groups[self.admins])
        body = json.loads(response.content)
        body.pop("members", None)
        return json_response(200, body)


def test_members_asked_for_are_taken_only_from_the_group_itself(tmp_path: Path) -> None:
    fake = MembersOfAnother()
    users = [user(ALICE), user(BOB), user("carol@example.com")]
    groups = [
        {"displayName": "Team", "members": [ALICE, BOB]},
        {"displayName": "Admins", "members": [ALICE, "carol@example.com"]},
    ]
    specs = write_spec(tmp_path, users, groups)
    _, result = plan_and_apply(specs, fake)
    assert [o.key for o in result.failed] == ["Team"]
    # Carol, an admin, was never added to Team by a PUT built from Admins' members.
    held = {m["value"] for m in fake.groups[fake.team]["members"]}
    assert fake.carol not in held


class FirstGetMixedUp(FakeScim):
    """Refuses the `members[value eq]` removal path (so a value list is sent, and checked
    by reading the group before and after); the first GET of Team answers with Admins."""

    def __init__(self) -> None:
        super().__init__(token=TOKEN)
        self.reject_member_filter_path = True
        self.alice, self.bob = self.add_user(ALICE), self.add_user(BOB)
        self.carol = self.add_user("carol@example.com")
        self.team = self.add_group("Team", [self.alice, self.bob])
        self.admins = self.add_group("Admins", [self.alice, self.carol])
        self.mixed = False

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        if (
            request.method == "GET"
            and request.url.path.endswith(f"/Groups/{self.team}")
            and not self.mixed
        ):
            self.mixed = True
            return json_response(200, self.groups[self.admins])
        return super().handle(request)


def test_a_checked_removal_adds_back_only_the_groups_own_members(tmp_path: Path) -> None:
    fake = FirstGetMixedUp()
    users = [user(ALICE), user(BOB), user("carol@example.com")]
    groups = [
        {"displayName": "Team", "members": [ALICE]},
        {"displayName": "Admins", "members": [ALICE, "carol@example.com"]},
    ]
    specs = write_spec(tmp_path, users, groups)
    _, result = plan_and_apply(specs, fake)
    held = {m["value"] for m in fake.groups[fake.team]["members"]}
    assert fake.carol not in held
    # Refused before anything was written: bob is still there, nothing was sent to Team.
    assert fake.bob in held
    assert [f.key for f in result.failed] == ["Team"]
