"""The SCIM write bodies built from planned changes (RFC 7644 §3.3, §3.5)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from reconciler.core.diff import AttrChange
from reconciler.core.model import ENTERPRISE_URN, GROUP_SCHEMA, USER_SCHEMA, Json, Observed
from reconciler.core.plan import make_plan
from reconciler.scim import member_ops, writes
from reconciler.spec.load import load_spec

# -- PATCH operations (RFC 7644 §3.5.2) -----------------------------------------------------------

PATCH_CASES: list[tuple[str, list[AttrChange], dict[str, str], list[dict[str, Json]]]] = [
    (
        "replace",
        [AttrChange("title", "Engineer", "Staff Engineer")],
        {},
        [{"op": "replace", "path": "title", "value": "Staff Engineer"}],
    ),
    (
        "remove-for-null",
        [AttrChange("title", "Engineer", None)],
        {},
        [{"op": "remove", "path": "title"}],
    ),
    (
        "sub-attribute-path",
        [AttrChange("name.givenName", "Al", "Alice")],
        {},
        [{"op": "replace", "path": "name.givenName", "value": "Alice"}],
    ),
    (
        "boolean",
        [AttrChange("active", True, False)],
        {},
        [{"op": "replace", "path": "active", "value": False}],
    ),
    (
        "multi-valued-replaced-whole",
        [AttrChange("emails", [{"value": "a@example.com"}], [{"value": "b@example.com"}])],
        {},
        [{"op": "replace", "path": "emails", "value": [{"value": "b@example.com"}]}],
    ),
    (
        "enterprise-urn-path",
        [AttrChange("enterprise.department", "Sales", "Eng")],
        {},
        [{"op": "replace", "path": f"{ENTERPRISE_URN}:department", "value": "Eng"}],
    ),
    (
        "enterprise-remove",
        [AttrChange("enterprise.costCenter", "7", None)],
        {},
        [{"op": "remove", "path": f"{ENTERPRISE_URN}:costCenter"}],
    ),
    (
        "manager-known-id",
        [AttrChange("enterprise.manager", "u-old", "u-bob", "bob@example.com")],
        {},
        [{"op": "replace", "path": f"{ENTERPRISE_URN}:manager", "value": {"value": "u-bob"}}],
    ),
    (
        "manager-created-in-this-run",
        [AttrChange("enterprise.manager", None, None, "bob@example.com")],
        {"bob@example.com": "u-new"},
        [{"op": "replace", "path": f"{ENTERPRISE_URN}:manager", "value": {"value": "u-new"}}],
    ),
    (
        "manager-still-unknown-is-not-sent",
        [AttrChange("enterprise.manager", None, None, "bob@example.com")],
        {"carol@example.com": "u-carol"},
        [],
    ),
    (
        "manager-cleared",
        [AttrChange("enterprise.manager", "u-old", None)],
        {},
        [{"op": "remove", "path": f"{ENTERPRISE_URN}:manager"}],
    ),
    (
        "several-in-order",
        [AttrChange("displayName", "A", "B"), AttrChange("nickName", "x", None)],
        {},
        [
            {"op": "replace", "path": "displayName", "value": "B"},
            {"op": "remove", "path": "nickName"},
        ],
    ),
]


@pytest.mark.parametrize(
    ("changes", "ids", "expected"), [pytest.param(c, i, e, id=n) for n, c, i, e in PATCH_CASES]
)
def test_patch_operations(
    changes: list[AttrChange], ids: dict[str, str], expected: list[dict[str, Json]]
) -> None:
    assert writes.patch_operations(changes, ids) == expected


def test_unresolved_reports_only_references_without_an_id() -> None:
    ref = AttrChange("enterprise.manager", None, None, "bob@example.com")
    assert writes.unresolved(ref, {})
    assert not writes.unresolved(ref, {"bob@example.com": "u-bob"})
    assert not writes.unresolved(AttrChange("title", "a", None), {})


# -- GET-merge-PUT (RFC 7644 §3.5.1) --------------------------------------------------------------


def current_user() -> dict[str, Json]:
    return {
        "schemas": [USER_SCHEMA],
        "id": "u1",
        "externalId": "alice",
        "userName": "alice@example.com",
        "nickName": "Al",
        "title": "Engineer",
        "name": {"givenName": "Al", "familyName": "Wong"},
        "emails": [{"value": "alice@example.com", "primary": True}],
        "groups": [{"value": "g1", "display": "Eng"}],
        "meta": {"resourceType": "User", "version": 'W/"3"', "location": "/Users/u1"},
    }


def test_put_body_keeps_unmanaged_attributes_and_drops_read_only_ones() -> None:
    current = current_user()
    before = copy.deepcopy(current)
    changes = [
        AttrChange("name.givenName", "Al", "Alice"),
        AttrChange("title", "Engineer", None),
        AttrChange("enterprise.department", None, "Eng"),
        AttrChange("enterprise.manager", None, None, "bob@example.com"),
    ]
    body = writes.merged_for_put(current, changes, {"bob@example.com": "u-bob"})
    assert body == {
        "schemas": [USER_SCHEMA, ENTERPRISE_URN],
        "id": "u1",
        "externalId": "alice",
        "userName": "alice@example.com",
        "nickName": "Al",
        "name": {"givenName": "Alice", "familyName": "Wong"},
        "emails": [{"value": "alice@example.com", "primary": True}],
        ENTERPRISE_URN: {"department": "Eng", "manager": {"value": "u-bob"}},
    }
    # The resource as read is not modified: a retry merges onto the same state.
    assert current == before


def test_put_body_keeps_unmanaged_enterprise_attributes_and_unresolved_manager() -> None:
    current = current_user() | {
        "schemas": [USER_SCHEMA, ENTERPRISE_URN],
        ENTERPRISE_URN: {"costCenter": "7", "manager": {"value": "u-old"}},
    }
    changes = [
        AttrChange("enterprise.department", None, "Eng"),
        # The new manager has no id yet: the PUT must not clear the current one.
        AttrChange("enterprise.manager", "u-old", None, "bob@example.com"),
    ]
    body = writes.merged_for_put(current, changes, {})
    assert body["schemas"] == [USER_SCHEMA, ENTERPRISE_URN]
    assert body[ENTERPRISE_URN] == {
        "costCenter": "7",
        "manager": {"value": "u-old"},
        "department": "Eng",
    }
    assert "meta" not in body
    assert "groups" not in body


def test_put_body_never_sends_back_a_write_only_attribute_it_read() -> None:
    # A target that returns the password as stored (a bcrypt hash) would have it set to
    # that text by a PUT that sends it back: a title change would lock the user out.
    urn = "urn:example:params:scim:schemas:extension:acme:2.0:User"
    current = current_user() | {
        "password": "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9",
        urn: {"initialPassword": "InitPw-7Gx2", "costCode": "7"},
    }
    changes = [AttrChange("title", "Engineer", "Staff Engineer")]
    body = writes.merged_for_put(current, changes, {}, write_only={f"{urn}:initialPassword"})
    assert "password" not in body
    assert body[urn] == {"costCode": "7"}
    assert body["title"] == "Staff Engineer"


def test_put_body_sends_a_write_only_attribute_the_change_sets() -> None:
    urn = "urn:example:params:scim:schemas:extension:acme:2.0:User"
    path = f"{urn}:initialPassword"
    current = current_user() | {urn: {"initialPassword": "old"}}
    body = writes.merged_for_put(current, [AttrChange(path, None, "new")], {}, write_only={path})
    assert body[urn] == {"initialPassword": "new"}


def test_group_put_never_sends_back_a_write_only_attribute_it_read() -> None:
    current = {"id": "g1", "displayName": "Eng", "Password": "x", "members": [{"value": "u1"}]}
    body, new, _ = writes.members_put(current, ["u2"], [])
    assert "Password" not in body  # names are matched in any case (RFC 7643 §2.1)
    assert new == ["u2"]


# -- group membership -----------------------------------------------------------------------------


def test_add_members() -> None:
    assert member_ops.add_members(["u1", "u2"]) == [
        {"op": "add", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]}
    ]


@pytest.mark.parametrize(
    ("dialect", "expected"),
    [
        pytest.param(
            "filter",
            [
                {"op": "remove", "path": 'members[value eq "u1"]'},
                # Quoted as a JSON string (RFC 7644 §3.4.2.2), so an id cannot break the filter.
                {"op": "remove", "path": 'members[value eq "we\\"ird"]'},
            ],
            id="filter",
        ),
        pytest.param(
            "value",
            [{"op": "remove", "path": "members", "value": [{"value": "u1"}, {"value": 'we"ird'}]}],
            id="value",
        ),
    ],
)
def test_remove_members_in_both_dialects(dialect: str, expected: list[dict[str, Json]]) -> None:
    assert member_ops.remove_members(["u1", 'we"ird'], dialect) == expected


@pytest.mark.parametrize(
    ("items", "size", "expected"),
    [
        (["a", "b", "c", "d", "e"], 2, [["a", "b"], ["c", "d"], ["e"]]),
        (["a", "b"], 100, [["a", "b"]]),
        ([], 100, []),
    ],
)
def test_chunks(items: list[str], size: int, expected: list[list[str]]) -> None:
    assert member_ops.chunks(items, size) == expected


# -- create bodies (RFC 7644 §3.3) ----------------------------------------------------------------

CREATE_CASES: list[tuple[str, list[AttrChange], dict[str, str], dict[str, Json]]] = [
    (
        "core-only",
        [
            AttrChange("emails", None, [{"value": "a@example.com", "type": "work"}]),
            AttrChange("name.givenName", None, "Alice"),
            AttrChange("userName", None, "a@example.com"),
        ],
        {},
        {
            "schemas": [USER_SCHEMA],
            "emails": [{"value": "a@example.com", "type": "work"}],
            "name": {"givenName": "Alice"},
            "userName": "a@example.com",
        },
    ),
    (
        "with-enterprise",
        [
            AttrChange("enterprise.department", None, "Eng"),
            AttrChange("enterprise.manager", None, None, "bob@example.com"),
            AttrChange("userName", None, "a@example.com"),
        ],
        {"bob@example.com": "u-bob"},
        {
            "schemas": [USER_SCHEMA, ENTERPRISE_URN],
            ENTERPRISE_URN: {"department": "Eng", "manager": {"value": "u-bob"}},
            "userName": "a@example.com",
        },
    ),
    (
        "unresolved-manager-only-needs-no-enterprise-schema",
        [
            AttrChange("enterprise.manager", None, None, "bob@example.com"),
            AttrChange("userName", None, "a@example.com"),
        ],
        {},
        {"schemas": [USER_SCHEMA], "userName": "a@example.com"},
    ),
]


@pytest.mark.parametrize(
    ("changes", "ids", "expected"), [pytest.param(c, i, e, id=n) for n, c, i, e in CREATE_CASES]
)
def test_user_create_body(
    changes: list[AttrChange], ids: dict[str, str], expected: dict[str, Json]
) -> None:
    assert writes.user_create_body(changes, ids) == expected


def test_group_create_body() -> None:
    changes = [AttrChange("displayName", None, "Eng"), AttrChange("externalId", None, "eng")]
    assert writes.group_create_body(changes, ["u1", "u2"]) == {
        "schemas": [GROUP_SCHEMA],
        "displayName": "Eng",
        "externalId": "eng",
        "members": [{"value": "u1"}, {"value": "u2"}],
    }
    assert writes.group_create_body(changes[:1], []) == {
        "schemas": [GROUP_SCHEMA],
        "displayName": "Eng",
    }


def test_create_body_from_a_planned_create(tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_text(
        "targets:\n  t:\n    url: http://127.0.0.1:9/scim/v2\n"
        "users:\n"
        "  - userName: alice@example.com\n"
        "    title: null\n"
        "    name: {givenName: Alice, familyName: null}\n"
        "    enterprise: {employeeNumber: '1001', manager: bob@example.com}\n"
        "  - userName: bob@example.com\n",
        encoding="utf-8",
    )
    spec = load_spec(tmp_path)
    plan = make_plan(spec, spec.targets["t"], Observed((), ()))
    alice = next(c for c in plan.changes if c.key == "alice@example.com")
    # Explicit nulls have nothing to clear on a create and are not sent.
    assert writes.user_create_body(alice.attributes, {"bob@example.com": "u-bob"}) == {
        "schemas": [USER_SCHEMA, ENTERPRISE_URN],
        ENTERPRISE_URN: {"employeeNumber": "1001", "manager": {"value": "u-bob"}},
        "name": {"givenName": "Alice"},
        "userName": "alice@example.com",
    }
