"""The one way out: every byte the command line writes crosses `scrub` here first.

`main` swaps stdout and stderr for `Redacted` streams for the whole run, so the plan and
every report, logs, progress, prompts, GitHub annotations, click's own messages and any
error text are scrubbed whoever writes them; files (plan files, imported YAML, the starter
tree, the GitHub step summary) are written only through `write_file` and `append_file`.
tests/cli/test_secrets.py runs every command against a target that echoes every secret,
and tests/test_architecture.py checks that nothing else in the package writes a file.

It is also where text meets an encoding: whatever a stream or file cannot encode (a lone
UTF-16 surrogate a target sent as `\\ud800`, which no UTF-8 holds; any character past a
legacy code page) is written as its backslash escape, never raised as UnicodeEncodeError.
Inside a JSON string, that escape reads back as the same text.

It is also where a line becomes a workflow command or not. A CI runner (GitHub Actions)
reads every line of stdout and stderr that starts with `::` as a command (`::add-mask::`,
`::stop-commands::`, `::error::`). Names, values and error details come from the target,
and a newline in one would start such a line; so every line written starts with `::` only
when it is one of scimrec's own annotations, written with `echo_command`. The runner also
still reads the older form, `##[command]data`, found anywhere in a line (not only at its
start): no `##[` is ever written, whoever wrote it.

It is also where text stops being able to drive a terminal. Names, values, ids, error
details and spec values reach every renderer; a control character in one (ESC starting a
CSI sequence that moves the cursor and erases the lines of a plan, an OSC 52 that writes the
reader's clipboard, an OSC 8 hidden link, a CR or a bidi override that redraws a line) would
let the target or a spec edit decide what a reviewer sees. So every C0 and C1 control but
line feed and tab, and every bidi control, is written as its escape (`\\x1b`, `\\u202e`),
on stdout and stderr, to a terminal or not; the one sequence let through is the SGR colour
that scimrec's own renderers paint with (render.COLOURS, and the reset). The progress bars
draw their cursor moves through `Drawing`, past this rule, while the text shown above them
still crosses it first (cli/progress.py).
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from reconciler.report.render import COLOURS
from reconciler.scim.redact import scrub

# A line start (the runner splits lines at CR and LF) and the whitespace it trims before
# looking for `::`.
_COMMAND = re.compile(r"(\A|[\r\n])(\s*):(?=:)")
# What a `::` that starts no command is written as: the first colon, then a zero-width
# space (U+200B, not whitespace to the runner), so the line shows as it was.
_DEFUSED = "\\1\\2:\u200b"
# The older form's `##[`, anywhere; a `#[` that starts a piece of text too, since the piece
# before it (flushed without a line end) may have ended with `#`.
_OLD_COMMAND = re.compile(r"(?:(?<=#)|\A)#\[")


# scimrec's own colours (exactly the SGR codes render.paint writes), then every control
# character but LF and TAB: C0, DEL, C1 (U+009B is CSI on its own), and the bidi controls
# (ALM, LRM, RLM, the embeddings and overrides U+202A-E, the isolates U+2066-9).
_OWN_SGR = "|".join(re.escape(f"\x1b[{code}m") for code in sorted({*COLOURS.values(), "0"}))
_CONTROL = re.compile(
    rf"({_OWN_SGR})|[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def _shown(match: re.Match[str]) -> str:
    # C0 as errors.printable writes it (`\x1b`, `\r`); the rest (DEL, C1, bidi) as `\u007f`,
    # which is also a JSON escape: `plan --format json` (ensure_ascii=False) leaves those
    # raw in its strings, and `\x7f` there would make the whole output no JSON.
    if match[1]:
        return match[1]
    code = ord(match[0])
    return ascii(match[0])[1:-1] if code < 0x20 else f"\\u{code:04x}"


def neutralised(text: str) -> str:
    """`text` with no character that controls a terminal: each is written as its escape,
    as errors.printable shows it, but scimrec's own colours, line feeds and tabs."""
    return _CONTROL.sub(_shown, text)


def defused(text: str) -> str:
    """`text` with no line that a CI runner would read as a workflow command."""
    text = _COMMAND.sub(_DEFUSED, text) if "::" in text else text
    return _OLD_COMMAND.sub("#\u200b[", text) if "#[" in text else text


class _Wrapping(io.TextIOBase):
    """A text stream written through to `inner`: what a terminal's stream answers (is it a
    terminal, its descriptor, its encoding), as `inner` answers it."""

    def __init__(self, inner: TextIO) -> None:
        super().__init__()
        self.inner = inner

    def isatty(self) -> bool:
        return self.inner.isatty()

    def fileno(self) -> int:
        return self.inner.fileno()

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.inner, "encoding", None) or "utf-8"


class Redacted(_Wrapping):
    """A text stream that scrubs what it is given before passing it on.

    Text is held until a line ends or the writer flushes, so a secret written in two
    pieces (as click writes a message and then its newline) is still seen whole.
    """

    def __init__(self, inner: TextIO) -> None:
        super().__init__(inner)
        self.pending = ""

    def write(self, text: str) -> int:
        if not isinstance(text, str):  # click probes for binary streams with b""
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self.pending += text
        cut = self.pending.rfind("\n") + 1
        if cut:
            done, self.pending = self.pending[:cut], self.pending[cut:]
            self.inner.write(self._cleaned(done))
        return len(text)

    def _cleaned(self, text: str) -> str:
        return sendable(defused(neutralised(scrub(text))), self.encoding)

    def write_command(self, line: str) -> None:
        """One of scimrec's own workflow commands, as it is (scrubbed)."""
        self.flush()
        self.inner.write(sendable(neutralised(scrub(line)), self.encoding))

    def flush(self) -> None:
        if self.pending:
            done, self.pending = self.pending, ""
            self.inner.write(self._cleaned(done))
        self.inner.flush()

    @property
    def buffer(self) -> _RedactedBytes:
        """Where bytes go (click writes some, e.g. shell completion): through this stream."""
        return _RedactedBytes(self)

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self.inner, "errors", None)


class Drawing(_Wrapping):
    """Where a live display (the progress bars) draws on a `Redacted` stream's terminal: its
    cursor moves, erases and colours pass as written, scrubbed. Its labels are scimrec's
    words; whatever else it shows (logs, messages written meanwhile) has crossed a
    `Redacted` stream before it reaches the display (cli/progress.py)."""

    def write(self, text: str) -> int:
        self.inner.write(sendable(scrub(text), self.encoding))
        return len(text)

    def flush(self) -> None:
        self.inner.flush()


class _RedactedBytes(io.RawIOBase):
    """The binary side of a `Redacted` stream: bytes are decoded and written through it."""

    def __init__(self, text: Redacted) -> None:
        super().__init__()
        self.text = text

    def write(self, data: Any) -> int:
        raw = bytes(data)
        self.text.write(raw.decode(self.text.encoding, errors="replace"))
        return len(raw)

    def flush(self) -> None:
        self.text.flush()

    def writable(self) -> bool:
        return True


@contextlib.contextmanager
def redacted_streams() -> Iterator[None]:
    """stdout and stderr scrubbed for the duration; restored (and flushed) afterwards."""
    saved = sys.stdout, sys.stderr
    out, err = Redacted(saved[0]), Redacted(saved[1])
    sys.stdout, sys.stderr = out, err
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
        for stream in (out, err):
            with contextlib.suppress(ValueError, OSError):  # a closed pipe: nothing to save
                stream.flush()


def echo_command(line: str) -> None:
    """Write one of scimrec's own workflow commands (report/github.py) to stderr: the one
    kind of line that may start with `::`. Its data is escaped where it is made."""
    stream = sys.stderr
    if isinstance(stream, Redacted):
        stream.write_command(line + "\n")
    else:
        stream.write(scrub(line) + "\n")


def sendable(text: str, encoding: str) -> str:
    """`text` as `encoding` can take it, each character it cannot written as an escape."""
    if text.isascii():
        return text
    return text.encode(encoding, "backslashreplace").decode(encoding)


def write_file(path: Path, text: str) -> None:
    """Write (or replace) a file the user asked for, scrubbed."""
    path.write_text(scrub(text), encoding="utf-8", errors="backslashreplace")


def append_file(path: Path, text: str) -> None:
    """Append to a file others write too (the GitHub step summary), scrubbed."""
    with path.open("a", encoding="utf-8", errors="backslashreplace") as handle:
        handle.write(scrub(text))
