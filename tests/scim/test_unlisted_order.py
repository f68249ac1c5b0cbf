"""Once a lookup finds a group the listing hid, no member removal of the run is trusted: not
even one of a group whose name sorts first, nor one running beside the create that found it.

write_group withholds removals when `Session.unlisted` is set, but groups were written in
plan order, in parallel: a group sorting before the create that adopted the hidden group
had already removed its members.
"""

from __future__ import annotations

from pathlib import Path

from tests.fakescim import FakeScim
from tests.scim.test_faults import plan_and_apply, user, user_id, write_spec


def test_removals_wait_for_the_creates_that_may_find_hidden_groups(
    token: str, tmp_path: Path
) -> None:
    fake = FakeScim()
    alice = fake.add_user("alice@example.com", active=True)
    bob = fake.add_user("bob@example.com", active=True)
    fake.add_group("Alpha", [alice, bob])
    fake.hidden.add(fake.add_group("Beta", [alice]))  # the listing leaves it out
    specs = write_spec(
        tmp_path,
        [user("alice@example.com"), user("bob@example.com")],
        [
            {"displayName": "Alpha", "members": ["alice@example.com"]},
            {"displayName": "Beta", "members": ["alice@example.com"]},
        ],
    )
    prepared, result = plan_and_apply(specs, fake)
    assert [m.id for c in prepared.plan.changes for m in c.members_remove] == [bob]
    (alpha,) = [g for g in fake.groups.values() if g["displayName"] == "Alpha"]
    assert user_id(fake, "bob@example.com") in {m["value"] for m in alpha["members"]}
    assert any(not o.ok and "withheld" in o.message for o in result.outcomes)


def test_a_hidden_account_withholds_nested_group_removals_too(token: str, tmp_path: Path) -> None:
    """write_nested removed nested groups although a look-up had found an account the
    listing hid, after which write_group withholds every user member removal."""
    fake = FakeScim()
    alice = fake.add_user("alice@example.com", active=True)
    fake.hidden.add(fake.add_user("bob@example.com", active=True))  # found by the 409
    contractors = fake.add_group("Contractors", [alice])
    fake.add_group("All", [alice])
    (parent,) = [g for g in fake.groups.values() if g["displayName"] == "All"]
    parent["members"].append({"value": contractors, "type": "Group"})
    specs = write_spec(
        tmp_path,
        [user("alice@example.com"), user("bob@example.com")],
        [{"displayName": "All", "members": ["alice@example.com"]}],
        nested_groups="native",
    )
    prepared, result = plan_and_apply(specs, fake)
    assert [m.id for c in prepared.plan.changes for m in c.members_remove] == [contractors]
    (after,) = [g for g in fake.groups.values() if g["displayName"] == "All"]
    assert contractors in {m["value"] for m in after["members"]}, result.outcomes
