"""Attack: a target id that is not a plain path segment sends a write somewhere else.

Every write path is built as `f"/Users/{target_id}"` (apply/users.py, deprovision.py,
groups.py) with the id exactly as the target listed it. httpx2 removes dot segments, and
`?` or `#` end the path, so a user listed with the id `../Users/<admin id>` or
`../Groups/<group id>` is disabled or deleted *at that other resource*. Protection is
checked on the change (the stray's userName), so a protected account or group is hit.

Who chooses ids: the target, and on some targets what users type (targets that use the
userName or the externalId as the id). A self-service userName of `../Groups/g2`, pruned,
deletes the Admins group. Target data is input (DESIGN §6, README "Target data of an
unexpected shape ... makes that one object an error"); members.py already quotes a member
value before it is put in a path, the write paths do not.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakescim import FakeScim
from tests.scim.test_faults import plan_and_apply, write_spec


def _stray(fake: FakeScim, rid: str, name: str) -> None:
    fake.users[rid] = fake._stamp("User", rid, {"userName": name, "active": True})


@pytest.mark.xfail(
    strict=True,
    reason="an id with '../' disables another user: the protected admin",
)
def test_a_stray_with_a_dotted_id_never_disables_a_protected_account(
    token: str, tmp_path: Path
) -> None:
    fake = FakeScim()
    admin = fake.add_user("admin@example.com", active=True)
    stray = f"../Users/{admin}"
    _stray(fake, stray, "eve@example.com")
    specs = write_spec(tmp_path, [], prune="all", protected=["admin@*"])
    plan_and_apply(specs, fake)
    assert fake.users[admin]["active"] is True
    writes = [(s.method, s.path) for s in fake.requests if s.method != "GET"]
    assert all(path != f"/Users/{admin}" for _, path in writes), writes


@pytest.mark.xfail(
    strict=True,
    reason="an id with '../' deletes a protected group instead of the stray user",
)
def test_a_stray_with_a_dotted_id_never_deletes_a_protected_group(
    token: str, tmp_path: Path
) -> None:
    fake = FakeScim()
    alice = fake.add_user("alice@example.com", active=True)
    admins = fake.add_group("Admins", [alice])
    _stray(fake, f"../Groups/{admins}", "eve@example.com")
    users = [{"userName": "alice@example.com"}]
    groups = [{"displayName": "Admins", "members": ["alice@example.com"]}]
    specs = write_spec(
        tmp_path, users, groups, prune="all", deprovision="delete", protected=["Admins"]
    )
    plan_and_apply(specs, fake)
    assert admins in fake.groups


@pytest.mark.xfail(
    strict=True,
    reason="an id with '?' is cut at the query: the write lands on the user named by the rest",
)
def test_a_stray_with_a_query_in_its_id_never_disables_another_account(
    token: str, tmp_path: Path
) -> None:
    fake = FakeScim()
    boss = fake.add_user("boss@example.com", active=True)
    _stray(fake, f"{boss}?x", "eve@example.com")
    specs = write_spec(tmp_path, [{"userName": "boss@example.com"}], prune="all")
    plan_and_apply(specs, fake)
    assert fake.users[boss]["active"] is True
