"""Where a text shows a secret, as a reader would see it: a registered form of it, or a run
of its characters, whatever the case, the compatibility form of each character (a fullwidth
letter) or the invisible characters put between them. Used by redact.py, which decides what
is secret and masks what this finds."""

from __future__ import annotations

import functools
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass

from reconciler.core.match import IGNORABLE
from reconciler.core.model import MASKED

# A run of this many characters of a secret (in any case) is masked wherever it shows: a
# secret cut short or split in two still gives most of itself away. Shorter secrets are
# masked whole only.
RUN = 12
# Every run holds one of a secret's anchors whole (one starts every RUN - _ANCHOR + 1
# characters), so a text is searched for a few anchors rather than for every run (Clues).
_ANCHOR = 6
# Public: a text read in stretches (redact.py) starts each at a multiple of it, so the grams
# looked up past _FEW anchors are those the whole text would look up.
STRIDE = RUN - _ANCHOR + 1
# Up to this many anchors, a text is searched for each (a search in C); past it, the grams
# at every STRIDE-th position of the text are looked up instead (a pass in Python).
_FEW = 48

# What `fold` looks at one by one: anything but printable ASCII, tabs and line ends.
_ODD = re.compile(r"[^\t\n\r\x20-\x7e]")
# `lower()` gives a capital sigma ending a word as a final sigma, where the text is lowered
# whole, but a plain one where it is lowered a character at a time (around a character
# dropped): folded text holds the plain one always, so the two readings compare alike.
_FINAL_SIGMA, _SIGMA = "\u03c2", "\u03c3"
# Characters no reader sees: controls and formats (zero-width spaces, soft hyphens, bidi),
# unassigned code points, and the default-ignorable ones of other categories (variation
# selectors, the combining grapheme joiner, Hangul fillers), which a token may be echoed
# with between its letters as well.
_UNSEEN = frozenset({"Cc", "Cf", "Cn"})
_IGNORED = re.compile(f"[{''.join(sorted(IGNORABLE))}]")


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
        and not _IGNORED.search(text)
    ):
        # Nothing unseen, each character its own compatibility form.
        return lowered.replace(_FINAL_SIGMA, _SIGMA), ()
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
    return "".join(pieces).replace(_FINAL_SIGMA, _SIGMA), tuple(drops)


@functools.lru_cache(maxsize=4096)
def _seen(char: str) -> str:
    """What a reader sees of one character: nothing, or one character (its compatibility
    form in lower case, or the character as it is where that is longer: U+FB01 "fi")."""
    if unicodedata.category(char) in _UNSEEN or char in IGNORABLE:
        return ""
    seen = unicodedata.normalize("NFKC", char).lower()
    return seen if len(seen) == 1 else char.lower() if len(char.lower()) == 1 else char


@dataclass(frozen=True)
class Clues:
    """Every run of RUN characters of some long texts (the secrets and their encodings),
    every gram (_ANCHOR characters in a row) of them, and their anchors, the grams at every
    STRIDE-th position. A run of one of them holds one of its anchors whole, and the gram at
    one of every STRIDE-th position of any text it shows in. A run is known by itself, not
    by where it sits in a text: a gram that recurs (in one secret or across several) leads
    to every run around it, whichever occurrence the text shows."""

    runs: frozenset[str] = frozenset()
    grams: frozenset[str] = frozenset()
    anchors: tuple[str, ...] = ()

    @classmethod
    def of(cls, texts: Iterable[str]) -> Clues:
        texts = tuple(dict.fromkeys(texts))
        runs = {t[at : at + RUN] for t in texts for at in range(len(t) - RUN + 1)}
        grams = {t[at : at + _ANCHOR] for t in texts for at in range(len(t) - _ANCHOR + 1)}
        found = {t[at : at + _ANCHOR] for t in texts for at in _every(t)}
        return cls(frozenset(runs), frozenset(grams), tuple(sorted(found)))


def _every(folded: str) -> range:
    return range(0, len(folded) - _ANCHOR + 1, STRIDE)


def may_show(folded: str, short: tuple[str, ...], clues: Clues) -> bool:
    """Whether folded text may hold one of the `short` forms, or a run of a long text: the
    first run `shown_at` would find. A gram alone is no run: six characters of a secret's
    hex are as common as any six in an ETag or a uuid, and taken for one, a large listing
    would be walked string by string."""
    if any(form in folded for form in short):
        return True
    return next(_runs(folded, clues), None) is not None


def shown_at(text: str, forms: tuple[str, ...], clues: Clues) -> list[tuple[int, int]]:
    """Where `text`, as `fold` reads it, shows one of `forms` whole, or RUN or more
    characters in a row of a text `clues` knows."""
    folded, drops = fold(text)
    spans = set(_runs(folded, clues))
    for form in filter(None, forms):
        at = folded.find(form)
        while at != -1:
            # Occurrences that overlap or touch (a form repeating a part of itself) are one
            # span: masked one by one, what the next holds past the first would show.
            start, end = at, at + len(form)
            at = folded.find(form, at + 1)
            while at != -1 and at <= end:
                end, at = at + len(form), folded.find(form, at + 1)
            spans.add((start, end))
    if not drops:
        return sorted(spans)
    # A position in the folded text, plus the characters dropped up to it.
    return sorted(
        (s + bisect_right(drops, s), e - 1 + bisect_right(drops, e - 1) + 1) for s, e in spans
    )


def _runs(folded: str, clues: Clues) -> Iterator[tuple[int, int]]:
    """Every run of RUN in folded text that holds a candidate gram: where an anchor shows
    (a search in C for each), or with many anchors, where a known gram is at one of every
    STRIDE-th position (one pass in Python, whatever their number). Each is stretched both
    ways while the text goes on showing runs. A candidate whose runs have all been looked at
    is skipped, and a stretch is walked once: the work stays linear in the text, even where
    a secret repeats one character and so does the text."""
    chains = _Chains(folded, clues.runs)
    if len(clues.anchors) <= _FEW:
        for anchor in clues.anchors:
            seen, at = -1, folded.find(anchor)  # runs starting up to `seen` are looked at
            while at != -1:
                seen = yield from chains.through(at, seen)
                at = folded.find(anchor, max(at + 1, seen + 1))
        return
    seen = -1
    for at in _every(folded):
        if at > seen and folded[at : at + _ANCHOR] in clues.grams:
            seen = yield from chains.through(at, seen)


class _Chains:
    """The runs of one folded text, each stretch of runs in a row walked once."""

    def __init__(self, folded: str, runs: frozenset[str]) -> None:
        self.folded, self.runs = folded, runs
        self.walked = bytearray()  # 1 where a run starts in a stretch already walked

    def through(self, at: int, seen: int) -> Generator[tuple[int, int], None, int]:
        """Each stretch of runs holding a run through the gram at `at` that starts after
        `seen`; returns the last start looked at."""
        folded, runs, walked = self.folded, self.runs, self.walked
        start = max(seen + 1, at + _ANCHOR - RUN, 0)
        last = min(at, len(folded) - RUN)
        while start <= last:
            if start < len(walked) and walked[start]:
                start = walked.find(0, start)  # the start after that stretch's end
                continue
            if folded[start : start + RUN] not in runs:
                start += 1
                continue
            first, end = start, start + RUN
            while first and folded[first - 1 : first - 1 + RUN] in runs:
                first -= 1
            while end < len(folded) and folded[end + 1 - RUN : end + 1] in runs:
                end += 1
            if not walked:
                walked.extend(bytes(len(folded) + 1))  # the 0 at the end stops `find`
            walked[first : end - RUN + 1] = b"\x01" * (end - RUN + 1 - first)
            yield first, end
            start = end - RUN + 2  # the one starting at end - RUN + 1 is no run
        return max(seen, start - 1)


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
