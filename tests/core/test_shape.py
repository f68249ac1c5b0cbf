"""Target data of an unexpected shape is one object in error, never a crash (issue 12 §8).

A table of the shapes seen from hostile or broken targets, then generated ones: whatever
a target returns for one object, planning finishes, that object is in error with the
offending path, and every other object is planned as usual.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.core.memberlist import PlainMembers
from reconciler.core.model import ENTERPRISE_URN, MASKED, Kind, Observed, Resource
from reconciler.core.plan import make_plan
from reconciler.core.shape import problem, shaped
from reconciler.core.spelling import respelled
from tests.core.test_plan import TARGET, group_res, load, user_res

SPEC = (
    TARGET
    + "    prune: all\n"
    + "users:\n"
    + "  - userName: a@example.com\n    emails: [{value: a@example.com, type: work}]\n"
    + "    name: {givenName: A}\n    enterprise: {department: X}\n"
    + "  - userName: b@example.com\n    title: T\n"
    + "groups:\n  - displayName: G\n    members: [a@example.com, b@example.com]\n"
)

BAD_USERS: list[tuple[str, dict[str, Any], str]] = [
    ("emails-mixed", {"emails": ["a@x", None, 5]}, "emails[0]: expected an object, got a string"),
    ("emails-not-list", {"emails": "a@x"}, "emails: expected a list, got a string"),
    ("email-value-number", {"emails": [{"value": 5}]}, "emails[0].value: expected a string"),
    ("primary-string", {"emails": [{"value": "a", "primary": "yes"}]}, "emails[0].primary"),
    ("name-string", {"name": "A"}, "name: expected an object, got a string"),
    ("name-part-list", {"name": {"givenName": ["A"]}}, "name.givenName: expected a string"),
    ("active-string", {"active": "no"}, "active: expected true or false, got a string"),
    ("title-object", {"title": {"x": 1}}, "title: expected a string, got an object"),
    ("enterprise-list", {ENTERPRISE_URN: [1]}, "enterprise: expected an object, got a list"),
    ("manager-number", {ENTERPRISE_URN: {"manager": 7}}, "enterprise.manager"),
    ("title-lone-surrogate", {"title": "T\ud800"}, "title: expected Unicode text, got a lone"),
    (
        "email-part-lone-surrogate",
        {"emails": [{"value": "a@example.com", "type": "work", "display": "\udfff"}]},
        "emails[0].display: expected Unicode text, got a lone surrogate",
    ),
    (
        "unread-attribute-lone-surrogate",  # never read, but the object is printed and filed
        {"x": ["ok", {"y": "\ud800"}]},
        "x[1].y: expected Unicode text, got a lone surrogate",
    ),
    (
        "attribute-name-lone-surrogate",
        {"x\ud800": 1},
        "x\\ud800: expected Unicode text, got a lone surrogate in a name",
    ),
    (
        "number-past-a-double",  # 1e400 reads as infinity, which no JSON can write back
        {ENTERPRISE_URN: {"department": "X", "costCenter": float("inf")}},
        f"{ENTERPRISE_URN}.costCenter: expected a number, got one out of range",
    ),
    (
        "manager-value-object",
        {ENTERPRISE_URN: {"manager": {"value": {"id": "u-b"}}}},
        "enterprise.manager.value: expected a string, got an object",
    ),
]
BAD_GROUPS: list[tuple[str, Any, str]] = [
    ("members-null-list", [None], "members[0]: expected an object, got null"),
    ("members-dict", {"value": "u-a"}, "members: expected a list, got an object"),
    ("members-string", "u-a", "members: expected a list, got a string"),
    ("member-value-list", [{"value": ["u-a"]}], "members[0].value: expected an id, got a list"),
    ("member-value-null", [{"value": None}], "members[0].value: expected an id, got null"),
    (
        "member-value-lone-surrogate",
        [{"value": "u-a"}, {"value": "\ud800"}],
        "members[1].value: expected Unicode text, got a lone surrogate",
    ),
]


def users(**broken: Any) -> tuple[Resource, ...]:
    as_declared: dict[str, Any] = {
        "emails": [{"value": "a@example.com", "type": "work"}],
        "name": {"givenName": "A"},
        ENTERPRISE_URN: {"department": "X"},
    }
    return (
        user_res("u-a", "a@example.com", **(as_declared | broken)),
        user_res("u-b", "b@example.com", title="T"),
    )


@pytest.mark.parametrize(("case", "body", "found"), BAD_USERS, ids=[c[0] for c in BAD_USERS])
def test_a_malformed_user_is_one_object_in_error(
    tmp_path: Path, case: str, body: dict[str, Any], found: str
) -> None:
    spec = load(tmp_path, SPEC)
    groups = (group_res("g", "G", ["u-a", "u-b"]),)
    plan = make_plan(spec, spec.targets["t"], Observed(users(**body), groups))
    [error] = plan.errors
    assert (error.kind, error.key, error.step) == (Kind.USER, "a@example.com", "match")
    assert error.message.startswith("the target's user u-a cannot be read: ")
    assert found in error.message
    # Nothing decided from it: not created anew, not pruned, not removed from its group;
    # b is planned as usual (a no-op).
    assert plan.changes == ()
    assert plan.noop == 2


@pytest.mark.parametrize(("case", "members", "found"), BAD_GROUPS, ids=[c[0] for c in BAD_GROUPS])
def test_a_group_with_malformed_members_is_one_object_in_error(
    tmp_path: Path, case: str, members: Any, found: str
) -> None:
    spec = load(tmp_path, SPEC)
    group = group_res("g", "G")
    group = Resource(group.id, {**group.body, "members": members})
    plan = make_plan(spec, spec.targets["t"], Observed(users(), (group,)))
    [error] = plan.errors
    assert (error.kind, error.key) == (Kind.GROUP, "G")
    assert found in error.message
    assert plan.changes == ()


def test_an_unreadable_stray_is_reported_not_pruned(tmp_path: Path) -> None:
    spec = load(tmp_path, SPEC)
    stray = user_res("u-s", "s@example.com", emails=[None])
    groups = (group_res("g", "G", ["u-a", "u-b"]),)
    plan = make_plan(spec, spec.targets["t"], Observed((*users(), stray), groups))
    assert [c.action for c in plan.changes] == []
    [error] = plan.errors
    # Found while reading what the target holds (the step a plan names), not in matching.
    assert (error.kind, error.key, error.step) == (Kind.USER, "u-s", "import")
    assert "emails[0]: expected an object, got null" in error.message


@pytest.mark.parametrize("prune", ["", "    prune: all\n"], ids=["prune-none", "prune-all"])
def test_an_unreadable_member_no_group_declares_is_not_removed(tmp_path: Path, prune: str) -> None:
    # The one user in error is an undeclared member of a declared group: who that account
    # is cannot be read, so the group keeps it (core/group_plan.py shields users in error,
    # asked only where some user has a problem).
    spec = load(tmp_path, SPEC.replace("    prune: all\n", prune))
    stray = user_res("u-s", "s@example.com", emails=[None])
    groups = (group_res("g", "G", ["u-a", "u-b", "u-s"]),)
    plan = make_plan(spec, spec.targets["t"], Observed((*users(), stray), groups))
    assert [m.id for c in plan.changes for m in c.members_remove] == []
    assert [c.action for c in plan.changes] == []
    # Reported where prune would have decided about the account; planned nothing either way.
    assert [(e.key, e.step) for e in plan.errors] == ([("u-s", "import")] if prune else [])
    # Readable, the same undeclared member leaves the group.
    readable = user_res("u-s", "s@example.com")
    plan = make_plan(spec, spec.targets["t"], Observed((*users(), readable), groups))
    assert [m.id for c in plan.changes for m in c.members_remove] == ["u-s"]


def test_well_formed_bodies_have_no_problem() -> None:
    assert (
        problem(Kind.USER, user_res("u", "a@x.io", emails=[{"value": "a", "primary": True}]).body)
        is None
    )
    assert (
        problem(Kind.GROUP, group_res("g", "G", ["u", {"value": 7, "type": "User"}]).body) is None
    )


@pytest.mark.parametrize(
    ("kind", "body", "where"),
    [
        (Kind.USER, {"userName": "a", "emails": [{"Value": "a@x.io"}]}, "emails[0].Value"),
        (Kind.USER, {"userName": "a", "name": {"GIVENNAME": "A"}}, "name.GIVENNAME"),
        (Kind.USER, {"userName": "a", ENTERPRISE_URN: {"Manager": {"value": "u"}}}, "Manager"),
        (
            Kind.GROUP,
            {"displayName": "G", "members": [{"value": "u"}, {"VALUE": "v"}]},
            "[1].VALUE",
        ),
    ],
)
def test_a_nested_name_in_another_case_is_refused_alone_and_read_by_a_plan(
    kind: Kind, body: dict[str, Any], where: str
) -> None:
    # Any reader but the plan's is told the body cannot be read as it is...
    found = problem(kind, body)
    assert found is not None and where in found, found
    # ...and a plan reads it in its RFC spelling, with no problem.
    resource = Resource("x", {"id": "x", **body})
    held = (resource,) if kind is Kind.USER else ()
    observed = shaped(Observed(held, () if kind is Kind.USER else (resource,)))
    [read] = observed.users if kind is Kind.USER else observed.groups
    assert read.problem is None and read.body == respelled(resource.body) != resource.body
    # Beside its RFC spelling, the other is kept and the RFC one read: nothing to refuse.
    assert (
        problem(Kind.USER, {"userName": "a", "name": {"givenName": "A", "GivenName": "B"}}) is None
    )


# Text with a lone surrogate now and then: legal JSON ("\\ud800"), and no Unicode.
TEXT = st.text(max_size=8) | st.sampled_from(["\ud800", "a\udfff"])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)
ATTRIBUTES = st.sampled_from(
    ["userName", "emails", "name", "active", "title", "phoneNumbers", ENTERPRISE_URN, "x"]
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(user=st.dictionaries(ATTRIBUTES, JSON, max_size=5), members=JSON)
def test_whatever_the_target_returns_planning_finishes(
    tmp_path: Path, user: dict[str, Any], members: Any
) -> None:
    spec = load(tmp_path, SPEC)
    hostile = Resource("u-a", {"id": "u-a", "userName": "a@example.com", **user})
    group = Resource("g", {"id": "g", "displayName": "G", "members": members})
    plan = make_plan(spec, spec.targets["t"], Observed((hostile, users()[1]), (group,)))
    # b is always planned as usual, and a is either planned or in error, never both.
    assert all(c.key != "b@example.com" for c in plan.changes)
    a_errors = [e for e in plan.errors if e.key == "a@example.com"]
    a_changes = [c for c in plan.changes if c.key == "a@example.com"]
    assert not (a_errors and a_changes)
    # Nothing is ever written to an object that cannot be read (its nested names in
    # another case are read in their RFC spelling first).
    if problem(Kind.USER, cast(dict[str, Any], respelled(hostile.body))) is not None:
        assert all(c.target_id != "u-a" for c in plan.changes)
    if problem(Kind.GROUP, group.body) is not None:
        assert all(c.target_id != "g" for c in plan.changes)
    # And it renders; what it says of an unreadable object is Unicode text (its messages
    # escape what is not).
    json.dumps(plan.to_json(), ensure_ascii=False).encode("utf-8")


@pytest.mark.parametrize(
    ("value", "found"),
    [
        (None, "null"),
        (True, "true"),
        (False, "false"),
        (7, "a number"),
        (1.5, "a number"),
        ("", "an empty string"),
        ([], "a list"),
        ({}, "an object"),
    ],
)
def test_what_was_found_is_named_without_its_content(value: Any, found: str) -> None:
    # A message names the kind of value found, short and safe to print, not the value.
    assert problem(Kind.USER, {"userName": value}) == (
        f"userName: expected a non-empty string, got {found}"
    )
    assert problem(Kind.GROUP, {"displayName": value}) == (
        f"displayName: expected a non-empty string, got {found}"
    )


def test_a_member_id_a_secret_was_masked_in_puts_the_group_in_error() -> None:
    # Read masked, the id is one the target does not hold: looked up, found by no one, it
    # would be removed by a value that removes nothing, in every plan. Plain or not.
    for members in (
        [{"value": "u1"}, {"value": f"x{MASKED}"}],
        [{"value": MASKED, "type": "Group"}],
    ):
        found = problem(Kind.GROUP, {"displayName": "Eng", "members": members})
        assert found == "members: holds a secret of this run, masked in what the target sent"
    read = PlainMembers([{"value": f"{MASKED}y"}], (f"{MASKED}y",))
    assert problem(Kind.GROUP, {"displayName": "Eng", "members": read}) is not None
    assert problem(Kind.GROUP, {"displayName": "Eng", "members": [{"value": "u1"}, "x", 5]}) != (
        "members: holds a secret of this run, masked in what the target sent"
    )
