"""core/members.py: how a member entry resolves; the quick path for plain dicts decides as the
full rules do (a read-only mapping takes the full rules, so the two are compared)."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import pytest

from reconciler.core.members import Directory, Entry, Seen
from reconciler.core.model import Observed, Resource

OBSERVED = Observed(
    users=(
        Resource("u1", {"userName": "alice@example.com"}),
        Resource("7", {"userName": "bob@example.com"}),
    ),
    groups=(
        Resource("g1", {"displayName": "G"}),
        Resource("7x", {"displayName": "H"}),
        Resource("g2", {"displayName": "I"}),
    ),
    # g2: the target said no user has this id (members.confirm_members).
    dangling=frozenset({"gone", "g2"}),
)
USERS = "https://t.example/scim/v2/Users/"
GROUPS = "https://t.example/scim/v2/Groups/"

CASES: list[tuple[str, Any, Entry | None]] = [
    ("user-id", {"value": "u1"}, Entry("u1", Seen.USER, "u1")),
    ("user-id-typed", {"value": "u1", "type": "User"}, Entry("u1", Seen.USER, "u1")),
    ("user-id-empty-type", {"value": "u1", "type": ""}, Entry("u1", Seen.USER, "u1")),
    ("user-id-ref", {"value": "u1", "$ref": USERS + "u1"}, Entry("u1", Seen.USER, "u1")),
    ("typed-group", {"value": "u1", "type": "Group"}, Entry("u1", Seen.GROUP)),
    ("typed-group-case", {"value": "u1", "type": "GROUP"}, Entry("u1", Seen.GROUP)),
    ("ref-to-group", {"value": "u1", "$ref": GROUPS + "u1"}, Entry("u1", Seen.GROUP)),
    ("numeric-type", {"value": "u1", "type": 5}, Entry("u1", Seen.USER, "u1")),
    ("integer-value", {"value": 7}, Entry("7", Seen.USER, "7")),
    ("ref-only", {"value": "x", "$ref": USERS + "7"}, Entry("x", Seen.USER, "7")),
    # A $ref's endpoint in another case is the same endpoint: a nested group "7" that a
    # target refers to as `.../groups/7` is no user "7" (read as one, its removal for that
    # user took the nested group out).
    ("ref-to-group-lower", {"value": "7", "$ref": GROUPS.lower() + "7"}, Entry("7", Seen.GROUP)),
    ("ref-to-group-upper", {"value": "7", "$ref": GROUPS.upper() + "7"}, Entry("7", Seen.GROUP)),
    ("ref-only-lower", {"value": "x", "$ref": USERS.lower() + "7"}, Entry("x", Seen.USER, "7")),
    # Only the segment before the id names the endpoint: a base URL holding /Groups/ does not.
    (
        "base-url-with-groups",
        {"value": "7", "$ref": "https://t.example/Groups/scim/v2/Users/7"},
        Entry("7", Seen.USER, "7"),
    ),
    # Untyped with a group's id: held, but removable only once no user is known to have it.
    ("untyped-group-id", {"value": "g1"}, Entry("g1", Seen.GROUP, sure=False)),
    ("untyped-group-id-no-user", {"value": "g2"}, Entry("g2", Seen.GROUP)),
    ("user-name", {"value": "ALICE@example.com"}, Entry("ALICE@example.com", Seen.USER, "u1")),
    # Only the display names the user: found, but never sure enough to remove the entry.
    ("display", {"value": "x", "display": "bob@example.com"}, Entry("x", Seen.USER, "7", False)),
    ("dangling", {"value": "gone"}, Entry("gone", Seen.DANGLING)),
    ("unknown", {"value": "who"}, Entry("who", Seen.UNRESOLVED)),
    ("empty-value", {"value": ""}, None),
    ("boolean-value", {"value": True}, None),
    ("no-value", {"type": "User"}, None),
    ("not-a-mapping", "u1", None),
]


@pytest.mark.parametrize(("member", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_member_entries_resolve(member: Any, expected: Entry | None) -> None:
    directory = Directory(OBSERVED)
    assert directory.resolve(member) == expected
    if isinstance(member, dict):
        assert directory.resolve(MappingProxyType(member)) == expected
