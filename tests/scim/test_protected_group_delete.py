"""The last check before a group's DELETE (apply/protection.py), on its own: each plan here
is made without `protected` and applied with it, so only that check stands between the
plan and a group that holds a protected account. It reads the group as the target holds it
now and names each member every way it can (the plan's read, a read of the member, the
entry's own value and display); what it cannot read is not deleted, and what is already
gone, or names nothing, takes no one's access."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from reconciler.run import prepare
from reconciler.scim.apply.protection import MAX_MEMBER_READS
from reconciler.scim.apply.runner import Applier, ApplyResult
from tests.fakescim import FakeScim
from tests.scim.test_faults import write_spec

OPS_ABSENT = [{"displayName": "Ops", "state": "absent"}]
LOOKUP: dict[str, Any] = {"quirks": {"listing": "none"}}
ROOMY = {"guards": {"max_member_removals": 1000, "max_member_removal_percent": 100}}


def delete_ops(
    tmp_path: Path, fake: FakeScim, protect: str = "admin@*", before: Any = None, **settings: Any
) -> ApplyResult:
    """Plan `Ops: absent` with nothing protected, then apply it with `protect` protected;
    `before(fake)` runs between the two (the target changing after the plan)."""
    specs = write_spec(tmp_path, [], OPS_ABSENT, **ROOMY, **settings)
    prepared = prepare(specs, "fake", transport=fake.transport)
    [change] = prepared.plan.changes
    assert (change.key, change.action.value) == ("Ops", "delete")
    if before is not None:
        before(fake)
    target = dataclasses.replace(prepared.target, protected=(protect,))
    try:
        return Applier(prepared.client, target, prepared.caps, prepared.log).run(prepared.plan)
    finally:
        prepared.client.close()


def refused(result: ApplyResult) -> str:
    [failed] = result.failed
    assert failed.key == "Ops"
    return failed.message


def test_a_group_already_gone_when_read_is_no_failure(tmp_path: Path, token: str) -> None:
    fake = FakeScim(token=token)
    ops = fake.add_group("Ops", [fake.add_user("bob@example.com")])
    result = delete_ops(tmp_path, fake, before=lambda f: f.groups.pop(ops))
    assert result.failed == ()
    # Read for protected members (404: nothing to protect), then after the DELETE's 404,
    # as every delete is read back (deprovision._gone).
    assert fake.count("GET", f"/Groups/{ops}") == 2


def test_a_group_that_cannot_be_read_is_not_deleted(tmp_path: Path, token: str) -> None:
    fake = FakeScim(token=token)
    ops = fake.add_group("Ops", [fake.add_user("bob@example.com")])
    result = delete_ops(
        tmp_path, fake, before=lambda f: f.fail("GET", f"/Groups/{ops}", status=403)
    )
    assert result.failed
    assert ops in fake.groups
    assert fake.count("DELETE") == 0


def test_a_group_the_target_lists_without_a_members_attribute_is_deleted(
    tmp_path: Path, token: str
) -> None:
    # An empty group, as targets that omit empty attributes show it (RFC 7643 §2.5).
    fake = FakeScim(token=token)
    ops = fake.add_group("Ops")
    assert "members" not in fake.groups[ops]
    assert delete_ops(tmp_path, fake).failed == ()
    assert ops not in fake.groups


def test_exactly_as_many_unread_members_as_apply_reads_are_read_and_judged(
    tmp_path: Path, token: str
) -> None:
    # Lookup mode reads no undeclared account: each member is read once, and then judged.
    fake = FakeScim(token=token)
    members = [fake.add_user(f"u{i:03d}@example.com") for i in range(MAX_MEMBER_READS)]
    ops = fake.add_group("Ops", members)
    assert delete_ops(tmp_path, fake, **LOOKUP).failed == ()
    assert ops not in fake.groups
    assert fake.count("GET", "/Users/*") == MAX_MEMBER_READS


def test_exactly_as_many_unread_members_one_of_them_protected_is_not_deleted(
    tmp_path: Path, token: str
) -> None:
    fake = FakeScim(token=token)
    members = [fake.add_user(f"u{i:03d}@example.com") for i in range(MAX_MEMBER_READS - 1)]
    ops = fake.add_group("Ops", [*members, fake.add_user("admin@example.com")])
    message = refused(delete_ops(tmp_path, fake, **LOOKUP))
    assert message == "member admin@example.com is protected: the group is not deleted"
    assert ops in fake.groups


def test_a_member_that_names_nothing_takes_no_ones_access(tmp_path: Path, token: str) -> None:
    fake = FakeScim(token=token)
    ops = fake.add_group("Ops", ["no-such-user"])
    assert delete_ops(tmp_path, fake, **LOOKUP).failed == ()
    assert ops not in fake.groups
    assert fake.count("GET", "/Users/no-such-user") == 1


def test_a_member_that_cannot_be_read_keeps_the_group(tmp_path: Path, token: str) -> None:
    fake = FakeScim(token=token)
    bob = fake.add_user("bob@example.com")
    ops = fake.add_group("Ops", [bob])
    result = delete_ops(
        tmp_path, fake, before=lambda f: f.fail("GET", f"/Users/{bob}", status=403), **LOOKUP
    )
    assert result.failed
    assert ops in fake.groups
    assert fake.count("DELETE") == 0


def test_a_member_is_judged_by_its_value_when_it_names_no_account(
    tmp_path: Path, token: str
) -> None:
    # A target that keeps members by userName (and no account it can read by that value).
    fake = FakeScim(token=token)
    ops = fake.add_group("Ops")
    fake.groups[ops]["members"] = [{"value": "admin@example.com"}]
    message = refused(delete_ops(tmp_path, fake))
    assert message == "member admin@example.com is protected: the group is not deleted"
    assert ops in fake.groups


def test_a_member_is_judged_by_its_display_when_it_names_no_account(
    tmp_path: Path, token: str
) -> None:
    fake = FakeScim(token=token)
    ops = fake.add_group("Ops")
    fake.groups[ops]["members"] = [{"value": "gone-1", "display": "admin@example.com"}]
    message = refused(delete_ops(tmp_path, fake))
    assert message == "member admin@example.com is protected: the group is not deleted"
    assert ops in fake.groups


def test_a_nested_group_is_named_as_a_group(tmp_path: Path, token: str) -> None:
    # The plan's read knows the nested group by its name: read as a user's id, it is none.
    fake = FakeScim(token=token)
    admins = fake.add_group("Admins")
    ops = fake.add_group("Ops")
    fake.groups[ops]["members"] = [{"value": admins, "type": "Group"}]
    message = refused(delete_ops(tmp_path, fake, protect="Admins"))
    assert message == "member Admins is protected: the group is not deleted"
    assert ops in fake.groups
    assert fake.count("GET", "/Users/*") == 0


@pytest.mark.parametrize("answer", [["members"], {"members": "admin@example.com"}])
def test_an_answer_that_is_no_group_keeps_the_group(
    tmp_path: Path, token: str, answer: Any
) -> None:
    # Judged empty, a garbled answer would let a group holding admin@ be deleted.
    fake = FakeScim(token=token)
    ops = fake.add_group("Ops", [fake.add_user("admin@example.com")])
    garble = lambda f: f.fail("GET", f"/Groups/{ops}", status=200, body=answer)  # noqa: E731
    message = refused(delete_ops(tmp_path, fake, before=garble))
    assert message == "the target's answer for a group is not a group: the group is not deleted"
    assert ops in fake.groups


def test_a_group_whose_members_are_null_is_deleted(tmp_path: Path, token: str) -> None:
    fake = FakeScim(token=token)
    ops = fake.add_group("Ops")
    fake.groups[ops]["members"] = None
    assert delete_ops(tmp_path, fake).failed == ()
    assert ops not in fake.groups


def test_a_member_whose_answer_is_no_account_keeps_the_group(tmp_path: Path, token: str) -> None:
    fake = FakeScim(token=token)
    admin = fake.add_user("admin@example.com")
    ops = fake.add_group("Ops", [admin])
    garble = lambda f: f.fail("GET", f"/Users/{admin}", status=200, body=["admin"])  # noqa: E731
    message = refused(delete_ops(tmp_path, fake, before=garble, **LOOKUP))
    assert message == (
        f"the target's answer for member {admin} is not a user: the group is not deleted"
    )
    assert ops in fake.groups
