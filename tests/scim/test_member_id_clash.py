"""A member removal takes only the member planned, where a user and a nested group share an id.

Targets that count each kind from 1 can hold user "1" and nested group "1" in one group.
Neither removal form tells them apart (`members[value eq "1"]` matches both; the fake, like
many targets, reads a value list by value alone), so the other member is added back in the
same PATCH, which applies its operations in order and as a whole (RFC 7644 §3.5.2).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import stamina
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.core.changes import Action, Change, Member
from reconciler.core.model import PATCH_OP, Kind
from reconciler.scim import member_ops
from reconciler.scim.change_requests import change_requests
from tests.fakescim import FakeScim, scim_error
from tests.scim.conftest import TOKEN, TOKEN_ENV
from tests.scim.test_bulk import apply
from tests.scim.test_change_requests import dialect
from tests.scim.test_faults import outcomes, plan_and_apply, replan, user, write_spec

ALICE, BOB = "alice@example.com", "bob@example.com"


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)


@pytest.fixture(autouse=True)
def _fast() -> Iterator[None]:
    stamina.set_testing(True)
    yield
    stamina.set_testing(False)


def _target() -> tuple[FakeScim, str, str, str, str]:
    """alice is user "1" and Inner group "1"; Outer holds both, and bob ("2")."""
    fake = FakeScim(token=TOKEN)
    fake.ids_per_kind = True
    alice, bob = fake.add_user(ALICE), fake.add_user(BOB)
    inner = fake.add_group("Inner")
    outer = fake.add_group("Outer", [alice, bob])
    fake.groups[outer]["members"].append({"value": inner, "type": "Group"})
    assert alice == inner == "1"
    return fake, alice, bob, inner, outer


def _held(fake: FakeScim, group: str) -> list[tuple[str, str]]:
    return sorted((m.get("type", "User"), m["value"]) for m in fake.groups[group]["members"])


def _apply(tmp_path: Path, fake: FakeScim, outer: dict[str, Any], **quirks: str) -> None:
    groups = [outer, {"displayName": "Inner", "members": []}]
    specs = write_spec(
        tmp_path,
        [user(ALICE), user(BOB)],
        groups,
        nested_groups="native",
        **({"quirks": quirks} if quirks else {}),
    )
    _, result = plan_and_apply(specs, fake)
    assert result.failed == (), outcomes(result)
    assert not replan(specs, fake).plan.has_changes


@pytest.mark.parametrize("removal", ["filter", "value"])
def test_removing_a_user_keeps_the_nested_group_with_its_id(tmp_path: Path, removal: str) -> None:
    fake, _, bob, inner, outer = _target()
    spec = {"displayName": "Outer", "members": [BOB], "groups": ["Inner"]}
    _apply(tmp_path, fake, spec, member_removal=removal)
    assert _held(fake, outer) == [("Group", inner), ("User", bob)]


@pytest.mark.parametrize("removal", ["filter", "value"])
def test_removing_a_nested_group_keeps_the_user_with_its_id(tmp_path: Path, removal: str) -> None:
    fake, alice, bob, _, outer = _target()
    spec = {"displayName": "Outer", "members": [ALICE, BOB]}
    _apply(tmp_path, fake, spec, member_removal=removal)
    assert _held(fake, outer) == [("User", alice), ("User", bob)]


@pytest.mark.parametrize("removal", ["filter", "value"])
def test_what_goes_back_carries_ref_where_the_target_wants_one(
    tmp_path: Path, removal: str
) -> None:
    # A target that refuses a member without `$ref` would refuse the whole PATCH, the
    # removal with it, if the member added back went without one.
    fake, _, bob, inner, outer = _target()
    fake.require_member_ref = True
    spec = {"displayName": "Outer", "members": [BOB], "groups": ["Inner"]}
    _apply(tmp_path, fake, spec, member_removal=removal, member_ref="always")
    assert _held(fake, outer) == [("Group", inner), ("User", bob)]
    back = [
        value
        for seen in fake.requests
        if seen.method == "PATCH" and seen.path.endswith(f"/Groups/{outer}")
        for op in seen.body["Operations"]
        if op["op"] == "add"
        for value in op["value"]
    ]
    assert back and all(v["$ref"].endswith(f"/Groups/{inner}") for v in back)


def test_a_user_added_in_the_run_survives_a_nested_removal_of_its_id(tmp_path: Path) -> None:
    # alice joins Outer in this run, before nested group "1" is removed from it.
    fake, alice, bob, inner, outer = _target()
    fake.groups[outer]["members"] = [{"value": bob}, {"value": inner, "type": "Group"}]
    spec = {"displayName": "Outer", "members": [ALICE, BOB]}
    _apply(tmp_path, fake, spec)
    assert _held(fake, outer) == [("User", alice), ("User", bob)]


def test_without_a_shared_id_the_removal_is_as_before(tmp_path: Path) -> None:
    fake, _, bob, inner, outer = _target()
    spec = {"displayName": "Outer", "members": [ALICE], "groups": ["Inner"]}
    _apply(tmp_path, fake, spec)
    ops = [
        seen.body["Operations"]
        for seen in fake.requests
        if seen.method == "PATCH" and seen.path.endswith(f"/Groups/{outer}")
    ]
    assert ops == [[{"op": "remove", "path": f'members[value eq "{bob}"]'}]]
    assert ("Group", inner) in _held(fake, outer)


def test_explain_shows_the_member_added_back() -> None:
    change = Change(
        Kind.GROUP,
        "Outer",
        Action.UPDATE,
        "members differ",
        "2",
        members_remove=(Member(ALICE, "1"), Member("Inner", "1", "Group")),
    )
    current = {"id": "2", "members": [{"value": "1"}, {"value": "1", "type": "Group"}]}
    remove_user = {"op": "remove", "path": 'members[value eq "1"]'}
    back_group = {"op": "add", "path": "members", "value": [{"value": "1", "type": "Group"}]}
    shown = change_requests(change, dialect(member_removal="filter"), 100, current)
    assert [r.body for r in shown] == [
        {"schemas": [PATCH_OP], "Operations": [remove_user, back_group]},
        {"schemas": [PATCH_OP], "Operations": [remove_user]},
    ]


def test_the_audit_trail_records_the_removal_alone(tmp_path: Path) -> None:
    # What is added back was a member before the write and is one after: not a change.
    fake, alice, _, _, outer = _target()
    groups = [
        {"displayName": "Outer", "members": [BOB], "groups": ["Inner"]},
        {"displayName": "Inner", "members": []},
    ]
    specs = write_spec(tmp_path, [user(ALICE), user(BOB)], groups, nested_groups="native")
    lines: list[str] = []
    result = apply(specs, fake, audit=lines)
    assert result.failed == ()
    records = [json.loads(line) for line in lines]
    (record,) = [r for r in records if r.get("key") == "Outer"]
    assert record["members_removed"] == [{"id": alice, "key": ALICE}]
    assert not record.get("members_added")
    assert ("Group", alice) in _held(fake, outer)


@pytest.mark.parametrize("removal", ["filter", "value"])
def test_removing_both_members_with_one_id_adds_neither_back(tmp_path: Path, removal: str) -> None:
    # User "1" and nested group "1" both go: the nested removal must not add the user back.
    fake, _, bob, _, outer = _target()
    spec = {"displayName": "Outer", "members": [BOB]}
    _apply(tmp_path, fake, spec, member_removal=removal)
    assert _held(fake, outer) == [("User", bob)]


@pytest.mark.parametrize("listed", ["untyped", "typed and untyped"])
def test_an_untyped_nested_group_removed_is_not_added_back(tmp_path: Path, listed: str) -> None:
    # A target that lists a nested group without `type` (alone, or beside a typed entry of
    # it): its id is no user's, so the plan reads it as the group, and the removal must
    # not add it back as a "user" of that id.
    fake = FakeScim(token=TOKEN)
    alice, bob = fake.add_user(ALICE), fake.add_user(BOB)
    inner = fake.add_group("Inner")
    outer = fake.add_group("Outer", [alice, bob])
    typed = [{"value": inner, "type": "Group"}] if listed == "typed and untyped" else []
    fake.groups[outer]["members"] += [*typed, {"value": inner}]
    _apply(tmp_path, fake, {"displayName": "Outer", "members": [ALICE, BOB]})
    assert _held(fake, outer) == [("User", alice), ("User", bob)]


def test_a_user_created_with_a_removed_nested_groups_id_stays(tmp_path: Path) -> None:
    # carol is created in the run as user "3", joins Outer, then nested group "3" leaves it.
    fake = FakeScim(token=TOKEN)
    fake.ids_per_kind = True
    fake.add_user(ALICE), fake.add_user(BOB)
    fake.add_group("Inner")
    outer, third = fake.add_group("Outer"), fake.add_group("Third")
    assert third == "3"
    fake.groups[outer]["members"] = [{"value": third, "type": "Group"}]
    groups = [
        {"displayName": "Outer", "members": ["carol@example.com"]},
        {"displayName": "Inner", "members": []},
        {"displayName": "Third", "members": []},
    ]
    users = [user(ALICE), user(BOB), user("carol@example.com")]
    specs = write_spec(tmp_path, users, groups, nested_groups="native")
    _, result = plan_and_apply(specs, fake)
    assert result.failed == (), outcomes(result)
    assert not replan(specs, fake).plan.has_changes
    assert _held(fake, outer) == [("User", "3")]


def test_a_full_removal_chunk_with_a_member_added_back_stays_within_the_limit(
    tmp_path: Path,
) -> None:
    # A target that takes 4 members a write (membership_chunk 4): 4 users removed, one of
    # them "1" beside nested group "1", must not become one write naming 5 members.
    fake = FakeScim(token=TOKEN)
    fake.ids_per_kind = True
    fake.max_members_per_write = 4
    names = [f"u{i}@example.com" for i in range(1, 6)]
    ids = [fake.add_user(name) for name in names]
    inner = fake.add_group("Inner")
    outer = fake.add_group("Outer", ids)
    fake.groups[outer]["members"].append({"value": inner, "type": "Group"})
    groups = [
        {"displayName": "Outer", "members": names[4:], "groups": ["Inner"]},
        {"displayName": "Inner", "members": []},
    ]
    specs = write_spec(
        tmp_path,
        [user(name) for name in names],
        groups,
        nested_groups="native",
        membership_chunk=4,
        quirks={"member_removal": "value"},
        guards={"max_member_removals": 10, "max_member_removal_percent": 100},
    )
    _, result = plan_and_apply(specs, fake)
    assert result.failed == (), outcomes(result)
    assert _held(fake, outer) == [("Group", inner), ("User", ids[4])]


def test_a_user_removed_by_put_is_not_added_back_by_the_nested_removal(tmp_path: Path) -> None:
    # quirks: {patch: never}: user members go in a PUT, nested groups still by PATCH.
    fake, _, bob, _, outer = _target()
    _apply(tmp_path, fake, {"displayName": "Outer", "members": [BOB]}, patch="never")
    assert _held(fake, outer) == [("User", bob)]


def test_explain_adds_back_no_user_that_no_user_id_names() -> None:
    change = Change(
        Kind.GROUP,
        "Outer",
        Action.UPDATE,
        "members differ",
        "2",
        members_remove=(Member("Inner", "g1", "Group"),),
    )
    current = {"id": "2", "members": [{"value": "g1", "type": "Group"}, {"value": "g1"}]}
    (shown,) = change_requests(change, dialect(member_removal="filter"), 100, current, set())
    assert shown.body == {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "remove", "path": 'members[value eq "g1"]'}],
    }


def test_explain_adds_back_a_user_the_same_change_adds() -> None:
    # alice ("1") joins Outer, then nested group "1" leaves it: the removal puts her back.
    change = Change(
        Kind.GROUP,
        "Outer",
        Action.UPDATE,
        "members differ",
        "2",
        members_add=(Member(ALICE, "1"),),
        members_remove=(Member("Inner", "1", "Group"),),
    )
    current = {"id": "2", "members": [{"value": "1", "type": "Group"}]}
    add_user = {"op": "add", "path": "members", "value": [{"value": "1"}]}
    remove = {"op": "remove", "path": 'members[value eq "1"]'}
    shown = change_requests(change, dialect(member_removal="filter"), 100, current, {"1"})
    assert [r.body for r in shown] == [
        {"schemas": [PATCH_OP], "Operations": [add_user]},
        {"schemas": [PATCH_OP], "Operations": [remove, add_user]},
    ]


def test_the_audit_trail_names_each_member_removed_under_a_shared_id(tmp_path: Path) -> None:
    # User "1" and nested group "1" both go, each by members[value eq "1"]: each record
    # names its own member, not the other one of that id.
    fake, alice, _, inner, _ = _target()
    groups = [{"displayName": "Outer", "members": [BOB]}, {"displayName": "Inner", "members": []}]
    specs = write_spec(tmp_path, [user(ALICE), user(BOB)], groups, nested_groups="native")
    lines: list[str] = []
    assert apply(specs, fake, audit=lines).failed == ()
    records = [json.loads(line) for line in lines]
    removed = [r["members_removed"] for r in records if r.get("key") == "Outer"]
    assert removed == [[{"id": alice, "key": ALICE}], [{"id": inner, "key": "Inner"}]]


def test_removing_a_dangling_user_entry_keeps_the_nested_group_with_its_id(
    tmp_path: Path,
) -> None:
    # User "3" was deleted; the group still lists it (typed User) beside nested group "3".
    fake = FakeScim(token=TOKEN)
    fake.ids_per_kind = True
    alice, _, gone = fake.add_user(ALICE), fake.add_user(BOB), fake.add_user("c@example.com")
    fake.add_group("Inner")
    outer = fake.add_group("Outer")
    third = fake.add_group("Third")
    assert gone == third == "3"
    del fake.users[gone]
    fake.groups[outer]["members"] = [
        {"value": alice},
        {"value": gone, "type": "User"},
        {"value": third, "type": "Group"},
    ]
    groups = [
        {"displayName": "Outer", "members": [ALICE], "groups": ["Third"]},
        {"displayName": "Inner", "members": []},
        {"displayName": "Third", "members": []},
    ]
    specs = write_spec(tmp_path, [user(ALICE), user(BOB)], groups, nested_groups="native")
    prepared, result = plan_and_apply(specs, fake)
    removed = [m.id for c in prepared.plan.changes for m in c.members_remove]
    assert removed == [gone], prepared.plan.changes
    assert result.failed == (), outcomes(result)
    assert _held(fake, outer) == [("Group", third), ("User", alice)]


@pytest.mark.parametrize("kind", ["user", "group"])
def test_a_refused_filter_path_falls_back_to_a_value_list_that_keeps_the_other(
    tmp_path: Path, kind: str
) -> None:
    fake, alice, bob, inner, outer = _target()
    fake.reject_member_filter_path = True
    spec: dict[str, Any] = {"displayName": "Outer", "members": [BOB], "groups": ["Inner"]}
    if kind == "group":
        spec = {"displayName": "Outer", "members": [ALICE, BOB]}
    _apply(tmp_path, fake, spec)
    kept = ("Group", inner) if kind == "user" else ("User", alice)
    assert _held(fake, outer) == sorted([kept, ("User", bob)])


def test_a_user_whose_add_failed_is_not_added_back_by_the_nested_removal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # alice's add to Outer is refused; the nested removal of group "1" that follows must
    # not add her after all, in a write whose record shows only the removal.
    fake, _, bob, inner, outer = _target()
    fake.groups[outer]["members"] = [{"value": bob}, {"value": inner, "type": "Group"}]
    handle = fake._handle

    def refuse_user_adds(seen: Any) -> Any:
        ops = seen.body.get("Operations") if seen.method == "PATCH" else None
        if ops and ops[0]["op"] == "add" and "type" not in ops[0]["value"][0]:
            return scim_error(400, "member refused", "invalidValue")
        return handle(seen)

    monkeypatch.setattr(fake, "_handle", refuse_user_adds)
    groups = [
        {"displayName": "Outer", "members": [ALICE, BOB]},
        {"displayName": "Inner", "members": []},
    ]
    specs = write_spec(tmp_path, [user(ALICE), user(BOB)], groups, nested_groups="native")
    plan_and_apply(specs, fake)
    assert _held(fake, outer) == [("User", bob)]


def test_removal_chunks_fill_to_the_limit_and_count_what_goes_back() -> None:
    ids = ["1", "2", "3", "4"]
    assert member_ops.removal_chunks(ids, set(), 4) == [ids]
    assert member_ops.removal_chunks(ids, set(), 2) == [["1", "2"], ["3", "4"]]
    # "2" is held as a user and as a group: its removal names two members.
    clash = {("2", False), ("2", True), ("3", False)}
    assert member_ops.removal_chunks(ids, clash, 4) == [["1", "2", "3"], ["4"]]
    assert member_ops.removal_chunks(ids, clash, 5) == [ids]


# Users "1"-"4" are on the target; "5" and "6" are created by the run, and get the ids of
# nested groups G5 and Outer. Groups G1-G5 are "1"-"5", Outer "6".
NAMES = [f"u{i}@example.com" for i in range(1, 7)]
NESTED = [f"G{i}" for i in range(1, 6)]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    held_users=st.sets(st.integers(0, 3)),
    untyped=st.booleans(),
    held_groups=st.sets(st.integers(0, 4)),
    want_users=st.sets(st.integers(0, 5)),
    want_groups=st.sets(st.integers(0, 4)),
    removal=st.sampled_from(["filter", "value"]),
    put=st.booleans(),
)
def test_a_group_ends_holding_exactly_what_the_spec_says(
    tmp_path_factory: pytest.TempPathFactory,
    held_users: set[int],
    untyped: bool,
    held_groups: set[int],
    want_users: set[int],
    want_groups: set[int],
    removal: str,
    put: bool,
) -> None:
    # Whatever Outer holds and the spec wants, apply ends with exactly what is wanted,
    # removing no member it did not plan to, in one run.
    fake = FakeScim(token=TOKEN)
    fake.ids_per_kind = True
    users = [fake.add_user(name) for name in NAMES[:4]]
    nested = [fake.add_group(name) for name in NESTED]
    outer = fake.add_group("Outer", [])
    fake.groups[outer]["members"] = [
        {"value": users[i]} if untyped else {"value": users[i], "type": "User"}
        for i in sorted(held_users)
    ] + [{"value": nested[j], "type": "Group"} for j in sorted(held_groups)]
    groups: list[dict[str, Any]] = [
        {
            "displayName": "Outer",
            "members": [NAMES[i] for i in sorted(want_users)],
            "groups": [NESTED[j] for j in sorted(want_groups)],
        },
        *({"displayName": name, "members": []} for name in NESTED),
    ]
    quirks: dict[str, str] = {"member_removal": removal}
    if put:
        quirks["patch"] = "never"
    specs = write_spec(
        tmp_path_factory.mktemp("spec"),
        [user(name) for name in NAMES],
        groups,
        nested_groups="native",
        quirks=quirks,
        guards={"max_member_removals": 10, "max_member_removal_percent": 100},
    )
    _, result = plan_and_apply(specs, fake)
    assert result.failed == (), outcomes(result)
    ids = {body["userName"]: uid for uid, body in fake.users.items()}
    expected = {("User", ids[NAMES[i]]) for i in want_users}
    expected |= {("Group", nested[j]) for j in want_groups}
    assert set(_held(fake, outer)) == expected
    assert not replan(specs, fake).plan.has_changes


@pytest.mark.parametrize("removal", ["filter", "value"])
def test_a_user_the_listing_hides_is_not_removed_with_a_nested_group_of_its_id(
    tmp_path: Path, removal: str
) -> None:
    # The listing hides user alice ("1"); Outer lists her untyped beside nested group "1".
    # Her entry must not pass for the group's: removing the group must leave her.
    fake, alice, bob, inner, outer = _target()
    fake.groups[outer]["members"] = [
        {"value": alice},
        {"value": bob},
        {"value": inner, "type": "Group"},
    ]
    fake.hidden.add(alice)
    fake.hidden_kinds = {"User"}  # group "1" stays listed
    groups = [{"displayName": "Outer", "members": [BOB]}, {"displayName": "Inner", "members": []}]
    specs = write_spec(
        tmp_path,
        [user(BOB)],
        groups,
        nested_groups="native",
        quirks={"member_removal": removal},
        guards={"max_member_removals": 10, "max_member_removal_percent": 100},
    )
    plan_and_apply(specs, fake)
    assert ("User", alice) in _held(fake, outer)
