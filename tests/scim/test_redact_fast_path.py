"""scrub_json skips the walk of a body that shows no secret (redact.py): a listing whose
ETags or ids share a few characters with a secret's hex (a six-character gram matches
about one hex string in sixteen million, and a large listing holds millions) is not
walked string by string for them, and a body that holds a run of the secret still is."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.scim import redact
from reconciler.scim.payload import _MANY_ESCAPES, quotes_only
from reconciler.scim.redact import forget_secrets, register_secret, scrub_json
from reconciler.scim.spans import RUN

TOKEN = 'tok"en-0123456789-abcdefghij-KLMNOPQRST'  # a quote too: its JSON form differs
HEX = TOKEN.encode().hex()


@pytest.fixture(autouse=True)
def registered() -> Iterator[None]:
    register_secret(TOKEN)
    yield
    forget_secrets()


def listing(version: str) -> dict[str, object]:
    return {"id": "u1", "userName": "a@example.com", "meta": {"version": f'W/"{version}"'}}


@pytest.mark.parametrize("start", [0, 7, 14, 21])
@pytest.mark.parametrize("pad", range(7))  # wherever the gram falls in the text
def test_a_listing_sharing_a_gram_of_the_secrets_hex_is_not_walked(start: int, pad: int) -> None:
    shared = HEX[start : start + RUN - 1]  # one short of a run
    body = listing("f" * pad + shared + "~")
    raw = json.dumps(body).encode()
    assert scrub_json(body, raw) is body


@pytest.mark.parametrize(
    "run",
    [HEX[3 : 3 + RUN], TOKEN[2 : 2 + RUN], TOKEN[:RUN].upper()],
    ids=["hex", "across-the-quote", "upper-case"],
)
def test_a_body_holding_a_run_is_still_masked(run: str) -> None:
    body = listing("1") | {"nickName": f"x{run}y"}
    raw = json.dumps(body).encode()
    assert scrub_json(body, raw)["nickName"] == "x***y"


@settings(max_examples=400, deadline=None)
@given(st.text(st.sampled_from(list('\\/"%&#;u0aF9x ;é\n')), max_size=30))
def test_the_escape_search_is_skipped_only_where_none_can_start(text: str) -> None:
    # Every escape starts with a backslash, `%` or `&`: looked for first, they decide
    # nothing but whether the search runs.
    found, searched = redact._escapes(text), redact._ESCAPED.search(text)
    assert (found and found.span()) == (searched and searched.span())


def test_an_escaped_secret_in_a_page_without_other_escapes_is_still_masked() -> None:
    # A percent-encoded run of the token, in a body JSON-escaped elsewhere (`\/`).
    run = "".join(f"%{b:02X}" for b in TOKEN[4:20].encode())
    raw = json.dumps({"id": "u1", "ref": "https:\\/\\/x", "note": run}).encode()
    assert scrub_json(json.loads(raw), raw)["note"] == "***"


def test_a_body_holding_a_run_split_by_deletes_is_still_masked() -> None:
    # JSON lets a DEL (U+007F) stand unescaped in a string, and no reader sees it: fold drops
    # it, so the string shows a run of the secret that the body's bytes, read as they are,
    # do not hold (no six characters of it in a row).
    split = "\x7f".join(TOKEN[at : at + 5] for at in range(0, 30, 5))
    nick = f"x{split}y"
    body = listing("1") | {"nickName": nick}
    raw = json.dumps(body, ensure_ascii=False).encode()
    assert raw.isascii() and b"\x7f" in raw
    assert scrub_json(body, raw)["nickName"] == redact.scrub(nick) != nick


def test_a_body_holding_a_lone_surrogates_bytes_is_read_and_masked() -> None:
    # The parser lets a lone surrogate's UTF-8-like bytes through (payload.py): the body is
    # read as it was parsed, not refused by a strict decoding with the run stopped on it.
    raw = b'{"nickName": "\xed\xa0\x80 ' + TOKEN[-RUN:].upper().encode() + b'"}'
    body = json.loads(raw)
    assert scrub_json(body, raw)["nickName"] == "\ud800 ***"


def _percent(text: str, every: int = 1, lower: bool = False) -> str:
    spelled = (f"%{b:02x}" if lower else f"%{b:02X}" for b in text.encode())
    return "".join(p if i % every == 0 else chr(int(p[1:], 16)) for i, p in enumerate(spelled))


# The secret as `scrub` reads it once escapes that are not JSON's are undone (_ESCAPED):
# each in a page whose only JSON escapes are its ETags' quotes, which the fast path reads
# from the raw bytes alone.
ECHOES = {
    "percent-encoded": _percent(TOKEN),
    "percent-encoded, lower case": _percent(TOKEN, lower=True),
    "percent-encoded in part": _percent(TOKEN, every=3),
    "decimal references": "".join(f"&#{ord(c)};" for c in TOKEN),
    "hex references": "".join(f"&#x{ord(c):x};" for c in TOKEN),
    "references without semicolons": "".join(f"&#{ord(c)}" for c in TOKEN),
    "named and numeric references": TOKEN.replace('"', "&quot;").replace("-", "&#45;"),
}


@pytest.mark.parametrize("where", ["value", "key"])
@pytest.mark.parametrize("form", ECHOES.values(), ids=ECHOES.keys())
def test_a_secret_spelled_in_other_escapes_is_masked_as_the_walk_masks_it(
    form: str, where: str
) -> None:
    body = listing("1") | ({"userName": f"x{form}"} if where == "value" else {form: "x"})
    raw = json.dumps(body).encode()
    walked = redact._scrub_value(body)
    assert walked != body  # the walk masks it: the fast path must not say otherwise
    assert scrub_json(body, raw) == walked


# Text near a secret and its escapes: pieces of it, percent and reference syntax, quotes.
_PIECES = [TOKEN[:8], TOKEN[8:20], TOKEN[20:], *ECHOES.values(), "%", "&", "#", ";", "%4", "&#"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=6), st.booleans())
def test_the_fast_path_masks_exactly_what_the_walk_masks(pieces: list[str], key: bool) -> None:
    # The invariant, whatever the target sends: skipping the walk never leaves a secret
    # the walk would have masked (nor changes anything it would not).
    text = "".join(pieces)
    body = listing("1") | ({text: "x"} if key else {"displayName": text})
    raw = json.dumps(body).encode()
    assert scrub_json(body, raw) == redact._scrub_value(body)


@pytest.mark.parametrize("text", ["R&D", "AT&T; Q&A", "50% off", "&#; &x; %G1"])
def test_an_ampersand_or_percent_that_escapes_nothing_leaves_the_page_unwalked(text: str) -> None:
    # Text html.unescape and unquote leave as it is: the page is as plain as without it.
    body = listing("1") | {"displayName": text}
    raw = json.dumps(body).encode()
    assert redact._plain(raw)
    assert scrub_json(body, raw) is body


def test_a_page_with_a_lone_surrogate_s_bytes_and_an_ampersand_is_read_as_the_walk_reads_it() -> (
    None
):
    # The bytes of a lone surrogate pass the parser (payload.py): the look for references
    # reads the page's text without refusing them.
    raw = (
        b'{"id": "u1", "department": "R&D \xed\xa0\x80", "nickName": "&#116;'
        + TOKEN[-RUN:].upper().encode()
        + b'"}'
    )
    body = json.loads(raw)
    assert scrub_json(body, raw) == redact._scrub_value(body) != body


def test_a_page_with_more_quote_escapes_than_are_counted_one_by_one_is_not_walked() -> None:
    # Past _MANY_ESCAPES, quotes_only gives up and the backslashes are counted against the
    # `\"` pairs: a page of many ETags is as plain as one of a few.
    many = _MANY_ESCAPES // 2 + 1
    body = {"Resources": [listing(str(n)) for n in range(many)]}
    raw = json.dumps(body).encode()
    assert raw.count(b'\\"') > _MANY_ESCAPES and quotes_only(raw) is None
    assert redact._plain(raw)
    assert scrub_json(body, raw) is body
