"""The hooks through which reads and applies report progress; the silent default.

The command line draws them on a terminal (cli/progress.py).
"""

from __future__ import annotations


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
