"""Progress on stderr for long reads and applies, only when stderr is a terminal.

Logs keep flowing while a bar is shown: rich redirects writes to stderr above the live
display, so the two never garble each other. In CI (no terminal) nothing extra is printed.
"""

from __future__ import annotations

import sys
import threading
from typing import Any


class Progress:
    """The silent default: every hook is a no-op."""

    def reading(self, what: str, done: int, total: int | None) -> None:
        """`done` of `total` objects of `what` read from the target so far."""

    def applying(self, total: int) -> None:
        """An apply of `total` changes starts."""

    def applied(self, ok: bool) -> None:
        """One change finished, successfully or not."""

    def close(self) -> None:
        """Remove the display."""


class TerminalProgress(Progress):
    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as Bars

        self._bars = Bars(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(file=sys.stderr),
            transient=True,
            redirect_stderr=True,
        )
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
        self._bars.stop()


def make_progress(enabled: bool) -> Progress:
    """A live display when asked for and stderr is a terminal; otherwise silence."""
    if enabled and sys.stderr.isatty():
        return TerminalProgress()
    return Progress()
