"""core/diff.py: what differs between declared attributes and an observed body."""

from __future__ import annotations

import pytest

from reconciler.core.diff import AttrChange, diff_attributes
from reconciler.core.model import ENTERPRISE_URN, Json

IDS = {"boss@example.com": "u-boss"}


def resolve(path: str, value: Json) -> tuple[Json, str | None]:
    """A manager's key as its target id (None: not created yet), as the plan resolves it."""
    return IDS.get(value), value


def body(manager: str | None = "u-boss", **attrs: Json) -> dict[str, Json]:
    extension = {"manager": {"value": manager}} if manager else {}
    return {"userName": "ana@example.com", **attrs, ENTERPRISE_URN: extension}


def test_changes_come_in_path_order_references_among_them() -> None:
    declared = {
        "userName": "ana@example.com",
        "title": "Lead",
        "enterprise.manager": "boss@example.com",
        "active": True,
    }
    changes = diff_attributes(declared, body(manager="u-old", title="Dev", active=False), resolve)
    assert changes == [
        AttrChange("active", False, True),
        AttrChange("enterprise.manager", "u-old", "u-boss", "boss@example.com"),
        AttrChange("title", "Dev", "Lead"),
    ]


def test_an_identical_reference_is_settled_and_one_not_created_yet_is_not() -> None:
    declared = {"userName": "ana@example.com", "enterprise.manager": "boss@example.com"}
    assert diff_attributes(declared, body(), resolve) == []
    waiting = {"userName": "ana@example.com", "enterprise.manager": "new@example.com"}
    # Its id is unknown until that user is created: a change, even against no manager.
    assert diff_attributes(waiting, body(manager=None), resolve) == [
        AttrChange("enterprise.manager", None, None, "new@example.com")
    ]


def test_equal_values_of_another_type_differ() -> None:
    declared = {"userName": "ana@example.com", "active": True, "title": "1"}
    assert diff_attributes(declared, body(active=1, title=1)) == [
        AttrChange("active", 1, True),
        AttrChange("title", 1, "1"),
    ]


WORK = {"value": "Ana.Wong@Example.com", "type": "work", "primary": True}


@pytest.mark.parametrize(
    ("path", "declared", "observed", "same"),
    [
        # RFC 7643 §8.7.1: emails' value and every `type` are caseExact=false, and
        # targets store them lower-cased or capitalised.
        ("emails", [WORK], [{**WORK, "value": "ana.wong@example.com"}], True),
        ("emails", [WORK], [{**WORK, "type": "Work"}], True),
        (
            "phoneNumbers",
            [{"value": "+1 555", "type": "work"}],
            [{"value": "+1 555", "type": "WORK"}],
            True,
        ),
        ("emails", [WORK], [{**WORK, "value": "ana.wong@example.org"}], False),
        # A phone number's or a role's value is compared as written.
        ("roles", [{"value": "Admin", "type": "app"}], [{"value": "admin", "type": "app"}], False),
        ("emails", ["Ana@Example.com"], ["ana@example.com"], True),
    ],
)
def test_multi_valued_sub_attributes_that_ignore_case_compare_folded(
    path: str, declared: Json, observed: Json, same: bool
) -> None:
    changes = diff_attributes({path: declared}, {path: observed})
    assert (changes == []) is same
