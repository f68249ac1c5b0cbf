"""Target JSON is read by msgspec where it takes it, by the standard library where it does
not (payload._fast). Whichever reads it, every body must come out as `json.loads` reads it,
to the same types (1 is not 1.0, -0.0 is not 0.0), or be refused as `json.loads` refuses
it: a reader that turned a 20-digit id into a float, or took a lone surrogate for text,
would match or deprovision on a value the target does not hold."""

from __future__ import annotations

import json
import math
import struct
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from reconciler.scim.payload import NotJson, parse_checked


def _same(a: Any, b: Any) -> bool:
    """Equal, and of the same type all the way down; floats to the bit."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return struct.pack("<d", a) == struct.pack("<d", b)
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(_same, a, b))
    return bool(a == b)


def _stdlib(content: bytes) -> Any:
    """What the standard library alone makes of a body, as parse_checked would without
    msgspec: its value, or NotJson."""

    def constant(name: str) -> Any:
        raise ValueError(name)

    try:
        return json.loads(content, parse_constant=constant)
    except (ValueError, RecursionError):
        return NotJson


def _ours(content: bytes) -> Any:
    try:
        return parse_checked(content)[0]
    except NotJson:
        return NotJson


def _agrees(content: bytes) -> None:
    theirs, ours = _stdlib(content), _ours(content)
    if theirs is NotJson or ours is NotJson:
        # The nesting bound refuses bodies the standard library reads; never the reverse.
        assert ours is NotJson, content[:80]
        return
    assert _same(ours, theirs), content[:80]


# Numbers past 64 bits and doubles, text with every escape, keys held twice.
NUMBERS = st.integers() | st.floats(allow_nan=False, allow_infinity=False)
LEAVES = st.none() | st.booleans() | NUMBERS | st.text()
VALUES = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
)


@settings(max_examples=400, deadline=None)
@given(VALUES, st.booleans())
def test_every_value_is_read_as_the_standard_library_reads_it(value: Any, ascii_only: bool) -> None:
    _agrees(json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass"))


@settings(max_examples=600, deadline=None)
@given(st.binary(max_size=40))
@example(b'{"a":1,"a":[2]}')
@example(b'\xef\xbb\xbf{"id":"1"}')  # a byte order mark: the standard library reads it
@example(b'"\\ud800"')  # a lone surrogate, escaped
@example(b'"\xed\xa0\x80"')  # a lone surrogate as UTF-8-like bytes
@example(b"[NaN]")
@example(b'{"n":1e400}')
@example(b'"\xc0\xaf"')  # an overlong encoding: not UTF-8
def test_any_bytes_are_read_as_the_standard_library_reads_them(content: bytes) -> None:
    _agrees(content)


@settings(max_examples=300, deadline=None)
@given(st.from_regex(rb"\A-?(0|[1-9][0-9]{0,40})(\.[0-9]{1,30})?([eE][-+]?[0-9]{1,3})?\Z"))
def test_every_number_is_read_to_the_same_value_and_type(text: bytes) -> None:
    _agrees(b'{"n":' + text + b"}")


@pytest.mark.parametrize(
    "text",
    [
        b"18446744073709551616",  # 2**64: past 64 bits, orjson reads it as a float
        b"-9223372036854775809",
        b"123456789012345678901234567890",
        b"1" + b"0" * 400,
    ],
)
def test_integers_past_64_bits_stay_integers(text: bytes) -> None:
    value, representable = parse_checked(b'{"id":' + text + b"}")
    assert value == {"id": int(text)} and type(value["id"]) is int
    assert representable


def test_what_msgspec_refuses_is_read_as_before() -> None:
    value, representable = parse_checked(b'{"a":"\\ud800","b":1e400}')
    assert value["a"] == "\ud800" and math.isinf(value["b"])
    assert not representable  # both are looked at one by one (core/shape.py)
    with pytest.raises(NotJson, match="not JSON"):
        parse_checked(b'{"a":NaN}')


def test_a_plain_page_is_read_without_the_standard_library(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast reader is the one used on what targets send (the point of having it)."""

    def refused(*args: object, **kwargs: object) -> None:
        raise AssertionError("json.loads read a plain page")

    monkeypatch.setattr(json, "loads", refused)  # the module payload.py reads with
    page = {"Resources": [{"id": "1", "userName": "ann", "meta": {"version": 'W/"1"'}}]}
    assert parse_checked(json.dumps(page).encode()) == (page, True)


@pytest.mark.parametrize("value", [5, 1.5, True, None, "a/b"])
@pytest.mark.parametrize("form", ["text", "utf-16", "utf-8"])
def test_a_body_that_is_one_scalar_is_read_by_every_path(value: Any, form: str) -> None:
    """A body of one number, boolean, null or string (an error page's, a token endpoint's)
    read as text, as UTF-16 (both walked for depth) and as UTF-8 (a string's `\\/`, an
    escape other than a quote's, is walked too): read, never a crash in the depth walk."""
    text = json.dumps(value).replace("/", "\\/")
    content: bytes | str = text
    if form != "text":
        content = text.encode(form)
    assert _same(parse_checked(content)[0], value)
