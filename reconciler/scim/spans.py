"""Where a text shows a secret, as a reader would see it: a registered form of it, or a run
of its characters, whatever the case, the compatibility form of each character (a fullwidth
letter) or the invisible characters put between them. Used by redact.py, which decides what
is secret and masks what this finds."""

from __future__ import annotations

import functools
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass

from reconciler.core.model import MASKED

# A run of this many characters of a secret (in any case) is masked wherever it shows: a
# secret cut short or split in two still gives most of itself away. Shorter secrets are
# masked whole only.
RUN = 12
# Every run holds one of a secret's anchors whole (one starts every RUN - _ANCHOR + 1
# characters), so a text is searched for a few anchors rather than for every run.
_ANCHOR = 6
_STRIDE = RUN - _ANCHOR + 1
# Up to this many grams, a text is searched for each (a search in C); past it, the grams at
# every _STRIDE-th position of the text are looked up instead (a pass in Python).
_FEW = 48

# What `fold` looks at one by one: anything but printable ASCII, tabs and line ends.
_ODD = re.compile(r"[^\t\n\r\x20-\x7e]")
# Characters no reader sees: controls and formats (zero-width spaces, soft hyphens, bidi).
_UNSEEN = frozenset({"Cc", "Cf"})


def fold(text: str) -> tuple[str, tuple[int, ...]]:
    """`text` as a reader sees it, to compare with: lower case, each character in its
    compatibility form (a fullwidth letter as the letter, NFKC), characters no one sees
    dropped; and where they were dropped (the positions in the folded text after each
    drop), to map positions back. Printable ASCII costs one `lower()`."""
    if not _ODD.search(text):
        return text.lower(), ()
    lowered = text.lower()
    if (
        len(lowered) == len(text)
        and text.replace("\t", " ").replace("\n", " ").replace("\r", " ").isprintable()
        and unicodedata.is_normalized("NFKC", text)
    ):
        return lowered, ()  # nothing unseen, each character its own compatibility form
    pieces, drops, done, size = [], [], 0, 0
    for match in _ODD.finditer(text):
        plain = text[done : match.start()].lower()
        pieces.append(plain)
        size += len(plain)
        seen = _seen(match[0])
        if seen:
            pieces.append(seen)
            size += 1
        else:
            drops.append(size)
        done = match.end()
    pieces.append(text[done:].lower())
    return "".join(pieces), tuple(drops)


@functools.lru_cache(maxsize=4096)
def _seen(char: str) -> str:
    """What a reader sees of one character: nothing, or one character (its compatibility
    form in lower case, or the character as it is where that is longer: U+FB01 "fi")."""
    if unicodedata.category(char) in _UNSEEN:
        return ""
    seen = unicodedata.normalize("NFKC", char).lower()
    return seen if len(seen) == 1 else char.lower() if len(char.lower()) == 1 else char


@dataclass(frozen=True)
class Clues:
    """What shows that a text may hold a run of some long texts: their anchors, and every
    _ANCHOR characters in a row of them (grams)."""

    anchors: tuple[str, ...] = ()
    grams: frozenset[str] = frozenset()

    @classmethod
    def of(cls, texts: Iterable[str]) -> Clues:
        texts = tuple(texts)
        found = {a for t in texts for a in anchors(t)}
        every = frozenset(t[i : i + _ANCHOR] for t in texts for i in range(len(t) - _ANCHOR + 1))
        return cls(tuple(sorted(found)), every)


def may_show(folded: str, short: tuple[str, ...], long: Clues) -> bool:
    """Whether folded text may hold one of the `short` forms, or RUN characters in a row of
    a long text: a run holds one of its anchors whole, and the gram at one of every
    _STRIDE positions of the text, so with many anchors only those grams are looked up
    (one pass in Python, not one search per anchor)."""
    if any(form in folded for form in short):
        return True
    if len(long.anchors) <= _FEW:
        return any(anchor in folded for anchor in long.anchors)
    known = long.grams
    every = range(0, len(folded) - _ANCHOR + 1, _STRIDE)
    return any(folded[i : i + _ANCHOR] in known for i in every)


def anchors(value: str) -> list[str]:
    return [value[at : at + _ANCHOR] for at in range(0, len(value) - _ANCHOR + 1, _STRIDE)]


def shown_at(text: str, forms: tuple[str, ...], values: tuple[str, ...]) -> list[tuple[int, int]]:
    """Where `text` shows a registered form, or a run of a secret, as `fold` reads it."""
    folded, drops = fold(text)
    spans: list[tuple[int, int]] = []
    for form in forms:
        at = folded.find(form)
        while at != -1:
            spans.append((at, at + len(form)))
            at = folded.find(form, at + len(form))
    for value in values:
        spans.extend(_runs(folded, value))
    if not drops:
        return spans
    # A position in the folded text, plus the characters dropped up to it.
    return [(s + bisect_right(drops, s), e - 1 + bisect_right(drops, e - 1) + 1) for s, e in spans]


def _runs(folded: str, value: str) -> list[tuple[int, int]]:
    """Where `folded` shows RUN or more characters of `value` in a row: each place an
    anchor shows, stretched both ways while the characters go on matching."""
    found: set[tuple[int, int]] = set()
    for anchor_at in range(0, len(value) - _ANCHOR + 1, _STRIDE):
        anchor = value[anchor_at : anchor_at + _ANCHOR]
        at = folded.find(anchor)
        while at != -1:
            start, before = at, anchor_at
            while start and before and folded[start - 1] == value[before - 1]:
                start, before = start - 1, before - 1
            end, after = at + _ANCHOR, anchor_at + _ANCHOR
            while end < len(folded) and after < len(value) and folded[end] == value[after]:
                end, after = end + 1, after + 1
            if end - start >= RUN:
                found.add((start, end))  # each anchor within a run finds it again
            at = folded.find(anchor, at + 1)
    return sorted(found)


def masked(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` with each span (merged where they overlap or touch) given as one mask."""
    pieces, done = [], 0
    for start, end in sorted(spans):
        if end <= done:
            continue
        if start > done:
            pieces.append(text[done:start])
        elif pieces and pieces[-1] == MASKED:
            pieces.pop()
        pieces.append(MASKED)
        done = end
    return "".join(pieces) + text[done:]
