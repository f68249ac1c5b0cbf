"""A member stored by userName whose user the listing hides is a hidden user, not dangling.

Some targets store a member's userName as its `value`; some leave inactive users out of
`/Users`. There a member's value names a user the listing did not show, and
`GET /Users/<value>` answers 404 because the value is no id: scim/members.py took that
404 as proof the value names no user, and the plan removed the member, a user the run
never resolved (here one out of the target's scope, whom a membership diff leaves alone).
"""

from __future__ import annotations

from pathlib import Path

from tests.fakescim import FakeScim
from tests.scim.test_faults import replan, user, write_spec


def test_a_hidden_member_stored_by_user_name_is_never_removed(token: str, tmp_path: Path) -> None:
    fake = FakeScim()
    fake.add_user("alice@example.com", active=True)
    bob = fake.add_user("bob@example.com", active=False)
    fake.hidden.add(bob)  # inactive: left out of the listing
    fake.add_group("Eng", ["alice@example.com", "bob@example.com"])  # values are userNames
    specs = write_spec(
        tmp_path,
        [user("alice@example.com")],
        [{"displayName": "Eng", "members": ["alice@example.com"]}],
    )
    prepared = replan(specs, fake)
    removed = [m.id for c in prepared.plan.changes for m in c.members_remove]
    assert removed == [], prepared.plan.notes
    assert not prepared.observed.complete  # the listing hid a user the group holds
