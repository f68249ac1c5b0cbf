"""A group's member removals are made whatever else of the group the target refuses: a
member add it will not take (a user deleted since the plan: django-scim2 answers 400 "Can
not add a non-existent user to group"; Better Auth 400 invalidValue; some targets 404),
by PATCH or in the one PUT of a target without PATCH; a nested group's add; a removal of
one dangling member among others; a rename refused with 403 or 422. Each removal the
plan shows is made and the group fails naming the refusal. Before, the refusal kept the
removals back, and the member the plan removes kept the group's access, every run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest

from reconciler.scim.apply.runner import Applier, ApplyResult
from reconciler.scim.client import ScimClient
from tests.fakescim import FakeScim, json_response
from tests.scim.test_faults import replan, user, write_spec

pytestmark = pytest.mark.usefixtures("token")

Handler = Any


def _apply(
    tmp_path: Path, fake: FakeScim, handle: Handler, users: list[Any], groups: list[Any], **t: Any
) -> ApplyResult:
    prepared = replan(write_spec(tmp_path, users, groups, **t), fake)
    client = ScimClient.for_target(prepared.target, transport=httpx2.MockTransport(handle))
    return Applier(client, prepared.target, prepared.caps, prepared.log).run(prepared.plan)


def _members(fake: FakeScim, gid: str) -> list[str]:
    return [m["value"] for m in fake.groups[gid].get("members", [])]


def _refusing(
    fake: FakeScim, gid: str, refused: str, status: int, scim_type: str | None
) -> Handler:
    """Any write adding `refused` to the group is refused (by PATCH or in a PUT's list)."""

    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.method in ("PATCH", "PUT") and request.url.path.endswith(f"/Groups/{gid}"):
            body = json.loads(request.content)
            added = [
                m
                for op in body.get("Operations", [])
                if str(op.get("op")).lower() == "add" and isinstance(op.get("value"), list)
                for m in op["value"]
            ]
            added += body.get("members") or [] if request.method == "PUT" else []
            if any(isinstance(m, dict) and m.get("value") == refused for m in added):
                error = {"status": str(status), "detail": f"member {refused} refused"}
                if scim_type:
                    error["scimType"] = scim_type
                return json_response(status, error)
        return fake.handle(request)

    return handle


@pytest.mark.parametrize(
    ("status", "scim_type", "patch"),
    [(400, "invalidValue", True), (400, None, True), (404, None, True), (400, None, False)],
)
def test_a_refused_member_add_keeps_no_removal_back(
    tmp_path: Path, status: int, scim_type: str | None, patch: bool
) -> None:
    fake = FakeScim()
    fake.config["patch"]["supported"] = patch
    alice, bob = fake.add_user("alice@example.com"), fake.add_user("bob@example.com")
    carol = fake.add_user("carol@example.com")
    eng = fake.add_group("Eng", [alice, bob])
    users = [user("alice@example.com"), user("bob@example.com"), user("carol@example.com")]
    groups = [{"displayName": "Eng", "members": ["alice@example.com", "carol@example.com"]}]
    result = _apply(tmp_path, fake, _refusing(fake, eng, carol, status, scim_type), users, groups)

    [failed] = result.failed
    assert failed.key == "Eng"
    assert f"answered {status}" in failed.message and f"member {carol} refused" in failed.message
    # (A 400 naming no value is tried again by PUT for the adds: refused there too.)
    assert "; its member removals were made" in failed.message
    assert _members(fake, eng) == [alice]


def test_a_refused_add_with_nothing_to_remove_fails_as_before(tmp_path: Path) -> None:
    fake = FakeScim()
    alice, carol = fake.add_user("alice@example.com"), fake.add_user("carol@example.com")
    eng = fake.add_group("Eng", [alice])
    users = [user("alice@example.com"), user("carol@example.com")]
    groups = [{"displayName": "Eng", "members": ["alice@example.com", "carol@example.com"]}]
    handle = _refusing(fake, eng, carol, 400, "invalidValue")
    result = _apply(tmp_path, fake, handle, users, groups)

    [failed] = result.failed
    assert "invalidValue" in failed.message and "removals" not in failed.message
    assert _members(fake, eng) == [alice]


def test_a_refused_nested_group_add_keeps_no_nested_removal_back(tmp_path: Path) -> None:
    fake = FakeScim()
    alice = fake.add_user("alice@example.com")
    admins = fake.add_group("Admins", [alice])
    guests = fake.add_group("Guests", [])
    top = fake.add_group("Top", [])
    fake.groups[top]["members"] = [{"value": admins, "type": "Group"}]
    groups = [
        {"displayName": "Admins", "members": ["alice@example.com"]},
        {"displayName": "Guests", "members": []},
        {"displayName": "Top", "groups": ["Guests"]},
    ]
    handle = _refusing(fake, top, guests, 400, "invalidValue")
    users = [user("alice@example.com")]
    result = _apply(tmp_path, fake, handle, users, groups, nested_groups="native")

    [failed] = result.failed
    assert failed.key == "Top"
    assert failed.message.endswith("; its member removals were made")
    assert _members(fake, top) == []  # Admins (alice's access through Top) is gone


def test_a_refused_removal_of_one_member_keeps_no_other_back(tmp_path: Path) -> None:
    fake = FakeScim()
    alice, bob = fake.add_user("alice@example.com"), fake.add_user("bob@example.com")
    carl = fake.add_user("carl@example.com")
    eng = fake.add_group("Eng", [alice, bob, "ghost-1", carl])  # ghost-1: a user gone since

    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.method == "PATCH" and b"ghost-1" in request.content:
            detail = "Can not remove a non-existent user from group"
            error = {"status": "400", "scimType": "invalidValue", "detail": detail}
            return json_response(400, error)
        return fake.handle(request)

    users = [user(f"{n}@example.com") for n in ("alice", "bob", "carl")]
    groups = [{"displayName": "Eng", "members": ["alice@example.com"]}]
    guards = {"max_member_removal_percent": 100}
    result = _apply(tmp_path, fake, handle, users, groups, guards=guards)

    [failed] = result.failed
    assert "Can not remove a non-existent user from group" in failed.message
    assert _members(fake, eng) == [alice, "ghost-1"]


@pytest.mark.parametrize("status", [403, 422])
def test_a_rename_refused_so_keeps_no_member_change_back(tmp_path: Path, status: int) -> None:
    fake = FakeScim()
    fake.config["etag"]["supported"] = True
    alice, bob = fake.add_user("alice@example.com"), fake.add_user("bob@example.com")
    eng = fake.add_group("Eng", [alice, bob])

    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.method in ("PATCH", "PUT") and b"displayName" in request.content:
            return json_response(status, {"status": str(status), "detail": "not now"})
        return fake.handle(request)

    group = {"displayName": "Engineering", "previously": ["Eng"], "members": ["alice@example.com"]}
    users = [user("alice@example.com"), user("bob@example.com")]
    result = _apply(tmp_path, fake, handle, users, [group])

    [failed] = result.failed
    assert f"answered {status}" in failed.message
    assert failed.message.endswith("; its member changes were made")
    assert _members(fake, eng) == [alice]
    assert fake.groups[eng]["displayName"] == "Eng"


@pytest.mark.usefixtures("fast_retries")
@pytest.mark.parametrize("status", [500, 503])
def test_a_failing_target_gets_no_removal_in_halves(tmp_path: Path, status: int) -> None:
    # A 5xx on every write is no one member's refusal: halving would send twice as many
    # writes as members, each with the client's retries.
    fake = FakeScim()
    members = [fake.add_user(f"u{i}@example.com") for i in range(64)]
    eng = fake.add_group("Eng", members)

    patches = []

    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.method == "PATCH":
            patches.append(request)
            return json_response(status, {"status": str(status), "detail": "overloaded"})
        return fake.handle(request)

    users = [user(f"u{i}@example.com") for i in range(64)]
    guards = {"max_member_removals": 1000, "max_member_removal_percent": 100}
    result = _apply(
        tmp_path, fake, handle, users, [{"displayName": "Eng", "members": []}], guards=guards
    )

    [failed] = result.failed
    assert f"answered {status}" in failed.message
    assert len(patches) <= 3 * 2  # the client's 3 attempts, and a second dialect's at most
    assert len(_members(fake, eng)) == 64


@pytest.mark.parametrize("status", [403, 412, 422])
def test_a_refused_rename_alone_claims_no_member_change(tmp_path: Path, status: int) -> None:
    fake = FakeScim()
    fake.config["etag"]["supported"] = True
    fake.add_group("Old")

    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.method in ("PATCH", "PUT"):
            return json_response(status, {"status": str(status), "detail": "no"})
        return fake.handle(request)

    result = _apply(tmp_path, fake, handle, [], [{"displayName": "New", "previously": ["Old"]}])
    [failed] = result.failed
    assert failed.message.startswith("PATCH /Groups/")
    assert "member" not in failed.message


def test_a_stale_version_on_the_rename_writes_no_member_change(tmp_path: Path) -> None:
    # 412: the member changes were planned from the read the target calls stale; none is
    # sent, and the failure is the 412 with its advice (plan again), as before.
    fake = FakeScim()
    fake.config["etag"]["supported"] = True
    alice, bob = fake.add_user("alice@example.com"), fake.add_user("bob@example.com")
    eng = fake.add_group("Eng", [alice, bob])

    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.method in ("PATCH", "PUT") and b"displayName" in request.content:
            return json_response(412, {"status": "412", "detail": "stale"})
        return fake.handle(request)

    group = {"displayName": "Engineering", "previously": ["Eng"], "members": ["alice@example.com"]}
    users = [user("alice@example.com"), user("bob@example.com")]
    result = _apply(tmp_path, fake, handle, users, [group])

    [failed] = result.failed
    assert "answered 412" in failed.message and "plan again" in failed.message
    assert _members(fake, eng) == [alice, bob]
