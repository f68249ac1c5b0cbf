"""A member list found plain as it is read (core/memberlist.py) is decided as the full rules
decide it: the shape check, the members the listing cannot explain, and the users a group
holds come out the same for the list as read (a PlainMembers, through scim/sharing.py) and
for a plain list of the same entries, whatever the entries are."""

from __future__ import annotations

import copy
import json
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.core.memberlist import PlainMembers, plain, plain_values
from reconciler.core.members import Directory
from reconciler.core.model import Kind, Observed, Resource
from reconciler.core.shape import problem
from reconciler.scim.sharing import Shared

USER_IDS = ("u1", "u2", "7")
USERS = tuple(Resource(i, {"id": i, "userName": f"{i}@example.com"}) for i in USER_IDS)
OBSERVED = Observed(users=USERS, groups=(Resource("g1", {"displayName": "G"}),))

VALUES = st.sampled_from([*USER_IDS, "g1", "who", "", 7, True, None, ["u1"]])
TYPES = st.sampled_from([None, "User", "user", "Group", "", 5, ["User"]])
REFS = st.sampled_from([None, "https://t.example/scim/v2/Users/u2", "", {"a": 1}])
_PARTS = st.sets(st.sampled_from(["value", "type", "$ref", "display", "Type", "x"]))
ENTRY = st.builds(
    lambda value, kind, ref, keys: {
        k: v
        for k, v in (
            ("value", value),
            ("type", kind),
            ("$ref", ref),
            ("display", "D"),
            ("Type", "Group"),
            ("x", "y"),
        )
        if k in keys
    },
    VALUES,
    TYPES,
    REFS,
    _PARTS,
)
# Mostly plain entries, so that plain lists are drawn often; and now and then no object.
PLAIN = st.builds(lambda v, typed: {"value": v, "type": "User"} if typed else {"value": v},
                  st.sampled_from([*USER_IDS, "who", ""]), st.booleans())  # fmt: skip
MEMBERS = st.lists(PLAIN | ENTRY | st.sampled_from(["u1", 7, None]), max_size=6)


def _by_hand(members: list[Any]) -> frozenset[str] | None:
    """What plain means, one entry at a time."""
    for m in members:
        if type(m) is not dict or type(m.get("value")) is not str or not m["value"]:
            return None
        if m.get("$ref") is not None or m.get("type") not in (None, "User"):
            return None
        if not set(m) <= {"value", "type", "display"}:  # a `Type` would read as no type
            return None
    return frozenset(m["value"] for m in members)


def _read(members: list[Any], times: int = 1) -> dict[str, Any]:
    """A group body as a read leaves it: parsed, then shared (the last of `times` groups
    holding these members, so its entries are the first group's)."""
    shared = Shared()
    shared.users_read(USERS)
    for _ in range(times):
        body: dict[str, Any] = json.loads(json.dumps({"displayName": "G", "members": members}))
        shared.take(body)
    return body


@settings(max_examples=500, deadline=None)
@given(MEMBERS)
def test_plain_is_what_each_entry_says(members: list[Any]) -> None:
    try:
        expected = _by_hand(members)
    except TypeError:  # an unhashable type: compared the long way, it is no "User"
        expected = None
    assert plain(members) is (expected is not None)
    # The values, in order, for the reader that goes on with them (scim/sharing.py).
    assert plain_values(members) == (None if expected is None else [m["value"] for m in members])
    read = _read(members, times=2)["members"]
    assert (read.__class__ is PlainMembers) is (expected is not None)
    if read.__class__ is PlainMembers:
        assert frozenset(read.values) == expected and len(read.values) == len(read)
        # The strings the list's entries hold (a user's own id, where shared), not the
        # page's copies of them, which the values would otherwise keep alive.
        assert {id(v) for v in read.values} <= {id(m["value"]) for m in read}


@settings(max_examples=500, deadline=None)
@given(st.lists(MEMBERS, min_size=1, max_size=4))
def test_a_list_read_plain_is_decided_as_the_same_entries_in_a_list(
    groups: list[list[Any]],
) -> None:
    directory = Directory(OBSERVED)
    read = [_read(members) for members in groups]
    listed = [{**body, "members": list(body["members"])} for body in read]
    assert all(body["members"].__class__ is list for body in listed)
    for fast, slow in zip(read, listed, strict=True):
        assert problem(Kind.GROUP, fast) == problem(Kind.GROUP, slow)
        assert directory.plain_users(fast) == directory.plain_users(slow)
    assert directory.unresolved(read) == directory.unresolved(listed)


def test_a_plain_list_is_never_changed_and_its_copies_are_lists() -> None:
    members = PlainMembers([{"value": "u1"}], ("u1",))
    changes: tuple[Callable[[], object], ...] = (
        lambda: members.append({"value": "u2"}),
        lambda: members.extend([]),
        lambda: members.__setitem__(0, {"value": "u2"}),
        lambda: members.__delitem__(0),
        lambda: members.pop(0),
        lambda: members.sort(key=str),
    )
    for change in changes:
        with pytest.raises(TypeError):
            change()
    with pytest.raises(TypeError):
        members += [{"value": "u2"}]
    assert members == [{"value": "u1"}] and members.values == ("u1",)
    for copied in (copy.copy(members), copy.deepcopy(members)):
        assert copied.__class__ is list and copied == members
        copied.append({"value": "u2"})  # a PUT body built from the read may add to it
    assert copy.deepcopy(members)[0] is not members[0]
    assert json.dumps(members) == '[{"value": "u1"}]'
    # Only what a JSON parse gives is read so: another mapping takes the long way.
    assert not plain([OrderedDict(value="u1")])
