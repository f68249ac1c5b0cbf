"""Keeps secrets out of every output: known secret values, and sensitive attributes.

Secrets are registered as they are read (auth.py, oauth.py), each with the forms a server
or a renderer could turn it into (secret_forms.py): base64 (as in a Basic header, and
within other encoded text), base32, hex, percent-encoding (as in a form body), JSON string
escapes. Two places apply them:
`scrub_json` cleans everything a target sends as it arrives (client.py), so no secret it
echoes enters a plan, a report or a file in any transformed form; `scrub` cleans every
byte the command line writes (the streams and files of cli/output.py), as the last step
before output.

A target may also send a secret back changed: in another case (an error page that shouts),
cut short, split in two, with invisible characters between its letters, in fullwidth
letters. Text is compared as a reader sees it (spans.fold), and any run of `RUN` or more
characters in a row of a secret, of its hex or its base64 is masked on its own.
"""

from __future__ import annotations

import html
import json
import math
import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from reconciler.core.model import MASKED
from reconciler.scim.literals import Literals
from reconciler.scim.payload import quotes_only, utf8
from reconciler.scim.secret_forms import SHORTEST, encodings, run_values
from reconciler.scim.spans import RUN, Clues, fold, masked, may_show, shown_at
from reconciler.scim.stretches import around

HIDDEN = MASKED
_SENSITIVE_KEYS = frozenset({"authorization", "password", "token", "secret", "client_secret"})


@dataclass(frozen=True)
class _Secrets:
    """Every registered form of every secret as `fold` reads it, longest first (so a
    longer form is masked whole); the secrets, their hex and base64, whose runs are masked
    too; the forms shorter than a run, looked for whole; the clues to runs of the secrets
    and of the longer forms (spans.Clues); and the one-pass search for the short forms and
    the clues' anchors, without which no text can show a secret (literals.py)."""

    forms: tuple[str, ...] = ()
    values: tuple[str, ...] = ()
    short: tuple[str, ...] = ()
    clues: Clues = field(default_factory=Clues)
    literals: Literals = field(default_factory=lambda: Literals(()))
    # The longest form or value: no showing of one reaches further from a literal in it.
    reach: int = 0

    @classmethod
    def of(cls, forms: set[str], values: set[str]) -> _Secrets:
        folded = {fold(f)[0] for f in forms}
        ordered = tuple(sorted(folded - {""}, key=lambda f: (-len(f), f)))
        runs = tuple(sorted(v for v in {fold(v)[0] for v in values} if len(v) >= RUN))
        short = tuple(f for f in ordered if len(f) < RUN)
        clues = Clues.of((*runs, *(f for f in ordered if len(f) >= RUN)))
        reach = max(map(len, (*ordered, *runs)), default=0)
        return cls(ordered, runs, short, clues, Literals((*short, *clues.anchors)), reach)

    def may_show(self, folded: str) -> bool:
        """spans.may_show, skipped where no short form and no anchor is in the text."""
        return self.literals.found_in(folded) and may_show(folded, self.short, self.clues)


class _Registry:
    """The secrets now known, replaced whole (never mutated) under the lock, so a reader
    takes one consistent `now` without it: a token refreshed in one thread while another
    scrubs a page."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = _Secrets()
        # The secrets as registered: one sent again (in each write, a retry) is known.
        self.registered: frozenset[str] = frozenset()

    def set(
        self, forms: set[str], values: set[str], registered: frozenset[str] = frozenset()
    ) -> None:
        self.now = _Secrets.of(forms, values)
        self.registered = registered


_known = _Registry()


def register_secret(value: str) -> None:
    """Remember a secret read from the environment, so no output can ever show it."""
    register_secrets((value,))


def register_secrets(secrets: Iterable[str]) -> None:
    """Remember secrets (the write-only values a request carries, say) in one step."""
    forms: set[str] = set()
    values: set[str] = set()
    new: set[str] = set()
    for value in secrets:
        if len(value) < SHORTEST or value in _known.registered:
            continue
        # A target may store text composed or decomposed (an accent as its own character).
        variants = {unicodedata.normalize(form, value) for form in ("NFC", "NFD")} | {value}
        # Runs are looked for in the secret and in its hex and base64 (cut short, or
        # wrapped in lines of 76 as MIME writes it).
        values |= {v for variant in variants for v in run_values(variant)}
        forms |= {f for variant in variants for f in encodings(variant) if len(f) >= SHORTEST}
        new.add(value)
    if not new:
        return
    with _known.lock:
        now = _known.now
        _known.set(set(now.forms) | forms, set(now.values) | values, _known.registered | new)


def forget_secrets() -> None:
    """Forget every registered secret (between runs in one process, such as tests)."""
    with _known.lock:
        _known.set(set(), set())


def scrub(text: str) -> str:
    """`text` with every registered secret, in any registered form, masked.

    Escapes can spell a secret in forms too many to register: a JSON text quoted within
    text (`tok\\/en`, as PHP escapes `/`, or `\\u002f`), percent-encoding of some of its
    characters only, HTML character references. Where text holds any, it is also read
    with them undone (nested ones too), word by word: a word that then shows a secret is
    masked whole, so JSON and markup around it stay as they were. A line that still shows
    one once its words are masked (a secret with a space or a quote in it) is given out as
    that reading, scrubbed."""
    known = _known.now
    forms, clues = known.forms, known.clues
    if not forms:
        return text
    escaped = _escapes(text)
    if not escaped and not known.may_show(fold(text)[0]):
        return text
    if escaped:
        # Whole forms first (one may hold a quote, which no word does), then escaped
        # words, then runs: masking a run within an escaped word would leave the rest of
        # the secret, still escaped, for no reading to find.
        spans = shown_at(text, forms, Clues())
        text = masked(text, spans) if spans else text
        text = "".join(_unescaped(line, forms, clues) for line in text.splitlines(True))
    spans = shown_at(text, forms, clues)
    return masked(text, spans) if spans else text


def _unescaped(line: str, forms: tuple[str, ...], clues: Clues) -> str:
    """`line` with each word that shows a secret, as it is or once its escapes are undone,
    masked."""
    if _readings(line, forms, clues) is None:
        return line

    def word(match: re.Match[str]) -> str:
        shown = shown_at(match[0], forms, clues) or _readings(match[0], forms, clues)
        return HIDDEN if shown else match[0]

    masked = _WORD.sub(word, line)
    plain = _readings(masked, forms, clues)
    return masked if plain is None else scrub(plain)  # undoing escapes shortens: this ends


def _readings(text: str, forms: tuple[str, ...], clues: Clues) -> str | None:
    """The first reading of `text`, escapes undone level by level, that shows a secret."""
    plain = text
    for _ in range(_ROUNDS):
        undone = _undone(plain)
        if undone == plain:
            return None
        plain = undone
        if shown_at(plain, forms, clues):
            return plain
    return None


# The escapes `scrub` undoes: JSON's, Python's `\xNN`, percent-encoding and HTML character
# references.
# (A reference's `;` is optional: `html.unescape` reads `&#116&#111` as "to" too.)
_ESCAPED = re.compile(r"\\[\\/\"bfnrtu]|\\x[0-9A-Fa-f]{2}|%[0-9A-Fa-f]{2}|&#?\w+;?")
# Python's repr of bytes (`b'to\x7fken'`), as an HTTP library quotes a header line it
# could not parse: a run of `\xNN` is those bytes, read as UTF-8 (a byte that reads as
# nothing is dropped, so the letters around it join up).
_BYTE_ESCAPES = re.compile(r"(?:\\x[0-9A-Fa-f]{2})+")
_JSON_ESCAPE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|([\\/\"bfnrt]))")
_SHORT_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_ROUNDS = 4  # escapes within escapes: a JSON text in a JSON string, percent-encoded
_PERCENT = re.compile(rb"%[0-9A-Fa-f]{2}")
# A word: no space, quote or angle bracket, and no backslash that escapes a quote (that
# backslash belongs to the text around the word: masked with it, a JSON string would end).
_WORD = re.compile(r"""(?:[^\s"'<>\\]|\\[^\s"'])+""")


def _escapes(text: str) -> re.Match[str] | None:
    """`_ESCAPED.search(text)`. Each escape starts with one of three characters, looked for
    first at memchr speed: most texts (a page of 500 users, 300 KB) hold none, and the
    search over them costs 1.2 ms."""
    if "\\" not in text and "%" not in text and "&" not in text:
        return None
    return _ESCAPED.search(text)


def _undone(text: str) -> str:
    """`text` with one level of JSON escapes, percent-encoding and HTML references undone."""

    def json_escape(match: re.Match[str]) -> str:
        code, char = match.groups()
        return chr(int(code, 16)) if code else _SHORT_ESCAPES.get(char, char)

    def byte_escapes(match: re.Match[str]) -> str:
        return bytes.fromhex(match[0].replace("\\x", "")).decode("utf-8", "ignore")

    text = _BYTE_ESCAPES.sub(byte_escapes, text)
    return html.unescape(unquote(_JSON_ESCAPE.sub(json_escape, text)))


def scrub_json(value: Any, raw: bytes | None = None) -> Any:
    """A parsed JSON value with every secret masked, in keys and strings at any depth.

    `raw` is the text it was parsed from. When every backslash in it escapes a quote (as in
    the `W/"1"` ETags most targets put in every resource), each string in it is the raw
    text with `\\"` read as `"`; a secret in one then appears in `raw` in its JSON form
    (a registered form), so when no registered form does, nothing can need masking and the
    walk, most of the cost of reading a large target, is skipped. Any other escape (`\\u`,
    `\\\\`, `\\/`...) could spell a secret in a form not registered: then every string is
    scrubbed.
    """
    known = _known.now
    if not known.forms:
        return value
    if raw is not None and _plain(raw) and not _shows_any(raw, known):
        return value
    # Looked for in all its strings at once (a string at a time costs ten times as much);
    # a form found across two of them only costs the walk.
    joined = "\n".join(_strings(value, []))
    if not known.may_show(fold(joined)[0]) and (
        not _escapes(joined) or _readings(joined, known.forms, known.clues) is None
    ):
        return value
    return _scrub_value(value)


def _strings(value: Any, found: list[str]) -> list[str]:
    """Every string in a parsed JSON value, keys too, added to `found`."""
    if isinstance(value, str):
        found.append(value)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str):
                found.append(key)
            _strings(item, found)
    elif isinstance(value, list | tuple):
        for item in value:
            _strings(item, found)
    return found


def _shows_any(raw: bytes, known: _Secrets) -> bool:
    """Whether UTF-8 `raw`, read as `fold` reads text, may show a secret. Its only escapes
    are quotes' (_plain): read unescaped, a run through a quote is one run, as in the
    string it is parsed into. An ASCII body is first searched as it is, in one pass, for
    what that reading would hold (literals.py): most pages hold none, and are never copied."""
    if not raw.isascii() or b"\x7f" in raw:
        # JSON lets a DEL stand unescaped in a string and `fold` drops it (no reader sees it):
        # a secret with one every few characters shows in the string, in no run of the bytes.
        return known.may_show(fold(_unquoted(raw).decode("utf-8", "surrogatepass"))[0])
    places = known.literals.where_in_raw(raw)
    if places is not None:
        return any(known.may_show(_read(raw[s:e])) for s, e in around(raw, places, known.reach))
    return known.may_show(_read(raw))


def _read(raw: bytes) -> str:
    """ASCII `raw` whose only escapes are quotes' as `fold` reads the text it holds."""
    return _unquoted(raw).lower().decode()


def _unquoted(raw: bytes) -> bytes:
    return raw.replace(b'\\"', b'"')


def _plain(raw: bytes) -> bool:
    """Whether every backslash in `raw` is the escape of a quote (so `\\\\` never occurs),
    and no percent-encoding or HTML reference stands in it, in UTF-8: the registered forms
    are looked for as UTF-8 bytes, and a body in UTF-16 or UTF-32 (which the parser reads
    too) holds none of them, whatever it says. `scrub` undoes `%XX` and `&#NN;` as it
    undoes `\\u` (_ESCAPED): a secret spelled in them shows in no registered form, so a
    body holding one is read string by string, or an account whose name holds the secret
    so would look unmasked, and be planned for (a disable) instead of put in error."""
    if not utf8(raw) or _web_escaped(raw):
        return False
    found = quotes_only(raw)
    return found if found is not None else raw.count(b"\\") == raw.count(b'\\"')


def _web_escaped(raw: bytes) -> bool:
    """Whether UTF-8 `raw` holds an escape `_undone` reads that is not JSON's: a
    percent-encoding, or a reference `html.unescape` reads (`&#116;`, `&#116`, `&amp`).
    Decided as `_undone` decides it, not by the look of an `&`: a department of `R&D` in
    every user made each page read string by string, 6 ms instead of 0.9 ms a page."""
    if b"%" in raw and _PERCENT.search(raw):
        return True
    if b"&" not in raw:
        return False
    text = raw.decode("utf-8", "surrogateescape")
    return html.unescape(text) != text


def _scrub_value(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {_key(k): _scrub_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub_value(v) for v in value]
    return value


def _scrub_logged(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            _key(k): (HIDDEN if str(k).lower() in _SENSITIVE_KEYS and v else _scrub_logged(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrub_logged(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        # A value a refused write held (client.encoded): as text, so the log line and
        # the audit line stay JSON (RFC 8259 has no NaN or Infinity).
        return json.dumps(value)
    return _scrub_value(value)


def _key(key: Any) -> Any:
    return scrub(key) if isinstance(key, str) else key


def redact_processor(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> Any:
    """structlog processor: masks secret values and sensitive keys in every log event."""
    for key in list(event):
        value = event[key]
        if key.lower() in _SENSITIVE_KEYS and value:
            event[key] = HIDDEN
        else:
            event[key] = _scrub_logged(value)
    return event
