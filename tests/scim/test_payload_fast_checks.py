"""The nesting bound on target JSON reads a level at a time without Python code per value,
and must count levels exactly as a recursive walk does."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.scim.payload import MAX_DEPTH, NotJson, parse

TEXT = st.text(max_size=4) | st.sampled_from(["\ud800", "a\udfff", "\U0001f600"])
LEAF = st.none() | st.booleans() | st.integers() | st.floats() | TEXT
VALUES = st.recursive(
    LEAF,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=12,
)


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


@given(VALUES.filter(lambda v: not isinstance(v, float)))
def test_the_nesting_bound_counts_levels_as_a_recursive_walk_does(value: Any) -> None:
    text = json.dumps(value, allow_nan=True)
    wrapped = "[" * (MAX_DEPTH - _depth(value)) + text + "]" * (MAX_DEPTH - _depth(value))
    if "NaN" in text or "Infinity" in text:
        return
    assert parse(wrapped) == json.loads(wrapped)  # exactly at the bound: read
    with pytest.raises(NotJson):
        parse("[" + wrapped + "]")  # one level past it: refused
