"""Refusal routes, held to their rule on the ordinary path too: a target answering every
PATCH with a plain 400 still gets the PUT fallback, an add refused for the whole group
costs no write per member, an add back is judged as lost_with judges (leniently: a target
showing a few members, or members in listings only, lost no one), a member the plan
removes is never added back, removals a refusal of no value left unsent are named and
followed by no write, and a role value whose name holds spaces is not taken apart."""

from __future__ import annotations

import copy
import json
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


@pytest.mark.parametrize("adds", [2, 8])
def test_a_plain_400_to_patch_still_falls_back_to_put(tmp_path: Any, adds: int) -> None:
    fake = FakeScim()
    old = fake.add_user("old@example.com")
    new = [fake.add_user(f"n{i}@example.com") for i in range(adds)]
    gid = fake.add_group("Eng", [old])
    patches: list[str] = []

    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.method == "PATCH" and "/Groups/" in request.url.path:
            patches.append(request.url.path)
            return json_response(400, {"status": "400", "detail": "PATCH is not supported"})
        return fake.handle(request)

    users = [user("old@example.com"), *(user(f"n{i}@example.com") for i in range(adds))]
    specs = write_spec(
        tmp_path,
        users,
        [{"displayName": "Eng", "members": [f"n{i}@example.com" for i in range(adds)]}],
        guards={"max_member_removal_percent": 100},
    )
    result = apply_through(specs, fake, handle)
    held = sorted(m["value"] for m in fake.groups[gid]["members"])
    assert held == sorted(new), (held, len(patches), [f.message for f in result.failed])


def test_an_add_refused_for_the_group_costs_no_write_per_member(tmp_path: Any) -> None:
    fake = FakeScim()
    for i in range(16):
        fake.add_user(f"n{i:02}@example.com")
    gid = fake.add_group("Eng", [])
    patches: list[int] = []

    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.method in ("PATCH", "PUT") and request.url.path.endswith(gid):
            patches.append(1)
            return json_response(
                400,
                {
                    "status": "400",
                    "scimType": "mutability",
                    "detail": "group is managed by directory sync",
                },
            )
        return fake.handle(request)

    users = [user(f"n{i:02}@example.com") for i in range(16)]
    specs = write_spec(
        tmp_path, users, [{"displayName": "Eng", "members": [u["userName"] for u in users]}]
    )
    result = apply_through(specs, fake, handle)
    assert result.failed
    assert len(patches) <= 8, len(patches)


class FirstFew(FakeScim):
    """A group's own GET and a write's answer show its first 4 members; listings show all."""

    def _one(self, resource: dict[str, Any], status: int = 200) -> Any:
        members = resource.get("members")
        if isinstance(members, list) and resource.get("displayName"):
            resource = {**resource, "members": members[:4]}
        return super()._one(resource, status)


class ListingsOnly(FakeScim):
    """Members shown in listings only: a group's own GET and a write's answer carry none
    (the inverse of members_shown="one")."""

    def _one(self, resource: dict[str, Any], status: int = 200) -> Any:
        if resource.get("displayName"):
            resource = {k: v for k, v in resource.items() if k != "members"}
        return super()._one(resource, status)


@pytest.mark.parametrize("fake_class", [FirstFew, ListingsOnly])
def test_an_add_back_the_target_kept_is_no_loss(tmp_path: Any, fake_class: type[FakeScim]) -> None:
    fake = fake_class()
    fake.ids_per_kind = True
    a, _, c = (fake.add_user(f"{x}@example.com") for x in "abc")
    kept = [fake.add_user(f"u{i}@example.com") for i in range(4, 10)]
    *_, g3 = (fake.add_group(n, []) for n in ("G1", "G2", "G3"))
    assert c == g3 == "3"
    top = fake.add_group("Top", [])
    # The plan's read shows G3 first; removing user 3 by value takes G3 too, and the
    # PATCH's add back puts it at the end, past what a group's GET shows.
    fake.groups[top]["members"] = [
        {"value": g3, "type": "Group"},
        *({"value": k} for k in kept),
        {"value": c},
    ]
    other = fake.add_group("Other", [a])
    groups: list[dict[str, Any]] = [{"displayName": n, "members": []} for n in ("G1", "G2", "G3")]
    groups.append(
        {
            "displayName": "Top",
            "groups": ["G3"],
            "members": [f"u{i}@example.com" for i in range(4, 10)],
        }
    )
    groups.append({"displayName": "Other", "members": []})
    users = [user(f"{x}@example.com") for x in "abc"]
    users += [user(f"u{i}@example.com") for i in range(4, 10)]
    specs = write_spec(
        tmp_path,
        users,
        groups,
        nested_groups="native",
        guards={"max_member_removal_percent": 100, "max_member_removals": 100},
    )
    _, result = plan_and_apply(specs, fake)
    held = sorted((m["value"], m.get("type", "User")) for m in fake.groups[top]["members"])
    assert held == sorted([(g3, "Group"), *((k, "User") for k in kept)]), held
    left = [m["value"] for m in fake.groups[other]["members"]]
    # The apply made every change without a write taken for a loss: nothing failed.
    assert not result.failed, ([(f.key, f.message) for f in result.failed], left)


class AddsThenRemoves(FakeScim):
    """(held + added) - removed, whatever the order of the PATCH's operations."""

    def _patch(self, seen: Seen, store: dict[str, dict[str, Any]], kind: str, rid: str) -> Any:
        ops = (seen.body or {}).get("Operations", [])
        ops.sort(key=lambda op: str(op.get("op")).lower() == "remove")
        return super()._patch(seen, store, kind, rid)


def test_a_member_the_plan_removes_is_not_added_back(tmp_path: Any) -> None:
    fake = AddsThenRemoves()
    fake.ids_per_kind = True
    *_, c, _, e = (fake.add_user(f"{x}@example.com") for x in "abcde")
    *_, g3 = (fake.add_group(n, []) for n in ("G1", "G2", "G3"))
    assert c == g3 == "3"
    top = fake.add_group("Top", [c, e])
    fake.groups[top]["members"].append({"value": g3, "type": "Group"})
    groups: list[dict[str, Any]] = [{"displayName": n, "members": []} for n in ("G1", "G2", "G3")]
    groups.append({"displayName": "Top", "members": ["e@example.com"]})
    specs = write_spec(
        tmp_path,
        [user(f"{x}@example.com") for x in "abcde"],
        groups,
        guards={"max_member_removal_percent": 100},
        nested_groups="native",
    )
    _, result = plan_and_apply(specs, fake)
    held = sorted((m["value"], m.get("type", "User")) for m in fake.groups[top]["members"])
    assert held == [(e, "User")], (held, [(f.key, f.message) for f in result.failed])


def test_a_nested_group_the_plan_removes_is_not_added_back(tmp_path: Any) -> None:
    fake = FilterClears()
    a, b = fake.add_user("a@example.com"), fake.add_user("b@example.com")
    x = fake.add_group("X", [])
    top = fake.add_group("Top", [a, b])
    fake.groups[top]["members"].append({"value": x, "type": "Group"})
    specs = write_spec(
        tmp_path,
        [user("a@example.com"), user("b@example.com")],
        [{"displayName": "X", "members": []}, {"displayName": "Top", "members": ["a@example.com"]}],
        guards={"max_member_removal_percent": 100},
        nested_groups="native",
        quirks={"member_removal": "filter"},
    )
    _, result = plan_and_apply(specs, fake)
    held = sorted((m["value"], m.get("type", "User")) for m in fake.groups[top]["members"])
    assert (x, "Group") not in held, (held, [(f.key, f.message) for f in result.failed])


def test_removals_a_break_left_unsent_are_named(tmp_path: Any) -> None:
    fake = FakeScim()
    alice = fake.add_user("alice@example.com")
    others = [fake.add_user(f"u{i:02}@example.com") for i in range(16)]
    gid = fake.add_group("Eng", [alice, *others, "zz-ghost"])

    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.method == "PATCH" and request.url.path.endswith(gid):
            if b"-ghost" in request.content:
                return json_response(
                    400,
                    {
                        "status": "400",
                        "scimType": "invalidValue",
                        "detail": "Can not remove a non-existent user",
                    },
                )
            return json_response(403, {"status": "403", "detail": "insufficient scope"})
        return fake.handle(request)

    users = [user("alice@example.com"), *(user(f"u{i:02}@example.com") for i in range(16))]
    specs = write_spec(
        tmp_path,
        users,
        [{"displayName": "Eng", "members": ["alice@example.com"]}],
        guards={"max_member_removal_percent": 100, "max_member_removals": 1000},
    )
    result = apply_through(specs, fake, handle)
    [failed] = result.failed
    sent = [r for r in fake.requests if r.method == "PATCH"]
    assert "not sent" in failed.message, (failed.message, len(sent))


@pytest.mark.parametrize("status", [401, 403])
def test_no_write_follows_a_refusal_of_no_value(tmp_path: Any, status: int) -> None:
    fake = FakeScim()
    alice = fake.add_user("alice@example.com")
    others = [fake.add_user(f"u{i:02}@example.com") for i in range(16)]
    gid = fake.add_group("Eng", [alice, *others, "00-ghost"])
    seen: list[int] = []

    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.method == "PATCH" and request.url.path.endswith(gid):
            if b"-ghost" in request.content and request.content.count(b"value") > 1:
                seen.append(400)
                return json_response(
                    400,
                    {
                        "status": "400",
                        "scimType": "invalidValue",
                        "detail": "Can not remove a non-existent user",
                    },
                )
            seen.append(status)
            return json_response(status, {"status": str(status), "detail": "no"})
        return fake.handle(request)

    users = [user("alice@example.com"), *(user(f"u{i:02}@example.com") for i in range(16))]
    specs = write_spec(
        tmp_path,
        users,
        [{"displayName": "Eng", "members": ["alice@example.com"]}],
        guards={"max_member_removal_percent": 100, "max_member_removals": 1000},
        quirks={"member_removal": "filter"},
    )
    result = apply_through(specs, fake, handle)
    assert status in seen, seen
    after = seen[seen.index(status) :]
    assert len(after) <= 1, (seen, [f.message for f in result.failed])


@pytest.mark.parametrize(
    ("held_value", "member_of", "roles"),
    [
        (
            "Billing Admin,Global Reader",
            ["GA"],
            {"Global Reader": ["GR"], "Billing Admin": ["BA"], "Global Admin": ["GA"]},
        ),
    ],
)
def test_a_joined_role_written_alone_grants_nothing_and_keeps_what_the_plan_keeps(
    tmp_path: Any, token: str, held_value: str, member_of: list[str], roles: dict[str, Any]
) -> None:
    fake = FakeScim(token=token)
    fake.schemas = [USER_SCHEMA, ACME]
    uid = fake.add_user("old@example.com", **{ACME: {"appRoles": held_value}})
    names = sorted({g for gs in roles.values() for g in gs})
    for n in names:
        fake.add_group(n, [])

    def handle(request: httpx2.Request) -> httpx2.Response:
        to_user = request.method in ("PATCH", "PUT") and request.url.path.endswith(uid)
        if to_user and "new@example.com" in request.content.decode():
            error = {"status": "400", "scimType": "mutability", "detail": "userName is immutable"}
            return json_response(400, error)
        return fake.handle(request)

    users = [{"userName": "new@example.com", "previously": ["old@example.com"]}]
    groups = [
        {"displayName": n, "members": ["new@example.com"] if n in member_of else []} for n in names
    ]
    mapping = {"expression": 'Join(",", [appRoleAssignments])', "default": "none"}
    specs = write_spec(
        tmp_path,
        users,
        groups,
        extensions={"acme": ACME},
        roles=roles,
        guards={"max_member_removal_percent": 100},
        mappings={"user": {"acme.appRoles": mapping}},
    )
    prepared = replan(specs, fake)
    [change] = [c for c in prepared.plan.changes if c.key == "new@example.com"]
    shown = [(a.path, a.before, a.after) for a in change.attributes]
    client = ScimClient.for_target(prepared.target, transport=httpx2.MockTransport(handle))
    result = Applier(client, prepared.target, prepared.caps, prepared.log).run(prepared.plan)
    msgs = [f.message for f in result.failed if f.key == "new@example.com"]
    held = fake.users[uid].get(ACME, {}).get("appRoles")
    planned = [a for p, b, a in shown if p.endswith("appRoles")]
    before = set(held_value.split(","))
    after = set(held.split(",")) if held else set()
    # Written alone: no role the old value did not hold ...
    assert after <= before, (shown, held, msgs)
    # ... and none the plan keeps taken (compared case-folded, as a role name is).
    keeps = {r.casefold() for r in before} & {
        r.casefold() for v in planned for r in str(v).split(",")
    }
    assert keeps <= {r.casefold() for r in after}, (shown, held, msgs)


@pytest.mark.parametrize("adds", [1, 4])
def test_add_refused_as_patch_form_still_goes_by_put(tmp_path: Any, adds: int) -> None:
    fake = FakeScim()
    old = fake.add_user("old@example.com")
    new = [fake.add_user(f"n{i}@example.com") for i in range(adds)]
    gid = fake.add_group("Eng", [old])

    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.method == "PATCH" and "/Groups/" in request.url.path:
            ops = json.loads(request.content or b"{}").get("Operations", [])
            if any(str(op.get("op")).lower() == "add" for op in ops):
                return json_response(400, {"status": "400", "detail": "op add not supported"})
        return fake.handle(request)

    users = [user("old@example.com"), *(user(f"n{i}@example.com") for i in range(adds))]
    specs = write_spec(
        tmp_path,
        users,
        [{"displayName": "Eng", "members": [f"n{i}@example.com" for i in range(adds)]}],
        guards={"max_member_removal_percent": 100},
    )
    result = apply_through(specs, fake, handle)
    held = sorted(m["value"] for m in fake.groups[gid]["members"])
    assert held == sorted(new), (held, [f.message for f in result.failed])
    assert not result.failed, [f.message for f in result.failed]


def test_kept_member_of_later_group_never_removed(tmp_path: Any) -> None:
    fake = FilterClears()
    a, u = fake.add_user("a@example.com"), fake.add_user("u@example.com")
    x, y = fake.add_group("X", []), fake.add_group("Y", [])
    ga = fake.add_group("A", [a])
    fake.groups[ga]["members"].append({"value": x, "type": "Group"})
    gb = fake.add_group("B", [u])
    fake.groups[gb]["members"].append({"value": y, "type": "Group"})
    specs = write_spec(
        tmp_path,
        [user("a@example.com"), user("u@example.com")],
        [
            {"displayName": "X", "members": []},
            {"displayName": "Y", "members": []},
            {"displayName": "A", "members": []},
            {"displayName": "B", "members": ["u@example.com"]},
        ],
        guards={"max_member_removals": 1000, "max_member_removal_percent": 100},
        nested_groups="native",
        quirks={"member_removal": "filter"},
    )
    _, result = plan_and_apply(specs, fake)
    to_b = [
        r
        for r in fake.requests
        if r.method == "PATCH"
        and r.path.endswith(gb)
        and any(
            str(op.get("op")).lower() == "remove" for op in (r.body or {}).get("Operations", [])
        )
    ]
    failed = [(f.key, f.message) for f in result.failed]
    assert not to_b, ("a removal was sent to B, which clears u (kept)", failed)


def test_kept_member_lost_for_good_when_add_back_fails(tmp_path: Any) -> None:
    """As above, where the target then refuses the add back (503): u is gone for good."""
    import json

    from tests.fakescim import json_response

    fake = FilterClears()
    a, u = fake.add_user("a@example.com"), fake.add_user("u@example.com")
    x, y = fake.add_group("X", []), fake.add_group("Y", [])
    ga = fake.add_group("A", [a])
    fake.groups[ga]["members"].append({"value": x, "type": "Group"})
    gb = fake.add_group("B", [u])
    fake.groups[gb]["members"].append({"value": y, "type": "Group"})

    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.method == "PATCH" and request.url.path.endswith(gb):
            ops = json.loads(request.content or b"{}").get("Operations", [])
            if any(str(op.get("op")).lower() == "add" for op in ops):
                return json_response(503, {"status": "503", "detail": "unavailable"})
        return fake.handle(request)

    specs = write_spec(
        tmp_path,
        [user("a@example.com"), user("u@example.com")],
        [
            {"displayName": "X", "members": []},
            {"displayName": "Y", "members": []},
            {"displayName": "A", "members": []},
            {"displayName": "B", "members": ["u@example.com"]},
        ],
        guards={"max_member_removals": 1000, "max_member_removal_percent": 100},
        nested_groups="native",
        quirks={"member_removal": "filter"},
    )
    result = apply_through(specs, fake, handle)
    held = [m["value"] for m in fake.groups[gb]["members"]]
    assert u in held, (held, [(f.key, f.message) for f in result.failed])


def test_the_adds_put_never_restores_a_member_just_removed(tmp_path: Any) -> None:
    # The adds' PATCH refused with a 400 naming no value, the removal's taken: the adds go
    # by PUT from a fresh read, which here is one write behind and still shows the member
    # just removed. Sent back whole it would hold that member again, reported done.
    fake = FakeScim()
    old = fake.add_user("old@example.com")
    keep = fake.add_user("keep@example.com")
    new = fake.add_user("new@example.com")
    gid = fake.add_group("Eng", [old, keep])
    behind: list[dict[str, Any]] = []  # the group as it was before the last PATCH

    def handle(request: httpx2.Request) -> httpx2.Response:
        own = request.url.path.endswith(f"/Groups/{gid}")
        if own and request.method == "PATCH":
            ops = json.loads(request.content)["Operations"]
            if any(str(op.get("op")).lower() == "add" for op in ops):
                return json_response(400, {"status": "400", "detail": "operation not supported"})
            behind[:] = [copy.deepcopy(fake.groups[gid])]
        if own and request.method == "GET" and not request.url.params and behind:
            return json_response(200, behind.pop())  # one read a write behind, then current
        return fake.handle(request)

    users = [user("old@example.com"), user("keep@example.com"), user("new@example.com")]
    groups = [{"displayName": "Eng", "members": ["keep@example.com", "new@example.com"]}]
    specs = write_spec(tmp_path, users, groups, guards={"max_member_removal_percent": 100})
    result = apply_through(specs, fake, handle)

    assert not result.failed
    assert sorted(m["value"] for m in fake.groups[gid]["members"]) == sorted([keep, new])
