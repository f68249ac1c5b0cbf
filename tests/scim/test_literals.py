"""The one-pass search for literals (scim/literals.py) answers exactly as looking for each
literal in turn would: redaction skips a page on its word, so a wrong "not found" would let
a secret through. Checked against the plain search on generated texts, hostile ones
included (quotes and backslashes, non-ASCII, lone surrogates, NUL, case)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.scim import literals
from reconciler.scim.literals import Literals

# Few characters, so literals often do occur in the texts drawn from them.
_ALPHABET = st.sampled_from(list('aAbB"\\/-=\x00é\u200b\ud800ﬁ'))
_TEXT = st.text(_ALPHABET, max_size=40)
_LITERAL = st.text(_ALPHABET, min_size=1, max_size=4)
_ASCII = st.sampled_from(list('aAbB"\\/-=\x00'))


def test_hyperscan_is_there() -> None:
    # A dependency on every platform it has a build for; without it every page is searched
    # anchor by anchor, as the tests below would show by failing.
    assert literals.AVAILABLE


@settings(max_examples=600, deadline=None)
@given(st.lists(_LITERAL, max_size=6), _TEXT)
def test_found_in_is_looking_for_each_literal_in_turn(texts: list[str], text: str) -> None:
    assert Literals(texts).found_in(text) is any(t in text for t in texts)


def _reading(raw: bytes) -> str:
    """How redaction reads a body whose escapes are quotes' (redact._shows_any)."""
    return raw.replace(b'\\"', b'"').lower().decode()


@settings(max_examples=600, deadline=None)
@given(st.lists(_LITERAL, max_size=6), st.text(_ASCII, max_size=40))
def test_found_in_raw_is_the_search_of_the_body_as_read(texts: list[str], body: str) -> None:
    raw = body.encode()
    folded = [t.lower() for t in texts]
    found = Literals(folded).found_in_raw(raw)
    exact = any(t in _reading(raw) for t in folded if t.isascii())
    if any("\\" in t for t in folded if t.isascii()):
        assert found  # taken as found, never searched
    else:
        assert found is exact


def test_raw_reads_any_case_and_escaped_quotes() -> None:
    found = Literals(['en"tok', "bench-"]).found_in_raw
    assert found(b'{"a": "SCIMREC-BENCH-"}')
    assert found(b'{"a": "toKEN\\"TOK"}')
    assert found(b'{"a": "toKEN"TOK"}')
    assert not found(b'{"a": "toKEN\\\\"TOK"}')  # an escaped backslash, then the string ends
    assert not found(b'{"a": "scimrec bench"}')


def test_non_ascii_bodies_and_no_literals() -> None:
    assert Literals(["zz"]).found_in_raw("é".encode())  # the caller reads those itself
    assert not Literals([]).found_in("anything") and not Literals([""]).found_in_raw(b"x")
    assert Literals(["ab"]).found_in("x\ud800ab") and not Literals(["ab"]).found_in("\ud800a")


def test_a_pattern_hyperscan_refuses_leaves_every_text_searched() -> None:
    # Every literal is written byte by byte, so none should be refused; were one (here a
    # pattern that is no pattern), the search answers "maybe" for every text, so callers
    # look themselves.
    assert literals._compile([b"(", b"a"], caseless=False) is True
    assert literals._compile([], caseless=False) is False


@pytest.mark.parametrize("threads", [8])
def test_each_thread_scans_with_its_own_scratch(threads: int) -> None:
    from concurrent.futures import ThreadPoolExecutor

    search = Literals(["needle"])
    pages = [("x" * 200_000 + ("needle" if i % 2 else "")).encode() for i in range(threads * 4)]
    with ThreadPoolExecutor(threads) as pool:
        answers = list(pool.map(search.found_in_raw, pages))
    assert answers == [i % 2 == 1 for i in range(len(pages))]


def test_past_the_most_literals_every_text_may_hold_one() -> None:
    # Compiling tens of thousands of anchors at each registration would cost seconds: past
    # MOST, the search says "maybe" and the callers search one by one, as before hyperscan.
    many = [f"{n:06x}" for n in range(literals.MOST + 1)]
    assert Literals(many).found_in("nothing") and Literals(many).found_in_raw(b"nothing")
    assert not Literals(many[: literals.MOST]).found_in("nothing")
