"""The diff reads the object holding nested paths (`name`, an extension) once for all of
them; what it finds stays what reading each path on its own found. The diff as it read
each path is kept here as the reference, and both are asked of generated declared values
and observed bodies, hostile ones included (a holder that is text, a list, null, a
mapping that is not a dict; parts of every type)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.core import attributes as A
from reconciler.core.diff import AttrChange, diff_attributes, equal
from reconciler.core.model import ENTERPRISE_URN

URN = "urn:example:params:scim:schemas:extension:acme:2.0:User"


def reference(
    declared: Mapping[str, Any],
    observed: Mapping[str, Any],
    resolve: Callable[[str, Any], tuple[Any, str | None]] | None = None,
) -> list[AttrChange]:
    """`diff_attributes` before nested paths were read by holder: one reader per path."""
    changes = []
    kept = [path for path in sorted(declared) if path not in A.SECRET_PATHS]
    for path in (p for p in kept if p not in A.REFERENCE_PATHS):
        want, have = declared[path], A.reader(path)(observed)
        if want == have and type(want) is type(have):
            continue
        if not equal(path, want, have):
            changes.append(AttrChange(path, have, want))
    references = [p for p in kept if p in A.REFERENCE_PATHS]
    for path in references:
        want, ref = declared[path], None
        if resolve is not None:
            want, ref = resolve(path, want)
        have = A.reader(path)(observed)
        if want == have and type(want) is type(have) and (ref is None or want is not None):
            continue
        if (ref is not None and want is None) or not equal(path, want, have):
            changes.append(AttrChange(path, have, want, ref))
    if references and len(changes) > 1:
        changes.sort(key=lambda change: change.path)
    return changes


PATHS = [
    "userName",
    "title",
    "active",
    "emails",
    "name.givenName",
    "name.familyName",
    "name.",
    "enterprise.department",
    "enterprise.costCenter",
    "enterprise.manager",
    "enterprise",
    "password",
    f"{URN}:costCode",
    f"{URN}:site",
]
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 2),
    st.sampled_from(["", "a", "A", "b", "Sales", "sales"]),
    st.lists(st.sampled_from(["a", 1]), max_size=2),
    st.dictionaries(st.sampled_from(["value", "type"]), st.sampled_from(["a", "A"]), max_size=2),
)
HOLDERS = st.one_of(
    VALUES,
    st.dictionaries(
        st.sampled_from(
            [
                "givenName",
                "familyName",
                "",
                "department",
                "costCenter",
                "manager",
                "costCode",
                "site",
            ]
        ),
        VALUES,
        max_size=4,
    ),
)
BODY_KEYS = st.sampled_from(["userName", "title", "active", "emails", "name", ENTERPRISE_URN, URN])


def proxied(body: dict[str, Any], wrap: bool) -> dict[str, Any]:
    """The body, its dict holders as read-only mappings (not dicts) when asked."""
    if not wrap:
        return body
    return {k: MappingProxyType(v) if isinstance(v, dict) else v for k, v in body.items()}


@settings(max_examples=1500, deadline=None)
@given(
    declared=st.dictionaries(st.sampled_from(PATHS), VALUES, max_size=8),
    observed=st.dictionaries(BODY_KEYS, HOLDERS, max_size=6),
    wrap=st.booleans(),
    resolved=st.sampled_from([None, "u-1", ""]),
)
def test_reading_by_holder_finds_what_reading_each_path_found(
    declared: dict[str, Any], observed: dict[str, Any], wrap: bool, resolved: str | None
) -> None:
    body = proxied(observed, wrap)

    def resolve(path: str, value: Any) -> tuple[Any, str | None]:
        return (resolved, value) if isinstance(value, str) else (value, None)

    assert outcome(diff_attributes, declared, body) == outcome(reference, declared, body)
    assert outcome(diff_attributes, declared, body, resolve) == outcome(
        reference, declared, body, resolve
    )


def outcome(diff: Callable[..., list[AttrChange]], *args: Any) -> object:
    """What a diff gives, or the type of what it raises (declared values here are not all
    ones the spec check lets through)."""
    try:
        return diff(*args)
    except (TypeError, AttributeError) as exc:
        return type(exc)


@pytest.mark.parametrize("holder", ["Ann", ["Ann"], None, 7, MappingProxyType({"givenName": "B"})])
def test_a_name_that_is_no_dict_is_read_as_each_path_reads_it(holder: Any) -> None:
    declared = {"name.familyName": "A", "name.givenName": "B", "title": "T"}
    observed = {"name": holder, "title": "U"}
    assert diff_attributes(declared, observed) == reference(declared, observed)


def test_changes_come_in_path_order_across_plain_and_nested_paths() -> None:
    declared = {"title": "T", "name.givenName": "B", "displayName": "D", "enterprise.x": "X"}
    changes = diff_attributes(declared, {})
    assert [c.path for c in changes] == ["displayName", "enterprise.x", "name.givenName", "title"]
