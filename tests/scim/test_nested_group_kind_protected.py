"""A nested group holding a `protected` account, whatever its member entry says it is:
typed `User` (targets that stamp it on every member) or untyped (RFC 7643 makes `type`
optional), listed by /Groups or left out of it and read by id. Planning, apply's last line
and the guards tell a group apart by one rule (core/members.py `names_group`), and an entry
/Users answers 404 for is read at /Groups before it is taken for one naming no one: so the
nested group is neither taken out of its parent nor deleted with it, on every route."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from reconciler.core.guards import member_removals
from reconciler.core.spare import spare_protected
from reconciler.run import Prepared, prepare
from reconciler.scim.apply.runner import Applier, ApplyResult
from tests.fakescim import FakeScim
from tests.scim.conftest import TOKEN
from tests.scim.test_faults import replan, user, write_spec

pytestmark = pytest.mark.usefixtures("token")

ADMIN = "admin@example.com"
OTHERS = [f"u{n}@example.com" for n in range(8)]
USERS = [user(ADMIN), user("x@example.com"), *(user(u) for u in OTHERS)]
PROTECT = {"protected": ["admin@*"]}


def parent_holding_sub(entry_type: str | None, hide_sub: bool = False) -> tuple[FakeScim, str, str]:
    """Parent holds eight users and Sub, by an entry of `entry_type`; Sub holds the
    protected admin and one other user."""
    fake = FakeScim(token=TOKEN)
    admin, x = fake.add_user(ADMIN, active=True), fake.add_user("x@example.com", active=True)
    sub = fake.add_group("Sub", [admin, x])
    parent = fake.add_group("Parent", [fake.add_user(u, active=True) for u in OTHERS])
    entry = {"value": sub} if entry_type is None else {"value": sub, "type": entry_type}
    fake.groups[parent]["members"].append(entry)
    if hide_sub:
        fake.hidden.add(sub)  # the /Groups listing leaves it out; GET /Groups/<id> shows it
    return fake, parent, sub


def holds(fake: FakeScim, parent: str, sub: str) -> bool:
    return any(m.get("value") == sub for m in fake.groups[parent]["members"])


def applied(prepared: Prepared, protect: bool = True) -> ApplyResult:
    target = prepared.target
    if protect:
        target = dataclasses.replace(target, protected=("admin@*",))
    try:
        return Applier(prepared.client, target, prepared.caps, prepared.log).run(prepared.plan)
    finally:
        prepared.client.close()


SUB_SPEC: dict[str, Any] = {"displayName": "Sub", "members": [ADMIN, "x@example.com"]}
PARENT_SPEC: dict[str, Any] = {"displayName": "Parent", "members": OTHERS}


# -- a nested group typed User, listed (core/members.py, core/spare.py) ------------------------


@pytest.mark.parametrize("nesting", ["native", "flatten"])
def test_a_nested_group_typed_user_holding_a_protected_account_stays_in_its_parent(
    tmp_path: Path, nesting: str
) -> None:
    fake, parent, sub = parent_holding_sub("User")
    groups = [SUB_SPEC, {**PARENT_SPEC, **({"groups": []} if nesting == "native" else {})}]
    specs = write_spec(tmp_path, USERS, groups, nested_groups=nesting, **PROTECT)
    prepared = prepare(specs, "fake", transport=fake.transport)
    assert [m for c in prepared.plan.changes for m in c.members_remove] == []
    if nesting == "native":
        assert "group Parent: member admin@example.com is protected: not removed" in (
            prepared.plan.notes
        ), prepared.plan.notes
    assert applied(prepared).failed == ()
    assert holds(fake, parent, sub)


@pytest.mark.parametrize("entry_type", ["User", None])
def test_a_group_holding_a_protected_account_through_such_an_entry_is_not_deleted(
    tmp_path: Path, entry_type: str | None
) -> None:
    fake, parent, _ = parent_holding_sub(entry_type)
    groups = [SUB_SPEC, {"displayName": "Parent", "state": "absent"}]
    specs = write_spec(tmp_path, USERS, groups, **PROTECT)
    prepared = prepare(specs, "fake", transport=fake.transport)
    assert "group Parent: member admin@example.com is protected: the group is not deleted" in (
        prepared.plan.notes
    )
    assert prepared.plan.changes == ()
    assert applied(prepared).failed == ()
    assert parent in fake.groups


def test_apply_does_not_delete_a_group_holding_one_through_an_entry_typed_user(
    tmp_path: Path,
) -> None:
    # Planned with nothing protected, applied with admin@* protected: apply's last line.
    fake, parent, sub = parent_holding_sub("User")
    groups = [SUB_SPEC, {"displayName": "Parent", "state": "absent"}]
    guards = {"max_member_removals": 1000, "max_member_removal_percent": 100}
    prepared = prepare(write_spec(tmp_path, USERS, groups, guards=guards), "fake",
                       transport=fake.transport)  # fmt: skip
    [failed] = applied(prepared).failed
    assert failed.message == "member admin@example.com is protected: the group is not deleted"
    assert parent in fake.groups
    assert fake.count("GET", f"/Groups/{sub}") == 1


def test_apply_does_not_take_out_a_nested_group_a_removal_says_is_a_user(
    tmp_path: Path,
) -> None:
    # A removal that names the nested group as a user (`type: User`), as an older plan
    # did: apply reads it as the group its id names, and refuses.
    fake, parent, sub = parent_holding_sub("Group")
    groups = [SUB_SPEC, {**PARENT_SPEC, "groups": []}]
    guards = {"max_member_removals": 1000, "max_member_removal_percent": 100}
    specs = write_spec(tmp_path, USERS, groups, nested_groups="native", guards=guards)
    prepared = prepare(specs, "fake", transport=fake.transport)
    [change] = prepared.plan.changes
    [member] = change.members_remove
    assert (member.id, member.type) == (sub, "Group")
    as_user = dataclasses.replace(member, type="User")
    plan = dataclasses.replace(
        prepared.plan, changes=(dataclasses.replace(change, members_remove=(as_user,)),)
    )
    [failed] = applied(dataclasses.replace(prepared, plan=plan)).failed
    assert failed.message == "member admin@example.com is protected: not removed, nothing written"
    assert holds(fake, parent, sub)


def test_planning_spares_a_removal_that_says_user_and_names_a_listed_group(
    tmp_path: Path,
) -> None:
    # core/spare.py on its own: whatever produced the removal, its id names the group.
    fake, _, _ = parent_holding_sub("Group")
    groups = [SUB_SPEC, {**PARENT_SPEC, "groups": []}]
    specs = write_spec(tmp_path, USERS, groups, nested_groups="native")
    prepared = replan(specs, fake)
    [change] = prepared.plan.changes
    as_user = dataclasses.replace(change.members_remove[0], type="User")
    change = dataclasses.replace(change, members_remove=(as_user,))
    target = dataclasses.replace(prepared.target, protected=("admin@*",))
    kept, notes = spare_protected(target, [change], prepared.observed)
    assert kept == []
    assert notes == ["group Parent: member admin@example.com is protected: not removed"]


# -- a nested group the /Groups listing left out (scim/unlisted_members.py) --------------------


def test_an_untyped_entry_of_an_unlisted_group_is_read_as_the_group_before_a_delete(
    tmp_path: Path,
) -> None:
    fake, parent, sub = parent_holding_sub(None, hide_sub=True)
    groups = [{"displayName": "Parent", "state": "absent"}]
    specs = write_spec(tmp_path, USERS, groups, **PROTECT)
    prepared = prepare(specs, "fake", transport=fake.transport)
    assert "group Parent: member admin@example.com is protected: the group is not deleted" in (
        prepared.plan.notes
    )
    assert prepared.plan.changes == ()
    assert [g.id for g in prepared.observed.unlisted_groups] == [sub]
    assert sub not in prepared.observed.dangling
    assert applied(prepared).failed == ()
    assert parent in fake.groups


def test_apply_reads_an_untyped_entry_at_groups_once_users_answers_404(tmp_path: Path) -> None:
    # Planned with nothing protected, applied with admin@* protected: apply's last line.
    fake, parent, sub = parent_holding_sub(None, hide_sub=True)
    groups = [{"displayName": "Parent", "state": "absent"}]
    guards = {"max_member_removals": 1000, "max_member_removal_percent": 100}
    prepared = prepare(write_spec(tmp_path, USERS, groups, guards=guards), "fake",
                       transport=fake.transport)  # fmt: skip
    n = len(fake.requests)
    [failed] = applied(prepared).failed
    assert failed.message == "member admin@example.com is protected: the group is not deleted"
    assert parent in fake.groups
    gets = [s.path for s in fake.requests[n:] if s.method == "GET" and sub in s.path]
    assert gets == [f"/Users/{sub}", f"/Groups/{sub}"]  # read for its members at once


def test_an_entry_taken_for_no_one_is_read_at_groups_before_it_is_removed(
    tmp_path: Path,
) -> None:
    # Parent stays: its entry of Sub, which /Users answers 404 for, is no dangling user.
    fake, parent, sub = parent_holding_sub(None, hide_sub=True)
    specs = write_spec(tmp_path, USERS, [PARENT_SPEC], **PROTECT)
    prepared = prepare(specs, "fake", transport=fake.transport)
    assert [m for c in prepared.plan.changes for m in c.members_remove] == []
    assert applied(prepared).failed == ()
    assert holds(fake, parent, sub)


def test_apply_reads_a_removal_taken_for_no_one_at_groups(tmp_path: Path) -> None:
    # Sub is no group when the plan reads the target (its entry names no one), and is
    # one, holding the admin, when apply runs: apply reads /Groups before the removal.
    fake, parent, sub = parent_holding_sub(None)
    kept = fake.groups.pop(sub)
    specs = write_spec(tmp_path, USERS, [PARENT_SPEC])
    prepared = prepare(specs, "fake", transport=fake.transport)
    [change] = prepared.plan.changes
    assert [(m.key, m.id) for m in change.members_remove] == [(None, sub)]
    fake.groups[sub] = kept
    [failed] = applied(prepared).failed
    assert failed.message == "member admin@example.com is protected: not removed, nothing written"
    assert holds(fake, parent, sub)


def test_the_guards_count_an_unlisted_nested_group_with_its_members(tmp_path: Path) -> None:
    fake, _, _ = parent_holding_sub(None, hide_sub=True)
    specs = write_spec(tmp_path, USERS, [{"displayName": "Parent", "state": "absent"}])
    prepared = replan(specs, fake)
    # Parent's eight users, Sub, and Sub's two.
    assert member_removals(prepared.plan.changes, prepared.observed) == 11
