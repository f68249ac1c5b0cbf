"""A target that answers member adds with success but shows `members: []` on every read and
in every write's answer (as a Directory Sync server embedded in many applications does):
the group fails with one line saying what to do, never reported as done, and no user is
touched by it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest

from reconciler.core.plan import Action
from tests.fakescim import FakeScim
from tests.scim.test_faults import apply_through, outcomes, plan_and_apply, replan, user, write_spec

pytestmark = pytest.mark.usefixtures("token")


def _members_held(fake: FakeScim, name: str) -> list[str]:
    (group,) = [g for g in fake.groups.values() if g["displayName"] == name]
    return [m["value"] for m in group.get("members", [])]


def test_member_adds_a_target_never_shows_fail_the_group(tmp_path: Path) -> None:
    fake = FakeScim()
    fake.members_shown = "never"
    a = fake.add_user("a@example.com", active=True)
    fake.add_group("Eng")
    specs = write_spec(
        tmp_path,
        [user("a@example.com", active=True)],
        [{"displayName": "Eng", "members": ["a@example.com"]}],
    )
    _, result = plan_and_apply(specs, fake)
    assert outcomes(result) == {"Eng": (Action.UPDATE, False)}
    (failure,) = result.failed
    message = str(failure.message)
    assert "\n" not in message
    assert "does not show the group's members" in message
    assert "member a@example.com it added" in message
    assert "manage this group's members in the application itself" in message
    # The add was sent and the target holds it; the user is left as it was.
    assert _members_held(fake, "Eng") == [a]
    assert fake.users[a]["active"] is True
    assert fake.count("DELETE") == 0


def test_a_new_group_on_such_a_target_fails_the_same_way(tmp_path: Path) -> None:
    fake = FakeScim()
    fake.members_shown = "never"
    fake.add_user("a@example.com")
    fake.add_user("b@example.com")
    specs = write_spec(
        tmp_path,
        [user("a@example.com"), user("b@example.com")],
        [{"displayName": "Eng", "members": ["a@example.com", "b@example.com"]}],
    )
    _, result = plan_and_apply(specs, fake)
    (failure,) = result.failed
    assert failure.key == "Eng"
    assert "member a@example.com and 1 more it added" in str(failure.message)
    assert len(_members_held(fake, "Eng")) == 2


def test_an_answer_that_leaves_members_out_is_checked_by_a_read(tmp_path: Path) -> None:
    # Only the answer is short: the group's GET shows who it holds, so nothing fails.
    fake = FakeScim()
    a = fake.add_user("a@example.com")
    gid = fake.add_group("Eng")
    short = {"id": gid, "displayName": "Eng", "members": []}
    fake.fail("PATCH", "/Groups/*", status=200, after=True, body=short)
    specs = write_spec(
        tmp_path, [user("a@example.com")], [{"displayName": "Eng", "members": ["a@example.com"]}]
    )
    _, result = plan_and_apply(specs, fake)
    assert result.failed == ()
    assert _members_held(fake, "Eng") == [a]
    # The short answer is checked by one read of the group, right after the write.
    assert [(r.method, r.path) for r in fake.requests[-2:]] == [
        ("PATCH", f"/Groups/{gid}"),
        ("GET", f"/Groups/{gid}"),
    ]
    assert not replan(specs, fake).plan.has_changes


def test_targets_that_show_members_are_not_read_again(tmp_path: Path) -> None:
    fake = FakeScim()
    fake.add_user("a@example.com")
    gid = fake.add_group("Eng")
    specs = write_spec(
        tmp_path, [user("a@example.com")], [{"displayName": "Eng", "members": ["a@example.com"]}]
    )
    _, result = plan_and_apply(specs, fake)
    assert result.failed == ()
    assert (fake.requests[-1].method, fake.requests[-1].path) == ("PATCH", f"/Groups/{gid}")
    assert not replan(specs, fake).plan.has_changes


class CutShort(FakeScim):
    """A target whose answer for one group (a GET or a write's) shows only its first two
    members, as services do for large groups; its listing shows them all."""

    def _one(self, resource: dict[str, Any], status: int = 200) -> httpx2.Response:
        if isinstance(resource.get("members"), list):
            resource = {**resource, "members": resource["members"][:2]}
        return super()._one(resource, status)


def test_a_member_list_cut_short_is_no_evidence_of_a_member_not_kept(tmp_path: Path) -> None:
    # The add is kept and every plan sees it (the listing shows it); the single group's
    # answer lacks it only because it also lacks members the group held when planned.
    fake = CutShort()
    held = [fake.add_user(f"{name}@example.com") for name in "abc"]
    fake.add_group("Eng", held)
    new = fake.add_user("d@example.com")
    specs = write_spec(
        tmp_path,
        [user(f"{name}@example.com") for name in "abcd"],
        [{"displayName": "Eng", "members": [f"{name}@example.com" for name in "abcd"]}],
    )
    _, result = plan_and_apply(specs, fake)
    assert result.failed == ()
    assert _members_held(fake, "Eng") == [*held, new]
    assert not replan(specs, fake).plan.has_changes


def test_nested_groups_a_target_drops_fail_with_flatten_as_the_fix(tmp_path: Path) -> None:
    # It keeps users as members and drops groups from every add, answering success
    # (django-scim2-server): native nesting cannot work there, flattening can.
    fake = FakeScim()
    a = fake.add_user("a@example.com")
    fake.add_group("Inner", [a])
    outer = fake.add_group("Outer")

    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.method == "PATCH" and request.url.path.endswith(f"/Groups/{outer}"):
            body = json.loads(request.content)
            for op in body["Operations"]:
                if isinstance(op.get("value"), list):
                    op["value"] = [m for m in op["value"] if m.get("type") != "Group"]
            request = httpx2.Request("PATCH", request.url, headers=request.headers,
                                     content=json.dumps(body).encode())  # fmt: skip
        return fake.handle(request)

    groups = [
        {"displayName": "Inner", "members": ["a@example.com"]},
        {"displayName": "Outer", "groups": ["Inner"]},
    ]
    specs = write_spec(tmp_path, [user("a@example.com")], groups, nested_groups="native")
    result = apply_through(specs, fake, handle)
    (failure,) = result.failed
    assert failure.key == "Outer"
    assert "shows group Inner it added as a member" in failure.message
    assert failure.message.endswith(
        "this target keeps no group as a member; set nested_groups: flatten for it, and the "
        "nested groups' users become members instead"
    )
    assert _members_held(fake, "Outer") == []


def test_a_target_keeping_other_nested_groups_is_not_told_to_flatten(tmp_path: Path) -> None:
    # It holds nested group Keep, and drops only the add of Inner: not a target that
    # keeps no group as a member.
    fake = FakeScim()
    keep, inner = fake.add_group("Keep"), fake.add_group("Inner")
    outer = fake.add_group("Outer")
    fake.groups[outer]["members"] = [{"value": keep, "type": "Group"}]

    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.method == "PATCH" and request.url.path.endswith(f"/Groups/{outer}"):
            return fake.handle(httpx2.Request("GET", request.url, headers=request.headers))
        return fake.handle(request)

    groups: list[dict[str, Any]] = [
        {"displayName": "Keep"},
        {"displayName": "Inner"},
        {"displayName": "Outer", "groups": ["Keep", "Inner"]},
    ]
    specs = write_spec(tmp_path, [], groups, nested_groups="native")
    result = apply_through(specs, fake, handle)
    (failure,) = result.failed
    assert failure.message.endswith(
        "shows group Inner it added as a member: the target did not keep it, so each plan "
        "adds it again"
    )
    assert inner not in _members_held(fake, "Outer")
