"""Apply writes only to what a plan could read (core/shape.py), whatever it reads then.

Two writes start from a body apply reads itself, after the plan: adoption (a planned
create finds the object already there: a 409, or the look before a group's create) and
GET-merge-PUT (a target without PATCH gets its resource back whole). A body a plan would
call unreadable fails that object, naming what was read and why; nothing is written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.fakescim import ENTERPRISE_URN, FakeScim, Seen, json_response
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


class ChangedUnderfoot(FakeScim):
    """A target without PATCH whose users, read one by one, carry `extra` (changed since
    the listing the plan read)."""

    def __init__(self, extra: dict[str, Any]) -> None:
        super().__init__()
        self.patch_unsupported = True
        self.extra = extra

    def _handle(self, seen: Seen) -> httpx2.Response:
        response = super()._handle(seen)
        one = seen.path.startswith("/Users/") and seen.method == "GET"
        if not one or response.status_code != 200:
            return response
        return json_response(200, {**json.loads(response.content), **self.extra})


@pytest.mark.parametrize(
    ("extra", "why"),
    [
        ({ENTERPRISE_URN: "D"}, "enterprise: expected an object, got a string"),  # once exit 3
        ({ENTERPRISE_URN: ["D"]}, "enterprise: expected an object, got a list"),  # once exit 3
        ({"name": "A"}, "name: expected an object, got a string"),
        ({"x": "\ud800"}, "x: expected Unicode text, got a lone surrogate"),
    ],
)
def test_a_resource_read_for_get_merge_put_that_cannot_be_read_is_not_written(
    token: str, tmp_path: Path, extra: dict[str, Any], why: str
) -> None:
    fake = ChangedUnderfoot(extra)
    alice = fake.add_user("alice@example.com", active=True, title="Old")
    users = [{"userName": "alice@example.com", "title": "New", "enterprise": {"department": "D"}}]
    _, result = plan_and_apply(write_spec(tmp_path, users), fake)
    [failed] = [o for o in result.outcomes if not o.ok]
    assert failed.message == f"GET /Users/{alice} returned a resource that cannot be read ({why})"
    sent = [s.method for s in fake.requests if s.path == f"/Users/{alice}"]
    assert sent[-2:] == ["PATCH", "GET"]  # PATCH refused (501), read for PUT: no PUT
