"""The last line of protection (own_protection.py, where every write is sent) refuses only
what takes something from a protected object: the writes it must let through, applied
from a plan made without `protected` to the target with it, so nothing but the last line
judges them. A refusal there is a change the spec asks for that never happens."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from reconciler.run import prepare
from reconciler.scim.apply.runner import Applier
from tests.fakescim import FakeScim
from tests.scim.test_faults import write_spec

pytestmark = pytest.mark.usefixtures("token")

PROTECTED = ("root@*",)


def _apply_protected(specs: Path, fake: FakeScim) -> Any:
    prepared = prepare(specs, "fake", transport=fake.transport)
    assert prepared.plan.changes
    target = dataclasses.replace(prepared.target, protected=PROTECTED)
    try:
        return Applier(prepared.client, target, prepared.caps, prepared.log).run(prepared.plan)
    finally:
        prepared.client.close()


def test_a_protected_account_s_other_attributes_are_written(tmp_path: Path) -> None:
    fake = FakeScim()
    root = fake.add_user("root@example.com", title="Engineer", nickName="r")
    specs = write_spec(
        tmp_path, [{"userName": "root@example.com", "title": "Manager", "nickName": None}]
    )
    result = _apply_protected(specs, fake)
    assert result.failed == ()
    assert fake.users[root]["title"] == "Manager"
    assert "nickName" not in fake.users[root]  # a value removed takes no access either


def test_a_protected_account_is_enabled_again(tmp_path: Path) -> None:
    fake = FakeScim()
    root = fake.add_user("root@example.com", active=False)
    specs = write_spec(tmp_path, [{"userName": "root@example.com", "active": True}])
    result = _apply_protected(specs, fake)
    assert result.failed == ()
    assert fake.users[root]["active"] is True


def test_an_account_nothing_protects_is_renamed_while_protection_is_on(tmp_path: Path) -> None:
    fake = FakeScim()
    bob = fake.add_user("bob@example.com")
    users = [{"userName": "robert@example.com", "previously": ["bob@example.com"]}]
    result = _apply_protected(write_spec(tmp_path, users), fake)
    assert result.failed == ()
    assert fake.users[bob]["userName"] == "robert@example.com"


def test_a_value_like_a_protected_name_in_another_attribute_protects_nothing(
    tmp_path: Path,
) -> None:
    # Only the name an object is protected by is: bob's title holding text the pattern
    # matches makes neither bob nor his title protected.
    fake = FakeScim()
    bob = fake.add_user("bob@example.com", title="root@example.com")
    specs = write_spec(tmp_path, [{"userName": "bob@example.com", "title": "Engineer"}])
    result = _apply_protected(specs, fake)
    assert result.failed == ()
    assert fake.users[bob]["title"] == "Engineer"
