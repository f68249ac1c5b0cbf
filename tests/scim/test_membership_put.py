"""Membership on a target without PATCH: one GET-merge-PUT of the group's member list.

Adds and removals used to go by PATCH only, so on a target that answers PATCH with 501 (or
says in its ServiceProviderConfig that it has none) every membership change failed. The PUT
sends the members the target holds, less the planned removals, plus the adds: nobody the
plan did not name is removed, and the next plan has nothing left to do.
"""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest

from tests.fakescim import FakeScim, json_response
from tests.scim.test_faults import plan_and_apply, replan, user, write_spec


def members(fake: FakeScim, gid: str) -> list[str]:
    return sorted(str(m["value"]) for m in fake.groups[gid].get("members", []))


@pytest.mark.parametrize("advertised", [True, False], ids=["501", "config"])
def test_members_are_added_and_removed_by_put(token: str, tmp_path: Path, advertised: bool) -> None:
    fake = FakeScim()
    fake.patch_unsupported = True
    fake.config["patch"] = {"supported": advertised}
    names = [f"u{i}@example.com" for i in range(5)]
    ids = [fake.add_user(name) for name in names]
    gid = fake.add_group("Eng", [ids[0], ids[1], ids[4]])
    outsider = "not-a-user"  # the target holds no such user (404): dangling, removed
    fake.groups[gid]["members"].append({"value": outsider})
    specs = write_spec(
        tmp_path,
        [user(n) for n in names],
        [{"displayName": "Eng", "members": names[:3]}],
    )
    prepared, result = plan_and_apply(specs, fake)
    assert [o.message for o in result.outcomes if not o.ok] == []
    [change] = prepared.plan.changes
    assert [m.key for m in change.members_add] == [names[2]]
    assert sorted(str(m.id) for m in change.members_remove) == sorted([ids[4], outsider])
    assert members(fake, gid) == sorted(ids[:3])
    assert fake.count("PUT", "/Groups/*") == 1
    assert replan(specs, fake).plan.changes == ()


def test_a_group_made_by_this_run_gets_its_members_by_put(token: str, tmp_path: Path) -> None:
    fake = FakeScim()
    fake.patch_unsupported = True
    names = [f"u{i}@example.com" for i in range(3)]
    specs = write_spec(
        tmp_path,
        [user(n) for n in names],
        [{"displayName": "Eng", "members": names}],
        membership_chunk=1,  # one member rides on the POST; the rest follow by PUT
    )
    _, result = plan_and_apply(specs, fake)
    assert [o.message for o in result.outcomes if not o.ok] == []
    [(gid, _)] = fake.groups.items()
    assert len(members(fake, gid)) == 3
    assert replan(specs, fake).plan.changes == ()


def test_a_put_tells_a_user_from_a_nested_group_with_the_same_id(
    token: str, tmp_path: Path
) -> None:
    # Ids counted per kind: Parent holds user ben "1" and the groups "1" and "2" nested in
    # it. Ben's removal leaves group "1" in place, and user ann "2" is added though group
    # "2" is held: a member is the same one only by kind and id.
    fake = FakeScim()
    fake.ids_per_kind = True
    fake.patch_unsupported = True
    ben, ann = fake.add_user("ben@example.com"), fake.add_user("ann@example.com")
    child, other = fake.add_group("Child"), fake.add_group("Other")
    gid = fake.add_group("Parent", [ben])
    nested = [{"value": child, "type": "Group"}, {"value": other, "type": "Group"}]
    fake.groups[gid]["members"] += nested
    users = [user("ben@example.com"), user("ann@example.com")]
    specs = write_spec(tmp_path, users, [{"displayName": "Parent", "members": ["ann@example.com"]}])
    _, result = plan_and_apply(specs, fake)
    assert [o.message for o in result.outcomes if not o.ok] == []
    entries = fake.groups[gid]["members"]
    held = sorted((str(m.get("type", "User")), str(m["value"])) for m in entries)
    assert held == [("Group", child), ("Group", other), ("User", ann)]
    assert replan(specs, fake).plan.changes == ()


ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


@pytest.mark.parametrize("scim_type", ["invalidSyntax", "invalidPath", None])
def test_a_group_patch_refused_with_400_goes_by_put(
    token: str, tmp_path: Path, scim_type: str | None
) -> None:
    # A target that takes only some PATCH forms on groups (say, `replace` of members,
    # or ops spelled `Add`) refuses ours with a 400 about the request, not its members.
    fake = FakeScim()
    a, b = fake.add_user("a@example.com"), fake.add_user("b@example.com")
    gid = fake.add_group("Eng", [a])
    refusal = {"schemas": [ERROR], "status": "400", "detail": "unsupported op add"}
    if scim_type:
        refusal["scimType"] = scim_type
    fake.fail("PATCH", "/Groups/*", status=400, body=refusal, times=100)
    specs = write_spec(
        tmp_path,
        [user("a@example.com", title="T"), user("b@example.com")],
        [{"displayName": "Eng", "members": ["b@example.com"]}],
    )
    _, result = plan_and_apply(specs, fake)
    assert [o.message for o in result.outcomes if not o.ok] == []
    assert members(fake, gid) == [b]
    assert fake.count("PUT", "/Groups/*") == 1
    assert fake.count("PUT", "/Users/*") == 0  # users' PATCH still works: not given up
    assert replan(specs, fake).plan.changes == ()


def test_a_group_patch_refused_for_its_members_is_not_sent_again_by_put(
    token: str, tmp_path: Path
) -> None:
    fake = FakeScim()
    fake.add_user("a@example.com")
    gid = fake.add_group("Eng")
    refusal = {"schemas": [ERROR], "status": "400", "scimType": "invalidValue",
               "detail": "member a is not allowed"}  # fmt: skip
    fake.fail("PATCH", "/Groups/*", status=400, body=refusal, times=100)
    specs = write_spec(
        tmp_path, [user("a@example.com")], [{"displayName": "Eng", "members": ["a@example.com"]}]
    )
    _, result = plan_and_apply(specs, fake)
    assert [o.key for o in result.outcomes if not o.ok] == ["Eng"]
    assert members(fake, gid) == []
    assert fake.count("PUT") == 0


def ignoring_members_on_put(fake: FakeScim) -> None:
    """A target that answers a group's PUT with success and keeps the members it held."""
    original = fake.handle

    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.method != "PUT" or "/Groups/" not in request.url.path:
            return original(request)
        gid = request.url.path.rsplit("/", 1)[1]
        held = fake.groups[gid].get("members")
        original(request)
        fake.groups[gid]["members"] = held
        return json_response(200, fake.groups[gid])

    fake.handle = handle  # type: ignore[method-assign]


@pytest.mark.parametrize("quirk", [True, False], ids=["patch-never", "patch-501"])
def test_a_put_that_leaves_the_members_as_they_were_fails_the_group(
    token: str, tmp_path: Path, quirk: bool
) -> None:
    fake = FakeScim()
    fake.patch_unsupported = not quirk
    alice, bob, carol = (fake.add_user(f"{n}@example.com") for n in ("alice", "bob", "carol"))
    gid = fake.add_group("Eng", [alice, bob])
    ignoring_members_on_put(fake)
    specs = write_spec(
        tmp_path,
        [user(f"{n}@example.com") for n in ("alice", "bob", "carol")],
        [{"displayName": "Eng", "members": ["alice@example.com", "carol@example.com"]}],
        **({"quirks": {"patch": "never"}} if quirk else {}),
    )
    _, result = plan_and_apply(specs, fake)
    [failed] = [o for o in result.outcomes if not o.ok]
    fix = (
        "membership needs PATCH here: remove quirks: {patch: never}"
        if quirk
        else "change these members on the target"
    )
    assert (failed.key, failed.message) == (
        "Eng",
        f"PUT /Groups/{gid} answered 200, but the group still holds bob@example.com it was "
        "sent without and does not hold carol@example.com it was sent with: the target "
        f"ignores members sent by PUT, so the next plan would propose them again; {fix}",
    )
    assert members(fake, gid) == sorted([alice, bob])
    [change] = replan(specs, fake).plan.changes
    assert ([m.key for m in change.members_add], [m.id for m in change.members_remove]) == (
        ["carol@example.com"],
        [bob],
    )
    assert carol


def test_a_put_whose_answer_shows_no_members_is_not_judged(token: str, tmp_path: Path) -> None:
    fake = FakeScim()
    fake.patch_unsupported = True
    fake.members_shown = "asked"  # members only where `attributes` names them
    alice, bob = (fake.add_user(f"{n}@example.com") for n in ("alice", "bob"))
    gid = fake.add_group("Eng", [alice, bob])
    specs = write_spec(
        tmp_path,
        [user("alice@example.com"), user("bob@example.com")],
        [{"displayName": "Eng", "members": ["alice@example.com"]}],
    )
    _, result = plan_and_apply(specs, fake)
    assert [o.message for o in result.outcomes if not o.ok] == []
    assert members(fake, gid) == [alice]


def answering_puts_with_no_members(fake: FakeScim) -> None:
    """A target that stores a group's PUT but answers it with `members: []`."""
    original = fake.handle

    def handle(request: httpx2.Request) -> httpx2.Response:
        answer = original(request)
        if request.method != "PUT" or "/Groups/" not in request.url.path:
            return answer
        gid = request.url.path.rsplit("/", 1)[1]
        return json_response(200, {**fake.groups[gid], "members": []})

    fake.handle = handle  # type: ignore[method-assign]


def test_a_put_answered_with_an_empty_member_list_is_not_judged(token: str, tmp_path: Path) -> None:
    # Some targets answer a group's PUT with `members: []` (they do not list members in
    # answers) though they stored what was sent: not proof that an add was not held.
    fake = FakeScim()
    fake.patch_unsupported = True
    alice, bob = (fake.add_user(f"{n}@example.com") for n in ("alice", "bob"))
    gid = fake.add_group("Eng", [alice])
    answering_puts_with_no_members(fake)
    specs = write_spec(
        tmp_path,
        [user("alice@example.com"), user("bob@example.com")],
        [{"displayName": "Eng", "members": ["alice@example.com", "bob@example.com"]}],
    )
    _, result = plan_and_apply(specs, fake)
    assert [o.message for o in result.outcomes if not o.ok] == []
    assert members(fake, gid) == sorted([alice, bob])
    assert replan(specs, fake).plan.changes == ()


def test_a_new_groups_put_answered_with_an_empty_member_list_is_not_judged(
    token: str, tmp_path: Path
) -> None:
    fake = FakeScim()
    fake.patch_unsupported = True
    answering_puts_with_no_members(fake)
    names = [f"u{i}@example.com" for i in range(3)]
    specs = write_spec(
        tmp_path,
        [user(n) for n in names],
        [{"displayName": "Eng", "members": names}],
        membership_chunk=1,  # one member rides on the POST; the rest follow by PUT
    )
    _, result = plan_and_apply(specs, fake)
    assert [o.message for o in result.outcomes if not o.ok] == []
    assert replan(specs, fake).plan.changes == ()
