"""Progress on stderr for long reads and applies, only when stderr is a terminal.

Logs keep flowing while a bar is shown: what is written to stdout or stderr meanwhile is
printed above the live display, so the two never garble each other. In CI (no terminal)
nothing extra is printed.

The bars move the cursor and erase lines, which no text written through the output streams
may do (cli/output.py). So rich draws through `Drawing`, and the text it shows above the
bars reaches it from behind the `Redacted` streams, with their rule applied: rich sits
between a `Redacted` stream and the terminal, never in front of one.
"""

from __future__ import annotations

import sys
import threading
from typing import Any, TextIO, cast

from reconciler.cli.output import Drawing, Redacted
from reconciler.scim.progress import Progress


class TerminalProgress(Progress):
    def __init__(self) -> None:
        from rich.console import Console
        from rich.file_proxy import FileProxy
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as Bars

        err = sys.stderr
        # Under `main`, rich draws behind the Redacted stream; elsewhere (no stream was
        # swapped) it redirects the streams itself, as it does by default.
        behind = err if isinstance(err, Redacted) else None
        console = Console(file=cast(TextIO, Drawing(behind.inner)) if behind else err)
        self._bars = Bars(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
            redirect_stdout=behind is None,
            redirect_stderr=behind is None,
        )
        # Logs and messages on stderr are printed above the bars, as rich's redirection
        # would print them, but one step later: after the Redacted stream made them safe.
        # stdout is left where it goes (a plan piped to a file stays in the file).
        self._routed: tuple[Redacted, TextIO] | None = None
        if behind and console.is_terminal:
            behind.flush()
            self._routed = behind, behind.inner
            behind.inner = cast(TextIO, FileProxy(console, behind.inner))
        self._tasks: dict[str, Any] = {}
        self._failed = 0
        self._lock = threading.Lock()
        self._bars.start()

    def _task(self, name: str, total: int | None) -> Any:
        if name not in self._tasks:
            self._tasks[name] = self._bars.add_task(name, total=total, rate="")
        return self._tasks[name]

    def reading(self, what: str, done: int, total: int | None) -> None:
        task = self._task(f"read {what}", total)
        self._bars.update(task, completed=done, total=total or done)

    def applying(self, total: int) -> None:
        self._task("write", total)

    def applied(self, ok: bool) -> None:
        with self._lock:
            self._failed += not ok
            task = self._task("write", None)
            failed = f"{self._failed} failed" if self._failed else ""
            self._bars.update(task, advance=1, rate=failed)

    def close(self) -> None:
        if self._routed:
            self._routed[0].flush()
        self._bars.stop()
        if self._routed:
            stream, inner = self._routed
            stream.inner, self._routed = inner, None


def make_progress(enabled: bool) -> Progress:
    """A live display when asked for and stderr is a terminal; otherwise silence."""
    if enabled and sys.stderr.isatty():
        return TerminalProgress()
    return Progress()
