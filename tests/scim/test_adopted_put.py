"""A create answered 409 adopts the account the listing hid (creates.adopt), and brings it
to the declared attributes; where the target answers that PATCH with the account as it
was, settle.py sends them again by GET-merge-PUT. The account was never in the plan's
read, so the PUT has nothing to check its GET against: a GET that leaves `roles` out
unless asked (`returned: request`) must not become a PUT that removes them."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.fakescim import FakeScim
from tests.scim.test_faults import plan_and_apply, user, write_spec

pytestmark = pytest.mark.usefixtures("token")

ROLES = [{"value": "admin", "primary": True}]


class RolesOnRequest(FakeScim):
    """A user's GET by id shows `roles` only when asked for them (`attributes=roles`)."""

    def _one(self, resource: dict[str, Any], status: int = 200) -> httpx2.Response:
        last = self.requests[-1] if self.requests else None
        asked = last is not None and "roles" in str(last.params.get("attributes", ""))
        if last is not None and last.method == "GET" and "roles" in resource and not asked:
            resource = {k: v for k, v in resource.items() if k != "roles"}
        return super()._one(resource, status)


def test_an_adopted_account_keeps_the_roles_its_get_leaves_out(tmp_path: Path) -> None:
    fake = RolesOnRequest()
    uid = fake.add_user("a@example.com", title="Old", roles=copy.deepcopy(ROLES))
    fake.hidden.add(uid)  # the listing misses it: a create is planned, answered 409
    fake.fail("PATCH", f"/Users/{uid}", status=200, body=copy.deepcopy(fake.users[uid]))
    _, result = plan_and_apply(write_spec(tmp_path, [user("a@example.com", title="Staff")]), fake)
    assert result.failed == ()
    assert fake.users[uid].get("roles") == ROLES
    assert fake.users[uid]["title"] == "Staff"
    assert [s.method for s in fake.requests if s.method in ("PATCH", "PUT")] == ["PATCH", "PUT"]
