"""A write of a group's attributes that takes its members with it fails the group, never a
success: langwatch (langwatch/langwatch#7131, before #7136) empties a group on a PATCH that
replaces anything but its displayName, and answers 200 showing `members: []`. The members
the group held are added back in the same run, and the failure names the attribute write
(members_lost.taken_with), not a member write, and no quirk about member writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.fakescim import FakeScim, Seen
from tests.scim.test_faults import plan_and_apply, replan, user, write_spec

pytestmark = pytest.mark.usefixtures("token")


class EmptiedByAttributes(FakeScim):
    """A group PATCH that names anything but `members` empties the group; its answer shows
    the group as it now is, or (`answer_members` False) leaves `members` out."""

    answer_members = True

    def _patch(
        self, seen: Seen, store: dict[str, dict[str, Any]], kind: str, rid: str
    ) -> httpx2.Response:
        response = super()._patch(seen, store, kind, rid)
        ops = (seen.body or {}).get("Operations", [])
        named = [str(op.get("path", "")) for op in ops]
        if kind != "Group" or response.is_error or all(p.startswith("members") for p in named):
            return response
        store[rid]["members"] = []
        if response.status_code == 204:
            return response
        shown = store[rid] if self.answer_members else {**store[rid], "members": None}
        return self._one({k: v for k, v in shown.items() if v is not None})


def _world(fake: FakeScim, tmp_path: Path, **target: Any) -> tuple[list[str], str, Path]:
    ids = [fake.add_user(f"{c}@example.com") for c in "ab"]
    eng = fake.add_group("Eng", ids)
    fake.groups[eng]["externalId"] = "old-eng"
    members = ["a@example.com", "b@example.com"]
    group = {"displayName": "Eng", "externalId": "eng", "members": members}
    specs = write_spec(tmp_path, [user(m) for m in members], [group], **target)
    return ids, eng, specs


def _held(fake: FakeScim, gid: str) -> list[str]:
    return sorted(m["value"] for m in fake.groups[gid].get("members", []))


EXPECTED = (
    "writing the group's externalId answered {status}, but the group no longer shows member "
    "a@example.com and 1 more it held: that write took them away, not a member write; they "
    "were added back: apply again for any member changes it has"
)


@pytest.mark.parametrize("answer", ["the group", "no member list", "204"])
def test_an_attribute_write_that_empties_the_group_adds_them_back_and_fails(
    tmp_path: Path, answer: str
) -> None:
    fake = EmptiedByAttributes()
    fake.answer_members = answer == "the group"
    fake.patch_status = 204 if answer == "204" else 200
    ids, eng, specs = _world(fake, tmp_path)
    _, result = plan_and_apply(specs, fake)
    (failed,) = result.failed
    assert (failed.key, failed.message) == (
        "Eng",
        EXPECTED.format(status=fake.patch_status),
    )
    assert fake.groups[eng]["externalId"] == "eng"
    assert _held(fake, eng) == sorted(ids)  # back in the same run
    assert not replan(specs, fake).plan.has_changes


def test_an_attribute_write_that_keeps_the_members_reads_nothing_more(tmp_path: Path) -> None:
    # Its answer shows the members it held: no read, and no failure.
    fake = FakeScim()
    ids, eng, specs = _world(fake, tmp_path)
    _, result = plan_and_apply(specs, fake)
    assert result.failed == ()
    assert [(r.method, r.path) for r in fake.requests][-1] == ("PATCH", f"/Groups/{eng}")
    assert _held(fake, eng) == sorted(ids)


def _adds(seen: Seen) -> bool:
    ops = (seen.body or {}).get("Operations", [])
    return any(op.get("path") == "members" and op.get("op") == "add" for op in ops) and not any(
        m.get("type") == "Group" for op in ops for m in op.get("value") or []
    )


def test_a_failed_add_back_is_named_and_no_later_member_write_blames_itself(
    tmp_path: Path,
) -> None:
    # The users cannot be added back; the nested group added after them (native nesting)
    # is: that add took nothing, so it is not failed for members the attribute write took.
    fake = EmptiedByAttributes()
    ids = [fake.add_user(f"{c}@example.com") for c in "ab"]
    inner = fake.add_group("Inner")
    eng = fake.add_group("Eng", ids)
    fake.fail("PATCH", f"/Groups/{eng}", times=9, status=403, when=_adds)
    members = ["a@example.com", "b@example.com"]
    groups = [
        {"displayName": "Eng", "externalId": "eng", "members": members, "groups": ["Inner"]},
        {"displayName": "Inner", "members": []},
    ]
    specs = write_spec(tmp_path, [user(m) for m in members], groups, nested_groups="native")
    _, result = plan_and_apply(specs, fake)
    (failed,) = result.failed
    assert failed.key == "Eng"
    assert failed.message.startswith(
        "writing the group's externalId answered 200, but the group no longer shows member "
        "a@example.com and 1 more it held: that write took them away, not a member write; "
        "adding them back failed ("
    )
    assert failed.message.endswith("): apply again")
    assert _held(fake, eng) == [inner]


def test_a_member_the_change_removes_is_never_added_back(tmp_path: Path) -> None:
    # The plan takes c out of Eng and replaces its externalId; the externalId write empties
    # the group. a and b go back; c, whose removal was reviewed, does not: adding it back
    # would grant access the plan takes away, a write no plan showed.
    fake = EmptiedByAttributes()
    ids = [fake.add_user(f"{c}@example.com") for c in "abc"]
    eng = fake.add_group("Eng", ids)
    fake.groups[eng]["externalId"] = "old-eng"
    members = ["a@example.com", "b@example.com"]
    group = {"displayName": "Eng", "externalId": "eng", "members": members}
    users = [user(f"{c}@example.com") for c in "abc"]
    _, result = plan_and_apply(write_spec(tmp_path, users, [group]), fake)
    (failed,) = result.failed
    assert failed.key == "Eng"
    assert "that write took them away" in failed.message
    assert _held(fake, eng) == sorted(ids[:2])
    added = [
        m.get("value")
        for r in fake.requests
        if r.method == "PATCH" and r.body
        for op in r.body.get("Operations", [])
        if op.get("op") == "add"
        for m in op.get("value") or []
    ]
    assert ids[2] not in added
