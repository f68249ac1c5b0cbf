"""Attack: a planned create that is answered by adopting an existing account disables it.

A declared user kept with `active: false` (README: "A declared user kept with active:
false is never deleted") that the listing does not show is planned as a *create* with
`active: false`. On apply the target answers 409 (or, after a short read, the look-before-
create finds it), and creates.py `adopt` PATCHes the existing, active account to the
declared attributes, `active: false` included. That write is a disable, but:

- the guards never see it: the plan holds creates, not disables, so `max_deletes` (10 by
  default) lets any number through, and apply says "N created, 0 disabled";
- README: "once a lookup finds an object the listing did not show (a 409, for instance),
  every member removal and deprovision left in the run is withheld", yet every adopt
  after the first still disables;
- protection is checked on the change's key only (session.refuse_if_protected), not on
  the account adopted: a user whose mapped userName is a protected account's name
  disables that account.

Targets that leave inactive or restricted users out of `/Users` are the case issue 12
item 5 names; FakeScim's `hidden` stands in for one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.fakescim import FakeScim
from tests.scim.test_faults import outcomes, plan_and_apply, write_spec


@pytest.mark.xfail(
    strict=True,
    reason="creates answered by adoption disable active accounts past the guards and past "
    "the withholding that a hidden object triggers",
)
def test_adopting_hidden_accounts_never_disables_past_the_guards(
    token: str, tmp_path: Path
) -> None:
    fake = FakeScim()
    fake.add_user("keep@example.com", active=True)
    leavers = [f"p{i:02d}@example.com" for i in range(12)]  # more than max_deletes (10)
    ids = {name: fake.add_user(name, active=True) for name in leavers}
    fake.hidden.update(ids.values())  # the listing leaves them out; a filter finds them
    users: list[dict[str, Any]] = [{"userName": "keep@example.com"}]
    users += [{"userName": name, "active": False} for name in leavers]
    prepared, result = plan_and_apply(write_spec(tmp_path, users), fake)
    assert prepared.plan.guards == ()  # the plan holds 12 creates: nothing for the guards
    disabled = [name for name, uid in ids.items() if fake.users[uid].get("active") is False]
    # At most what the guards allow; and, since a lookup found accounts the listing hid,
    # no deprovision at all should follow in this run.
    assert disabled == [], (len(disabled), outcomes(result))


@pytest.mark.xfail(
    strict=True,
    reason="adopt checks protection on the declared key only, not on the account it adopts",
)
def test_adopting_never_disables_a_protected_account(token: str, tmp_path: Path) -> None:
    fake = FakeScim()
    admin = fake.add_user("admin@example.com", active=True)
    fake.hidden.add(admin)
    users = [
        {"userName": "ops@example.com", "active": False, "custom": {"mail": "admin@example.com"}}
    ]
    specs = write_spec(
        tmp_path,
        users,
        protected=["admin@*"],
        mappings={"user": {"userName": "[mail]"}},
    )
    plan_and_apply(specs, fake)
    assert fake.users[admin]["active"] is True
