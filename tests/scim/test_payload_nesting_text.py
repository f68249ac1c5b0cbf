"""The nesting bound read from the text of a page (payload._nested_past) must answer as the
walk over the parsed value does (core/depth.py deeper_than), on every page it is used for: UTF-8
JSON whose only escapes are of quotes. Strings here hold brackets and quotes, so a count
that took a bracket in a string for structure, or an escaped quote for the end of a string,
differs from the walk."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.core.depth import MAX_DEPTH, deeper_than
from reconciler.scim.payload import (
    NotJson,
    _nested_past,
    parse,
    parse_checked,
    quotes_only,
)
from tests.scim.test_payload_fast_checks import _depth

# Characters that are structure outside a string, and the quote json.dumps escapes.
TEXT = st.text(alphabet='ab[]{}":, ', max_size=5)
LEAF = st.none() | st.booleans() | st.integers() | TEXT
VALUES = st.recursive(
    LEAF,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=10,
)
# How the text is laid out: compact, spaced, or indented (newlines between the brackets).
LAYOUT = st.sampled_from([{"separators": (",", ":")}, {}, {"indent": 1}])


def _wrapped(value: Any, levels: int, keys: list[str]) -> Any:
    """`value` inside `levels` containers: an object under each key in turn, else a list."""
    for level in range(levels):
        key = keys[level % len(keys)] if keys else None
        value = {key: value} if key is not None else [value, "]"]
    return value


@settings(max_examples=400)
@given(
    VALUES,
    st.integers(min_value=-2, max_value=2),
    st.lists(st.none() | TEXT, max_size=3),
    LAYOUT,
)
def test_the_bound_read_from_the_text_agrees_with_the_walk(
    value: Any, around: int, keys: list[Any], layout: dict[str, Any]
) -> None:
    levels = max(0, MAX_DEPTH - _depth(value) + around)
    whole = _wrapped(value, levels, [k for k in keys if k is not None])
    raw = json.dumps(whole, **layout).encode()
    assert quotes_only(raw) is True  # the pages it is used for
    deeper = _depth(whole) > MAX_DEPTH
    assert deeper_than(json.loads(raw), MAX_DEPTH) is deeper
    assert _nested_past(raw) is deeper


@pytest.mark.parametrize(
    "inner",
    [
        '"]]]]"',  # closing brackets in a string
        '"[[[["',  # opening ones
        '"\\"[\\"{"',  # escaped quotes around brackets
        '"a\\"", "[", "\\"]"',  # a string that ends in an escaped quote, then one of a bracket
        '{"[": "{", "": ""}',  # keys of brackets, empty strings beside each other
        '[[], {}, [{}], ""]',  # empty containers at the deepest level
    ],
)
def test_brackets_and_quotes_in_strings_are_not_structure(inner: str) -> None:
    value = json.loads(f"[{inner}]")
    below = _depth(value)
    exact = "[" * (MAX_DEPTH - below) + f"[{inner}]" + "]" * (MAX_DEPTH - below)
    past = "[" + exact + "]"
    assert parse_checked(exact.encode())[0] == json.loads(exact)  # exactly at the bound
    with pytest.raises(NotJson, match=f"nested deeper than {MAX_DEPTH} levels"):
        parse_checked(past.encode())
    assert _nested_past(exact.encode()) is False and _nested_past(past.encode()) is True


def test_a_page_with_other_escapes_is_bounded_by_the_walk() -> None:
    # `\\/` is no quote's escape: the text is not read so; the walk still bounds it.
    deep = '{"a": "x\\/y", "b": ' + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "}"
    assert quotes_only(deep.encode()) is False
    with pytest.raises(NotJson, match="nested deeper"):
        parse(deep.encode())
    assert parse(deep.replace("[", "", 1).replace("]", "", 1).encode())["a"] == "x/y"


def test_a_page_in_utf16_is_bounded_by_the_walk() -> None:
    deep = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    with pytest.raises(NotJson, match="nested deeper"):
        parse(deep.encode("utf-16"))
    assert parse(deep[1:-1].encode("utf-16")) == json.loads(deep[1:-1])
    assert parse_checked(deep[1:-1].encode("utf-16"))[1] is False  # nothing proven of it
