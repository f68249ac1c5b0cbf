"""An object found at create time is adopted only if a plan could read it.

A planned create can end in adoption: the object exists though the listing did not show
it (a 409, or the look before a group's create). A plan never writes to an object it
cannot read (core/shape.py); neither does adoption. The create fails naming what was
found and why, and nothing is written to it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.fakescim import ENTERPRISE_URN, FakeScim
from tests.scim.test_faults import outcomes, plan_and_apply, write_spec

UNREADABLE: list[tuple[str, dict[str, Any], str]] = [
    ("user", {"emails": [None]}, "emails[0]: expected an object, got null"),
    ("user", {"title": "\ud800"}, "title: expected Unicode text, got a lone surrogate"),
    (
        "user",
        {ENTERPRISE_URN: {"manager": {"value": {"id": "u1"}}}},
        "enterprise.manager.value: expected a string, got an object",
    ),
    ("group", {"members": "u1"}, "members: expected a list, got a string"),
    ("group", {"members": [{"value": "\ud800"}]}, "members[0].value: expected Unicode text"),
]


@pytest.mark.parametrize(
    ("kind", "body", "why"), UNREADABLE, ids=[f"{c[0]}-{c[2][:20]}" for c in UNREADABLE]
)
def test_an_unreadable_object_found_at_create_is_not_adopted(
    token: str, tmp_path: Path, kind: str, body: dict[str, Any], why: str
) -> None:
    fake = FakeScim()
    alice = fake.add_user("alice@example.com", active=True)
    if kind == "user":
        found = fake.add_user("bob@example.com", active=True)
        fake.users[found].update(body)
        key, name = "bob@example.com", "user"
    else:
        found = fake.add_group("Eng", [alice])
        fake.groups[found].update(body)
        key, name = "Eng", "group"
    fake.hidden.add(found)  # the listing leaves it out; a filter finds it
    users = [{"userName": "alice@example.com"}, {"userName": "bob@example.com", "title": "B"}]
    groups = [{"displayName": "Eng", "members": ["alice@example.com"]}]
    _, result = plan_and_apply(write_spec(tmp_path, users, groups), fake)
    failed = {o.key: o.message for o in result.outcomes if not o.ok}
    assert failed[key].startswith(f"found {name} {found} on the target, but it cannot be read (")
    assert why in failed[key], outcomes(result)
    assert failed[key].endswith("): not adopted, nothing written")
    writes = [s for s in fake.requests if s.method in ("PATCH", "PUT", "DELETE")]
    assert [s.path for s in writes if s.path.endswith(f"/{found}")] == []
