"""The invariant behind masking runs (scim/spans.py): every RUN characters in a row of a
registered text, wherever they show, are masked, and nothing else is masked for them;
`may_show` says yes wherever there is one. Checked against the plainest reading there is
(every window of RUN characters of the text looked up among every run of the secrets), on
secrets that repeat themselves: a few letters, so that one gram occurs at many places of one
secret, of its encodings, or of several secrets; with few anchors and with many."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from reconciler.scim.spans import _FEW, RUN, Clues, may_show, shown_at

_LETTERS = st.text(st.sampled_from("abc"), min_size=1, max_size=3)


def _covered(text: str, values: list[str]) -> set[int]:
    """The reference: positions of `text` inside some window of RUN that is a run of a value."""
    runs = {v[at : at + RUN] for v in values for at in range(len(v) - RUN + 1)}
    return {
        at + n
        for at in range(len(text) - RUN + 1)
        if text[at : at + RUN] in runs
        for n in range(RUN)
    }


def _shown(spans: list[tuple[int, int]]) -> set[int]:
    return {at for start, end in spans for at in range(start, end)}


@st.composite
def _secrets(draw: st.DrawFn) -> list[str]:
    """Values built from a few repeated pieces (a gram recurs three times or more) with
    unique characters between them, some long enough for more than _FEW anchors."""
    values = []
    for _ in range(draw(st.integers(1, 3))):
        pieces = draw(st.lists(_LETTERS, min_size=1, max_size=6))
        parts = [
            draw(st.sampled_from(pieces)) * draw(st.integers(1, 8))
            + (str(draw(st.integers(0, 99))) if draw(st.booleans()) else "")
            for _ in range(draw(st.integers(1, 60)))
        ]
        value = "".join(parts)
        if len(value) >= RUN:
            values.append(value)
    return values or ["abcabcabcabc" + "x1y2z3"]


@st.composite
def _cases(draw: st.DrawFn) -> tuple[list[str], str]:
    values = draw(_secrets())
    pieces = []
    for _ in range(draw(st.integers(1, 5))):
        value = draw(st.sampled_from(values))
        start = draw(st.integers(0, len(value)))
        pieces.append(value[start : start + draw(st.integers(RUN - 3, RUN + 20))])
        pieces.append(draw(st.sampled_from(["", "a", "b", "ab", " ", "9", "abc" * 4])))
    return values, "".join(pieces)


@settings(max_examples=600, deadline=None)
@given(_cases())
@example((["qwertyabcdefghiqwertyjklmnopqrqwertystuvwxyz0"], "~qwertystuvwx~"))
def test_every_run_shown_is_masked_and_nothing_more(case: tuple[list[str], str]) -> None:
    values, text = case
    clues = Clues.of(values)
    expected = _covered(text, values)
    assert _shown(shown_at(text, (), clues)) == expected
    assert may_show(text, (), clues) == bool(expected)


def test_the_cases_reach_both_searches() -> None:
    # Few anchors are searched one by one, many through the grams at every STRIDE-th
    # position: the secrets above give both.
    few = Clues.of(["qwertyabcdefghiqwertyjklmnopqrqwertystuvwxyz0"])
    many = Clues.of(["".join(f"{n}ab" * 3 for n in range(40))])
    assert len(few.anchors) <= _FEW < len(many.anchors)
    text = "<" + "".join(f"{n}ab" * 3 for n in range(40))[200:240] + ">"
    assert _shown(shown_at(text, (), many)) == set(range(1, 41))
