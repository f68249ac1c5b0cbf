"""The per-page fast checks on target JSON: the parse and a scan of the bytes prove a page
holds no value an output cannot (so the shape check skips encoding each resource), and the nesting
bound reads a level at a time without Python code per value. Both must agree with the slow
way they replace, on every input."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.core.depth import MAX_DEPTH
from reconciler.core.model import Kind
from reconciler.core.shape import _not_representable, problem
from reconciler.scim.payload import NotJson, parse, parse_checked, quotes_only
from reconciler.scim.redact import _plain

USER = {"id": "1", "userName": "ann@example.com", "title": "Boss"}


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a": "\\ud800"}',  # a lone surrogate, escaped
        b'{"a": "\\uDFFF"}',
        b'{"\\udc00": 1}',  # in a key
        b'{"a": "\xed\xa0\x80"}',  # its bytes, which the parser lets through (surrogatepass)
        b'{"a": 1e400}',  # past a double: read as infinity
        b'{"a": 1E+999}',
        b'{"a": ' + b"9" * 400 + b".0}",
        b'{"a": -1e400}',
    ],
)
def test_a_page_that_may_hold_an_unrepresentable_value_is_not_proven(raw: bytes) -> None:
    assert not representable(raw)
    assert _not_representable(parse(raw)) is not None


@pytest.mark.parametrize(
    "raw",
    [
        json.dumps({"Resources": [USER] * 3}).encode(),
        '{"a": "é ü 日本"}'.encode(),
        b'{"a": 1.5, "b": -20, "c": "W/\\"1\\"", "d": 1e300, "e": 1e-400}',
        '{"a": "\ud55c\uad6d"}'.encode(),  # Hangul: UTF-8 bytes that start with 0xED
        b'{"a": "\\u00e9"}',
    ],
)
def test_a_plain_page_is_proven(raw: bytes) -> None:
    assert representable(raw)


def test_a_surrogate_pair_is_looked_at_and_found_fine() -> None:
    raw = b'{"a": "\\ud83d\\ude00"}'  # an emoji, written as its pair
    assert not representable(raw)  # the scan cannot tell: each value is checked
    assert _not_representable(parse(raw)) is None


TEXT = st.text(max_size=4) | st.sampled_from(["\ud800", "a\udfff", "\U0001f600"])
LEAF = st.none() | st.booleans() | st.integers() | st.floats() | TEXT
VALUES = st.recursive(
    LEAF,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=12,
)


@given(VALUES, st.booleans())
def test_a_proven_page_never_holds_what_the_slow_check_finds(value: Any, ascii_: bool) -> None:
    raw = json.dumps(value, ensure_ascii=ascii_).encode("utf-8", "surrogatepass")
    try:
        parsed = parse(raw)
    except NotJson:
        return  # NaN and the like: refused whole
    if representable(raw):
        assert _not_representable({"v": parsed}) is None


def test_the_shape_check_skips_the_walk_only_when_told() -> None:
    body = {**USER, "x": "\ud800"}
    assert problem(Kind.USER, body) == "x: expected Unicode text, got a lone surrogate"
    assert problem(Kind.USER, body, representable=True) is None
    # The other shape checks run either way.
    assert problem(Kind.USER, {**body, "title": 5}, representable=True) == (
        "title: expected a string, got a number"
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


def test_text_is_never_proven() -> None:
    assert not parse_checked('{"a": 1}')[1]  # only bytes are scanned


def representable(raw: bytes) -> bool:
    return parse_checked(raw)[1]


def _escapes_one_by_one(raw: bytes) -> set[int]:
    """The bytes after each escaping backslash, read as a JSON scanner reads them."""
    found: set[int] = set()
    at = 0
    while at < len(raw):
        if raw[at] == ord("\\"):
            found.add(raw[at + 1] if at + 1 < len(raw) else -1)
            at += 2
        else:
            at += 1
    return found


_ESCAPY = st.binary(max_size=60).map(lambda b: b.replace(b"\x00", b"\\")) | st.text(
    st.sampled_from(list('\\"u/nx')), max_size=60
).map(str.encode)


@given(_ESCAPY)
def test_quotes_only_reads_each_escape_from_its_backslash(raw: bytes) -> None:
    only_quotes = _escapes_one_by_one(raw) <= {ord('"')}
    assert quotes_only(raw) is only_quotes
    # What redaction asks of it: every backslash escapes a quote, as counting them says.
    assert only_quotes is (raw.count(b"\\") == raw.count(b'\\"'))


def test_quotes_only_gives_up_past_its_bound_and_callers_look_the_slow_way() -> None:
    many = b'"' + b'\\"' * 5000 + b'"'
    assert quotes_only(many) is None
    assert quotes_only(b'"' + b"\\/" * 5000 + b'"') is False  # told at the first one
    assert _plain(many)  # counted instead
    assert not _plain(many + b"\\\\")
    assert not representable(b'["' + b"\\/" * 5000 + b'\\ud800"]')
    assert representable(b'["' + b"\\/" * 5000 + b'\\\\ud800"]') is False  # as before: unsure
    # An escaped backslash, then `ud800` as text: no surrogate, but the scan cannot tell.
    assert not representable(b'["' + b"\\/" * 5 + b'\\\\ud800"]')
    assert representable(b'["W/\\"1\\"", "\\\\ud800"]') is False
    assert representable(b'["W/\\"1\\"", "ud800"]')  # quotes' escapes only: proven
