"""Every form a secret can take on the way out is masked, whatever the secret's length.

A registered form is masked two ways (scim/redact.py `_Secrets.of`): one shorter than a run
(spans.RUN) whole, one of a run or longer by any run of it. A form of exactly a run's length
sits on the line between the two; this walks every length from the shortest secret kept to
past two runs, with the characters that change each encoding, so no form of any length falls
between the two ways. The forms are listed here, from the standard library, not taken from
redact.py: a form redact.py forgot to register would otherwise be forgotten by the test too."""

from __future__ import annotations

import base64
import html
import json
import unicodedata
from collections.abc import Callable
from urllib.parse import quote, quote_plus

import pytest

from reconciler.scim.redact import register_secret, scrub, scrub_json
from reconciler.scim.secret_forms import SHORTEST, encodings
from reconciler.scim.spans import RUN

# Each pattern repeated to the length wanted: plain letters; a `/` and a space, which
# percent-encoding triples and a form body writes as `+`; a quote and an accent, which
# JSON and HTML escape and UTF-8 takes two bytes for.
_PATTERNS = ("k7Qm", "ab/c d", 'x"é<')
_LENGTHS = range(SHORTEST, 2 * RUN + 3)


def _secret(pattern: str, length: int) -> str:
    return (pattern * length)[:length]


def _shown(secret: str) -> set[str]:
    """What a target or a renderer could write for `secret`: itself, percent-encoded
    (a path segment's way, a form body's way, hex in either case), HTML-escaped, as a JSON
    string (escaped or not), in hex and in base64 (either alphabet, padded or not), in
    base32, and in hex of its UTF-16 text."""
    raw = secret.encode()
    percent = {quote(secret, safe=""), quote(secret), quote_plus(secret)}
    forms = {secret, html.escape(secret), raw.hex(), raw.hex().upper()}
    forms |= percent | {p.lower() for p in percent}
    forms |= {json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
    for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw), base64.b32encode(raw)):
        forms |= {encoded.decode(), encoded.decode().rstrip("=")}
    # The text in UTF-16, in hex, either byte order (.NET's and Java's dumps of a string).
    forms |= {secret.encode("utf-16-le").hex(), secret.encode("utf-16-be").hex().upper()}
    return {f for f in forms if len(f) >= SHORTEST}


@pytest.mark.parametrize("pattern", _PATTERNS)
@pytest.mark.parametrize("length", _LENGTHS)
def test_each_registered_form_is_masked_in_text_and_in_a_target_body(
    pattern: str, length: int
) -> None:
    secret = _secret(pattern, length)
    register_secret(secret)
    for form in sorted(_shown(secret)):
        line = f"error: {form} was refused"
        assert form not in scrub(line), (secret, form)
        body = {"detail": line, "scimType": "invalidValue"}
        raw = json.dumps(body).encode()
        shown = scrub_json(json.loads(raw), raw)
        assert form not in shown["detail"], (secret, form)


@pytest.mark.parametrize("length", [RUN - 1, RUN, RUN + 1])
def test_a_form_exactly_a_run_long_that_is_no_run_of_the_secret_is_masked(length: int) -> None:
    # Percent-encoding an 8-character secret with two `/` gives 12 characters: a form of a
    # run's length whose characters are no run of the secret, its hex or its base64.
    secret = _secret("ab/cd/efgh", length - 4)
    form = secret.replace("/", "%2F")
    register_secret(secret)
    assert form in encodings(secret)
    assert form not in scrub(f"path {form} not found")
    raw = json.dumps({"detail": f"path {form} not found"}).encode()
    assert form not in scrub_json(json.loads(raw), raw)["detail"]


def test_text_that_holds_no_form_is_left_alone_at_every_length() -> None:
    for length in _LENGTHS:
        register_secret(_secret("k7Qm", length))
    line = "error: the user alice@example.com was refused (id 2819c223)"
    assert scrub(line) == line
    raw = json.dumps({"detail": line}).encode()
    assert scrub_json(json.loads(raw), raw) == {"detail": line}


def test_a_secret_neither_composed_nor_decomposed_is_masked_as_sent() -> None:
    # One accent composed, one decomposed: the secret is neither its NFC nor its NFD form,
    # and a target may send it back as either, or as it came.
    secret = "key-\u00e9-e\u0301-2f7Qm"
    assert secret not in {unicodedata.normalize(f, secret) for f in ("NFC", "NFD")}
    register_secret(secret)
    for shown in (secret, *(unicodedata.normalize(f, secret) for f in ("NFC", "NFD"))):
        assert shown not in scrub(f"denied: {shown}")
        raw = json.dumps({"detail": f"denied: {shown}"}, ensure_ascii=False).encode()
        assert shown not in scrub_json(json.loads(raw), raw)["detail"]


def _own_characters(encoded: str, before: int, size: int) -> str:
    """The base64 characters of `encoded` whose six bits all come from the `size` bytes
    after the first `before`: what no neighbour of the secret changes."""
    inside = [
        i
        for i in range(len(encoded.rstrip("=")))
        if (6 * i) // 8 >= before and (6 * i + 5) // 8 < before + size
    ]
    return encoded[inside[0] : inside[-1] + 1] if inside else ""


@pytest.mark.parametrize("length", range(SHORTEST, RUN + 3))
@pytest.mark.parametrize("encode", [base64.b64encode, base64.urlsafe_b64encode])
def test_a_short_secret_base64_encoded_within_other_text_is_masked(
    length: int, encode: Callable[[bytes], bytes]
) -> None:
    # A target echoes a header line base64-encoded: the secret starts 0, 1 or 2 bytes into
    # a group of three and ends anywhere in one, so its first and last characters are
    # shared with the text around it. `?`, `~` and `>` give the characters the two
    # alphabets spell differently (`+` `/` against `-` `_`).
    secret = _secret("k?~>Qm", length)
    register_secret(secret)
    for before in ("", "B", "Be", "Bearer "):
        for after in ("", "\r\n", "x"):
            encoded = encode(f"{before}{secret}{after}".encode()).decode()
            own = _own_characters(encoded, len(before), length)
            assert len(own) >= SHORTEST
            line = f"echo: {encoded} ."
            assert own not in scrub(line), (before, after, own)
            raw = json.dumps({"detail": line}).encode()
            assert own not in scrub_json(json.loads(raw), raw)["detail"], (before, after)


@pytest.mark.parametrize("before", range(6))
def test_a_secret_base32_encoded_within_other_text_is_masked(before: int) -> None:
    # Base32 takes bytes five at a time: within longer text, the secret's first and last
    # characters depend on its neighbours, wherever it starts.
    secret = "tok-3f9a71c2b8"
    register_secret(secret)
    echoed = base64.b32encode(b"Bearer "[:before] + secret.encode() + b"\r\n").decode()
    inner = _own_base32(echoed, before, len(secret))
    assert inner not in scrub(f"seen: {echoed}")
    raw = json.dumps({"detail": echoed}).encode()
    assert inner not in scrub_json(json.loads(raw), raw)["detail"]


def test_a_secret_in_utf16_hex_cut_short_is_masked() -> None:
    secret = "tok-3f9a71c2b8d04e6a"
    register_secret(secret)
    dumped = secret.encode("utf-16-le").hex()[6:-10]  # cut at both ends, within a run
    assert dumped not in scrub(f"header bytes: {dumped}")


def _own_base32(encoded: str, before: int, size: int) -> str:
    """The base32 characters of `encoded` whose five bits all come from the `size` bytes
    after the first `before`."""
    inside = [
        i
        for i in range(len(encoded.rstrip("=")))
        if (5 * i) // 8 >= before and (5 * i + 4) // 8 < before + size
    ]
    return encoded[inside[0] : inside[-1] + 1]
