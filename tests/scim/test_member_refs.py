"""Targets that want `$ref` on group members (issue 14 item 2; RFC 7643 §4.2).

By default scimrec sends members as `{"value": id}`, as Entra ID does; a target that refuses
that with a 400 naming `ref` gets the write again with `$ref`s, and every later write carries
them. `quirks: {member_ref: always}` sends them from the start. Every route that sends
members is tested: group POST, PATCH add, PATCH remove by value list, group PUT, nested
groups.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import stamina

from reconciler.core.plan import Action
from reconciler.errors import ScimHTTPError
from reconciler.scim import member_ops
from reconciler.scim.apply.refusals import wants_ref
from tests.fakescim import BASE_URL, FakeScim, Seen
from tests.scim.conftest import TOKEN, TOKEN_ENV
from tests.scim.test_faults import (
    outcomes,
    plan_and_apply,
    replan,
    user,
    write_spec,
)

CANONICAL = "https://canonical.scim.test/v2"  # where the fake's meta.location points
REFUSAL = "Field 'ref' is required but value is missing or null: members"


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)


@pytest.fixture(autouse=True)
def _fast() -> Iterator[None]:
    with stamina.set_testing(True, attempts=3):
        yield


def wanting_refs() -> FakeScim:
    fake = FakeScim(token=TOKEN)
    fake.require_member_ref = True
    fake.location_base = CANONICAL
    return fake


def member_writes(fake: FakeScim) -> list[tuple[str, int, list[dict[str, Any]]]]:
    """Every write that named members: method, how many members, and the members."""
    out = []
    for seen in fake.requests:
        members = _members(seen)
        if members:
            out.append((seen.method, len(members), members))
    return out


def _members(seen: Seen) -> list[dict[str, Any]]:
    if not isinstance(seen.body, dict) or seen.method == "GET":
        return []
    found = list(seen.body.get("members") or [])
    for op in seen.body.get("Operations") or []:
        if str(op.get("path", "")).startswith("members") and isinstance(op.get("value"), list):
            found += op["value"]
    return found


def test_the_refusal_is_recognised() -> None:
    def refusal(status: int, detail: str) -> ScimHTTPError:
        return ScimHTTPError("POST", "/Groups", status, detail, "invalidValue")

    assert wants_ref(refusal(400, REFUSAL))
    assert wants_ref(refusal(400, "members[0].$ref is required"))
    assert not wants_ref(refusal(400, "preferredLanguage is invalid"))
    assert not wants_ref(refusal(400, "href must be absolute"))
    assert not wants_ref(refusal(409, REFUSAL))


def test_a_member_entry_is_built_in_one_place() -> None:
    def ref(member_id: str, member_type: str) -> dict[str, str]:
        return {"$ref": f"{BASE_URL}/{member_type}s/{member_id}"}

    assert member_ops.member("u1") == {"value": "u1"}
    assert member_ops.member("u1", ref) == {"value": "u1", "$ref": f"{BASE_URL}/Users/u1"}
    assert member_ops.member("g1", ref, "Group") == {
        "value": "g1",
        "$ref": f"{BASE_URL}/Groups/g1",
        "type": "Group",
    }


def test_a_group_create_refused_for_want_of_ref_is_sent_again_with_refs(tmp_path: Path) -> None:
    fake = wanting_refs()
    alice = fake.add_user("alice@example.com")
    specs = write_spec(
        tmp_path,
        [user("alice@example.com"), user("bob@example.com")],
        [{"displayName": "Eng", "members": ["alice@example.com", "bob@example.com"]}],
    )
    _, result = plan_and_apply(specs, fake)
    assert result.failed == ()
    bob = fake.user_named("bob@example.com")[0]["id"]
    posts = [w for w in member_writes(fake) if w[0] == "POST"]
    # Without $ref first (as Entra sends), refused; then with: the matched user's
    # meta.location as listed, the new user's as its create answered.
    assert posts == [
        ("POST", 2, [{"value": alice}, {"value": bob}]),
        (
            "POST",
            2,
            [
                {"value": alice, "$ref": f"{CANONICAL}/Users/{alice}"},
                {"value": bob, "$ref": f"{CANONICAL}/Users/{bob}"},
            ],
        ),
    ]
    assert len(fake.groups) == 1
    assert not replan(specs, fake).plan.has_changes


def test_membership_patches_learn_ref_and_keep_sending_it(tmp_path: Path) -> None:
    fake = wanting_refs()
    fake.reject_member_filter_path = True  # removals by value list, which carry members
    ids = [fake.add_user(f"u{n}@example.com") for n in range(3)]
    fake.add_group("Eng", [ids[0]])
    fake.groups[next(iter(fake.groups))]["members"] = [{"value": ids[0], "$ref": "x"}]
    specs = write_spec(
        tmp_path,
        [user(f"u{n}@example.com") for n in range(3)],
        [{"displayName": "Eng", "members": ["u1@example.com", "u2@example.com"]}],
    )
    _, result = plan_and_apply(specs, fake)
    assert outcomes(result) == {"Eng": (Action.UPDATE, True)}
    patches = [(n, [("$ref" in m) for m in ms]) for method, n, ms in member_writes(fake)]
    # add refused, add again with $ref; the removal carries $ref from the first try.
    assert patches == [(2, [False, False]), (2, [True, True]), (1, [True])]
    assert not replan(specs, fake).plan.has_changes


def test_a_group_put_sends_its_members_with_refs(tmp_path: Path) -> None:
    fake = wanting_refs()
    fake.patch_unsupported = True  # renames go through GET-merge-PUT
    alice = fake.add_user("alice@example.com")
    gid = fake.add_group("Eng", [alice])
    specs = write_spec(
        tmp_path,
        [user("alice@example.com")],
        [{"displayName": "Eng", "externalId": "eng"}],
        quirks={"patch": "never"},
    )
    _, result = plan_and_apply(specs, fake)
    assert result.failed == ()
    puts = [w for w in member_writes(fake) if w[0] == "PUT"]
    assert [[("$ref" in m) for m in ms] for _, _, ms in puts] == [[False], [True]]
    assert fake.groups[gid]["externalId"] == "eng"


def test_nested_groups_carry_a_group_ref(tmp_path: Path) -> None:
    fake = wanting_refs()
    specs = write_spec(
        tmp_path,
        [user("alice@example.com")],
        [
            {"displayName": "Outer", "groups": ["Inner"]},
            {"displayName": "Inner", "members": ["alice@example.com"]},
        ],
        nested_groups="native",
    )
    _, result = plan_and_apply(specs, fake)
    assert result.failed == ()
    inner = next(g["id"] for g in fake.groups.values() if g["displayName"] == "Inner")
    nested = [m for _, _, ms in member_writes(fake) for m in ms if m.get("type") == "Group"]
    assert nested[-1] == {"value": inner, "$ref": f"{CANONICAL}/Groups/{inner}", "type": "Group"}


def test_the_quirk_sends_refs_from_the_first_write(tmp_path: Path) -> None:
    fake = wanting_refs()
    specs = write_spec(
        tmp_path,
        [user("alice@example.com")],
        [{"displayName": "Eng", "members": ["alice@example.com"]}],
        quirks={"member_ref": "always"},
    )
    _, result = plan_and_apply(specs, fake)
    assert result.failed == ()
    assert [n for _, n, ms in member_writes(fake) if all("$ref" in m for m in ms)] == [1]
    assert len(member_writes(fake)) == 1  # never refused


def test_no_ref_is_sent_to_a_target_that_does_not_ask(tmp_path: Path) -> None:
    fake = FakeScim(token=TOKEN)
    specs = write_spec(
        tmp_path,
        [user("alice@example.com")],
        [{"displayName": "Eng", "members": ["alice@example.com"]}],
    )
    plan_and_apply(specs, fake)
    assert [[set(m) for m in ms] for _, _, ms in member_writes(fake)] == [[{"value"}]]


def test_a_limit_on_members_per_write_is_learned_by_halving(tmp_path: Path) -> None:
    """Better Auth names at most 100 members per write (QUIRKS.md §7): a bigger chunk is
    refused with a 400 that changed nothing, so it is sent again in halves, and the run
    keeps the smaller size."""
    fake = FakeScim(token=TOKEN)
    fake.max_members_per_write = 4
    keys = [f"u{n:02d}@example.com" for n in range(10)]
    for key in keys:
        fake.add_user(key)
    specs = write_spec(
        tmp_path,
        [user(k) for k in keys],
        [{"displayName": "Eng", "members": keys}],
        membership_chunk=10,
    )
    _, result = plan_and_apply(specs, fake)
    assert result.failed == ()
    (group,) = fake.groups.values()
    assert len(group["members"]) == 10
    sizes = [(method, n) for method, n, _ in member_writes(fake)]
    # POST with 10 refused, POST with none; PATCH 10 refused, 5 refused, then 2 + 3, and
    # the other 5 the same way: never a blind resend of what was refused.
    assert sizes == [("POST", 10), ("PATCH", 10), ("PATCH", 5), ("PATCH", 2), ("PATCH", 3),
                     ("PATCH", 5), ("PATCH", 2), ("PATCH", 3)]  # fmt: skip
    assert not replan(specs, fake).plan.has_changes


def test_a_nested_group_removed_by_value_list_carries_a_group_ref(tmp_path: Path) -> None:
    # Ids counted per kind: the $ref of nested group "1" must name the group, not user "1"
    # (alice), whom a target that reads the $ref would remove instead.
    fake = wanting_refs()
    fake.ids_per_kind = True
    alice = fake.add_user("alice@example.com")
    inner = fake.add_group("Inner", [alice])
    outer = fake.add_group("Outer", [])
    fake.groups[outer]["members"] = [{"value": inner, "type": "Group"}]
    specs = write_spec(
        tmp_path,
        [user("alice@example.com")],
        [
            {"displayName": "Outer", "members": []},
            {"displayName": "Inner", "members": ["alice@example.com"]},
        ],
        nested_groups="native",
        quirks={"member_removal": "value", "member_ref": "always"},
    )
    _, result = plan_and_apply(specs, fake)
    assert result.failed == ()
    assert fake.groups[outer]["members"] == []
    removals = [
        m for seen in fake.requests if seen.method == "PATCH" for op in seen.body["Operations"]
        if op["op"] == "remove" for m in op["value"]
    ]  # fmt: skip
    assert removals == [{"value": inner, "$ref": f"{CANONICAL}/Groups/{inner}", "type": "Group"}]


def test_nested_group_removals_keep_the_limit_learned_on_users(tmp_path: Path) -> None:
    # The users' adds learn that the target takes at most 4 members a write; the nested
    # groups' removals, written after, are chunked to what was learned, not to the 10 set.
    fake = FakeScim(token=TOKEN)
    fake.max_members_per_write = 4
    keys = [f"u{n:02d}@example.com" for n in range(10)]
    for key in keys:
        fake.add_user(key)
    nested = [fake.add_group(f"N{n}") for n in range(6)]
    outer = fake.add_group("Outer", [])
    fake.groups[outer]["members"] = [{"value": g, "type": "Group"} for g in nested]
    specs = write_spec(
        tmp_path,
        [user(k) for k in keys],
        [
            {"displayName": "Outer", "members": keys},
            *({"displayName": f"N{n}", "members": []} for n in range(6)),
        ],
        membership_chunk=10,
        nested_groups="native",
        quirks={"member_removal": "value"},
        guards={"max_member_removals": 10, "max_member_removal_percent": 100},
    )
    _, result = plan_and_apply(specs, fake)
    assert result.failed == (), outcomes(result)
    assert sorted(m["value"] for m in fake.groups[outer]["members"]) == sorted(fake.users)
    assert not replan(specs, fake).plan.has_changes


def test_nested_group_adds_go_in_chunks(tmp_path: Path) -> None:
    # Twelve nested groups to add, three a write: four writes, never one the target refuses.
    fake = FakeScim(token=TOKEN)
    fake.max_members_per_write = 3
    names = [f"N{n:02d}" for n in range(12)]
    for name in names:
        fake.add_group(name)
    outer = fake.add_group("Outer", [])
    specs = write_spec(
        tmp_path,
        [],
        [
            {"displayName": "Outer", "members": [], "groups": names},
            *({"displayName": name, "members": []} for name in names),
        ],
        membership_chunk=3,
        nested_groups="native",
    )
    _, result = plan_and_apply(specs, fake)
    assert result.failed == (), outcomes(result)
    assert len(fake.groups[outer]["members"]) == 12
    assert [len(ms) for _, _, ms in member_writes(fake)] == [3, 3, 3, 3]


def test_group_creates_refused_at_once_are_all_sent_again_with_refs(tmp_path: Path) -> None:
    # Two group creates in flight together, both built without `$ref` and both refused:
    # the second refusal comes after the first taught the run to send `$ref`. It is the
    # same refusal, so that create is sent again with them too, not taken for a refusal
    # of its members and sent empty (which a target that requires members, as Canaille
    # does, refuses in turn).
    fake = wanting_refs()
    fake.group_needs_members = True
    fake.busy_seconds = 0.1  # each request takes this long: both POSTs are in flight at once
    ids = [fake.add_user(f"u{n}@example.com") for n in range(2)]
    specs = write_spec(
        tmp_path,
        [user("u0@example.com"), user("u1@example.com")],
        [
            {"displayName": "Eng", "members": ["u0@example.com", "u1@example.com"]},
            {"displayName": "Ops", "members": ["u1@example.com"]},
        ],
    )
    _, result = plan_and_apply(specs, fake)
    assert result.failed == ()
    posts = [s for s in fake.requests if s.method == "POST" and s.path == "/Groups"]
    resent = sorted((len(_members(s)), all("$ref" in m for m in _members(s))) for s in posts[2:])
    assert resent == [(1, True), (2, True)]
    assert len(posts) == 4  # each refused once, then created with its members
    held = {
        g["displayName"]: sorted(m["value"] for m in g["members"]) for g in fake.groups.values()
    }
    assert held == {"Eng": sorted(ids), "Ops": [ids[1]]}
    assert not replan(specs, fake).plan.has_changes


def test_members_a_target_names_by_username_are_not_added_twice(tmp_path: Path) -> None:
    # A create's answer shows its members by userName (Canaille): they are the members
    # sent, matched as planning matches them, so no PATCH adds them a second time.
    fake = FakeScim(token=TOKEN)
    fake.members_by_name = True
    fake.add_user("u0@example.com")
    specs = write_spec(
        tmp_path,
        [user("u0@example.com"), user("u1@example.com")],
        [{"displayName": "Eng", "members": ["u0@example.com", "u1@example.com"]}],
    )
    _, result = plan_and_apply(specs, fake)
    assert result.failed == ()
    assert fake.count("PATCH", "/Groups/*") == 0
    [eng] = fake.groups.values()
    assert [m["value"] for m in eng["members"]] == ["u0@example.com", "u1@example.com"]
    assert not replan(specs, fake).plan.has_changes


def test_a_username_equal_to_another_members_id_is_still_added(tmp_path: Path) -> None:
    # The create carries the first chunk (alice, id "u1"), and its answer shows "u1": that
    # is alice's id, not the userName of the user named "u1", who must still be added (as
    # planning reads it: a value that is a user's id names that user, never a userName).
    fake = FakeScim(token=TOKEN)
    alice = fake.add_user("alice@example.com")
    assert alice == "u1"
    specs = write_spec(
        tmp_path,
        [user("alice@example.com"), user("u1")],
        [{"displayName": "Eng", "members": ["alice@example.com", "u1"]}],
        membership_chunk=1,
    )
    _, result = plan_and_apply(specs, fake)
    assert result.failed == ()
    named_u1 = fake.user_named("u1")[0]["id"]
    [eng] = fake.groups.values()
    assert sorted(m["value"] for m in eng["members"]) == sorted([alice, named_u1])
    assert not replan(specs, fake).plan.has_changes
