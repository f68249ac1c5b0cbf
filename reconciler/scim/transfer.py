"""Reading one response within its bounds: a size cap, a deadline for the whole response, and
the run's deadline, so that no target can keep a run waiting or growing forever.

The per-read timeout of the HTTP library bounds each wait for the next bytes, not the whole
response: a server that sends one byte a second never trips it. Here the body is streamed
and the clock and the size are checked after every chunk; past either bound the connection
is dropped and nothing of the body is kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import httpx2

from reconciler.errors import ScimHTTPError, ScimProtocolError, ScimrecError

MIB = 1024 * 1024
Clock = Callable[[], float]
# Until when this thread's requests may run past the run's deadline (RunDeadline.overtime).
_OVERTIME: ContextVar[float | None] = ContextVar("overtime", default=None)


class RunTimedOut(ScimrecError):
    """The run passed its deadline (`run_timeout_seconds` or `--run-timeout`).

    `in_flight`: a request was cut short, so whether the target acted on it is unknown;
    otherwise nothing was sent.
    """

    def __init__(self, message: str, *, in_flight: bool = False) -> None:
        super().__init__(message)
        self.in_flight = in_flight


@dataclass(frozen=True)
class Bounds:
    """What one response may cost: bytes, and seconds from the request to its last byte."""

    max_bytes: int = 64 * MIB
    request_seconds: float = 120.0


class RunDeadline:
    """The instant a run must end by; None: no deadline (library use, tests)."""

    def __init__(self, seconds: float | None, clock: Clock = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self.ends = None if seconds is None else clock() + seconds

    def remaining(self) -> float | None:
        if self.ends is None:
            return None
        extra = _OVERTIME.get()
        return max(self.ends, extra or self.ends) - self.clock()

    @contextmanager
    def overtime(self, seconds: float) -> Iterator[None]:
        """Up to `seconds` from now, deadline or not, for this thread's requests only: a
        repair of what a write cut short may have undone (a group a value-list removal
        emptied) must not be left half done because the run's time is up."""
        token = _OVERTIME.set(self.clock() + seconds)
        try:
            yield
        finally:
            _OVERTIME.reset(token)

    def check(self, method: str, path: str, *, in_flight: bool = False) -> None:
        """Refuse to start (or to retry) a request once the run is out of time."""
        left = self.remaining()
        if left is not None and left <= 0:
            when = "during" if in_flight else "before"
            raise RunTimedOut(
                f"the run passed its deadline of {_seconds(self.seconds or 0)} {when} "
                f"{method} {path} (run_timeout_seconds, or --run-timeout)",
                in_flight=in_flight,
            )


def read_body(
    response: httpx2.Response,
    method: str,
    path: str,
    bounds: Bounds,
    ends: float,
    clock: Clock = time.monotonic,
) -> bytes:
    """The whole body of a streamed response, or an error once it passes a bound.

    `ends` is the clock reading by which the last byte must have arrived. A declared
    Content-Length past the cap is refused before a byte is read; a body without one is
    counted as it arrives (after decompression, so a small compressed bomb is caught too).
    """
    declared = response.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > bounds.max_bytes:
        raise too_large(method, path, bounds)
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > bounds.max_bytes:
            raise too_large(method, path, bounds)
        if clock() > ends:
            raise too_slow(method, path, bounds)
    return bytes(body)


def request_ends(bounds: Bounds, deadline: RunDeadline) -> float:
    """When a request's last byte must have arrived: its own bound, or the run's."""
    ends = time.monotonic() + bounds.request_seconds
    left = deadline.remaining()
    return ends if left is None else min(ends, time.monotonic() + left)


def read_timeout(configured: httpx2.Timeout, ends: float) -> httpx2.Timeout:
    """No single wait may outlast the whole request's deadline either."""
    left = max(0.001, ends - time.monotonic())
    return httpx2.Timeout(
        connect=_at_most(configured.connect, left),
        read=_at_most(configured.read, left),
        write=_at_most(configured.write, left),
        pool=_at_most(configured.pool, left),
    )


def _at_most(value: float | None, cap: float) -> float:
    return cap if value is None else min(value, cap)


def too_large(method: str, path: str, bounds: Bounds) -> ScimProtocolError:
    size = f"{bounds.max_bytes / MIB:g} MiB"
    return ScimProtocolError(
        f"{method} {path}: the response is larger than {size} and was refused "
        "(max_response_mib raises the cap)"
    )


def too_slow(method: str, path: str, bounds: Bounds) -> ScimHTTPError:
    # Status 0, like any timeout: no complete answer arrived, so a GET may be retried.
    return ScimHTTPError(
        method,
        path,
        0,
        f"timed out: the response took longer than {_seconds(bounds.request_seconds)} "
        "(request_timeout_seconds)",
    )


def timed_out(
    method: str, path: str, bounds: Bounds, ends: float, clock: Clock = time.monotonic
) -> ScimHTTPError:
    """A timeout of the HTTP library: one wait that ran out (`timed out`), or, once `ends` has
    passed, the whole response (socket_deadline.py cuts every wait short at `ends`)."""
    if clock() >= ends:
        return too_slow(method, path, bounds)
    return ScimHTTPError(method, path, 0, "timed out")


def _seconds(value: float) -> str:
    return f"{value:g} s"
