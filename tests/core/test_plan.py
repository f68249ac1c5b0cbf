"""Table-driven tests of the pure planner: `make_plan`, the safety guards and the text rendering."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from reconciler.core.config import Spec
from reconciler.core.mapping import NO_PATHS
from reconciler.core.model import (
    ENTERPRISE_URN,
    GROUP_SCHEMA,
    USER_SCHEMA,
    Json,
    Kind,
    Observed,
    Resource,
)
from reconciler.core.plan import Action, Plan, make_plan
from reconciler.report.markdown import plan_markdown
from reconciler.report.render import plan_text
from reconciler.spec.load import load_spec

URL = "http://127.0.0.1:9/scim/v2"
TARGET = f"targets:\n  t:\n    url: {URL}\n"


def load(root: Path, text: str) -> Spec:
    (root / "spec.yaml").write_text(text, encoding="utf-8")
    return load_spec(root)


def plan_for(spec: Spec, users: Iterable[Resource] = (), groups: Iterable[Resource] = ()) -> Plan:
    return make_plan(spec, spec.targets["t"], Observed(tuple(users), tuple(groups)))


def user_res(rid: str, user_name: str, version: str | None = None, **attrs: Json) -> Resource:
    """A user as a target returns it, with the server-owned attributes scimrec must ignore."""
    body = {
        "schemas": [USER_SCHEMA],
        "id": rid,
        "userName": user_name,
        "meta": {"resourceType": "User", "created": "2024-01-01T00:00:00Z"},
        "groups": [{"value": "g-somewhere", "display": "Somewhere"}],
        **attrs,
    }
    return Resource(rid, body, version)


def group_res(rid: str, name: str, members: Iterable[Json] = (), **attrs: Json) -> Resource:
    """A group; a member given as a string is a user id, otherwise it is sent as written."""
    listed = [{"value": m, "display": m.upper()} if isinstance(m, str) else m for m in members]
    body = {"schemas": [GROUP_SCHEMA], "id": rid, "displayName": name, **attrs}
    if listed:
        body["members"] = listed
    return Resource(rid, body)


def source(root: Path, line: int) -> dict[str, Any]:
    return {"file": (root / "spec.yaml").as_posix(), "line": line, "col": 5}


def keyed(plan: Plan) -> list[tuple[str, str, str]]:
    return [(c.kind.value, c.key, c.action.value) for c in plan.changes]


SUMMARY_ZERO = {"create": 0, "update": 0, "disable": 0, "delete": 0, "noop": 0, "error": 0}

# -- creates and no-ops ---------------------------------------------------------------------------

TWO_USERS_ONE_GROUP = TARGET + (
    "users:\n"
    "  - userName: alice@example.com\n"  # line 5
    "    name: {givenName: Alice}\n"
    "    title: null\n"
    "    emails: [{value: alice@example.com, type: work, primary: true}]\n"
    "    enterprise: {department: Eng, manager: bob@example.com}\n"
    "  - userName: bob@example.com\n"  # line 10
    "    active: true\n"
    "groups:\n"
    "  - displayName: Eng\n"  # line 13
    "    members: [alice@example.com, bob@example.com]\n"
)


def test_empty_target_gets_creates_users_first(tmp_path: Path) -> None:
    spec = load(tmp_path, TWO_USERS_ONE_GROUP)
    assert plan_for(spec).to_json() == {
        "format_version": 1,
        "target": {"name": "t", "url": URL},
        "summary": SUMMARY_ZERO | {"create": 3},
        "changes": [
            {
                "kind": "user",
                "key": "alice@example.com",
                "action": "create",
                "reason": "not found on target",
                "target_id": None,
                "matched_on": None,
                "version": None,
                # Sorted by path; the explicit `title: null` has nothing to clear yet.
                "attributes": [
                    {
                        "path": "emails",
                        "before": None,
                        "after": [{"value": "alice@example.com", "type": "work", "primary": True}],
                    },
                    {"path": "enterprise.department", "before": None, "after": "Eng"},
                    # The manager is created in this run: its id is not known yet.
                    {
                        "path": "enterprise.manager",
                        "before": None,
                        "after": None,
                        "ref": "bob@example.com",
                    },
                    {"path": "name.givenName", "before": None, "after": "Alice"},
                    {"path": "userName", "before": None, "after": "alice@example.com"},
                ],
                "source": source(tmp_path, 5),
            },
            {
                "kind": "user",
                "key": "bob@example.com",
                "action": "create",
                "reason": "not found on target",
                "target_id": None,
                "matched_on": None,
                "version": None,
                "attributes": [
                    {"path": "active", "before": None, "after": True},
                    {"path": "userName", "before": None, "after": "bob@example.com"},
                ],
                "source": source(tmp_path, 10),
            },
            {
                "kind": "group",
                "key": "Eng",
                "action": "create",
                "reason": "not found on target",
                "target_id": None,
                "matched_on": None,
                "version": None,
                "attributes": [{"path": "displayName", "before": None, "after": "Eng"}],
                "members": {
                    "add": [
                        {"key": "alice@example.com", "id": None},
                        {"key": "bob@example.com", "id": None},
                    ],
                    "remove": [],
                },
                "source": source(tmp_path, 13),
            },
        ],
        "errors": [],
        "guards": [],
        "notes": [],
        "complete_read": True,
        "out_of_scope": [],
    }


def matching_target() -> tuple[list[Resource], list[Resource]]:
    """The target state TWO_USERS_ONE_GROUP declares, plus much it does not declare."""
    alice = user_res(
        "u-alice",
        "alice@example.com",
        'W/"3"',
        name={"givenName": "Alice", "familyName": "Wong", "formatted": "Alice Wong"},
        emails=[{"value": "alice@example.com", "type": "work", "primary": True, "display": "A"}],
        nickName="Al",
        active=True,
        **{
            ENTERPRISE_URN: {
                "department": "Eng",
                "costCenter": "42",
                "manager": {"value": "u-bob", "displayName": "Bob", "$ref": "../Users/u-bob"},
            }
        },
    )
    bob = user_res("u-bob", "bob@example.com", active=True, title="Boss")
    eng = group_res(
        "g-eng",
        "Eng",
        ["u-alice", {"value": "u-bob", "type": "User", "$ref": "../Users/u-bob"}],
        externalId="eng-42",
    )
    return [alice, bob], [eng]


def test_matching_target_has_no_changes(tmp_path: Path) -> None:
    spec = load(tmp_path, TWO_USERS_ONE_GROUP)
    users, groups = matching_target()
    plan = plan_for(spec, users, groups)
    assert plan.to_json() == {
        "format_version": 1,
        "target": {"name": "t", "url": URL},
        "summary": SUMMARY_ZERO | {"noop": 3},
        "changes": [],
        "errors": [],
        "guards": [],
        "notes": [],
        "complete_read": True,
        "out_of_scope": [],
    }
    assert plan_text(plan.to_json()) == (
        f'Target "t" ({URL})\n\nNo changes. The target matches the spec (3 objects checked).\n'
    )
    # After a read that was not complete, what it did not show was not compared.
    short = plan_text({**plan.to_json(), "complete_read": False})
    assert short.endswith(
        "No changes. The target matches the spec as far as it was read (3 objects checked); "
        "the read was not complete: see the notes.\n"
    )
    markdown = plan_markdown({**plan.to_json(), "complete_read": False})
    assert "matches the spec as far as it was read (3 objects checked)" in markdown


def test_observed_notes_are_carried_into_the_plan(tmp_path: Path) -> None:
    spec = load(tmp_path, TWO_USERS_ONE_GROUP)
    users, groups = matching_target()
    observed = Observed(tuple(users), tuple(groups), notes=("filter not honoured",))
    plan = make_plan(spec, spec.targets["t"], observed)
    assert plan.to_json()["notes"] == ["filter not honoured"]


def test_incomplete_read_withholds_deprovisions_and_member_removals(tmp_path: Path) -> None:
    spec = load(
        tmp_path,
        TARGET + "users:\n  - userName: alice@example.com\n"
        "  - userName: mallory@example.com\n    state: absent\n"
        "groups:\n  - displayName: Eng\n    members: [alice@example.com]\n",
    )
    users = (
        user_res("u-m", "mallory@example.com", active=True),
        user_res("u-b", "bob@example.com"),
    )
    groups = (group_res("g-eng", "Eng", ["u-b"]),)
    full = make_plan(spec, spec.targets["t"], Observed(users, groups))
    assert keyed(full) == [
        ("user", "alice@example.com", "create"),
        ("group", "Eng", "update"),
        ("user", "mallory@example.com", "disable"),
    ]
    short = make_plan(spec, spec.targets["t"], Observed(users, groups, complete=False)).to_json()
    # A short read may have missed what makes bob a member and mallory's state: nothing
    # is taken away.
    assert [(c["key"], c["action"]) for c in short["changes"]] == [
        ("alice@example.com", "create"),
        ("Eng", "update"),
    ]
    assert short["changes"][1]["members"] == {
        "add": [{"key": "alice@example.com", "id": None}],
        "remove": [],
    }
    assert short["complete_read"] is False
    [note] = short["notes"]
    assert "2 deprovision(s) and member removal(s) are withheld" in note


def test_case_variant_user_name_is_adopted(tmp_path: Path) -> None:
    spec = load(tmp_path, TARGET + "users:\n  - userName: Alice@Example.COM\n")
    plan = plan_for(spec, [user_res("u1", "alice@example.com")])
    assert plan.changes == ()
    assert plan.summary == SUMMARY_ZERO | {"noop": 1}
    match = plan.matches[(Kind.USER, "Alice@Example.COM")]
    assert match.matched_on == "userName"
    assert match.resource is not None
    assert match.resource.id == "u1"


# -- attribute diffs ----------------------------------------------------------------------------

EMAILS = (
    "    emails:\n"
    "      - {value: a@example.com, type: work, primary: true}\n"
    "      - {value: b@example.com, type: home}\n"
)
DECLARED_EMAILS = [
    {"value": "a@example.com", "type": "work", "primary": True},
    {"value": "b@example.com", "type": "home"},
]

# (declared lines under alice, observed attributes of alice, expected attribute changes or None)
ATTRIBUTE_CASES: list[tuple[str, str, dict[str, Json], list[dict[str, Json]] | None]] = [
    (
        "changed-attribute",
        "    title: Staff Engineer\n",
        {"title": "Engineer", "nickName": "Al"},
        [{"path": "title", "before": "Engineer", "after": "Staff Engineer"}],
    ),
    (
        "undeclared-attributes-ignored",
        "",
        {
            "title": "Engineer",
            "nickName": "Al",
            "name": {"givenName": "A"},
            "emails": [{"value": "x@example.com"}],
            ENTERPRISE_URN: {"department": "Sales"},
        },
        None,
    ),
    (
        "changed-name-part-other-parts-ignored",
        "    name: {givenName: Alice}\n",
        {"name": {"givenName": "Al", "familyName": "Wong"}},
        [{"path": "name.givenName", "before": "Al", "after": "Alice"}],
    ),
    (
        "newly-declared-attribute",
        "    displayName: Alice Wong\n",
        {},
        [{"path": "displayName", "before": None, "after": "Alice Wong"}],
    ),
    (
        "explicit-null-clears",
        "    title: null\n",
        {"title": "Engineer"},
        [{"path": "title", "before": "Engineer", "after": None}],
    ),
    ("explicit-null-already-clear", "    title: null\n", {}, None),
    (
        "explicit-null-in-enterprise",
        "    enterprise: {department: null}\n",
        {ENTERPRISE_URN: {"department": "Sales", "costCenter": "7"}},
        [{"path": "enterprise.department", "before": "Sales", "after": None}],
    ),
    (
        "enterprise-attribute-added",
        "    enterprise: {department: Eng}\n",
        {},
        [{"path": "enterprise.department", "before": None, "after": "Eng"}],
    ),
    (
        "active-flipped",
        "    active: false\n",
        {"active": True},
        [{"path": "active", "before": True, "after": False}],
    ),
    (
        "manager-changed",
        "    enterprise: {manager: bob@example.com}\n",
        {ENTERPRISE_URN: {"manager": {"value": "u-old"}}},
        [
            {
                "path": "enterprise.manager",
                "before": "u-old",
                "after": "u-bob",
                "ref": "bob@example.com",
            }
        ],
    ),
    (
        "manager-unchanged",
        "    enterprise: {manager: bob@example.com}\n",
        {ENTERPRISE_URN: {"manager": {"value": "u-bob", "displayName": "Bob"}}},
        None,
    ),
    (
        "emails-in-another-order-with-undeclared-sub-attributes",
        EMAILS,
        {
            "emails": [
                {"value": "b@example.com", "type": "home", "primary": False, "display": "B"},
                {"value": "a@example.com", "type": "work", "primary": True, "display": "A"},
            ]
        },
        None,
    ),
    (
        "emails-one-missing",
        EMAILS,
        {"emails": [{"value": "a@example.com", "type": "work", "primary": True}]},
        [
            {
                "path": "emails",
                "before": [{"value": "a@example.com", "type": "work", "primary": True}],
                "after": DECLARED_EMAILS,
            }
        ],
    ),
    (
        "emails-one-extra",
        EMAILS,
        {"emails": [*DECLARED_EMAILS, {"value": "c@example.com", "type": "other"}]},
        [
            {
                "path": "emails",
                "before": [*DECLARED_EMAILS, {"value": "c@example.com", "type": "other"}],
                "after": DECLARED_EMAILS,
            }
        ],
    ),
    (
        "emails-type-differs",
        EMAILS,
        {
            "emails": [
                {"value": "a@example.com", "type": "work", "primary": True},
                {"value": "b@example.com", "type": "work"},
            ]
        },
        [
            {
                "path": "emails",
                "before": [
                    {"value": "a@example.com", "type": "work", "primary": True},
                    {"value": "b@example.com", "type": "work"},
                ],
                "after": DECLARED_EMAILS,
            }
        ],
    ),
    (
        "emails-primary-moved",
        EMAILS,
        {
            "emails": [
                {"value": "a@example.com", "type": "work"},
                {"value": "b@example.com", "type": "home", "primary": True},
            ]
        },
        [
            {
                "path": "emails",
                "before": [
                    {"value": "a@example.com", "type": "work"},
                    {"value": "b@example.com", "type": "home", "primary": True},
                ],
                "after": DECLARED_EMAILS,
            }
        ],
    ),
    (
        "emails-null-clears",
        "    emails: null\n",
        {"emails": [{"value": "a@example.com"}]},
        [{"path": "emails", "before": [{"value": "a@example.com"}], "after": None}],
    ),
]


@pytest.mark.parametrize(
    ("declared", "observed", "expected"),
    [pytest.param(d, o, e, id=i) for i, d, o, e in ATTRIBUTE_CASES],
)
def test_update_changes_only_declared_attributes(
    tmp_path: Path,
    declared: str,
    observed: dict[str, Json],
    expected: list[dict[str, Json]] | None,
) -> None:
    spec = load(
        tmp_path,
        TARGET
        + "users:\n  - userName: alice@example.com\n"
        + declared
        # bob is only there to be alice's manager; he matches the target exactly.
        + "  - userName: bob@example.com\n",
    )
    users = [
        user_res("u-alice", "alice@example.com", 'W/"7"', **observed),
        user_res("u-bob", "bob@example.com"),
    ]
    plan = plan_for(spec, users).to_json()
    if expected is None:
        assert plan["changes"] == []
        assert plan["summary"] == SUMMARY_ZERO | {"noop": 2}
        return
    [change] = plan["changes"]
    # Taking `active` away is a disable, whatever produced it (DESIGN §6).
    action = (
        "disable"
        if any(a["path"] == "active" and a["after"] is False for a in expected)
        else "update"
    )
    assert change == {
        "kind": "user",
        "key": "alice@example.com",
        "action": action,
        "reason": "attributes differ",
        "target_id": "u-alice",
        "matched_on": "userName",
        "version": 'W/"7"',
        "attributes": expected,
        "source": source(tmp_path, 5),
    }
    assert plan["summary"] == SUMMARY_ZERO | {action: 1, "noop": 1}


# -- state: absent --------------------------------------------------------------------------------

# (deprovision, observed active or "missing"/"not-on-target", action or None, attributes)
ABSENT_CASES: list[tuple[str, str, Json, str | None, list[dict[str, Json]]]] = [
    (
        "disable-active-user",
        "disable",
        True,
        "disable",
        [{"path": "active", "before": True, "after": False}],
    ),
    (
        "disable-user-without-active",
        "disable",
        "missing",
        "disable",
        [{"path": "active", "before": None, "after": False}],
    ),
    ("disable-already-inactive", "disable", False, None, []),
    ("disable-not-on-target", "disable", "not-on-target", None, []),
    ("delete-active-user", "delete", True, "delete", []),
    ("delete-inactive-user", "delete", False, "delete", []),
    ("delete-not-on-target", "delete", "not-on-target", None, []),
]


@pytest.mark.parametrize(
    ("deprovision", "active", "action", "attributes"),
    [pytest.param(d, a, x, t, id=i) for i, d, a, x, t in ABSENT_CASES],
)
def test_absent_user_is_deprovisioned(
    tmp_path: Path,
    deprovision: str,
    active: Json,
    action: str | None,
    attributes: list[dict[str, Json]],
) -> None:
    spec = load(
        tmp_path,
        TARGET + f"    deprovision: {deprovision}\n"
        "users:\n  - userName: mallory@example.com\n    state: absent\n",
    )
    if active == "not-on-target":
        users = []
    elif active == "missing":
        users = [user_res("u-m", "mallory@example.com")]
    else:
        users = [user_res("u-m", "mallory@example.com", active=active)]
    plan = plan_for(spec, users).to_json()
    if action is None:
        assert plan["changes"] == []
        assert plan["summary"] == SUMMARY_ZERO | {"noop": 1}
        return
    assert plan["changes"] == [
        {
            "kind": "user",
            "key": "mallory@example.com",
            "action": action,
            "reason": "state: absent",
            "target_id": "u-m",
            "matched_on": "userName",
            "version": None,
            "attributes": attributes,
            "source": source(tmp_path, 6),
        }
    ]
    assert plan["summary"] == SUMMARY_ZERO | {action: 1}


def test_absent_group_is_deleted(tmp_path: Path) -> None:
    spec = load(tmp_path, TARGET + "groups:\n  - displayName: Old\n    state: absent\n")
    plan = plan_for(spec, groups=[group_res("g-old", "Old")])
    assert keyed(plan) == [("group", "Old", "delete")]
    assert plan.changes[0].target_id == "g-old"
    assert plan_for(spec).changes == ()


def test_group_display_name_matches_case_insensitively(tmp_path: Path) -> None:
    # RFC 7643 §4.2 / §8.7.1: Group displayName is caseExact false, and load_spec already
    # refuses "Eng" and "ENG" as the same group; matching must agree, or "Eng" is created
    # next to "ENG" (a duplicate, or a 409 on apply).
    spec = load(tmp_path, TARGET + "groups:\n  - displayName: Eng\n")
    plan = plan_for(spec, groups=[group_res("g-eng", "ENG")])
    match = plan.matches[(Kind.GROUP, "Eng")]
    assert match.resource is not None
    assert match.resource.id == "g-eng"
    assert Action.CREATE not in [c.action for c in plan.changes]


def test_users_not_declared_are_left_alone(tmp_path: Path) -> None:
    spec = load(tmp_path, TARGET + "users:\n  - userName: alice@example.com\n")
    plan = plan_for(spec, [user_res("u1", "alice@example.com"), user_res("u2", "x@example.com")])
    assert plan.changes == ()
    assert plan.summary == SUMMARY_ZERO | {"noop": 1}


# -- matching -------------------------------------------------------------------------------------


def test_duplicate_target_entries_is_an_error_not_a_guess(tmp_path: Path) -> None:
    spec = load(
        tmp_path,
        TARGET + "users:\n  - userName: alice@example.com\n    title: X\n"
        "  - userName: bob@example.com\n",
    )
    users = [user_res("u2", "ALICE@example.com"), user_res("u1", "alice@example.com")]
    plan = plan_for(spec, users).to_json()
    assert plan["errors"] == [
        {
            "kind": "user",
            "key": "alice@example.com",
            "step": "match",
            "message": 'DuplicateTargetEntries: 2 target objects have userName "alice@example.com"'
            " (ids u1, u2); remove the duplicates on the target",
        }
    ]
    assert [(c["key"], c["action"]) for c in plan["changes"]] == [("bob@example.com", "create")]
    assert plan["summary"] == SUMMARY_ZERO | {"create": 1, "error": 1}


def test_two_declared_users_matching_one_target_object_are_errors(tmp_path: Path) -> None:
    spec = load(
        tmp_path,
        TARGET + "    matching: {user: [userName, externalId]}\n"
        "users:\n  - userName: alice@example.com\n"
        "  - userName: bob@example.com\n    externalId: ext-1\n",
    )
    plan = plan_for(spec, [user_res("u1", "alice@example.com", externalId="ext-1")]).to_json()
    assert plan["errors"] == [
        {
            "kind": "user",
            "key": "alice@example.com",
            "step": "match",
            "message": "AmbiguousMatch: target object u1 also matches bob@example.com",
        },
        {
            "kind": "user",
            "key": "bob@example.com",
            "step": "match",
            "message": "AmbiguousMatch: target object u1 also matches alice@example.com",
        },
    ]
    # Neither is updated, and bob is not created as a duplicate either.
    assert plan["changes"] == []


# (observed users, matched_on, target id, the change as (action, path, before, after), error)
PRECEDENCE_CASES: list[
    tuple[str, list[Resource], str | None, str | None, tuple[Json, ...] | None, str | None]
] = [
    (
        "first-attribute-wins",
        [
            user_res("u1", "other@example.com", externalId="alice"),
            user_res("u2", "alice@example.com"),
        ],
        "externalId",
        "u1",
        # Matched on externalId: the userName is then an attribute to update.
        ("update", "userName", "other@example.com", "alice@example.com"),
        None,
    ),
    (
        "falls-back-to-second-when-first-finds-nothing",
        [user_res("u2", "alice@example.com"), user_res("u3", "x@example.com", externalId="x")],
        "userName",
        "u2",
        ("update", "externalId", None, "alice"),
        None,
    ),
    (
        "unique-on-both",
        [user_res("u2", "alice@example.com", externalId="alice")],
        "externalId",
        "u2",
        None,
        None,
    ),
    (
        "many-on-first-is-an-error-even-if-second-is-unique",
        [
            user_res("u1", "x@example.com", externalId="alice"),
            user_res("u3", "y@example.com", externalId="alice"),
            user_res("u2", "alice@example.com"),
        ],
        None,
        None,
        None,
        'DuplicateTargetEntries: 2 target objects have externalId "alice" (ids u1, u3); '
        "remove the duplicates on the target",
    ),
    (
        "nothing-matches",
        [user_res("u4", "z@example.com", externalId="zed")],
        None,
        None,
        ("create", "externalId", None, "alice"),
        None,
    ),
]


@pytest.mark.parametrize(
    ("observed", "matched_on", "target_id", "change", "error"),
    [pytest.param(o, m, t, c, e, id=i) for i, o, m, t, c, e in PRECEDENCE_CASES],
)
def test_matching_precedence(
    tmp_path: Path,
    observed: list[Resource],
    matched_on: str | None,
    target_id: str | None,
    change: tuple[Json, ...] | None,
    error: str | None,
) -> None:
    spec = load(
        tmp_path,
        TARGET + "    matching: {user: [externalId, userName]}\n"
        "users:\n  - userName: alice@example.com\n    externalId: alice\n",
    )
    plan = plan_for(spec, observed)
    match = plan.matches[(Kind.USER, "alice@example.com")]
    assert match.matched_on == matched_on
    assert (match.resource.id if match.resource else None) == target_id
    assert match.error == error
    assert [e.message for e in plan.errors] == ([error] if error else [])
    if change is None:
        assert plan.changes == ()
        return
    [planned] = plan.changes
    action, path, before, after = change
    # The winner is the object written to, never one of the others.
    assert (planned.action.value, planned.target_id, planned.matched_on) == (
        action,
        target_id,
        matched_on,
    )
    first = planned.attributes[0]
    assert (first.path, first.before, first.after) == (path, before, after)


# -- group membership ---------------------------------------------------------------------------

MEMBERSHIP = TARGET + (
    "users:\n"
    "  - userName: alice@example.com\n"
    "  - userName: bob@example.com\n"
    "groups:\n"
    "  - displayName: Eng\n"  # line 8
    "    members: [alice@example.com, bob@example.com]\n"
)


def test_membership_diff_adds_and_removes_only_users(tmp_path: Path) -> None:
    spec = load(tmp_path, MEMBERSHIP)
    users = [
        user_res("u-alice", "alice@example.com"),
        user_res("u-bob", "bob@example.com"),
        user_res("u-carol", "carol@example.com"),
    ]
    groups = [
        group_res(
            "g-eng",
            "Eng",
            [
                "u-alice",
                "u-carol",  # an undeclared member: removed
                "u-gone",  # an id the target does not list as a user: left alone
                {"value": "g-sub", "type": "Group"},  # nested group: left alone
                {"value": "g-other"},  # a group, though the target did not say so
            ],
        ),
        group_res("g-sub", "Sub"),
        group_res("g-other", "Other"),
    ]
    plan = plan_for(spec, users, groups).to_json()
    assert plan["changes"] == [
        {
            "kind": "group",
            "key": "Eng",
            "action": "update",
            "reason": "members differ",
            "target_id": "g-eng",
            "matched_on": "displayName",
            "version": None,
            "attributes": [],
            "members": {
                "add": [{"key": "bob@example.com", "id": "u-bob"}],
                "remove": [{"key": "carol@example.com", "id": "u-carol"}],
            },
            "source": source(tmp_path, 8),
        }
    ]
    assert plan["notes"] == [
        "group Eng: 1 member(s) on the target resolve to no listed user; they are left in "
        "place (run `scimrec doctor` to see why)"
    ]
    # Once the target confirmed that no user has the id (GET answered 404), it goes.
    observed = Observed(tuple(users), tuple(groups), dangling=frozenset({"u-gone"}))
    again = make_plan(spec, spec.targets["t"], observed).to_json()
    assert again["changes"][0]["members"]["remove"] == [
        {"key": "carol@example.com", "id": "u-carol"},
        {"key": None, "id": "u-gone"},
    ]
    assert again["notes"] == []


def test_a_dangling_entry_goes_from_a_group_that_holds_every_wanted_user(
    tmp_path: Path,
) -> None:
    # Every user the target holds is wanted: only the dangling entry makes a removal.
    spec = load(
        tmp_path,
        TARGET
        + "users:\n  - userName: alice@example.com\n"
        + "groups:\n  - displayName: Eng\n    members: [alice@example.com]\n",
    )
    users = [user_res("u-alice", "alice@example.com")]
    groups = [group_res("g-eng", "Eng", ["u-alice", "u-gone"])]
    kept = plan_for(spec, users, groups)
    assert kept.changes == ()  # unconfirmed, u-gone is unresolved: left in place
    observed = Observed(tuple(users), tuple(groups), dangling=frozenset({"u-gone"}))
    [change] = make_plan(spec, spec.targets["t"], observed).changes
    assert [m.to_json() for m in change.members_remove] == [{"key": None, "id": "u-gone"}]
    assert change.members_add == ()


def test_membership_not_declared_is_not_managed(tmp_path: Path) -> None:
    spec = load(
        tmp_path,
        TARGET + "users:\n  - userName: alice@example.com\ngroups:\n  - displayName: Eng\n",
    )
    users = [user_res("u-alice", "alice@example.com"), user_res("u-x", "x@example.com")]
    plan = plan_for(spec, users, [group_res("g-eng", "Eng", ["u-x"])])
    assert plan.changes == ()


def test_empty_member_list_removes_every_user_member(tmp_path: Path) -> None:
    spec = load(tmp_path, TARGET + "groups:\n  - displayName: Eng\n    members: []\n")
    users = [user_res("u-x", "x@example.com"), user_res("u-y", "y@example.com")]
    plan = plan_for(spec, users, [group_res("g-eng", "Eng", ["u-y", "u-x"])])
    [change] = plan.changes
    assert change.action is Action.UPDATE
    assert [m.to_json() for m in change.members_remove] == [
        {"key": "x@example.com", "id": "u-x"},
        {"key": "y@example.com", "id": "u-y"},
    ]
    assert change.members_add == ()


def test_group_attribute_and_member_change_together(tmp_path: Path) -> None:
    spec = load(
        tmp_path,
        TARGET + "users:\n  - userName: alice@example.com\n"
        "groups:\n  - displayName: Eng\n    externalId: eng\n    members: [alice@example.com]\n",
    )
    plan = plan_for(
        spec,
        [user_res("u-alice", "alice@example.com")],
        [group_res("g-eng", "Eng", externalId="old")],
    )
    [change] = plan.to_json()["changes"]
    assert (change["action"], change["reason"]) == ("update", "attributes differ")
    assert change["attributes"] == [{"path": "externalId", "before": "old", "after": "eng"}]
    assert change["members"] == {
        "add": [{"key": "alice@example.com", "id": "u-alice"}],
        "remove": [],
    }


def test_members_of_a_user_whose_match_failed_are_not_removed(tmp_path: Path) -> None:
    spec = load(
        tmp_path,
        TARGET + "users:\n  - userName: alice@example.com\n  - userName: bob@example.com\n"
        "groups:\n  - displayName: Eng\n    members: [bob@example.com]\n",
    )
    users = [
        user_res("u-a1", "alice@example.com"),
        user_res("u-a2", "Alice@example.com"),
        user_res("u-bob", "bob@example.com"),
        user_res("u-carol", "carol@example.com"),
    ]
    plan = plan_for(spec, users, [group_res("g-eng", "Eng", ["u-a1", "u-a2", "u-bob", "u-carol"])])
    assert [e.key for e in plan.errors] == ["alice@example.com"]
    [change] = plan.changes
    assert change.members_add == ()
    # alice's two candidates stay: which of them is alice is not known.
    assert [m.to_json() for m in change.members_remove] == [
        {"key": "carol@example.com", "id": "u-carol"}
    ]


def test_member_whose_match_failed_is_neither_added_nor_removed(tmp_path: Path) -> None:
    spec = load(tmp_path, MEMBERSHIP)
    users = [
        user_res("u-a1", "alice@example.com"),
        user_res("u-a2", "ALICE@example.com"),
        user_res("u-bob", "bob@example.com"),
    ]
    plan = plan_for(spec, users, [group_res("g-eng", "Eng", ["u-a1", "u-bob"])])
    assert [e.key for e in plan.errors] == ["alice@example.com"]
    # bob is already a member; alice's match failed, so there is nothing the plan can do
    # for her here, and promising "+ member alice" would fail the group on apply.
    assert plan.changes == ()


# -- ordering -------------------------------------------------------------------------------------

ORDERING = TARGET + (
    "users:\n"
    "  - userName: zed@example.com\n"
    "  - userName: mallory@example.com\n    state: absent\n"
    "  - userName: Alice@example.com\n    title: Boss\n"
    "  - userName: aaron@example.com\n    state: absent\n"
    "  - userName: bob@example.com\n"
    "groups:\n"
    "  - displayName: Zeta\n"
    "  - displayName: Old\n    state: absent\n"
    "  - displayName: admins\n    externalId: adm\n"
)


def ordering_target() -> tuple[list[Resource], list[Resource]]:
    users = [
        user_res("u-m", "mallory@example.com", active=True),
        user_res("u-alice", "alice@example.com", title="Intern"),
        user_res("u-aaron", "aaron@example.com", active=True),
    ]
    groups = [group_res("g-old", "Old"), group_res("g-adm", "admins")]
    return users, groups


def test_changes_are_ordered_by_phase_then_key(tmp_path: Path) -> None:
    spec = load(tmp_path, ORDERING)
    users, groups = ordering_target()
    plan = plan_for(spec, users, groups)
    assert keyed(plan) == [
        ("user", "Alice@example.com", "update"),
        ("user", "bob@example.com", "create"),
        ("user", "zed@example.com", "create"),
        ("group", "admins", "update"),
        ("group", "Zeta", "create"),
        ("group", "Old", "delete"),
        ("user", "aaron@example.com", "disable"),
        ("user", "mallory@example.com", "disable"),
    ]


def test_plan_does_not_depend_on_the_order_the_target_lists_objects(tmp_path: Path) -> None:
    spec = load(tmp_path, ORDERING)
    users, groups = ordering_target()
    first = plan_for(spec, users, groups).to_json()
    assert plan_for(spec, users[::-1], groups[::-1]).to_json() == first


# -- text rendering -------------------------------------------------------------------------------

GOLDEN_SPEC = TARGET + (
    "users:\n"
    "  - userName: alice@example.com\n"
    "    title: Staff Engineer\n"
    "    enterprise: {manager: carol@example.com}\n"
    "  - userName: carol@example.com\n"
    "    name: {givenName: Carol}\n"
    "  - userName: dave@example.com\n"
    "  - userName: mallory@example.com\n"
    "    state: absent\n"
    "groups:\n"
    "  - displayName: Eng\n"
    "    members: [alice@example.com, carol@example.com]\n"
)

GOLDEN_TEXT = f"""\
Target "t" ({URL})

  ~ update user alice@example.com  (id u-a)
      enterprise.manager  null → carol@example.com (created in this run)
      title               "Engineer" → "Staff Engineer"
  + create user carol@example.com
      name.givenName  "Carol"
      userName        "carol@example.com"
  ~ update group Eng  (id g-e)
      + member carol@example.com
      - member xavier@example.com (id u-x)
  - disable user mallory@example.com  (id u-m)
      active  true → false

Error: user dave@example.com: match: DuplicateTargetEntries: 2 target objects have \
userName "dave@example.com" (ids u-d1, u-d2); remove the duplicates on the target
Plan: 1 to create, 2 to update, 1 to disable, 0 to delete; 1 in error.
"""


def test_plan_text_golden(tmp_path: Path) -> None:
    spec = load(tmp_path, GOLDEN_SPEC)
    users = [
        user_res("u-a", "alice@example.com", title="Engineer"),
        user_res("u-d1", "dave@example.com"),
        user_res("u-d2", "Dave@example.com"),
        user_res("u-m", "mallory@example.com", active=True),
        user_res("u-x", "xavier@example.com"),
    ]
    groups = [group_res("g-e", "Eng", ["u-a", "u-x", "u-d1"])]
    assert plan_text(plan_for(spec, users, groups).to_json()) == GOLDEN_TEXT


def test_plan_text_of_errors_only_is_not_no_changes(tmp_path: Path) -> None:
    spec = load(tmp_path, TARGET + "users:\n  - userName: dave@example.com\n")
    users = [user_res("u-d1", "dave@example.com"), user_res("u-d2", "DAVE@example.com")]
    text = plan_text(plan_for(spec, users).to_json())
    assert "No changes." not in text
    assert text.endswith("Plan: 0 to create, 0 to update, 0 to disable, 0 to delete; 1 in error.\n")


def test_a_plan_survives_its_json_form_whole() -> None:
    # `scimrec show` renders a saved plan from this round trip: it must lose nothing.
    from reconciler.core.changes import Change, Member, ObjectError
    from reconciler.core.diff import AttrChange
    from reconciler.core.model import Location
    from reconciler.core.plan_json import plan_from_json

    plan = Plan(
        target="t",
        url=URL,
        changes=(
            Change(
                Kind.USER,
                "a@example.com",
                Action.UPDATE,
                "attributes differ",
                target_id="u1",
                matched_on="userName",
                version='W/"1"',
                attributes=(AttrChange("enterprise.manager", None, "u2", ref="b@example.com"),),
                location=Location("specs/p.yaml", 3, 5),
            ),
            Change(
                Kind.GROUP,
                "Eng",
                Action.UPDATE,
                "members differ",
                target_id="g1",
                members_add=(Member("a@example.com", "u1"), Member("Sub", "g2", "Group")),
                members_remove=(Member(None, "u9"),),
            ),
        ),
        errors=(ObjectError(Kind.USER, "c@example.com", "match", "two candidates"),),
        noop=4,
        notes=("a note",),
        guards=("a guard",),
        complete_read=False,
        out_of_scope=(("d@example.com", "out of scope: clause 1", "left alone"),),
    )
    assert plan_from_json(plan.to_json()).to_json() == plan.to_json()


def test_objects_no_mapping_touches_share_one_empty_set_of_create_only_paths(
    tmp_path: Path,
) -> None:
    # Each `frozenset()` is a new 216-byte object since Python 3.10: at 100,000 users, one
    # per unmapped user was 21 MB of the plan's peak.
    spec = load(
        tmp_path, TARGET + "users:\n  - userName: a@example.com\n  - userName: b@example.com\n"
    )
    view = plan_for(spec).view
    assert view is not None
    assert [m.create_only for m in view.mapped.values()] == [NO_PATHS, NO_PATHS]
    assert all(m.create_only is NO_PATHS for m in view.mapped.values())
    assert view.create_only(Kind.USER, "nobody@example.com") is NO_PATHS
