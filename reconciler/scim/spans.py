"""Where a text shows a secret, as a reader would see it: a registered form of it, or a run
of its characters, whatever the case, the compatibility form of each character (a fullwidth
letter) or the invisible characters put between them. Used by redact.py, which decides what
is secret and masks what this finds."""

from __future__ import annotations

import functools
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

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
# A gram is followed from this many places at most: one that recurs (a secret of one
# character repeated) would otherwise make the work grow with the square of the text.
_PLACES = 2

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
    """Every _ANCHOR characters in a row (gram) of some long texts (the secrets and their
    encodings), with where each occurs in which; and their anchors, the grams at every
    STRIDE-th position. A run of RUN characters of one of them holds one of its anchors
    whole, and the gram at one of every STRIDE-th position of any text it shows in."""

    grams: Mapping[str, tuple[tuple[str, int], ...]] = field(default_factory=dict)
    anchors: tuple[str, ...] = ()

    @classmethod
    def of(cls, texts: Iterable[str]) -> Clues:
        where: dict[str, list[tuple[str, int]]] = {}
        for text in dict.fromkeys(texts):
            for at in range(len(text) - _ANCHOR + 1):
                places = where.setdefault(text[at : at + _ANCHOR], [])
                if len(places) < _PLACES:
                    places.append((text, at))
        found = {t[at : at + _ANCHOR] for t in texts for at in _every(t)}
        return cls({gram: tuple(w) for gram, w in where.items()}, tuple(sorted(found)))


def _every(folded: str) -> range:
    return range(0, len(folded) - _ANCHOR + 1, STRIDE)


def _candidates(folded: str, clues: Clues) -> Iterator[tuple[int, str]]:
    """Places in folded text where a run may show, with the gram there: where an anchor
    shows (a search in C for each), or with many anchors, the grams at every STRIDE-th
    position that are known (one pass in Python, whatever their number)."""
    if len(clues.anchors) <= _FEW:
        for anchor in clues.anchors:
            at = folded.find(anchor)
            while at != -1:
                yield at, anchor
                at = folded.find(anchor, at + 1)
        return
    for at in _every(folded):
        gram = folded[at : at + _ANCHOR]
        if gram in clues.grams:
            yield at, gram


def may_show(folded: str, short: tuple[str, ...], clues: Clues) -> bool:
    """Whether folded text may hold one of the `short` forms, or a run of a long text. A
    gram alone is no run: six characters of a secret's hex are as common as any six in an
    ETag or a uuid, and taken for one, a large listing would be walked string by string."""
    if any(form in folded for form in short):
        return True
    return any(
        _stretch(folded, at, clues.grams[gram], set()) for at, gram in _candidates(folded, clues)
    )


def shown_at(text: str, forms: tuple[str, ...], clues: Clues) -> list[tuple[int, int]]:
    """Where `text`, as `fold` reads it, shows one of `forms` whole, or RUN or more
    characters in a row of a text `clues` knows: each candidate place, stretched both ways
    while the characters go on matching. Places within a run already found are skipped:
    masked with it, they would add nothing but work."""
    folded, drops = fold(text)
    spans: set[tuple[int, int]] = set()
    for form in forms:
        at = folded.find(form)
        while at != -1:
            spans.add((at, at + len(form)))
            at = folded.find(form, at + len(form))
    if len(clues.anchors) <= _FEW:
        for anchor in clues.anchors:
            at = folded.find(anchor)
            while at != -1:
                far = _stretch(folded, at, clues.grams[anchor], spans)
                at = folded.find(anchor, max(at + 1, far - _ANCHOR + 1))
    else:
        far = 0
        for at in _every(folded):
            places = clues.grams.get(folded[at : at + _ANCHOR]) if at + _ANCHOR > far else None
            if places:
                far = max(far, _stretch(folded, at, places, spans))
    if not drops:
        return sorted(spans)
    # A position in the folded text, plus the characters dropped up to it.
    return sorted(
        (s + bisect_right(drops, s), e - 1 + bisect_right(drops, e - 1) + 1) for s, e in spans
    )


def _stretch(
    folded: str, at: int, places: tuple[tuple[str, int], ...], spans: set[tuple[int, int]]
) -> int:
    """The runs through the gram at `at`, one for each place it occurs in a known text,
    added to `spans`; how far the longest reaches (0: none is a run)."""
    far = 0
    for value, offset in places:
        start, before = at, offset
        while start and before and folded[start - 1] == value[before - 1]:
            start, before = start - 1, before - 1
        end, after = at + _ANCHOR, offset + _ANCHOR
        while end < len(folded) and after < len(value) and folded[end] == value[after]:
            end, after = end + 1, after + 1
        if end - start >= RUN:
            spans.add((start, end))
            far = max(far, end)
    return far


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
