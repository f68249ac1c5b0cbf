"""More routes of a refusal through apply, held to the same rule (a removal the plan
shows is made, or its object fails naming every reason): members the target will not
remove in two halves, roles joined into one value, an add kept in part before a removal
on a target that reads a filtered removal as "remove all", a removal withheld or a rename
refused beside a refused member write."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from reconciler.scim.apply.runner import Applier
from reconciler.scim.client import ScimClient
from tests.fakescim import USER_SCHEMA, FakeScim, Seen, json_response
from tests.scim.test_faults import apply_through, plan_and_apply, replan, user, write_spec
from tests.scim.test_members_lost import FilterClears

pytestmark = pytest.mark.usefixtures("token", "fast_retries")
ACME = "urn:example:params:scim:schemas:extension:acme:2.0:User"


def test_two_ghosts_keep_no_other_removal_back(tmp_path: Any) -> None:
    fake = FakeScim()
    alice = fake.add_user("alice@example.com")
    others = [fake.add_user(f"u{i}@example.com") for i in range(6)]
    gid = fake.add_group("Eng", [alice, "a-ghost", *others, "zz-ghost"])
    writes = {"n": 0}

    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.method == "PATCH" and request.url.path.endswith(gid):
            writes["n"] += 1
            if b"-ghost" in request.content:
                detail = "Can not remove a non-existent user from group"
                return json_response(
                    400, {"status": "400", "scimType": "invalidValue", "detail": detail}
                )
        return fake.handle(request)

    users = [user("alice@example.com"), *(user(f"u{i}@example.com") for i in range(6))]
    groups = [{"displayName": "Eng", "members": ["alice@example.com"]}]
    prepared = replan(
        write_spec(
            tmp_path,
            users,
            groups,
            guards={"max_member_removal_percent": 100, "max_member_removals": 100},
        ),
        fake,
    )
    client = ScimClient.for_target(prepared.target, transport=httpx2.MockTransport(handle))
    result = Applier(client, prepared.target, prepared.caps, prepared.log).run(prepared.plan)
    [failed] = result.failed
    assert "non-existent user" in failed.message
    left = sorted(m["value"] for m in fake.groups[gid]["members"])
    # The six users the plan removes are gone; only alice and the two ghosts remain.
    assert left == sorted([alice, "a-ghost", "zz-ghost"]), (left, writes["n"], failed.message)


def test_clearing_a_joined_role_value_keeps_what_the_plan_keeps(tmp_path: Any, token: str) -> None:
    fake = FakeScim(token=token)
    fake.schemas = [USER_SCHEMA, ACME]
    uid = fake.add_user("old@example.com", **{ACME: {"appRoles": "admin,billing"}})
    fake.add_group("Admins", [uid])
    fake.add_group("Billing", [uid])

    def handle(request: httpx2.Request) -> httpx2.Response:
        to_user = request.method in ("PATCH", "PUT") and request.url.path.endswith(uid)
        if to_user and "new@example.com" in request.content.decode():
            error = {"status": "400", "scimType": "mutability", "detail": "userName is immutable"}
            return json_response(400, error)
        return fake.handle(request)

    users = [{"userName": "new@example.com", "previously": ["old@example.com"]}]
    groups = [
        {"displayName": "Admins", "members": []},
        {"displayName": "Billing", "members": ["new@example.com"]},
    ]
    mapping = {"expression": 'Join(",", [appRoleAssignments])', "default": "none"}
    specs = write_spec(
        tmp_path,
        users,
        groups,
        extensions={"acme": ACME},
        roles={"admin": ["Admins"], "billing": ["Billing"]},
        guards={"max_member_removal_percent": 100},
        mappings={"user": {"acme.appRoles": mapping}},
    )
    prepared = replan(specs, fake)
    [change] = [c for c in prepared.plan.changes if c.key == "new@example.com"]
    shown = [(a.path, a.before, a.after) for a in change.attributes]
    assert (f"{ACME}:appRoles", "admin,billing", "billing") in shown, shown
    client = ScimClient.for_target(prepared.target, transport=httpx2.MockTransport(handle))
    result = Applier(client, prepared.target, prepared.caps, prepared.log).run(prepared.plan)
    [failed] = [f for f in result.failed if f.key == "new@example.com"]
    held = fake.users[uid].get(ACME, {}).get("appRoles")
    assert held == "billing", (held, failed.message)


class DropsD(FilterClears):
    dropped = ""

    def _patch(self, seen: Seen, store: dict[str, dict[str, Any]], kind: str, rid: str) -> Any:
        for op in (seen.body or {}).get("Operations", []):
            if str(op.get("op")).lower() == "add" and isinstance(op.get("value"), list):
                op["value"] = [m for m in op["value"] if m.get("value") != self.dropped]
        return super()._patch(seen, store, kind, rid)


def test_a_kept_add_is_not_taken_by_the_removal_after_a_dropped_one(tmp_path: Any) -> None:
    fake = DropsD()
    ids = {c: fake.add_user(f"{c}@example.com") for c in "abcd"}
    fake.dropped = ids["d"]
    eng = fake.add_group("Eng", [ids["a"], ids["b"]])
    specs = write_spec(
        tmp_path,
        [user(f"{c}@example.com") for c in "abcd"],
        [{"displayName": "Eng", "members": ["a@example.com", "c@example.com", "d@example.com"]}],
        guards={"max_member_removal_percent": 100},
    )
    _, result = plan_and_apply(specs, fake)
    [failed] = result.failed
    held = sorted(m["value"] for m in fake.groups[eng].get("members", []))
    # c was added and kept by the target: the removal of b must not leave it gone unnamed.
    assert ids["c"] in held or "c@example.com" in failed.message, (held, failed.message)


def test_withheld_removal_is_named_beside_the_add_refusal(tmp_path: Any) -> None:
    fake = FakeScim()
    a, b, c = (fake.add_user(f"{n}@example.com") for n in "abc")
    gid = fake.add_group("Eng", [a, b, "ghost-9"])

    def handle(request: httpx2.Request) -> httpx2.Response:
        body = request.content.decode()
        if request.method == "POST" and request.url.path.endswith("/Users") and "x@ex" in body:
            return json_response(
                409, {"status": "409", "scimType": "uniqueness", "detail": "userName taken"}
            )
        if (
            request.method == "PATCH"
            and request.url.path.endswith(gid)
            and '"add"' in body
            and c in body
        ):
            return json_response(
                400,
                {
                    "status": "400",
                    "scimType": "invalidValue",
                    "detail": "Can not add a non-existent user to group",
                },
            )
        return fake.handle(request)

    specs = write_spec(
        tmp_path,
        [user(f"{n}@example.com") for n in "abcx"],
        [{"displayName": "Eng", "members": ["a@example.com", "c@example.com"]}],
        guards={"max_member_removal_percent": 100},
    )
    result = apply_through(specs, fake, handle)
    [failed] = [f for f in result.failed if f.key == "Eng"]
    held = [m["value"] for m in fake.groups[gid]["members"]]
    assert "ghost-9" in held and b not in held, held  # the scenario: one withheld, one made
    assert "withheld" in failed.message, failed.message


def test_the_rename_refusal_is_named(tmp_path: Any) -> None:
    fake = FakeScim()
    a = fake.add_user("a@example.com")
    gid = fake.add_group("Old", [a])

    def handle(request: httpx2.Request) -> httpx2.Response:
        body = request.content.decode()
        if request.method in ("PATCH", "PUT") and request.url.path.endswith(gid) and "Eng" in body:
            return json_response(
                400,
                {"status": "400", "scimType": "mutability", "detail": "displayName is immutable"},
            )
        if request.method == "POST" and request.url.path.endswith("/Users"):
            return json_response(
                400, {"status": "400", "scimType": "invalidValue", "detail": "no seats left"}
            )
        return fake.handle(request)

    specs = write_spec(
        tmp_path,
        [user("a@example.com"), user("n@example.com")],
        [
            {
                "displayName": "Eng",
                "previously": ["Old"],
                "members": ["a@example.com", "n@example.com"],
            }
        ],
    )
    result = apply_through(specs, fake, handle)
    [failed] = [f for f in result.failed if f.key == "Eng"]
    assert fake.groups[gid]["displayName"] == "Old"
    assert "displayName is immutable" in failed.message, failed.message
