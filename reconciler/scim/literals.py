"""Whether a text holds any of a set of short literals, in one pass over it.

Redaction asks this of every page a target sends, for each secret's anchors and short forms
(spans.py): searched one by one with `str.find`, 17 anchors cost 3.4 ms on a 380 KB page of
500 users, more than parsing it. Hyperscan searches for all of them at once, in about 0.1 ms.
It only says whether one is there: where one is, the caller searches as before, so what is
found never depends on which search ran. Without hyperscan (a platform it has no build for),
every text may hold one, and callers search every time, as they did before it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

try:
    import hyperscan

    AVAILABLE = True
except ImportError:  # pragma: no cover - every platform the project tests on has a build
    AVAILABLE = False


# Past this many literals (a refreshed OAuth token of 1.2 KB brings about 1,200 anchors,
# and every refresh adds its own), compiling costs more than it saves: 0.4 s for 10,000,
# 1.1 s for 20,000, again at every registration. Past it every text is searched one by
# one, as without hyperscan.
MOST = 8192
# Past this many places in one body, `where_in_raw` stops and says "anywhere": each place
# costs a call into Python, and a literal met that often (a secret whose hex is a common
# word) is better searched for in the whole text, as before.
PLACES = 64


class Literals:
    """A set of literals, and the one-pass search for them.

    `found_in(text)` is True when some literal is a substring of `text`. `found_in_raw(raw)`
    reads ASCII bytes as a lower-case text with each `\\"` taken as `"` (how redaction reads
    a JSON body whose only escapes are quotes'), without making that text: it is True when
    some literal of ASCII characters is in that text. A literal with a backslash is taken
    as found in any ASCII body (such a literal comes from a secret with a quote or a
    backslash in it, and is rare). Both answer True, never wrongly False, where hyperscan
    is missing.
    """

    def __init__(self, texts: Iterable[str]) -> None:
        self.texts = tuple(dict.fromkeys(t for t in texts if t))
        ascii_texts = [t for t in self.texts if t.isascii()]
        self._raw_any = any("\\" in t for t in ascii_texts)
        self._text: _Search | bool = True
        self._raw: _Search | bool = True
        if len(self.texts) <= MOST:
            self._text = _compile([_exact(t) for t in self.texts], caseless=False)
            self._raw = _compile([_quoted(t) for t in ascii_texts], caseless=True, every=True)

    def found_in(self, text: str) -> bool:
        # UTF-8 is self-synchronising, so a literal's bytes occur in a text's bytes just
        # where the literal occurs in the text; `surrogatepass` keeps that true of lone
        # surrogates, which any str may hold.
        return _found(self._text, text.encode("utf-8", "surrogatepass"))

    def found_in_raw(self, raw: bytes) -> bool:
        places = self.where_in_raw(raw)
        return places is None or bool(places)

    def where_in_raw(self, raw: bytes) -> tuple[int, ...] | None:
        """Where in `raw`, read as `found_in_raw` reads it, a literal of ASCII characters
        ends: the offset in `raw` just past each place one is found (every place, in
        order), () where none is. None where that cannot be told, so any place may hold
        one: a body that is not ASCII, a literal with a backslash, no search compiled, or
        more than PLACES places."""
        if not raw.isascii() or self._raw_any:
            return None  # not what this reads: the caller folds the text and asks found_in
        search = self._raw
        if isinstance(search, bool):
            return () if not search else None
        return search.places_in(raw)


class _Search:
    """One compiled set of patterns, and the scratch space each thread scans it with: a
    scan in progress owns its scratch, and pages are scrubbed by each of the client's
    threads as they arrive."""

    def __init__(self, database: Any) -> None:
        self.database = database
        self.local = threading.local()

    def found_in(self, data: bytes) -> bool:
        return self._scan(data, _stop)

    def places_in(self, data: bytes) -> tuple[int, ...] | None:
        """The end of every match in `data`, in order; None past PLACES of them."""
        ends: list[int] = []

        def found(_id: int, _start: int, end: int, _flags: int, _context: object) -> bool:
            ends.append(end)
            return len(ends) > PLACES  # True ends the scan

        return None if self._scan(data, found) else tuple(sorted(set(ends)))

    def _scan(self, data: bytes, handler: Callable[..., bool]) -> bool:
        """Scan `data` with this thread's scratch; whether `handler` ended the scan."""
        scratch = getattr(self.local, "scratch", None)
        if scratch is None:
            scratch = self.local.scratch = hyperscan.Scratch(self.database)
        try:
            self.database.scan(data, match_event_handler=handler, scratch=scratch)
        except hyperscan.ScanTerminated:
            return True
        return False


def _found(search: _Search | bool, data: bytes) -> bool:
    # A bool stands for a search decided in advance: False where there is nothing to look
    # for, True (anything may be there) where hyperscan is missing or refused a pattern.
    return search if isinstance(search, bool) else search.found_in(data)


def _stop(*_match: object) -> bool:
    return True  # one is enough: ends the scan, which raises ScanTerminated


def _compile(patterns: list[bytes], *, caseless: bool, every: bool = False) -> _Search | bool:
    """The search for `patterns`; with `every`, one that reports each place one ends (for
    `places_in`), not only whether one is there."""
    if not patterns:
        return False
    if not AVAILABLE:
        return True
    flags = 0 if every else hyperscan.HS_FLAG_SINGLEMATCH
    flags |= hyperscan.HS_FLAG_CASELESS if caseless else 0
    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    try:
        database.compile(expressions=patterns, flags=flags)
    except hyperscan.error:
        return True  # searched one by one, as without hyperscan
    return _Search(database)


def _escaped(data: bytes) -> bytes:
    # Every byte written as \xHH: no character of a secret is read as pattern syntax.
    return b"".join(b"\\x%02x" % byte for byte in data)


def _exact(text: str) -> bytes:
    return _escaped(text.encode("utf-8", "surrogatepass"))


def _quoted(text: str) -> bytes:
    """A pattern for ASCII `text` in a JSON body whose quotes may be escaped: each `"` may
    follow a backslash."""
    return b'\\\\?"'.join(_escaped(piece.encode()) for piece in text.split('"'))
