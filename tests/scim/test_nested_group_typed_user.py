"""A nested group whose member entry says `type: User` (targets that stamp every member
so) is counted by the guards as the group it is, never as one member.

The entry's value names no user (GET /Users/<value> answers 404) but a group the target
lists: it is that group (core/members.py `names_group`), as an untyped entry is, and
removing it takes that group's members with it. Counted as one removal, a group of twenty
people left the parent group past guards.max_member_removals and the share guard.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.core.guards import member_removals
from tests.fakescim import FakeScim
from tests.scim.conftest import TOKEN
from tests.scim.test_faults import replan, user, write_spec

pytestmark = pytest.mark.usefixtures("token")

PEOPLE = [f"p{n:02}@example.com" for n in range(20)]
ALICE = "alice@example.com"


def target(entry_type: str) -> tuple[FakeScim, str]:
    fake = FakeScim(token=TOKEN)
    alice = fake.add_user(ALICE, active=True)
    ops = fake.add_group("Ops", [fake.add_user(p, active=True) for p in PEOPLE])
    eng = fake.add_group("Eng")
    fake.groups[eng]["members"] = [
        {"value": ops, "type": entry_type},
        {"value": alice, "type": "User"},
    ]
    return fake, ops


@pytest.mark.parametrize("entry_type", ["User", "user", "Person"])
def test_a_nested_group_typed_user_counts_with_its_members(tmp_path: Path, entry_type: str) -> None:
    fake, ops = target(entry_type)
    groups = [
        {"displayName": "Eng", "members": [ALICE], "groups": []},
        {"displayName": "Ops", "members": PEOPLE},
    ]
    users = [user(ALICE), *(user(p) for p in PEOPLE)]
    specs = write_spec(tmp_path, users, groups, nested_groups="native")
    prepared = replan(specs, fake)
    plan = prepared.plan
    removes = [m for c in plan.changes for m in c.members_remove]
    # The nested group the spec no longer names, taken out as the group it is.
    assert [(m.id, m.type) for m in removes] == [(ops, "Group")]
    assert member_removals(plan.changes, prepared.observed) == len(PEOPLE) + 1
    assert any("max_member_removals" in g for g in plan.guards), plan.guards
    assert any("would lose 21 of its 22 members" in g for g in plan.guards), plan.guards


@pytest.mark.parametrize("entry_type", ["User", "Person"])
def test_a_nested_group_typed_user_is_no_member_a_flattening_plan_removes(
    tmp_path: Path, entry_type: str
) -> None:
    # As an untyped entry naming it is: flattened, nesting is the target's own affair.
    fake, _ = target(entry_type)
    groups = [
        {"displayName": "Eng", "members": [ALICE]},
        {"displayName": "Ops", "members": PEOPLE},
    ]
    specs = write_spec(tmp_path, [user(ALICE), *(user(p) for p in PEOPLE)], groups)
    plan = replan(specs, fake).plan
    assert [m for c in plan.changes for m in c.members_remove] == []


def test_a_user_and_a_group_that_share_an_id_count_as_the_user(tmp_path: Path) -> None:
    # Targets that number users and groups apart (user "2", group "2"): a user entry with a
    # listed user's id is that user, one removal, whatever group has the same id.
    fake = FakeScim(token=TOKEN)
    fake.ids_per_kind = True
    alice, bob = fake.add_user(ALICE, active=True), fake.add_user("bob@example.com")
    fake.add_group("One", [])
    big = fake.add_group("Two", [fake.add_user(p, active=True) for p in PEOPLE])
    assert big == bob == "2"
    eng = fake.add_group("Eng", [alice, bob])
    fake.groups[eng]["members"] = [{"value": alice, "type": "User"}, {"value": bob, "type": "User"}]
    groups = [{"displayName": "Eng", "members": [ALICE]}]
    users = [user(ALICE), user("bob@example.com"), *(user(p) for p in PEOPLE)]
    prepared = replan(write_spec(tmp_path, users, groups), fake)
    assert [m.id for c in prepared.plan.changes for m in c.members_remove] == [bob]
    assert member_removals(prepared.plan.changes, prepared.observed) == 1
    assert prepared.plan.guards == ()
