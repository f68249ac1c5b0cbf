"""Values a read repeats, held once (reconciler/scim/sharing.py): what is shared, what is
never shared, and the invariant under both, that no value read changes."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.core.config import Auth, Target
from reconciler.core.model import ENTERPRISE_URN, USER_SCHEMA, Capabilities, Resource
from reconciler.scim.observe import observe
from reconciler.scim.sharing import Shared
from tests.fakescim import BASE_URL, FakeScim
from tests.scim.test_faults import RecordingLog, scim_client
from tests.scim.test_paging import Page, served


def parsed(body: dict[str, Any]) -> dict[str, Any]:
    """A body as a page's parse gives it: every string a fresh object."""
    fresh: dict[str, Any] = json.loads(json.dumps(body))
    return fresh


def read(users: list[dict[str, Any]], groups: list[dict[str, Any]]) -> Shared:
    shared = Shared()
    for body in users:
        shared.take(body)
    shared.users_read([Resource(body["id"], body) for body in users])
    for body in groups:
        shared.take(body)
    return shared


def test_member_entries_are_one_object_holding_the_users_own_id() -> None:
    ann = parsed({"id": "u-ann", "userName": "ann"})
    entry = {"value": "u-ann", "type": "User", "display": "Ann"}
    one = parsed({"id": "g1", "displayName": "One", "members": [entry]})
    two = parsed({"id": "g2", "displayName": "Two", "members": [{"value": "u-zed"}, entry]})
    read([ann], [one, two])
    assert one["members"][0] is two["members"][1]
    assert one["members"][0]["value"] is ann["id"]
    assert one["members"] == [entry] and two["members"] == [{"value": "u-zed"}, entry]
    # Entries of different users are two objects, but their `type` is one string.
    three = parsed({"id": "g3", "members": [{"value": "u-bo", "type": "User"}]})
    read([], [one, three])
    assert three["members"][0]["type"] is one["members"][0]["type"]


def test_equal_schemas_and_managers_are_one_object() -> None:
    def person(number: int) -> dict[str, Any]:
        return parsed(
            {
                "id": f"u{number}",
                "schemas": [USER_SCHEMA, ENTERPRISE_URN],
                ENTERPRISE_URN: {"department": "Legal", "manager": {"value": "u0"}},
            }
        )

    first, second = person(1), person(2)
    read([first, second], [])
    assert first["schemas"] is second["schemas"]
    assert first[ENTERPRISE_URN]["manager"] is second[ENTERPRISE_URN]["manager"]
    assert second[ENTERPRISE_URN] == {"department": "Legal", "manager": {"value": "u0"}}


def test_an_entry_with_anything_but_strings_is_kept_as_it_came() -> None:
    # True equals 1 and 1.0: an entry shared on equality alone could change a value's type.
    kinds: list[Any] = [True, 1, 1.0, None, ["x"], {"x": "y"}]
    for part in kinds:
        one = parsed({"id": "g1", "members": [{"value": "u1", "primary": part}]})
        two = parsed({"id": "g2", "members": [{"value": "u1", "primary": part}]})
        read([], [one, two])
        assert one["members"][0] is not two["members"][0], part
        assert type(two["members"][0]["primary"]) is type(part)
    truthy = parsed({"id": "g1", "members": [{"value": "u1", "primary": True}]})
    number = parsed({"id": "g2", "members": [{"value": "u1", "primary": 1}]})
    read([], [truthy, number])
    assert number["members"][0]["primary"].__class__ is int


def test_an_entry_with_other_strings_is_not_another_entrys() -> None:
    one = parsed({"id": "g1", "members": [{"value": "u1", "display": "Ann"}]})
    two = parsed({"id": "g2", "members": [{"value": "u1", "display": "Annie"}]})
    three = parsed({"id": "g3", "members": [{"value": 7}, "u1", None]})
    read([], [one, two, three])
    assert two["members"] == [{"value": "u1", "display": "Annie"}]
    assert three["members"] == [{"value": 7}, "u1", None]


def test_schemas_lists_other_than_strings_are_kept_and_any_number_of_lists_read() -> None:
    bodies = [parsed({"id": f"u{n}", "schemas": [f"urn:{n}"]}) for n in range(12)]
    bodies += [parsed({"id": "odd", "schemas": [USER_SCHEMA, 3]})]
    again = [parsed({"id": f"v{n}", "schemas": [f"urn:{n}"]}) for n in range(12)]
    read([*bodies, *again], [])
    assert [b["schemas"] for b in again] == [[f"urn:{n}"] for n in range(12)]
    assert bodies[0]["schemas"] is again[0]["schemas"]
    assert bodies[-1]["schemas"] == [USER_SCHEMA, 3]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=4),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)
PART = st.sampled_from(["u1", "u2", "User", "Group", ""]) | JSON
ENTRY = st.dictionaries(st.sampled_from(["value", "type", "display", "$ref"]), PART) | JSON
BODY = st.fixed_dictionaries(
    {"id": st.sampled_from(["u1", "u2", "g1", "g2"]) | JSON},
    optional={
        "schemas": st.lists(st.sampled_from([USER_SCHEMA, ENTERPRISE_URN]) | JSON, max_size=3)
        | JSON,
        "members": st.lists(ENTRY, max_size=4) | JSON,
        ENTERPRISE_URN: st.fixed_dictionaries({}, optional={"manager": ENTRY, "x": JSON}) | JSON,
        "title": JSON,
    },
)


@settings(max_examples=400, deadline=None)
@given(st.lists(BODY, max_size=6), st.lists(BODY, max_size=6))
def test_no_value_read_changes_whatever_the_target_sends(
    users: list[dict[str, Any]], groups: list[dict[str, Any]]
) -> None:
    """json.dumps tells true from 1 and 1.0, and one key order from another: a value shared
    with one of another type or order shows."""
    before = [json.dumps(b) for b in (*users, *groups)]
    shared = Shared()
    for body in users:
        shared.take(body)
    shared.users_read([Resource(str(b["id"]), b) for b in users])
    for body in groups:
        shared.take(body)
    assert [json.dumps(b) for b in (*users, *groups)] == before


def test_observe_reads_users_then_groups_through_one_shared_memo() -> None:
    listed_users = [{"id": "u1", "userName": "ann", "schemas": [USER_SCHEMA]}] * 2
    member = {"value": "u1", "type": "User"}
    listed_groups = [
        {"id": "g1", "displayName": "One", "members": [member]},
        {"id": "g2", "displayName": "Two", "members": [member]},
    ]

    def pages(params: dict[str, str], path: str) -> Page:
        first = params.get("startIndex") == "1"
        users = [dict(listed_users[0], id=f"u{n}", userName=f"n{n}") for n in (1, 2)]
        listed = listed_groups if path.endswith("/Groups") else users
        return 200, {"Resources": copy.deepcopy(listed) if first else [], "totalResults": 2}

    client, _ = served(pages, by_path=True)
    target = Target("fake", BASE_URL, Auth(), page_size=10)
    observed = observe(client, target, Capabilities(), RecordingLog())
    one, two = (g.body["members"][0] for g in observed.groups)
    assert one is two and one["value"] is observed.users[0].id
    assert observed.users[0].body["schemas"] is observed.users[1].body["schemas"]


@pytest.mark.parametrize("cursor", [True, False])
def test_a_read_by_cursor_or_by_index_shares_the_same_way(cursor: bool) -> None:
    fake = FakeScim()
    ann = fake.add_user("ann@example.com")
    fake.add_group("One", [ann])
    fake.add_group("Two", [ann])
    fake.paging(cursor=cursor, index=not cursor)
    target = Target("fake", BASE_URL, Auth(), page_size=10)
    caps = Capabilities(cursor_paging=cursor)
    observed = observe(scim_client(fake), target, caps, RecordingLog())
    one, two = (g.body["members"][0] for g in observed.groups)
    assert one is two and one["value"] is observed.users[0].id
    assert any("cursor" in s.params for s in fake.requests) is cursor


def test_an_entry_in_another_key_order_keeps_its_own_order() -> None:
    # Equal as dicts, but not the same text: a body shared across key orders would no
    # longer be the one the target sent (json.dumps, a yaml dump, a PUT sent back).
    ann = parsed({"id": "u-ann", "userName": "ann"})
    one = parsed({"id": "g1", "members": [{"value": "u-ann", "type": "User"}]})
    two = parsed({"id": "g2", "members": [{"type": "User", "value": "u-ann"}]})
    three = parsed({"id": "g3", "members": [{"value": "u-ann"}, two["members"][0].copy()]})
    boss = {"manager": {"value": "u-ann", "displayName": "Ann"}}
    reports = [
        parsed({"id": f"u{n}", ENTERPRISE_URN: manager})
        for n, manager in enumerate([boss, {"manager": dict(reversed(boss["manager"].items()))}])
    ]
    before = [json.dumps(b) for b in (ann, *reports, one, two, three)]
    read([ann, *reports], [one, two, three])
    assert [json.dumps(b) for b in (ann, *reports, one, two, three)] == before


@pytest.mark.parametrize("orders", [1, 9, 12])
def test_a_group_all_in_another_key_order_keeps_it_however_many_orders_were_kept(
    orders: int,
) -> None:
    # Every member of the last group is equal to an entry kept before and all are in one
    # key order, but not the kept entries' order: the group must keep its own entries.
    # Before it, other entries are kept in `orders` key orders: up to eight are followed
    # one by one (sharing.py `_ORDERS`), past that every entry is compared on its own.
    users = [parsed({"id": f"u{n}", "userName": f"user{n}"}) for n in range(3)]
    users += [parsed({"id": f"v{k}", "userName": f"other{k}"}) for k in range(orders - 1)]
    first = parsed({"id": "g0", "members": [{"value": f"u{n}", "type": "User"} for n in range(3)]})
    others = [
        parsed({"id": f"h{k}", "members": [{"value": f"v{k}", "type": "User", f"k{k}": "x"}]})
        for k in range(orders - 1)
    ]
    same = parsed({"id": "g1", "members": [{"value": f"u{n}", "type": "User"} for n in range(3)]})
    turned = parsed({"id": "g2", "members": [{"type": "User", "value": f"u{n}"} for n in range(3)]})
    before = [json.dumps(b) for b in (*others, same, turned)]
    read(users, [first, *others, same, turned])
    assert [json.dumps(b) for b in (*others, same, turned)] == before
    # The group in the kept order is still shared: its entries are the first group's.
    assert all(a is b for a, b in zip(same["members"], first["members"], strict=True))
    assert not any(a is b for a, b in zip(turned["members"], first["members"], strict=True))
