"""The one-pass prefilter (literals.py) changes no answer redaction gives: with it,
`_Secrets.may_show` answers as `spans.may_show` alone did, and `_shows_any` on a body whose
only escapes are quotes' answers as the search of that body read unescaped and in lower case
did. Checked on texts built from registered secrets of many shapes (4 to 40 characters,
quotes, backslashes, non-ASCII, spaces), their encodings cut near a run's length, in any
case and with escaped quotes, so that both few anchors and many (spans._FEW) are searched."""

from __future__ import annotations

import base64
import hashlib
import json
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.scim import spans
from reconciler.scim.redact import _plain, _Secrets, _shows_any
from reconciler.scim.secret_forms import SHORTEST, encodings, run_values
from reconciler.scim.spans import RUN, fold

_SECRET = st.text(st.sampled_from(list('abcDEF019-_"\\ /=+éﬁK\u200b')), min_size=4, max_size=40)
_FILLER = st.sampled_from(["", '"', '\\"', "x", " ", "W/", "0f", "é", "\uff21\uff22", "\u200b"])


def _secrets(values: list[str]) -> _Secrets:
    """What register_secret keeps for `values` (its variants and lengths)."""
    forms: set[str] = set()
    runs: set[str] = set()
    for value in values:
        for variant in {value, unicodedata.normalize("NFC", value)}:
            runs |= run_values(variant)
            forms |= {f for f in encodings(variant) if len(f) >= SHORTEST}
    return _Secrets.of(forms, runs)


def _shown_when_read_whole(raw: bytes, known: _Secrets) -> bool:
    """The reference: the whole body read unescaped, as `fold` reads text, then searched
    without the prefilter."""
    folded = fold(raw.replace(b'\\"', b'"').decode("utf-8", "surrogatepass"))[0]
    return spans.may_show(folded, known.short, known.clues)


@st.composite
def _cases(draw: st.DrawFn) -> tuple[list[str], str]:
    secrets = draw(st.lists(_SECRET, min_size=1, max_size=2))
    pieces = []
    for _ in range(draw(st.integers(1, 4))):
        secret = draw(st.sampled_from(secrets))
        raw = secret.encode()
        form = draw(st.sampled_from([secret, raw.hex(), base64.b64encode(raw).decode()]))
        start = draw(st.integers(0, len(form)))
        piece = form[start : start + draw(st.integers(RUN - 2, RUN + 1))]
        pieces += [piece.upper() if draw(st.booleans()) else piece, draw(_FILLER)]
    return secrets, "".join(pieces)


@settings(max_examples=300, deadline=None)
@given(_cases())
def test_may_show_answers_as_the_search_without_the_prefilter(case: tuple[list[str], str]) -> None:
    secrets, text = case
    known = _secrets(secrets)
    folded = fold(text)[0]
    assert known.may_show(folded) is spans.may_show(folded, known.short, known.clues)


@settings(max_examples=300, deadline=None)
@given(_cases())
def test_a_plain_body_is_skipped_only_where_its_reading_shows_nothing(
    case: tuple[list[str], str],
) -> None:
    secrets, text = case
    known = _secrets(secrets)
    raw = json.dumps({"id": "1", "v": text, "meta": {"version": 'W/"1"'}}).encode()
    if not _plain(raw):
        return  # walked string by string: no prefilter is asked
    assert _shows_any(raw, known) is _shown_when_read_whole(raw, known)


_SPACER = st.text(st.sampled_from(list('0123456789abcdefABCDEF"/ ')), max_size=300).map(
    lambda text: text.replace('"', '\\"')
)


_ASCII_SECRET = st.text(st.sampled_from(list("abcDEF019-_ /=+K")), min_size=4, max_size=40)


@st.composite
def _long_bodies(draw: st.DrawFn) -> tuple[list[str], bytes]:
    """A body that is mostly hex and quotes (a page of member ids), with pieces of the
    secrets' forms far apart: each is read in the stretch around it, not with the rest."""
    secrets = draw(st.lists(_ASCII_SECRET | _SECRET, min_size=1, max_size=2))
    parts = [draw(_SPACER) * draw(st.integers(0, 30))]
    for _ in range(draw(st.integers(1, 4))):
        secret = draw(st.sampled_from(secrets))
        raw = secret.encode()
        form = draw(st.sampled_from([secret, raw.hex(), base64.b64encode(raw).decode()]))
        start = draw(st.integers(0, len(form)))
        piece = form[start : start + draw(st.integers(RUN - 2, RUN + 1))]
        piece = piece.upper() if draw(st.booleans()) else piece
        parts += [json.dumps(piece)[1:-1], draw(_SPACER) * draw(st.integers(0, 10))]
    return secrets, ('{"v": "' + "".join(parts) + '"}').encode()


@settings(max_examples=300, deadline=None)
@given(_long_bodies())
def test_a_long_body_read_around_each_place_answers_as_read_whole(
    case: tuple[list[str], bytes],
) -> None:
    secrets, raw = case
    known = _secrets(secrets)
    if not _plain(raw):
        return
    assert _shows_any(raw, known) is _shown_when_read_whole(raw, known)


def test_a_secret_far_into_a_large_page_is_found_through_its_stretch() -> None:
    known = _secrets(["scimrec-bench-token"])
    ids = "".join(f'{{"value": "{n:032x}"}},' for n in range(20_000))
    for secret in ("scimrec-bench-TOKEN", "7363696d7265632d62656e63682d746f6b656e"[3:17]):
        raw = f'{{"members": [{ids}{{"value": "{secret}"}}], "x": "W/\\"1\\""}}'.encode()
        assert _plain(raw) and _shows_any(raw, known)
    raw = f'{{"members": [{ids}], "x": "746f6b W/\\"1\\""}}'.encode()  # an anchor, no run
    assert not _shows_any(raw, known)


@st.composite
def _repeating(draw: st.DrawFn) -> tuple[list[str], bytes]:
    """Secrets that repeat themselves (`abab...`), with enough anchors to be looked up by
    the grams at every STRIDE-th place of the text (spans._FEW): which run a stretch finds
    then depends on where it starts, unless it starts where the whole text would."""
    unit = draw(st.text(st.sampled_from("ab"), min_size=1, max_size=4))
    secret = (unit * 80)[: draw(st.integers(50, 80))]
    seed = draw(st.integers(0, 10**6))  # a secret that does not repeat: many anchors
    other = "".join(hashlib.sha256(f"{seed}.{n}".encode()).hexdigest() for n in range(2))
    start = draw(st.integers(0, len(secret) - RUN))
    piece = secret[start : start + draw(st.integers(RUN - 1, RUN + 2))]
    filler = st.lists(st.sampled_from(["0", "x", '\\"', "ab", "ba"]), max_size=40).map("".join)
    # Long enough that a stretch around the piece is not the whole body.
    body = draw(filler) * draw(st.integers(0, 60)) + piece + draw(filler) * draw(st.integers(0, 60))
    return [secret, other], ('{"v": "' + body + '"}').encode()


@st.composite
def _two_places(draw: st.DrawFn) -> tuple[list[str], bytes]:
    """`_repeating`'s secrets, with two pieces far enough apart to be read as two
    stretches, and quote escapes before each, which move where the text read from each
    stretch starts (stretches.py counts every escape before it)."""
    secrets, _ = draw(_repeating())
    secret = secrets[0]
    pieces = []
    for _ in range(2):
        start = draw(st.integers(0, len(secret) - RUN))
        pieces.append(secret[start : start + draw(st.integers(RUN - 1, RUN + 2))])
    # No letter of the secrets: the places are the pieces' alone.
    escapes = st.lists(st.sampled_from(["0", "x", '\\"', "-"]), min_size=1, max_size=9)
    gap = draw(escapes.map("".join)) * 400  # past the margin of both stretches
    body = draw(escapes.map("".join)) * 30 + pieces[0] + gap + pieces[1] + "0" * 50
    return secrets, ('{"v": "' + body + '"}').encode()


@settings(max_examples=400, deadline=None)
@given(st.one_of(_repeating(), _two_places()))
def test_a_stretch_is_read_from_where_the_whole_text_would_be(
    case: tuple[list[str], bytes],
) -> None:
    secrets, raw = case
    known = _secrets(secrets)
    assert len(known.clues.anchors) > spans._FEW and _plain(raw)
    assert _shows_any(raw, known) is _shown_when_read_whole(raw, known)


@pytest.mark.parametrize("extra", ["", "\x7f", "\u00e9"], ids=["ascii", "del", "utf-8"])
def test_a_secret_holding_a_quote_is_found_through_its_escape(extra: str) -> None:
    # In the body the quote is `\"`; read as the string holds it, the run goes through it.
    secret = 'Zq8PBZ8m"M91JMV0KwYb3g'
    known = _secrets([secret])
    for shown in (secret, secret[5:18]):
        body = {"id": "1", "detail": f"{extra}token {shown} refused"}
        raw = json.dumps(body, ensure_ascii=False).encode()
        assert _plain(raw) and _shows_any(raw, known), shown
