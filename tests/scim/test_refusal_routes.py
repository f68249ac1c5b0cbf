"""Routes of a refusal through apply, each held to the same rule: a removal the plan shows
is made, or its object fails naming what stopped it; nothing the refused write carried is
granted by a write sent alone; and no refusal costs a write per member. (A role held as
one value, an add answered with success and not kept, a target refusing every write, a
second refusal after the first, a group created in this run, a write answered 204.)"""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from reconciler.scim.apply.runner import Applier
from reconciler.scim.client import ScimClient
from tests.fakescim import USER_SCHEMA, FakeScim, json_response
from tests.scim.test_faults import apply_through, replan, user, write_spec

pytestmark = pytest.mark.usefixtures("token", "fast_retries")
ACME = "urn:example:params:scim:schemas:extension:acme:2.0:User"
ADMIN = [{"value": "admin", "display": "admin", "primary": True}]


@pytest.mark.parametrize("status", [403, 409, 422])
def test_a_removal_every_write_of_which_is_refused_is_not_split_to_singles(
    tmp_path: Any, status: int
) -> None:
    fake = FakeScim()
    n = 64
    uids = [fake.add_user(f"u{i}@example.com") for i in range(n)]
    gid = fake.add_group("Eng", members=uids)
    calls = {"patch": 0}

    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.method == "PATCH" and request.url.path.endswith(f"/Groups/{gid}"):
            calls["patch"] += 1
            return json_response(status, {"status": str(status), "detail": "insufficient scope"})
        return fake.handle(request)

    users = [user(f"u{i}@example.com") for i in range(n)]
    prepared = replan(
        write_spec(
            tmp_path,
            users,
            [{"displayName": "Eng", "members": []}],
            guards={"max_member_removals": 1000, "max_member_removal_percent": 100},
        ),
        fake,
    )
    client = ScimClient.for_target(prepared.target, transport=httpx2.MockTransport(handle))
    result = Applier(client, prepared.target, prepared.caps, prepared.log).run(prepared.plan)
    [failed] = result.failed
    assert f"answered {status}" in failed.message
    # A 403, 409 or 422 is no one member's refusal: the chunk is not split at all.
    assert calls["patch"] <= 2, calls["patch"]


def run(tmp_path: Any, token: str, refuse: str) -> tuple[FakeScim, str, Any]:
    fake = FakeScim(token=token)
    fake.schemas = [USER_SCHEMA, ACME]
    uid = fake.add_user("old@example.com", **{ACME: {"appRole": "admin"}})

    def handle(request: httpx2.Request) -> httpx2.Response:
        to_user = request.method in ("PATCH", "PUT") and request.url.path.endswith(uid)
        if to_user and refuse in request.content.decode():
            return json_response(
                400,
                {"status": "400", "scimType": "invalidValue", "detail": f"refused {refuse}"},
            )
        return fake.handle(request)

    users = [{"userName": "new@example.com", "previously": ["old@example.com"]}]
    groups = [
        {"displayName": "Admins", "members": []},
        {"displayName": "Viewers", "members": ["new@example.com"]},
    ]
    mapping = {"expression": "SingleAppRoleAssignment([appRoleAssignments])", "default": "none"}
    specs = write_spec(
        tmp_path,
        users,
        groups,
        extensions={"acme": ACME},
        roles={"admin": ["Admins"], "viewer": ["Viewers"]},
        mappings={"user": {"acme.appRole": mapping}},
    )
    result = apply_through(specs, fake, handle)
    return fake, uid, result


@pytest.mark.parametrize("refused", ["new@example.com", '"viewer"'])
def test_a_role_held_as_one_value_written_alone_is_cleared(
    tmp_path: Any, token: str, refused: str
) -> None:
    # admin -> viewer in one value, with the rename or viewer itself refused: alone, the
    # value is cleared, taking admin away and granting nothing the refused write carried.
    # (A value that only loses parts goes as planned: test_refusal_routes_more.py.)
    fake, uid, result = run(tmp_path, token, refused)
    [failed] = [f for f in result.failed if f.key == "new@example.com"]
    assert failed.message.endswith(f"what removes access ({ACME}:appRole) was written alone")
    assert fake.users[uid][ACME].get("appRole") is None


def test_an_add_not_kept_keeps_no_removal_back(tmp_path: Any) -> None:
    fake = FakeScim()
    a = fake.add_user("a@example.com")
    b = fake.add_user("b@example.com")
    gid = fake.add_group("Eng", members=[b])

    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.method == "PATCH" and request.url.path.endswith(f"/Groups/{gid}"):
            ops = json.loads(request.content)["Operations"]
            if any(op["op"].lower() == "add" for op in ops):
                return json_response(200, fake.groups[gid])  # answered, not kept
        return fake.handle(request)

    users = [user("a@example.com"), user("b@example.com")]
    groups = [{"displayName": "Eng", "members": ["a@example.com"]}]
    result = apply_through(write_spec(tmp_path, users, groups), fake, handle)
    [failed] = result.failed
    assert failed.message.endswith("; its member removals were made")
    members = [m["value"] for m in fake.groups[gid].get("members", [])]
    assert a not in members
    assert b not in members, "b's removal was kept back behind a's add not kept"


def test_a_nested_add_not_kept_keeps_no_nested_removal_back(tmp_path: Any) -> None:
    fake = FakeScim()
    old, inner = fake.add_group("Old"), fake.add_group("Inner")
    outer = fake.add_group("Outer")
    fake.groups[outer]["members"] = [{"value": old, "type": "Group"}]

    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.method == "PATCH" and request.url.path.endswith(f"/Groups/{outer}"):
            ops = json.loads(request.content)["Operations"]
            if any(op["op"].lower() == "add" for op in ops):
                return json_response(200, fake.groups[outer])  # answered, not kept
        return fake.handle(request)

    groups: list[dict[str, Any]] = [
        {"displayName": "Old"},
        {"displayName": "Inner"},
        {"displayName": "Outer", "groups": ["Inner"]},
    ]
    result = apply_through(write_spec(tmp_path, [], groups, nested_groups="native"), fake, handle)
    [failed] = result.failed
    assert failed.message.endswith("; its member removals were made")
    members = [m["value"] for m in fake.groups[outer].get("members", [])]
    assert inner not in members
    assert old not in members, "Old's removal was kept back behind Inner's add not kept"


def test_an_add_not_kept_where_members_are_shown_says_so(tmp_path: Any) -> None:
    fake = FakeScim()
    fake.add_user("a@example.com")
    b = fake.add_user("b@example.com")
    gid = fake.add_group("Eng", members=[b])

    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.method == "PATCH" and request.url.path.endswith(f"/Groups/{gid}"):
            return json_response(200, fake.groups[gid])  # answered, not kept
        return fake.handle(request)

    users = [user("a@example.com"), user("b@example.com")]
    groups = [{"displayName": "Eng", "members": ["a@example.com", "b@example.com"]}]
    result = apply_through(write_spec(tmp_path, users, groups), fake, handle)
    [failed] = result.failed
    assert [m["value"] for m in fake.groups[gid]["members"]] == [b]  # the GET shows b
    assert "does not show the group's members" not in failed.message
    assert "manage this group's members in the application itself" not in failed.message


@pytest.mark.parametrize("patch", [False, True])
def test_the_adds_refusal_is_named_when_the_removal_is_refused_too(
    tmp_path: Any, patch: bool
) -> None:
    fake = FakeScim()
    a = fake.add_user("a@example.com")
    b = fake.add_user("b@example.com")
    gid = fake.add_group("Eng", members=[b])

    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.method in ("PUT", "PATCH") and request.url.path.endswith(f"/Groups/{gid}"):
            if a in request.content.decode():
                return json_response(
                    400,
                    {
                        "status": "400",
                        "scimType": "invalidValue",
                        "detail": "Can not add a non-existent user",
                    },
                )
            return json_response(409, {"status": "409", "detail": "group is being synced"})
        return fake.handle(request)

    users = [user("a@example.com"), user("b@example.com")]
    groups = [{"displayName": "Eng", "members": ["a@example.com"]}]
    target: dict[str, Any] = {} if patch else {"quirks": {"patch": "never"}}
    result = apply_through(write_spec(tmp_path, users, groups, **target), fake, handle)
    [failed] = result.failed
    assert "non-existent user" in failed.message


def test_a_created_group_whose_add_is_refused_is_still_nested(tmp_path: Any) -> None:
    fake = FakeScim()
    a = fake.add_user("a@example.com")
    fake.add_group("Leaf")

    def handle(request: httpx2.Request) -> httpx2.Response:
        to_groups = request.method in ("PATCH", "POST") and "/Groups" in request.url.path
        if to_groups and f'"{a}"' in request.content.decode():
            return json_response(
                400,
                {
                    "status": "400",
                    "scimType": "invalidValue",
                    "detail": "Can not add a non-existent user to group",
                },
            )
        return fake.handle(request)

    groups: list[dict[str, Any]] = [
        {"displayName": "Leaf"},
        {"displayName": "Inner", "members": ["a@example.com"], "groups": ["Leaf"]},
        {"displayName": "Outer", "groups": ["Inner"]},
    ]
    prepared = replan(
        write_spec(tmp_path, [user("a@example.com")], groups, nested_groups="native"), fake
    )
    client = ScimClient.for_target(prepared.target, transport=httpx2.MockTransport(handle))
    result = Applier(client, prepared.target, prepared.caps, prepared.log).run(prepared.plan)
    messages = {f.key: f.message for f in result.failed}
    [inner] = [g for g in fake.groups.values() if g["displayName"] == "Inner"]
    [outer] = [g for g in fake.groups.values() if g["displayName"] == "Outer"]
    assert "its create failed" not in messages.get("Outer", "")
    assert any(m["value"] == inner["id"] for m in outer.get("members", []))


def test_a_write_alone_answered_204_still_lets_the_next_go(tmp_path: Any) -> None:
    fake = FakeScim()
    fake.config["etag"] = {"supported": True}
    uid = fake.add_user("old@example.com", active=True, roles=ADMIN)

    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.method == "PATCH" and request.url.path.endswith(f"/Users/{uid}"):
            sent = request.headers.get("if-match")
            if not sent:
                return json_response(428, {"status": "428", "detail": "If-Match required"})
            if sent != fake.users[uid]["meta"]["version"]:
                return json_response(412, {"status": "412", "detail": "stale"})
            if b"new@example.com" in request.content:
                return json_response(
                    400, {"status": "400", "scimType": "mutability", "detail": "immutable"}
                )
            answer = fake.handle(request)
            if answer.status_code == 200:
                return httpx2.Response(204)
            return answer
        return fake.handle(request)

    spec = user("new@example.com", previously=["old@example.com"], active=False, roles=[])
    result = apply_through(write_spec(tmp_path, [spec]), fake, handle)
    [failed] = result.failed
    assert failed.message.endswith("; what removes access (active, roles) was written alone")
    assert fake.users[uid]["active"] is False
    assert not fake.users[uid].get("roles"), "role kept: the write alone went without If-Match"
