"""The quick read of the plain block YAML that large spec files are written in: one regular
expression per line, and no YAML node per value.

PyYAML builds a node object for each of a user's 30-odd values and resolves each scalar in
Python: 10 to 12 s of CPU for a 100,000-user spec, most of a cold load. Here each line is
matched once and its value taken as it stands. Only a strict subset of YAML is read:

- a mapping at the top, in blocks: `key: value`, `key:` with a block below it, and
  `- ` items, with a sequence under a key indented or not;
- keys of letters, digits and `_`; values on one line: a plain word that starts with a
  letter and holds no `#`, `: ` or other character YAML gives a meaning to, a quoted text
  without escapes or inner quotes, or a decimal integer;
- blank lines, and comment lines.

Anything else (a tab, a line break other than `\\n`, a flow collection, a comment after a
value, an anchor, a tag, a scalar over several lines, an unusual indentation, a duplicate
key, a word YAML 1.1 may read as another type) gives None, and the file is read through
PyYAML as before (source.py). So a file is read here exactly as PyYAML reads it, or not at
all: tests/spec/test_lines.py holds the two reads equal on generated files.
"""

from __future__ import annotations

import re
import sys
from typing import Final

from reconciler.core.model import Json, Location

PathKey = tuple[str | int, ...]

# Values at most this long are held once per file (a title, a department, `work`): they
# repeat across a large spec's users, and a longer one (a userName) seldom does.
SHARED_VALUE_CHARS = 32
# The top-level lists that hold nearly all of a large spec: their items' positions are kept,
# and nothing under them.
LISTS = ("users", "groups")

# A plain word: a letter first (no other YAML type starts with one but booleans and null,
# named below), then letters, digits, `_`, spaces and a few punctuation marks, and no space
# last. One with `: ` in it or a `:` at its end is refused after the match (a lookahead here
# costs a third more). Greedy, and ending where the spaces after it start: a lazy word
# before ` *` made a line that does not match cost time in the square of its spaces (16,000
# spaces, 3 s).
_PLAIN = r"[^\W\d_](?:[\w .@+/(),:'-]*[\w.@+/(),:'-])?"
_SCALAR = rf"""{_PLAIN}|'[^'\n]*'|"[^"\\\n]*"|0|[1-9][0-9]*"""
_LINE = re.compile(rf"( *)(- +)?(?:([A-Za-z][A-Za-z0-9_]*):(?: +({_SCALAR}))?|({_SCALAR})) *")
# What no file read here holds: a tab or a line break other than `\n` (both change how YAML
# reads a line), a byte order mark, and what PyYAML's reader refuses (non-printable).
_ODD = re.compile(
    "[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)  # one class, not an alternation: 7 ms a 5,000-user file instead of 32
# YAML 1.1's words for booleans and null, in the spellings PyYAML's resolver reads.
_WORDS: dict[str, Json] = {
    **dict.fromkeys(("yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"), True),
    **dict.fromkeys(("no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"), False),
    **dict.fromkeys(("null", "Null", "NULL"), None),
}
_SPECIAL = frozenset(word.lower() for word in _WORDS)
_LONGEST = max(map(len, _SPECIAL))


class _Outside(Exception):
    """The file uses YAML this reader does not read."""


# A line with content, as a tuple (cheaper to make than an object, for 1.7 million lines):
# its number, the column its key or value starts at, the column of its `- ` (or -1), the
# column that places it in a block (the dash's if any), its key, and its value's text.
Row = tuple[int, int, int, int, str | None, str | None]
_COL: Final = 1
_DASH: Final = 2
_AT: Final = 3


def read(text: str, display: str) -> tuple[dict[str, Json], dict[PathKey, Location]] | None:
    """The file's value and the positions source.quick_text keeps (the top-level keys and
    each item of `users:` and `groups:`), or None where the file is not in the subset."""
    if _ODD.search(text):
        return None
    try:
        rows = _rows(text)
        return _Reader(rows, display).top() if rows else None
    except (_Outside, IndexError, ValueError, RecursionError):
        # ValueError: an integer past int()'s 4,300 digits, which PyYAML's read reports;
        # RecursionError: a block nested deeper than Python calls go (a call a level).
        return None


def _rows(text: str) -> list[Row]:
    rows: list[Row] = []
    match = _LINE.fullmatch
    started = False
    for number, line in enumerate(text.split("\n"), 1):
        found = match(line)
        if found is None:
            content = line.lstrip(" ")
            if not content or content[0] == "#":
                continue  # a blank line, or a comment on a line of its own
            if not rows and not started and content.rstrip(" ") == "---" and line[0] == "-":
                started = True
                continue  # the document's start, at its top
            raise _Outside
        indent, dash, key, keyed, alone = found.groups()
        if dash is None:
            if key is None:
                raise _Outside  # a value on a line of its own continues the one above
            rows.append((number, len(indent), -1, len(indent), key, keyed))
        else:
            at = len(indent)
            rows.append((number, at + len(dash), at, at, key, keyed or alone))
    return rows


class _Reader:
    def __init__(self, rows: list[Row], display: str) -> None:
        self.rows = rows
        self.display = display
        self.next = 0
        self.marks: dict[PathKey, Location] = {}
        self.shared: dict[str, str] = {}

    def top(self) -> tuple[dict[str, Json], dict[PathKey, Location]]:
        out: dict[str, Json] = {}
        while self.next < len(self.rows):
            number, col, dash, _, key, value = self.rows[self.next]
            if dash >= 0 or col or key is None or key in out:
                raise _Outside
            self.marks[(key,)] = Location(self.display, number, 1)
            self.next += 1
            if value is not None:
                out[key] = self._scalar(value)
            elif key in LISTS and self._below(0):
                out[key] = self._sequence(key)
            elif self._below(0) is None:
                out[key] = None
            else:
                raise _Outside  # a block under another key: its positions are kept too
        return out, self.marks

    def _below(self, col: int) -> bool | None:
        """What follows a key at `col` with no value: a sequence (True), a mapping (False)
        or nothing (None, the key's value is null)."""
        if self.next == len(self.rows):
            return None
        row = self.rows[self.next]
        if row[_DASH] >= 0:
            # A sequence may sit at its key's own column; one further out is not its.
            return True if row[_DASH] >= col else None
        return False if row[_COL] > col else None

    def _node(self, col: int) -> Json:
        """The block under a key at `col` that has no value on its own line."""
        kind = self._below(col)
        if kind is None:
            return None
        return self._sequence() if kind else self._mapping(self.rows[self.next][_COL])

    def _sequence(self, key: str | None = None) -> list[Json]:
        """The `- ` items from the next line on, all at its dash's column; with `key`, each
        item's position is kept."""
        rows, items = self.rows, list[Json]()
        dash = rows[self.next][_DASH]
        while self.next < len(rows) and rows[self.next][_DASH] == dash:
            number, col, _, _, item_key, value = rows[self.next]
            if key is not None:
                self.marks[(key, len(items))] = Location(self.display, number, col + 1)
            if item_key is None:
                self.next += 1
                items.append(self._scalar(value))  # type: ignore[arg-type]
            else:
                items.append(self._mapping(col, item=True))
        if self.next < len(rows) and rows[self.next][_AT] > dash:
            raise _Outside  # deeper than the items, yet in none of them
        return items

    def _mapping(self, col: int, *, item: bool = False) -> dict[str, Json]:
        """A block mapping at `col`; an item's starts on the line of its `- `."""
        rows, out = self.rows, dict[str, Json]()
        while self.next < len(rows):
            _, key_col, dash, at, key, value = rows[self.next]
            if out or not item:
                if at < col:
                    break
                if dash >= 0:
                    raise _Outside
            if key_col != col or key is None:
                raise _Outside
            key = sys.intern(key)
            if key in out:
                raise _Outside
            self.next += 1
            out[key] = self._scalar(value) if value is not None else self._node(col)
        return out

    def _scalar(self, text: str) -> Json:
        if text[0] in "'\"":
            text = text[1:-1]
        elif text[0] <= "9":
            # A digit the pattern's integer starts with: every letter sorts after "9", and
            # isdigit() would also take `²`, which starts a word (`\w`, not `\d`).
            return int(text)
        elif text in _WORDS:
            return _WORDS[text]
        elif (
            (len(text) <= _LONGEST and text.lower() in _SPECIAL) or ": " in text or text[-1] == ":"
        ):
            raise _Outside  # another spelling of a YAML word, or a key after all
        if len(text) > SHARED_VALUE_CHARS:
            return text
        return self.shared.setdefault(text, text)
