"""Where a text shows a secret (scim/spans.py): forms and runs of it, whatever the case, the
compatibility form of each character or the invisible characters between them; and the
places found are places in the text as it was, so only the secret is masked."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest

from reconciler.scim.spans import RUN, Clues, fold, masked, may_show, shown_at

SECRET = "Zq8PBZ8m8M91JMV0KwYb3g7tatg0UKbfk5Z5Fp3e"
VALUE = SECRET.lower()  # as the registry keeps it: folded


class _Counting(frozenset[str]):
    """The runs a Clues knows, counting how often one is looked up."""

    asked = 0

    def __contains__(self, item: object) -> bool:
        self.asked += 1
        return super().__contains__(item)


def show(text: str, forms: tuple[str, ...] = (), values: tuple[str, ...] = (VALUE,)) -> str:
    return masked(text, shown_at(text, forms, Clues.of(values)))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"token {SECRET} refused", "token *** refused"),
        (f"token {SECRET.upper()}!", "token ***!"),
        (f"<{SECRET.swapcase()}>", "<***>"),
        (f"first {SECRET[:RUN]} only", "first *** only"),
        (f"last {SECRET[-RUN:]}.", "last ***."),
        (f"one short {SECRET[: RUN - 1]}.", f"one short {SECRET[: RUN - 1]}."),
        (f"a {SECRET[:20]} b {SECRET[20:]} c", "a *** b *** c"),
        ("zw " + "\u200b".join(SECRET) + " end", "zw *** end"),
        ("shy " + "\xad".join(SECRET[:15]) + "|", "shy ***|"),
        ("wide " + "".join(chr(ord(c) + 0xFEE0) for c in SECRET) + ".", "wide ***."),
        (f"{SECRET}{SECRET}", "***"),
        ("nothing here at all", "nothing here at all"),
    ],
)
def test_a_run_of_a_secret_is_masked_and_nothing_else(text: str, expected: str) -> None:
    assert show(text) == expected


def test_a_form_is_masked_whole_in_any_case_even_when_short() -> None:
    # Forms (the secret and its encodings) are masked whole, whatever their length; runs
    # only where a secret is long enough to have one.
    assert show("id ABCD9 and abcd9!", forms=("abcd9",), values=()) == "id *** and ***!"


def test_a_form_is_masked_every_time_it_shows() -> None:
    # A target's answer may repeat a secret any number of times (each error of a batch).
    text = "a abcd9 b ABCD9 c abcd9 d Abcd9 e"
    assert show(text, forms=("abcd9",), values=()) == "a *** b *** c *** d *** e"


def test_fold_keeps_ascii_positions_and_says_where_it_dropped() -> None:
    assert fold("AbC") == ("abc", ())
    assert fold("a\u200bB\u200bc") == ("abc", (1, 2))
    assert fold("\uff38\t\u00c4") == ("x\t\u00e4", ())
    assert fold("\ufb01x") == ("\ufb01x", ())  # "fi" would be two: kept as it is


def test_positions_after_dropped_characters_map_back() -> None:
    text = "\u200b\u200bhead " + "\u200b".join(SECRET[:14]) + "\u200b tail"
    spans = shown_at(text, (), Clues.of([VALUE]))
    assert len(spans) == 1
    start, end = spans[0]
    assert text[start] == SECRET[0]
    assert text[end - 1] == SECRET[13]
    assert masked(text, spans) == "\u200b\u200bhead ***\u200b tail"


def test_positions_after_visible_and_dropped_characters_map_back() -> None:
    # Characters folded one by one that stay (an accented letter) count where the dropped
    # ones were, as much as those that go.
    text = "\u200bcaf\u00e9\u200b\u00fc " + "\u200b".join(SECRET[:14]) + "\u200b tail"
    spans = shown_at(text, (), Clues.of([VALUE]))
    assert [(text[s], text[e - 1]) for s, e in spans] == [(SECRET[0], SECRET[13])]
    assert masked(text, spans) == "\u200bcaf\u00e9\u200b\u00fc ***\u200b tail"


# Past _FEW anchors: looked for by the grams at every _STRIDE-th position of the text.
LONG = "".join(hashlib.sha256(bytes([n])).hexdigest() for n in range(6))


@pytest.mark.parametrize("value", [VALUE, LONG], ids=["few anchors", "many anchors"])
@pytest.mark.parametrize("offset", range(8))
def test_what_may_show_a_run_is_never_missed_wherever_it_starts(value: str, offset: int) -> None:
    clues = Clues.of([value])
    assert (len(clues.anchors) > 48) == (value == LONG)
    for start in (0, 5, len(value) - RUN):
        text = "x" * offset + value[start : start + RUN] + "y"
        assert shown_at(text, (), clues)
        assert may_show(text, (), clues), (offset, start)
    assert not may_show("x" * offset + "y", (), clues)


def test_a_short_form_may_show_by_itself() -> None:
    assert may_show("id abcd9.", ("abcd9",), Clues())
    assert not may_show("id abcd8.", ("abcd9",), Clues())


@pytest.mark.parametrize("value", ["a" * 30, "ab" * 15, LONG[:40] + "z" * 60])
def test_a_secret_that_repeats_itself_is_masked_through_long_repeating_text(value: str) -> None:
    # Runs already looked at are not looked at again: the work stays linear in the text
    # (a few look-ups a character), and the text is still masked.
    clues = Clues.of([value])
    counted = _Counting(clues.runs)
    text = "<" + value[: len(value) // 2] + value[-RUN:] * 300 + ">"
    shown = masked(text, shown_at(text, (value,), replace(clues, runs=counted)))
    assert 0 < counted.asked <= 3 * len(text)
    assert shown.startswith("<***")
    assert shown.endswith(">")
    assert len(shown) - len("<***>") < RUN  # at most a tail shorter than a run is left
    assert show("<" + value + ">", values=(value,)) == "<***>"


@pytest.mark.parametrize("value", [VALUE, LONG], ids=["few anchors", "many anchors"])
def test_a_gram_of_a_secret_with_no_run_around_it_may_not_show_one(value: str) -> None:
    # Six characters of a secret's hex are as common as any six in an ETag or a uuid: one
    # found with no run of RUN around it shows nothing, and costs no walk of the text.
    clues = Clues.of([value])
    for start in (0, 7, 14):
        gram = value[start : start + 6]
        text = "~" * 28 + gram + "~" * 28  # at a multiple of the stride: looked up
        assert not shown_at(text, (), clues)
        assert not may_show(text, (), clues), start


def test_a_run_is_found_where_its_anchor_repeats_in_the_text() -> None:
    # An anchor of one character repeated ("000000") shows at each of several places in a
    # row of zeros; only the last one starts the run ("000000xj5tk8", a run of RUN), so
    # every place it shows is followed, not every other one.
    value = "wq7zr1p000000xj5tk8mv3"
    assert Clues.of([value]).anchors == ("000000", "j5tk8m", "wq7zr1")
    for zeros in (6, 7, 8, 9):
        text = "id=" + "0" * zeros + "xj5tk8 end"
        assert show(text, values=(value,)) == "id=" + "0" * (zeros - 6) + "*** end", zeros


def test_a_run_may_show_where_its_anchor_repeats_in_the_text() -> None:
    # As above, for the quick look that lets text through unmasked when it says no.
    value = "wq7zr1p000000xj5tk8mv3"
    for zeros in (6, 7, 8, 9):
        assert may_show("id=" + "0" * zeros + "xj5tk8 end", (), Clues.of([value])), zeros


def test_runs_that_overlap_in_the_text_are_both_masked_whole() -> None:
    # The secret up to its zeros, then again from its last zeros on: the second run starts
    # one character before the first ends ("0000000" holds the anchor "000000" twice).
    value = "wq7zr1p000000xj5tk8mv3"
    text = "<q7zr1p0000000xj5tk8>"
    assert show(text, values=(value,)) == "<***>"


def test_a_run_may_show_though_its_anchor_shows_again_later_alone() -> None:
    # What `may_show` misses is never masked (redact.py skips such text whole): the run
    # at the start is found, whatever follows it.
    clues = Clues.of([VALUE])
    text = f"{SECRET[:RUN]} and later {SECRET[:6]} alone"
    assert may_show(fold(text)[0], (), clues)
    assert show(text) == f"*** and later {SECRET[:6]} alone"
    between = f"{SECRET[:6]} alone, {SECRET[:RUN]}, {SECRET[:6]} alone"
    assert may_show(fold(between)[0], (), clues)
    assert show(between) == f"{SECRET[:6]} alone, ***, {SECRET[:6]} alone"


def test_text_with_tabs_or_line_ends_is_folded_as_the_secret_is() -> None:
    # A capital sigma lowers to a final sigma at the end of a word (U+03C2, not U+03C3)
    # where a text is lowered whole, and to a plain one where it is lowered a character at
    # a time (around a character dropped): folded text holds the plain one either way, so
    # the secret, folded whole, is found in text folded piece by piece. A tab, a line end
    # or an invisible character in the text changes nothing of that.
    secret = "Zeta-\u0391\u03a3-0123456789abcdef"
    value = fold(secret)[0]
    assert "\u03b1\u03c3-" in value
    assert fold("\u03a3\u03c2 \u03c2")[0] == "\u03c3\u03c3 \u03c3"
    for space in ("\t", "\n", "\r", "\u200b"):
        assert fold(space + secret)[0] == value if space == "\u200b" else space + value
        assert show(space + secret, forms=(value,), values=(value,)) == space + "***"
        assert show(secret + " end" + space, values=(value,)) == "*** end" + space


def test_occurrences_of_a_form_that_overlap_are_masked_as_one() -> None:
    # A form repeating a part of itself: masked one by one from where the last ended, the
    # second, starting inside the first, would be missed and its end would show.
    assert show("xab9ab9ab9x", forms=("ab9ab",), values=()) == "x***9x"
    assert show("<abcd9ABCD9>", forms=("abcd9",), values=()) == "<***>"
    assert show("aaaaaaa", forms=("aaaa", ""), values=()) == "***"
    assert show("xaaaaax", forms=("aaaa",), values=()) == "x***x"  # the next one starts 1 on
    assert show("aaaaaa", forms=("aaaa",), values=()) == "***"
    assert show("aaaaa aaaa aaaa", forms=("aaaa",), values=()) == "*** *** ***"


@pytest.mark.parametrize(
    "text",
    ["abc\u0130def", "stra\u00dfe", "\ufb01ne", "\uff21\uff22c", "e\u0301t\u00e9", "\u01c5x"],
)
def test_a_character_no_one_sees_changes_nothing_else_of_the_reading(text: str) -> None:
    # Text with an invisible character is read a character at a time, text without one
    # mostly whole: the two readings agree on every other character.
    for at in range(len(text) + 1):
        assert fold(text[:at] + "\u200b" + text[at:])[0] == fold(text)[0], at
