"""SIGTERM handled as Ctrl-C: what a cancelled CI job, timeout(1), systemd and Kubernetes
send to stop a process. Left to its default, it kills an apply outright, between a write the
target carried out and its audit record; raised as an interrupt instead, no new change
starts, the requests in flight finish and are audited, and the summary is printed (as
Terraform does)."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C raises KeyboardInterrupt: every place that stops
    cleanly on Ctrl-C stops so on it."""


class Received:
    """Whether SIGTERM came during the command (its exit code says so: cli.main)."""

    def __init__(self) -> None:
        self.terminated = False

    def handle(self, signum: int, frame: FrameType | None) -> None:
        self.terminated = True
        raise Terminated


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[Received]:
    """SIGTERM raises Terminated in the main thread for as long as the command runs. Only
    the main thread may set a handler (a command run from another thread keeps the
    process's own), and the one before is put back after."""
    received = Received()
    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    before = signal.signal(signal.SIGTERM, received.handle)
    try:
        yield received
    finally:
        signal.signal(signal.SIGTERM, before)
