"""A resource that says it is of the other kind than the endpoint it was read from is in
error: nothing is decided from it, nothing is written to it.

A /Users listing that also shows groups (a target serving one table of principals at both
endpoints) holds an object whose `meta.resourceType` is Group: read as a user, it is an
undeclared account, and prune disables it, through a /Users path that the target may
resolve to the group, or to a user sharing its id.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.core.changes import Action
from tests.fakescim import GROUP_SCHEMA, USER_SCHEMA, FakeScim
from tests.scim.conftest import TOKEN
from tests.scim.test_faults import replan, user, write_spec

pytestmark = pytest.mark.usefixtures("token")


def stray(meta_type: str | None, schemas: list[str]) -> dict[str, Any]:
    body: dict[str, Any] = {"schemas": schemas, "id": "x9", "userName": "eng", "displayName": "Eng"}
    if meta_type is not None:
        body["meta"] = {"resourceType": meta_type}
    return body


@pytest.mark.parametrize(
    ("meta_type", "schemas"),
    [("Group", [USER_SCHEMA]), ("group", []), (None, [GROUP_SCHEMA]), ("Group", [GROUP_SCHEMA])],
)
def test_a_group_listed_as_a_user_is_never_disabled(
    tmp_path: Path, meta_type: str | None, schemas: list[str]
) -> None:
    fake = FakeScim(token=TOKEN)
    fake.add_user("alice@example.com", active=True)
    fake.users["x9"] = stray(meta_type, schemas)
    specs = write_spec(tmp_path, [user("alice@example.com")], prune="all")
    plan = replan(specs, fake).plan
    assert not [c for c in plan.changes if c.action in (Action.DISABLE, Action.DELETE)]
    [error] = [e for e in plan.errors if e.key == "x9"]
    assert "Group" in error.message and "x9" in error.message


def test_a_user_listed_as_a_group_is_never_deleted(tmp_path: Path) -> None:
    fake = FakeScim(token=TOKEN)
    fake.add_user("alice@example.com", active=True)
    fake.groups["x9"] = {**stray("User", [USER_SCHEMA]), "displayName": "Alice"}
    specs = write_spec(tmp_path, [user("alice@example.com")], prune="all")
    plan = replan(specs, fake).plan
    assert not [c for c in plan.changes if c.action is Action.DELETE]
    [error] = [e for e in plan.errors if e.key == "x9"]
    assert "User" in error.message


def test_a_user_with_both_schemas_or_an_extension_only_is_read(tmp_path: Path) -> None:
    # Only a resource that names the other kind, and not its own, is refused.
    fake = FakeScim(token=TOKEN)
    fake.add_user("alice@example.com", active=True)
    fake.users["x8"] = {**stray("User", [USER_SCHEMA, GROUP_SCHEMA]), "id": "x8"}
    fake.users["x9"] = stray(None, ["urn:example:params:scim:schemas:extension:acme:2.0:User"])
    specs = write_spec(tmp_path, [user("alice@example.com")], prune="all")
    plan = replan(specs, fake).plan
    assert plan.errors == ()
    assert {c.target_id for c in plan.changes if c.action is Action.DISABLE} == {"x8", "x9"}
