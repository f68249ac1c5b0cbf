"""Scoping filters against Microsoft's "Scoping users or groups to be provisioned with scoping
filters": one row per operator meaning and per documented example (`doc-…` ids)."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.core.scope import (
    OPERATORS,
    Clause,
    Filter,
    canonical_operator,
    check_clause,
    check_filter,
    in_scope,
)

UPN_REGEX = r".*\@domain.com"
WORKER_ID_REGEX = "(1[0-9][0-9][0-9][0-9][0-9][0-9])"


def clause(attribute: str, operator: str, value: Any = None) -> dict[str, Any]:
    raw: dict[str, Any] = {"attribute": attribute, "operator": operator}
    if value is not None:
        raw["value"] = value
    return raw


# (id, clause, source, holds)
CASES: list[tuple[str, dict[str, Any], dict[str, Any], bool]] = [
    # EQUALS / NOT EQUALS: "matches the input string value exactly (case sensitive)"
    (
        "EQUALS/doc-department-sales",
        clause("department", "EQUALS", "sales"),
        {"department": "sales"},
        True,
    ),
    (
        "EQUALS/doc-case-sensitive",
        clause("department", "EQUALS", "sales"),
        {"department": "Sales"},
        False,
    ),
    (
        "EQUALS/dotted-attribute",
        clause("enterprise.department", "EQUALS", "Sales"),
        {"enterprise": {"department": "Sales"}},
        True,
    ),
    (
        "EQUALS/integer-attribute",
        clause("employeeNumber", "EQUALS", 1001),
        {"employeeNumber": 1001},
        True,
    ),
    (
        "EQUALS/boolean-reads-as-dotnet-True",
        clause("active", "EQUALS", "True"),
        {"active": True},
        True,
    ),
    ("EQUALS/doc-null-is-false", clause("department", "EQUALS", "sales"), {}, False),
    (
        "NOT EQUALS/doc-differs",
        clause("department", "NOT EQUALS", "sales"),
        {"department": "Sales"},
        True,
    ),
    (
        "NOT EQUALS/doc-same",
        clause("department", "NOT EQUALS", "sales"),
        {"department": "sales"},
        False,
    ),
    ("NOT EQUALS/doc-null-is-false", clause("department", "NOT EQUALS", "sales"), {}, False),
    # IS TRUE / IS FALSE: "contains a Boolean value of true / false"
    ("IS TRUE/boolean-true", clause("active", "IS TRUE"), {"active": True}, True),
    ("IS TRUE/string-true", clause("active", "IS TRUE"), {"active": "true"}, True),
    ("IS TRUE/false", clause("active", "IS TRUE"), {"active": False}, False),
    ("IS TRUE/doc-null-is-false", clause("active", "IS TRUE"), {}, False),
    ("IS FALSE/boolean-false", clause("active", "IS FALSE"), {"active": False}, True),
    ("IS FALSE/string-False", clause("active", "IS FALSE"), {"active": "False"}, True),
    ("IS FALSE/true", clause("active", "IS FALSE"), {"active": True}, False),
    ("IS FALSE/doc-null-is-false", clause("active", "IS FALSE"), {}, False),
    # IS NULL / IS NOT NULL: "is empty" / "isn't empty"
    ("IS NULL/missing", clause("title", "IS NULL"), {}, True),
    ("IS NULL/null", clause("title", "IS NULL"), {"title": None}, True),
    ("IS NULL/empty-string", clause("title", "IS NULL"), {"title": ""}, True),
    ("IS NULL/empty-list", clause("emails", "IS NULL"), {"emails": []}, True),
    ("IS NULL/value", clause("title", "IS NULL"), {"title": "Engineer"}, False),
    (
        "IS NOT NULL/doc-job-title-not-null-or-empty",
        clause("title", "IS NOT NULL"),
        {"title": "Engineer"},
        True,
    ),
    ("IS NOT NULL/doc-empty-title", clause("title", "IS NOT NULL"), {"title": ""}, False),
    ("IS NOT NULL/multi-valued", clause("emails", "IS NOT NULL"), {"emails": ["a", "b"]}, True),
    # REGEX MATCH / NOT REGEX MATCH
    (
        "REGEX MATCH/doc-userPrincipalName-domain",
        clause("userPrincipalName", "REGEX MATCH", UPN_REGEX),
        {"userPrincipalName": "alice@domain.com"},
        True,
    ),
    (
        "REGEX MATCH/doc-userPrincipalName-other-domain",
        clause("userPrincipalName", "REGEX MATCH", UPN_REGEX),
        {"userPrincipalName": "alice@example.com"},
        False,
    ),
    ("REGEX MATCH/doc-10-to-99", clause("n", "REGEX MATCH", "([1-9][0-9])"), {"n": "42"}, True),
    (
        "REGEX MATCH/doc-10-to-99-single-digit",
        clause("n", "REGEX MATCH", "([1-9][0-9])"),
        {"n": "7"},
        False,
    ),
    ("REGEX MATCH/doc-case-sensitive", clause("d", "REGEX MATCH", "sales"), {"d": "Sales"}, False),
    (
        "REGEX MATCH/doc-workerID-in-range",
        clause("workerID", "REGEX MATCH", WORKER_ID_REGEX),
        {"workerID": "1500000"},
        True,
    ),
    (
        "REGEX MATCH/doc-workerID-out-of-range",
        clause("workerID", "REGEX MATCH", WORKER_ID_REGEX),
        {"workerID": "999999"},
        False,
    ),
    (
        "REGEX MATCH/dotnet-named-group",
        clause("mail", "REGEX MATCH", r"^(?<user>\w+)@"),
        {"mail": "bob@example.com"},
        True,
    ),
    (
        "NOT REGEX MATCH/doc-userPrincipalName-domain",
        clause("userPrincipalName", "NOT REGEX MATCH", UPN_REGEX),
        {"userPrincipalName": "alice@domain.com"},
        False,
    ),
    (
        "NOT REGEX MATCH/doc-other-domain",
        clause("userPrincipalName", "NOT REGEX MATCH", UPN_REGEX),
        {"userPrincipalName": "alice@example.com"},
        True,
    ),
    (
        "NOT REGEX MATCH/doc-null-is-false",
        clause("userPrincipalName", "NOT REGEX MATCH", UPN_REGEX),
        {},
        False,
    ),
    # GREATER_THAN and friends: "the attribute on the user must be an integer"
    (
        "GREATER_THAN/greater",
        clause("employeeId", "GREATER_THAN", 1000000),
        {"employeeId": "1500000"},
        True,
    ),
    (
        "GREATER_THAN/equal",
        clause("employeeId", "GREATER_THAN", "1000000"),
        {"employeeId": 1000000},
        False,
    ),
    (
        "GREATER_THAN/doc-not-an-integer",
        clause("employeeId", "GREATER_THAN", 5),
        {"employeeId": "E-17"},
        False,
    ),
    (
        "GREATER_THAN/boolean-is-not-an-integer",
        clause("flag", "GREATER_THAN", 0),
        {"flag": True},
        False,
    ),
    (
        "GREATER_THAN_OR_EQUALS/equal",
        clause("level", "GREATER_THAN_OR_EQUALS", 3),
        {"level": 3},
        True,
    ),
    (
        "GREATER_THAN_OR_EQUALS/less",
        clause("level", "GREATER_THAN_OR_EQUALS", 3),
        {"level": "2"},
        False,
    ),
    ("LESS_THAN/less", clause("level", "LESS_THAN", 3), {"level": -1}, True),
    ("LESS_THAN/equal", clause("level", "LESS_THAN", 3), {"level": 3}, False),
    ("LESS_THAN_OR_EQUALS/equal", clause("level", "LESS_THAN_OR_EQUALS", "3"), {"level": 3}, True),
    ("LESS_THAN_OR_EQUALS/greater", clause("level", "LESS_THAN_OR_EQUALS", 3), {"level": 4}, False),
    # INCLUDES: String.Contains, case-sensitive; EXCLUDES its negation
    (
        "INCLUDES/doc-contains",
        clause("department", "INCLUDES", "Eng"),
        {"department": "Engineering"},
        True,
    ),
    (
        "INCLUDES/doc-case-sensitive",
        clause("department", "INCLUDES", "eng"),
        {"department": "Engineering"},
        False,
    ),
    ("INCLUDES/doc-null-is-false", clause("department", "INCLUDES", "Eng"), {}, False),
    (
        "EXCLUDES/absent-substring",
        clause("department", "EXCLUDES", "Sales"),
        {"department": "Engineering"},
        True,
    ),
    (
        "EXCLUDES/present-substring",
        clause("department", "EXCLUDES", "Eng"),
        {"department": "Engineering"},
        False,
    ),
    ("EXCLUDES/null-is-false", clause("department", "EXCLUDES", "Eng"), {}, False),
    # "Filtering is not supported for multi-valued attributes"
    (
        "multi-valued/doc-not-supported",
        clause("roles", "EQUALS", "admin"),
        {"roles": ["admin", "dev"]},
        False,
    ),
    (
        "multi-valued/one-value-reads-as-that-value",
        clause("roles", "EQUALS", "admin"),
        {"roles": ["admin"]},
        True,
    ),
]


@pytest.mark.parametrize(
    ("raw", "source", "holds"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_operator_semantics(raw: dict[str, Any], source: dict[str, Any], holds: bool) -> None:
    assert check_clause(raw) == []
    decision, _ = in_scope(Filter(((Clause.from_raw(raw),),)), source)
    assert decision is holds


def test_every_operator_has_a_row() -> None:
    assert {case[0].split("/")[0] for case in CASES} >= set(OPERATORS)


# The doc's example filter: New York, Engineering, employee ID between 1,000,000 and 2,000,000,
# job title not null or empty (all in one group, so AND).
DOC_FILTER = Filter.from_raw(
    [
        [
            clause("state", "EQUALS", "New York"),
            clause("department", "EQUALS", "Engineering"),
            clause("employeeId", "GREATER_THAN_OR_EQUALS", 1000000),
            clause("employeeId", "LESS_THAN_OR_EQUALS", 2000000),
            clause("title", "IS NOT NULL"),
        ]
    ]
)
NEW_YORK_ENGINEER = {
    "state": "New York",
    "department": "Engineering",
    "employeeId": "1500000",
    "title": "Engineer",
}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (NEW_YORK_ENGINEER, (True, "in scope: group 1 matched")),
        (
            {**NEW_YORK_ENGINEER, "department": "Sales"},
            (False, "out of scope: group 1 clause 2 (department EQUALS 'Engineering') is false"),
        ),
        (
            {**NEW_YORK_ENGINEER, "employeeId": "2500000"},
            (
                False,
                "out of scope: group 1 clause 4 (employeeId LESS_THAN_OR_EQUALS '2000000') "
                "is false",
            ),
        ),
        (
            {**NEW_YORK_ENGINEER, "title": ""},
            (False, "out of scope: group 1 clause 5 (title IS NOT NULL) is false"),
        ),
        (
            {**NEW_YORK_ENGINEER, "state": None},
            (
                False,
                "out of scope: group 1 clause 1 (state EQUALS 'New York') is false "
                "(state has no value)",
            ),
        ),
        (
            {**NEW_YORK_ENGINEER, "employeeId": "E-1"},
            (
                False,
                "out of scope: group 1 clause 3 (employeeId GREATER_THAN_OR_EQUALS '1000000') "
                "is false (employeeId is 'E-1', not a whole number)",
            ),
        ),
    ],
    ids=[
        "doc-all-hold",
        "doc-wrong-department",
        "doc-id-too-high",
        "doc-empty-title",
        "doc-no-state",
        "doc-id-not-a-number",
    ],
)
def test_doc_example_filter_and_reasons(source: dict[str, Any], expected: tuple[bool, str]) -> None:
    assert in_scope(DOC_FILTER, source) == expected


def test_groups_are_or_and_each_failure_is_named() -> None:
    scope = Filter.from_raw(
        [
            [clause("enterprise.department", "EQUALS", "Sales")],
            [clause("title", "INCLUDES", "Engineer"), clause("active", "IS TRUE")],
        ]
    )
    assert in_scope(scope, {"title": "Staff Engineer", "active": True}) == (
        True,
        "in scope: group 2 matched",
    )
    flat = {"enterprise.department": "Sales"}
    assert in_scope(scope, flat) == (True, "in scope: group 1 matched")
    assert in_scope(scope, {"enterprise": {"department": "Eng"}, "title": "Engineer"}) == (
        False,
        "out of scope: group 1 clause 1 (enterprise.department EQUALS 'Sales') is false; "
        "group 2 clause 2 (active IS TRUE) is false (active has no value)",
    )


def test_empty_filter_puts_everything_in_scope() -> None:
    assert in_scope(Filter(), {}) == (True, "in scope: no scoping filter")
    assert in_scope(Filter.from_raw([]), {"x": 1}) == (True, "in scope: no scoping filter")
    assert Filter.from_raw(None) == Filter()


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("EQUALS", "EQUALS"),
        ("not_equals", "NOT EQUALS"),
        ("Greater_Than", "GREATER_THAN"),
        ("Greater_Than_OR_EQUALS", "GREATER_THAN_OR_EQUALS"),
        ("greater than", "GREATER_THAN"),
        ("Includes", "INCLUDES"),
        ("is  not   null", "IS NOT NULL"),
        ("ENDS_WITH", None),
        ("&", None),
    ],
)
def test_operator_spellings(spelling: str, canonical: str | None) -> None:
    assert canonical_operator(spelling) == canonical


def test_from_raw_keeps_the_canonical_operator_and_a_string_value() -> None:
    assert Clause.from_raw(clause("n", "greater_than", 5)) == Clause("n", "GREATER_THAN", "5")
    assert Clause.from_raw(clause("t", "is null")) == Clause("t", "IS NULL", None)
    assert str(Clause("d", "EQUALS", "Sales")) == "d EQUALS 'Sales'"


# (id, raw clause, messages)
INVALID: list[tuple[str, Any, list[str]]] = [
    (
        "not-a-mapping",
        "department EQUALS Sales",
        ["a clause is a mapping with attribute, operator and value"],
    ),
    (
        "unknown-key",
        {**clause("d", "EQUALS", "x"), "values": ["x"]},
        ["unknown key 'values' (a clause has attribute, operator and value)"],
    ),
    ("missing-attribute", {"operator": "EQUALS", "value": "x"}, ["attribute is required"]),
    ("bad-attribute", clause(" ", "EQUALS", "x"), ["attribute must be an attribute name, got ' '"]),
    ("missing-operator", {"attribute": "d", "value": "x"}, ["operator is required"]),
    (
        "unknown-operator",
        clause("d", "ENDS_WITH", "x"),
        ["unknown operator 'ENDS_WITH'; use one of: " + ", ".join(OPERATORS)],
    ),
    ("missing-value", clause("d", "EQUALS"), ["EQUALS needs a value"]),
    ("empty-value", clause("d", "INCLUDES", ""), ["INCLUDES needs a value"]),
    (
        "boolean-value",
        clause("active", "EQUALS", True),
        [
            "value must be a string or a whole number, got True; "
            "use IS TRUE or IS FALSE for Booleans"
        ],
    ),
    (
        "list-value",
        clause("d", "EQUALS", ["a", "b"]),
        ["value must be a string or a whole number, got ['a', 'b']"],
    ),
    (
        "greater-than-non-integer",
        clause("n", "GREATER_THAN", "ten"),
        ["GREATER_THAN compares whole numbers, and 'ten' is not one"],
    ),
    (
        "less-than-decimal",
        clause("n", "LESS_THAN", "1.5"),
        ["LESS_THAN compares whole numbers, and '1.5' is not one"],
    ),
    (
        "invalid-regex",
        clause("d", "REGEX MATCH", "(unclosed"),
        ["invalid regular expression '(unclosed': missing ) at position 9"],
    ),
    ("unary-with-value", clause("t", "IS NULL", "x"), ["IS NULL takes no value, got 'x'"]),
    (
        "everything-at-once",
        {"operator": 5, "extra": 1},
        [
            "unknown key 'extra' (a clause has attribute, operator and value)",
            "attribute is required",
            "unknown operator 5; use one of: " + ", ".join(OPERATORS),
        ],
    ),
]


@pytest.mark.parametrize(("raw", "messages"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_check_clause(raw: Any, messages: list[str]) -> None:
    assert check_clause(raw) == messages


def test_valid_clauses_have_no_messages() -> None:
    assert check_clause(clause("n", "GREATER_THAN", " -5 ")) == []
    assert check_clause(clause("t", "IS TRUE", "")) == []
    assert check_clause(clause("upn", "REGEX MATCH", UPN_REGEX)) == []


def test_check_filter_paths() -> None:
    assert check_filter(None) == []
    not_a_list = ((), "scope is a list of clause groups, each a list of clauses")
    assert check_filter({"a": 1}) == [not_a_list]
    assert check_filter([clause("d", "EQUALS", "x"), [], [clause("d", "EQUALS")]]) == [
        ((0,), "a clause group is a list of clauses (all must hold)"),
        ((1,), "a clause group needs at least one clause"),
        ((2, 0), "EQUALS needs a value"),
    ]


def test_from_raw_refuses_an_invalid_filter() -> None:
    with pytest.raises(ValueError, match=r"\[0\]\[1\]: GREATER_THAN compares whole numbers"):
        Filter.from_raw([[clause("d", "EQUALS", "x"), clause("n", "GREATER_THAN", "x")]])
    with pytest.raises(ValueError, match="operator is required"):
        Clause.from_raw({"attribute": "d"})
