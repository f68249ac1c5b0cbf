"""A planned create answered by adopting an existing account never disables it.

A declared user kept with `active: false` that the listing does not show is planned as a
create. On apply the target answers 409 (or the look-before-create finds it), and the
account is adopted: brought to the declared attributes, but never set inactive there. A
disable is decided by a plan and counted by the guards; this one was never planned (the
plan held creates), and the read that hid the account withholds deprovisions anyway. The
object ends in error saying a plan is needed. Protection, checked on the change's key,
could not see the adopted account's name either; nothing adopted is disabled at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.fakescim import FakeScim
from tests.scim.test_faults import outcomes, plan_and_apply, write_spec


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
