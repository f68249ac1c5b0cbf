"""Bulk requests built from planned creates, and their answers read (pure; RFC 7644 §3.7)."""

from __future__ import annotations

import json

import pytest

from reconciler.core.changes import Action, Change, Member
from reconciler.core.diff import AttrChange
from reconciler.core.model import ENTERPRISE_URN, GROUP_SCHEMA, Kind
from reconciler.scim.bulk_requests import (
    BULK_REQUEST,
    DEFAULT_OPERATIONS,
    DEFAULT_PAYLOAD,
    ENVELOPE,
    MIN_CREATES,
    MOST_OPERATIONS,
    GroupForm,
    Limits,
    create_operation,
    nested_first,
    pack,
    pays,
    results,
)


def create(key: str, manager: str | None = None, title: str = "Eng") -> Change:
    attributes = [AttrChange("userName", None, key), AttrChange("title", None, title)]
    if manager is not None:
        attributes.append(AttrChange("enterprise.manager", None, None, manager))
    return Change(Kind.USER, key, Action.CREATE, "new", attributes=tuple(attributes))


def manager_in(operation: dict[str, object]) -> object:
    data = operation["data"]
    assert isinstance(data, dict)
    return data.get(ENTERPRISE_URN, {}).get("manager")


def test_limits_honour_what_is_advertised_with_a_margin() -> None:
    assert Limits.advertised(50, 100_000) == Limits(50, 90_000)
    assert Limits.advertised(5000, 1_048_576) == Limits(MOST_OPERATIONS, 943_718)
    assert Limits.advertised(None, None) == Limits(DEFAULT_OPERATIONS, int(DEFAULT_PAYLOAD * 0.9))


def test_a_manager_in_the_same_request_is_a_bulk_id_reference() -> None:
    changes = [create("boss"), create("report", manager="boss"), create("other", manager="x")]
    batch = pack(changes, {"x": "id-x"}, Limits(10, 100_000))
    assert batch.body["schemas"] == [BULK_REQUEST]
    assert "failOnErrors" not in batch.body  # every operation is attempted
    operations = batch.body["Operations"]
    assert isinstance(operations, list)
    assert [op["bulkId"] for op in operations] == ["user-1", "user-2", "user-3"]
    assert [(op["method"], op["path"]) for op in operations] == [("POST", "/Users")] * 3
    assert manager_in(operations[0]) is None
    assert manager_in(operations[1]) == {"value": "bulkId:user-1"}
    assert manager_in(operations[2]) == {"value": "id-x"}  # made by an earlier request


def test_a_manager_later_in_the_request_or_unknown_is_left_out() -> None:
    """Only an earlier operation can be named (a cycle is set by the follow-up PATCH)."""
    changes = [create("report", manager="boss"), create("boss"), create("lost", manager="nobody")]
    operations = pack(changes, {}, Limits(10, 100_000)).body["Operations"]
    assert isinstance(operations, list)
    assert manager_in(operations[0]) is None
    assert manager_in(operations[2]) is None


def test_max_operations_splits() -> None:
    changes = [create(f"u{i}") for i in range(7)]
    batch = pack(changes, {}, Limits(3, 100_000))
    assert [c.key for c in batch.changes] == ["u0", "u1", "u2"]
    assert batch.bulk_ids == ("user-1", "user-2", "user-3")


def test_max_payload_splits_and_every_request_fits() -> None:
    changes = [create(f"u{i:02d}", title="x" * 200) for i in range(20)]
    one = len(json.dumps(create_operation(changes[0], "user-1", {})).encode())
    limit = ENVELOPE + 3 * (one + 2) + 1  # room for three operations, not four
    rest = changes
    sizes = []
    while rest:
        batch = pack(rest, {}, Limits(100, limit))
        assert batch.size <= limit
        sizes.append(len(batch.changes))
        rest = rest[len(batch.changes) :]
    assert sizes == [3, 3, 3, 3, 3, 3, 2]


def test_a_create_too_large_alone_is_set_apart() -> None:
    big = create("big", title="x" * 5000)
    batch = pack([big, create("small")], {}, Limits(100, 2000))
    assert batch.changes == () and batch.too_large == big


def test_a_group_names_nested_groups_created_in_the_same_request_by_bulk_id() -> None:
    """Its users by id (users are created before groups); a nested group created earlier in
    the request by bulkId, one made before by its id, one not made yet left out."""
    group = Change(
        Kind.GROUP,
        "Eng",
        Action.CREATE,
        "new",
        attributes=(AttrChange("displayName", None, "Eng"),),
        members_add=(
            Member("carol", None),
            Member("Ops", None, "Group"),
            Member("Web", None, "Group"),
            Member("Later", None, "Group"),
        ),
    )
    form = GroupForm(group_ids={"Web": "g-web"})
    operation = create_operation(group, "group-3", {"carol": "id-c"}, {"Ops": "group-1"}, form)
    assert operation == {
        "method": "POST",
        "path": "/Groups",
        "bulkId": "group-3",
        "data": {
            "schemas": [GROUP_SCHEMA],
            "displayName": "Eng",
            "members": [
                {"value": "id-c"},
                {"value": "bulkId:group-1", "type": "Group"},
                {"value": "g-web", "type": "Group"},
            ],
        },
    }


def test_halving_after_a_413_is_relative_to_what_was_refused() -> None:
    batch = pack([create(f"u{i}") for i in range(8)], {}, Limits(1000, 1_000_000))
    smaller = Limits(1000, 1_000_000).halved(batch)
    assert smaller.operations == 4 and smaller.payload == batch.size // 2


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        # RFC 7644 §3.7.3's form: status as a string, the id in location, no resource.
        (
            {"bulkId": "user-1", "status": "201", "location": "https://t/v2/Users/abc"},
            (201, "abc", None, "(no detail)"),
        ),
        ({"bulkId": "user-1", "status": 201, "response": {"id": "r1", "userName": "a"}},
         (201, "r1", {"id": "r1", "userName": "a"}, "(no detail)")),
        ({"bulkId": "user-1", "status": {"code": "409"},
          "response": {"detail": "taken", "scimType": "uniqueness"}},
         (409, None, None, "taken")),
        ({"bulkId": "user-1", "status": "created"}, (None, None, None, "(no detail)")),
        ({"bulkId": "user-1", "status": True}, (None, None, None, "(no detail)")),
        # Digits str.isdigit takes and int() refuses (a superscript two): no status.
        ({"bulkId": "user-1", "status": "\u00b201"}, (None, None, None, "(no detail)")),
    ],
)  # fmt: skip
def test_results_are_read_by_bulk_id(item: dict[str, object], expected: tuple[object, ...]) -> None:
    (got,) = results({"Operations": [item]}, ["user-1"]).values()
    assert (got.status, got.target_id, got.resource, got.detail) == expected


def test_results_that_are_missing_doubled_or_unasked_are_left_out() -> None:
    body = {
        "Operations": [
            {"bulkId": "user-1", "status": "201", "location": "https://t/Users/a"},
            {"bulkId": "user-2", "status": "201", "location": "https://t/Users/b"},
            {"bulkId": "user-2", "status": "201", "location": "https://t/Users/c"},
            {"bulkId": "user-9", "status": "201", "location": "https://t/Users/d"},
            "not an object",
            # A bulkId that is not text names no operation (and cannot be looked up in a set).
            {"bulkId": ["user-3"], "status": "201", "location": "https://t/Users/e"},
            {"bulkId": {"id": "user-3"}, "status": "201", "location": "https://t/Users/f"},
        ]
    }
    assert set(results(body, ["user-1", "user-2", "user-3"])) == {"user-1"}
    assert results("not a bulk response", ["user-1"]) == {}


def test_a_location_names_the_id_under_its_own_operations_endpoint() -> None:
    # A group's create is located under /Groups, a user's under /Users; a location under
    # the other endpoint (or the collection itself) names no id for it.
    body = {
        "Operations": [
            {"bulkId": "group-1", "status": "201", "location": "https://t/v2/Groups/g7"},
            {"bulkId": "user-2", "status": "201", "location": "https://t/v2/Users/u7"},
            {"bulkId": "user-3", "status": "201", "location": "https://t/v2/Groups/g8"},
            {"bulkId": "group-4", "status": "201", "location": "https://t/v2/Users/u9"},
            {"bulkId": "group-5", "status": "201", "location": "https://t/v2/Groups"},
        ]
    }
    got = results(body, ["group-1", "user-2", "user-3", "group-4", "group-5"])
    assert {k: r.target_id for k, r in got.items()} == {
        "group-1": "g7",
        "user-2": "u7",
        "user-3": None,
        "group-4": None,
        "group-5": None,
    }


def test_bulk_pays_for_enough_creates_after_a_complete_read_only() -> None:
    assert pays(True, MIN_CREATES, complete_read=True)
    assert not pays(True, MIN_CREATES - 1, complete_read=True)
    assert not pays(True, MIN_CREATES, complete_read=False)
    assert not pays(False, MIN_CREATES, complete_read=True)


def group(key: str, *nested: str, users: tuple[str, ...] = ()) -> Change:
    members = (*(Member(u, None) for u in users), *(Member(n, None, "Group") for n in nested))
    attributes = (AttrChange("displayName", None, key),)
    return Change(Kind.GROUP, key, Action.CREATE, "new", attributes=attributes, members_add=members)


def test_nested_groups_come_before_the_groups_that_hold_them() -> None:
    """A cycle (c ⊃ d ⊃ c) goes last, as listed: neither can name the other by bulkId, so
    its nesting is added once both exist."""
    changes = [group("all", "eng", "ops"), group("eng", "web"), group("web"), group("ops"),
               group("c", "d"), group("d", "c")]  # fmt: skip
    assert [c.key for c in nested_first(changes)] == ["web", "ops", "eng", "all", "c", "d"]


def test_a_packed_group_records_its_bulk_id_references_and_carried_users() -> None:
    """Each operation's dependencies (a failed one sends it per object) and the users it
    carried (the rest follow by PATCH): the first `chunk`, nested groups in what is left."""
    changes = nested_first([group("all", "eng", "ops", users=("a", "b", "c")), group("eng")])
    form = GroupForm(group_ids={"ops": "g-ops"}, chunk=4)
    batch = pack(changes, {"a": "ua", "b": "ub", "c": "uc"}, Limits(10, 100_000), form)
    assert batch.depends == {"eng": frozenset(), "all": frozenset({"eng"})}
    assert batch.users == {"eng": (), "all": ("ua", "ub", "uc")}
    members = batch.data["all"]["members"]
    assert members == [
        {"value": "ua"}, {"value": "ub"}, {"value": "uc"},
        {"value": "bulkId:group-1", "type": "Group"},
    ]  # fmt: skip
    # No room left for ops in the chunk of 4: it is added by PATCH once every group exists.
    assert batch.keys == {"group-1": "eng", "group-2": "all"}


def test_a_group_creates_no_members_where_the_target_takes_none_on_create() -> None:
    form = GroupForm(members_on_create=False)
    batch = pack([group("g", "h", users=("a",))], {"a": "ua"}, Limits(10, 100_000), form)
    assert "members" not in batch.data["g"] and batch.users == {"g": ()}
