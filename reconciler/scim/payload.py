"""Reading a body a target (or its token endpoint) sent as JSON, within a nesting bound.

Every parse of target JSON goes through `parse`. The size of a body is bounded where it is
read (transfer.py); its depth is bounded here, by core/depth.py's MAX_DEPTH (which says why).
"""

from __future__ import annotations

import json
import math
import re

import msgspec

from reconciler.core.depth import MAX_DEPTH, deeper_than
from reconciler.core.model import Json

# A lone surrogate in a parsed value comes from a `\uD800`-`\uDFFF` escape or from its
# UTF-8-like bytes, which the parser lets through (`surrogatepass`). Each pattern starts
# with a literal, so a search skips through a page at memchr speed.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE_BYTES = re.compile(rb"\xed[\xa0-\xbf]")
# Past this many escapes, `quotes_only` gives up: each one found costs a call.
_MANY_ESCAPES = 4096
_QUOTE = ord('"')
# For `_nested_past`: everything but brackets, quotes and backslashes is dropped, and
# square brackets are read as curly ones.
_ONE_BRACKET = bytes.maketrans(b"[]", b"{}")
_NOT_STRUCTURE = bytes(set(range(256)) - set(b'{}[]"\\'))
# msgspec's reader: P1-fast's 204 pages (100,000 users) in 0.30-0.43 s of user CPU against
# 0.51-0.55 s with `json.loads`, each in a fresh process (the page faults for the memory the
# values take, about 0.7 s more, are the same for both). It refuses what it would read
# otherwise than the standard library (a lone surrogate, NaN, 1e400, a byte order mark) and
# reads every other body to the same value, integers of any length included (orjson reads
# those past 64 bits as floats, so it is not used): the standard library reads what it
# refuses, and its reading and errors decide. One cost: msgspec holds one copy of each key
# of up to 32 characters, where json.loads shares every key within a page, so each user's
# enterprise URN (58) is a string of its own: about 100 B more held per user. Sharing it
# again (rebuilding each body's keys) cost 0.15-0.2 s per 100,000 users, more than it saves.
_FAST = msgspec.json.Decoder()
_UNREAD: Json = object()  # what msgspec refused: json.loads reads it


class NotJson(ValueError):
    """The body is not JSON scimrec reads; `str()` says why, on one line."""


def parse(content: bytes | str) -> Json:
    """The JSON value of `content`, or NotJson (a ValueError) saying why not."""
    return parse_checked(content)[0]


def parse_checked(content: bytes | str) -> tuple[Json, bool]:
    """`parse`, and whether every value in it is one any output can hold: no lone
    surrogate, no number past a double (core/shape.py says why those matter). False only
    means each value must be looked at (an emoji's escaped surrogate pair is fine)."""
    past_double: list[str] = []

    def number(text: str) -> float:
        # Called only for numbers with a fraction or an exponent; 1e400 reads as infinity.
        value = float(text)
        if math.isinf(value):
            past_double.append(text)
        return value

    # Only UTF-8 bytes are scanned; text, and bytes in UTF-16 or UTF-32, are walked.
    raw = content if isinstance(content, bytes) and utf8(content) else None
    value = _UNREAD if raw is None else _fast(raw)
    try:
        if value is _UNREAD:  # at the depth it always ran at: its recursion limit unmoved
            value = json.loads(content, parse_constant=_no_constant, parse_float=number)
    except RecursionError:
        raise NotJson(f"JSON nested deeper than {MAX_DEPTH} levels") from None
    except ValueError:
        raise NotJson("a body that is not JSON") from None
    escapes = None if raw is None else quotes_only(raw)
    if raw is not None and escapes is True:
        deep = _nested_past(raw)
    else:
        deep = deeper_than(value, MAX_DEPTH)
    if deep:
        raise NotJson(f"JSON nested deeper than {MAX_DEPTH} levels")
    return value, raw is not None and not past_double and _no_surrogate(raw, escapes)


def _fast(raw: bytes) -> Json:
    """The value of UTF-8 `raw` as msgspec reads it, or _UNREAD where it refuses it (the
    standard library then decides: it may read it, a lone surrogate, or not)."""
    try:
        return _FAST.decode(raw)
    except (msgspec.DecodeError, RecursionError):
        return _UNREAD


def utf8(content: bytes) -> bool:
    """Whether JSON bytes are UTF-8, as RFC 8259 §8.1 asks. Python's parser also reads
    UTF-16 and UTF-32, where no check of the raw bytes for UTF-8 sequences (a surrogate's,
    a secret's) finds anything."""
    return json.detect_encoding(content) in ("utf-8", "utf-8-sig")


def quotes_only(content: bytes) -> bool | None:
    """Whether every escape in JSON text escapes a quote (`\\"`), each read from its
    backslash (so `\\\\` is one escape, of a backslash); None past _MANY_ESCAPES of them.
    Most pages escape only the quotes of their ETags (`W/\\"1\\"`): found at memchr speed,
    where counting `\\"` in a 19 MB page of group members took 19 ms, and looking for `\\u`
    10 ms more. A page that escapes anything else (PHP's `\\/`) is told at its first one."""
    at, count, end = content.find(b"\\"), 0, len(content) - 1
    while at != -1:
        count += 1
        if count > _MANY_ESCAPES:
            return None
        if at == end or content[at + 1] != _QUOTE:
            return False
        at = content.find(b"\\", at + 2)
    return True


def _no_surrogate(content: bytes, escapes: bool | None) -> bool:
    """UTF-8 `content` holds no lone surrogate; `escapes` is `quotes_only(content)`."""
    if escapes is not True and b"\\u" in content and _SURROGATE_ESCAPE.search(content):
        return False
    return not (b"\xed" in content and _SURROGATE_BYTES.search(content))


def _no_constant(name: str) -> Json:
    # NaN and Infinity are not JSON (RFC 8259 §6), though Python's parser takes them; a NaN
    # is not even equal to itself, so no diff could ever settle on one.
    raise ValueError(f"{name} is not a JSON value")


def _nested_past(content: bytes) -> bool:
    """`deeper_than(json.loads(content), MAX_DEPTH)`, read from the text: UTF-8 JSON the
    parser took, whose every escape is a quote's (`quotes_only`). A 500-group page of
    member lists (19 MB) in 32-41 ms instead of 141-175 ms; a 500-user page in half the time.

    Only brackets and quotes are kept, `[` and `]` written as `{` and `}` (depth does not
    ask which). Each escaped quote is inside a string; every other quote opens or closes
    one, so removing the escaped ones, then adjacent pairs of quotes (an empty string, or
    the end of one and the start of the next: what lies between was neither), leaves the
    brackets strings hold between the quotes still left. Then each pass removes every
    empty container at once (`{}` where it stands in the text, not where the pass makes
    one), so the text holds a bracket after `MAX_DEPTH` passes only if it nests deeper.
    Where a key is held twice, the parse keeps the last value, but the text is measured:
    a body nesting too deep in the value dropped is refused too."""
    text = content.translate(_ONE_BRACKET, _NOT_STRUCTURE)
    text = text.replace(b'\\"', b"").replace(b'""', b"")
    if b'"' in text:
        text = b"".join(text.split(b'"')[::2])
    for _ in range(MAX_DEPTH):
        if not text:
            return False
        text = text.replace(b"{}", b"")
    return bool(text)
