"""Entra's text functions: joining, cutting, searching, converting and re-casing strings."""

from __future__ import annotations

import base64
import re
import unicodedata
from collections.abc import Callable
from typing import Any

import regex

from reconciler.expressions.calls import (
    Args,
    Context,
    Function,
    Impl,
    literal_check,
    positive,
)
from reconciler.expressions.dotnet_text import proper_case, to_lower, to_upper
from reconciler.expressions.values import FunctionError, integer, required, text


def _append(a: Args, _: Context) -> Any:
    # Choice: like VB's `&`, a missing side counts as ""; both missing stays missing.
    source, suffix = a.text(0), a.text(1)
    return None if source is None and suffix is None else (source or "") + (suffix or "")


def _base64(a: Args, _: Context) -> Any:
    s = a.text(0)  # "a Unicode base64 string": .NET's Unicode is UTF-16 little-endian
    return None if s is None else base64.b64encode(s.encode("utf-16-le")).decode("ascii")


def _utf8_hex(a: Args, _: Context) -> Any:
    s = a.text(0)
    return None if s is None else s.encode("utf-8").hex().upper()


def _compare_type(value: Any) -> int:
    if isinstance(value, str) and value.strip().lower() in ("vbbinarycompare", "vbtextcompare"):
        return 1 if value.strip().lower() == "vbtextcompare" else 0
    found = integer(value)
    if found not in (0, 1):
        raise FunctionError("compareType must be vbBinaryCompare or vbTextCompare")
    return found


def _instr(a: Args, _: Context) -> Any:
    # Visual Basic's InStr: 1-based position, 0 when not found or the string is empty.
    haystack, needle = a.text(0) or "", a.text(1) or ""
    start = integer(a[2]) if a.present(2) else 1
    if start is None or start < 1:
        raise FunctionError(f"start must be 1 or more, got {a[2]!r}")
    if a.present(3) and _compare_type(a[3]) == 1:
        haystack, needle = to_lower(haystack), to_lower(needle)
    if start > len(haystack) or not haystack:
        return 0
    return haystack.find(needle, start - 1) + 1


def _join(a: Args, _: Context) -> Any:
    # Microsoft's example Join(", ", "", [surname], [givenName]) gives "Doe, John": empty and
    # missing sources are skipped. Choice: nothing left to join is NULL, not "".
    parts: list[str] = []
    for i in range(1, len(a)):
        value = a[i]
        for item in value if isinstance(value, list | tuple) else [value]:
            s = text(item)
            if s:
                parts.append(s)
    return (a.text(0) or "").join(parts) if parts else None


def _left(a: Args, _: Context) -> Any:
    s, n = a.text(0) or "", integer(required(a[1], "NumChars")) or 0
    return s if n < 0 else s[:n]


def _mid(a: Args, _: Context) -> Any:
    s = a.text(0) or ""
    start, length = integer(required(a[1], "start")), integer(required(a[2], "length"))
    if start is None or start < 1 or length is None or length < 0:
        raise FunctionError(f"start must be 1 or more and length 0 or more, got {start}, {length}")
    return s[start - 1 : start - 1 + length]


def _split(a: Args, _: Context) -> Any:
    s, delimiter = a.text(0), a.text(1)
    if not delimiter:
        raise FunctionError("delimiter must not be empty")
    # Choice: items are trimmed, as in Microsoft's sample ("PermissionSetOne, PermissionSetTwo"
    # gives ["PermissionSetOne", "PermissionSetTwo"]).
    return None if s is None else [part.strip() for part in s.split(delimiter)]


def _word(a: Args, _: Context) -> Any:
    s, number = a.text(0) or "", integer(required(a[1], "WordNumber"))
    delimiters = a.text(2) or ""
    # Choice: runs of delimiters separate words; empty words are not counted.
    words = [w for w in re.split("[" + re.escape(delimiters) + "]", s) if w] if delimiters else [s]
    return words[number - 1] if number is not None and 1 <= number <= len(words) else ""


# -- NormalizeDiacritics --------------------------------------------------------------------------

# Letters that are not a base letter plus combining marks, with Microsoft's table's replacement
# (U+0131 is the dotless i).
_LIGATURES = {
    "æ": "ae",
    "Æ": "AE",
    "ø": "oe",
    "Ø": "OE",
    "œ": "oe",
    "Œ": "OE",
    "ß": "ss",
    "ł": "l",
    "Ł": "L",
    "\u0131": "i",
    "đ": "d",
    "Đ": "D",
}
# A Latin letter followed by marks from the combining diacritical blocks (U+0300.., U+1AB0..,
# U+1DC0.., U+20D0.., U+FE20..), read after NFD decomposition.
_LATIN_WITH_MARKS = regex.compile(
    r"(\p{Script=Latin})[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+"
)


def normalize_diacritics(s: str) -> str:
    # Choice: beyond the doc's table (all Latin), any Latin letter loses its combining marks (so
    # Vietnamese "ệ" is "e"); letters of other scripts keep theirs ("Юрий" stays "Юрий", the
    # breve makes й a letter of its own, not an accented и).
    stripped = _LATIN_WITH_MARKS.sub(r"\1", unicodedata.normalize("NFD", s))
    return unicodedata.normalize("NFC", "".join(_LIGATURES.get(c, c) for c in stripped))


def _on_text(transform: Callable[[str, Args], str]) -> Impl:
    """A function of one string that keeps NULL as NULL."""

    def impl(a: Args, _: Context) -> Any:
        s = a.text(0)
        return None if s is None else transform(s, a)

    return impl


_ONE = ("source",)
_CASE = ("source", "culture")

TEXT_FUNCTIONS: tuple[Function, ...] = (
    Function("Append", ("source", "suffix"), _append),
    Function("ConvertToBase64", _ONE, _base64),
    Function("ConvertToUTF8Hex", _ONE, _utf8_hex),
    Function("CStr", ("value",), lambda a, _: a.text(0)),
    Function(
        "InStr",
        ("value1", "value2", "start", "compareType"),
        _instr,
        optional=frozenset({"start", "compareType"}),
        check=literal_check(2, positive, "start must be 1 or more"),
    ),
    Function("Join", ("separator", "source"), _join, variadic=True),
    Function("Left", ("String", "NumChars"), _left),
    Function(
        "Mid",
        ("source", "start", "length"),
        _mid,
        check=literal_check(1, positive, "start must be 1 or more (the first character)"),
    ),
    Function("NormalizeDiacritics", _ONE, _on_text(lambda s, _: normalize_diacritics(s))),
    Function(
        "PCase",
        ("source", "wordSeparators"),
        _on_text(lambda s, a: proper_case(s, a.text(1) if a.present(1) else None)),
        optional=frozenset({"wordSeparators"}),
    ),
    Function("Split", ("source", "delimiter"), _split),
    Function("StripSpaces", _ONE, _on_text(lambda s, _: s.replace(" ", ""))),
    Function(
        "ToLower",
        _CASE,
        _on_text(lambda s, a: to_lower(s, a.text(1))),
        optional=frozenset({"culture"}),
    ),
    # Choice: ToTitle is not in Microsoft's current list (PCase is); it is PCase with the
    # default separators, taking a culture like ToLower and ToUpper.
    Function(
        "ToTitle",
        _CASE,
        _on_text(lambda s, a: proper_case(s, None, a.text(1))),
        optional=frozenset({"culture"}),
    ),
    Function(
        "ToUpper",
        _CASE,
        _on_text(lambda s, a: to_upper(s, a.text(1))),
        optional=frozenset({"culture"}),
    ),
    Function("Word", ("String", "WordNumber", "delimiters"), _word),
)
