"""Members a membership write took away unasked fail the group, never a success: a target
that reads a PATCH `add` of `members` as the whole new list (the group keeps only those
sent), or a `remove` of `members[value eq "x"]` as "remove them all", answers 200 and
takes access from people the spec keeps. A removal's losses are added back; an add's
cannot be (added back, they would take the ones just added), and the message names the
quirk that sends the whole list. And a member add is checked by a read whatever the
write answered: a 204, or a target that shows no `members` even when asked for them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.fakescim import FakeScim, Seen
from tests.scim.test_faults import outcomes, plan_and_apply, replan, user, write_spec

pytestmark = pytest.mark.usefixtures("token")


class AddReplaces(FakeScim):
    """`add` of `members` replaces the group's list with those sent."""

    def _patch(
        self, seen: Seen, store: dict[str, dict[str, Any]], kind: str, rid: str
    ) -> httpx2.Response:
        for op in (seen.body or {}).get("Operations", []):
            if str(op.get("op")).lower() == "add" and op.get("path") == "members":
                op["op"] = "replace"
        return super()._patch(seen, store, kind, rid)


class FilterClears(FakeScim):
    """`remove` of `members[value eq "x"]` removes every member."""

    def _patch(
        self, seen: Seen, store: dict[str, dict[str, Any]], kind: str, rid: str
    ) -> httpx2.Response:
        for op in (seen.body or {}).get("Operations", []):
            path = op.get("path")
            if str(op.get("op")).lower() == "remove" and str(path).startswith("members["):
                op["path"] = "members"
        return super()._patch(seen, store, kind, rid)


class Nowhere(FakeScim):
    """Keeps memberships and shows no `members` at all: not listed, not on a GET, not when
    asked for by `attributes=members`, not in a write's answer."""

    def _shown(self, resource: dict[str, Any], seen: Seen, *, listing: bool) -> dict[str, Any]:
        return {k: v for k, v in super()._shown(resource, seen, listing=listing).items()
                if k != "members"}  # fmt: skip

    def _one(self, resource: dict[str, Any], status: int = 200) -> httpx2.Response:
        return super()._one({k: v for k, v in resource.items() if k != "members"}, status)


def _held(fake: FakeScim, gid: str) -> list[str]:
    return sorted(m["value"] for m in fake.groups[gid].get("members", []))


def _world(
    fake: FakeScim, tmp_path: Path, held: str, wanted: str, **target: Any
) -> tuple[dict[str, str], str, Path]:
    ids = {c: fake.add_user(f"{c}@example.com") for c in "abcde"}
    eng = fake.add_group("Eng", [ids[c] for c in held])
    members = [f"{c}@example.com" for c in wanted]
    specs = write_spec(
        tmp_path,
        [user(f"{c}@example.com") for c in "abcde"],
        [{"displayName": "Eng", "members": members}],
        **target,
    )
    return ids, eng, specs


def test_an_add_that_replaces_the_list_fails_the_group_naming_who_lost_it(
    tmp_path: Path,
) -> None:
    fake = AddReplaces()
    ids, eng, specs = _world(fake, tmp_path, "ac", "ace")
    _, result = plan_and_apply(specs, fake)
    assert outcomes(result) == {"Eng": (outcomes(result)["Eng"][0], False)}
    (failed,) = result.failed
    assert failed.message == (
        f"PATCH /Groups/{eng} answered 200, but the group no longer shows member "
        "a@example.com and 1 more it held and the write did not name: the target took them "
        "away with it; a target that reads an add as the group's whole member list takes "
        "quirks: {patch: never} (the whole list sent by PUT)"
    )
    assert _held(fake, eng) == [ids["e"]]  # what the target did; reported, not hidden


def test_the_quirk_it_names_keeps_the_whole_list(tmp_path: Path) -> None:
    fake = AddReplaces()
    ids, eng, specs = _world(fake, tmp_path, "ac", "ace", quirks={"patch": "never"})
    _, result = plan_and_apply(specs, fake)
    assert result.failed == ()
    assert _held(fake, eng) == sorted(ids[c] for c in "ace")
    assert not replan(specs, fake).plan.has_changes


def test_a_removal_that_takes_every_member_is_undone_and_stops_removals(
    tmp_path: Path,
) -> None:
    fake = FilterClears()
    ids = {c: fake.add_user(f"{c}@example.com") for c in "abcd"}
    eng = fake.add_group("Eng", [ids[c] for c in "abc"])
    ops = fake.add_group("Ops", [ids[c] for c in "bcd"])
    groups = [
        {"displayName": "Eng", "members": ["a@example.com", "c@example.com"]},
        {"displayName": "Ops", "members": ["c@example.com", "d@example.com"]},
    ]
    specs = write_spec(tmp_path, [user(f"{c}@example.com") for c in "abcd"], groups,
                       concurrency=1)  # fmt: skip
    _, result = plan_and_apply(specs, fake)
    by_key = {f.key: str(f.message) for f in result.failed}
    assert set(by_key) == {"Eng", "Ops"}, outcomes(result)
    # Whichever group went first lost its kept members, got them back, and failed; the
    # other's removal was never sent.
    first = "Eng" if by_key["Eng"].endswith("no other member is removed in this run") else "Ops"
    gid = {"Eng": eng, "Ops": ops}[first]
    assert by_key[first].startswith(
        f"PATCH /Groups/{gid} answered 200, but the group no longer shows member "
    )
    assert by_key[first].endswith(
        "it held and the write did not name: the target took them away with it; they were "
        "added back, and no other member is removed in this run"
    )
    other = "Ops" if first == "Eng" else "Eng"
    assert by_key[other].startswith("member removal withheld: a removal earlier in this run")
    assert _held(fake, eng) == sorted(ids[c] for c in ("ac" if first == "Eng" else "abc"))
    assert _held(fake, ops) == sorted(ids[c] for c in ("cd" if first == "Ops" else "bcd"))


def test_a_204_add_is_read_back_and_a_group_never_shown_with_members_fails(
    tmp_path: Path,
) -> None:
    fake = FakeScim()
    fake.patch_status = 204
    fake.members_shown = "never"  # `members: []` on every read
    ids, eng, specs = _world(fake, tmp_path, "", "ab")
    _, result = plan_and_apply(specs, fake)
    (failed,) = result.failed
    assert failed.message.startswith(
        f"PATCH /Groups/{eng} answered 204, but neither its answer nor a GET shows member "
        "a@example.com and 1 more it added: this target does not show the group's members"
    )
    assert _held(fake, eng) == sorted(ids[c] for c in "ab")


def test_a_target_that_never_shows_members_at_all_fails_the_group(tmp_path: Path) -> None:
    fake = Nowhere()
    fake.patch_status = 204
    _, eng, specs = _world(fake, tmp_path, "", "ab")
    _, result = plan_and_apply(specs, fake)
    (failed,) = result.failed
    assert failed.message == (
        f"PATCH /Groups/{eng} answered 204, but neither its answer nor a GET shows a member "
        "list with member a@example.com and 1 more it added: this target does not show the "
        "group's members, so each plan adds them again and cannot see members to remove; "
        "manage this group's members in the application itself"
    )
    asked = [s for s in fake.requests if s.method == "GET" and s.path == f"/Groups/{eng}"]
    assert [s.params.get("attributes") for s in asked][-2:] == [None, "members"]


def test_a_204_add_on_a_target_that_shows_members_is_verified_by_one_read(
    tmp_path: Path,
) -> None:
    fake = FakeScim()
    fake.patch_status = 204
    _, eng, specs = _world(fake, tmp_path, "ab", "abc")
    _, result = plan_and_apply(specs, fake)
    assert result.failed == ()
    assert [(r.method, r.path) for r in fake.requests[-2:]] == [
        ("PATCH", f"/Groups/{eng}"),
        ("GET", f"/Groups/{eng}"),
    ]
    assert not replan(specs, fake).plan.has_changes


class NewestShown(FakeScim):
    """A group's GET and a write's answer show its three newest members only; its listing
    (a filter by id included) shows them all."""

    def _one(self, resource: dict[str, Any], status: int = 200) -> httpx2.Response:
        if isinstance(resource.get("members"), list):
            resource = {**resource, "members": resource["members"][-3:]}
        return super()._one(resource, status)


def test_a_group_shown_by_its_newest_members_does_not_fail_an_add(tmp_path: Path) -> None:
    # The GET after the add shows only the three just added: the listing says the two the
    # group held are still there, so nothing was taken.
    fake = NewestShown()
    ids, eng, specs = _world(fake, tmp_path, "ab", "abcde")
    _, result = plan_and_apply(specs, fake)
    assert result.failed == ()
    assert _held(fake, eng) == sorted(ids.values())
    assert not replan(specs, fake).plan.has_changes


def test_a_204_removal_is_verified_by_one_read(tmp_path: Path) -> None:
    # The read that shows the member gone also shows who stayed: not read twice.
    fake = FakeScim()
    fake.patch_status = 204
    ids, eng, specs = _world(fake, tmp_path, "abc", "ac")
    _, result = plan_and_apply(specs, fake)
    assert result.failed == ()
    assert _held(fake, eng) == sorted([ids["a"], ids["c"]])
    assert [(r.method, r.path) for r in fake.requests[-2:]] == [
        ("PATCH", f"/Groups/{eng}"),
        ("GET", f"/Groups/{eng}"),
    ]
