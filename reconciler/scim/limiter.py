"""How many requests one target gets at once: an adaptive limit (AIMD), shared by threads.

Every request a `ScimClient` sends holds one slot of its `Limiter` for as long as it is in
flight, whichever thread or apply phase sends it. The limit starts at the target's
`concurrency` and moves the way TCP's congestion window does (RFC 5681 §3.1): an answer
that says the target is overloaded (429, 500, 502, 503, 504, a lost answer, or answers much
slower than usual) halves it, once per round of requests; a full round of answers that come
back well (as many as the limit) adds one slot. It never drops below 1 or rises above the
ceiling.

A Retry-After on 429/503 holds every thread back until then, not only the one that got it.
Pacing to a request rate, learned from 429s or the target's `max_rps`, is the other half of
admission (`pacer.py`); the client gives 429s to the pacer instead of this limit.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# An answer this much slower than the usual for its kind of request (and at least MARGIN
# seconds slower) counts as overload. Loose on purpose: a cut costs throughput, so only a
# clear rise makes one; a target slower for good is accepted after a cut (see _Latency).
TOLERANCE = 3.0
MARGIN = 0.2
# Judging latency needs a usual to compare with: this many answers of a kind first.
WARM_UP = 5
SMOOTHING = 0.2
# How many rounds of good answers the step back to a limit that overloaded the target takes.
PATIENCE = 4


@dataclass(frozen=True, slots=True)
class Ticket:
    """One admitted request: when it was sent and what kind of request it is."""

    sent: float
    kind: str


# Answers that say "too much" (RFC 6585 §4, RFC 9110 §15.6), or none at all (0: a timeout or
# a reset). 501 and 505 say "never", not "not now", so they are not among them.
OVERLOAD = frozenset({0, 429, 500, 502, 503, 504})


def overloaded(status: int) -> bool:
    return status in OVERLOAD


class Limiter:
    """An AIMD limit on requests in flight to one target; thread-safe."""

    def __init__(
        self,
        ceiling: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[int, int, str], None] | None = None,
    ) -> None:
        if ceiling < 1:
            raise ValueError(f"a limiter needs a ceiling of at least 1, got {ceiling}")
        self.ceiling = ceiling
        self.window = ceiling
        self._credit = 0  # answers that came back well since the window last grew
        # The limit at which the target last said "too much": growing back to it is slower.
        self._overloaded_at = ceiling + 1
        self.in_flight = 0
        self.peak = 0
        self.cuts = 0
        self.lowest = ceiling
        self.clock = clock
        self.on_change = on_change  # (old limit, new limit, why)
        self._changed_at = -math.inf  # when the limit last moved
        self._held_until = -math.inf
        self._latency = _Latency()
        self._cond = threading.Condition()

    @property
    def limit(self) -> int:
        return self.window

    def acquire(self, kind: str = "") -> Ticket:
        """Wait for a free slot (and for any Retry-After hold to pass); take it."""
        with self._cond:
            while True:
                now = self.clock()
                if now < self._held_until:
                    self._cond.wait(self._held_until - now)
                elif self.in_flight >= self.limit:
                    self._cond.wait()
                else:
                    break
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            return Ticket(now, kind)

    def release(self, ticket: Ticket, status: int | None, retry_after: float | None = None) -> None:
        """Give the slot back, and learn from the answer (None: no answer to learn from).

        Only a request sent since the limit last moved may move it again: the requests of
        one round all meet the same overload, and halving once per answer would drop to 1
        at once; and answers to requests sent under a higher limit say nothing of the new.
        """
        with self._cond:
            now = self.clock()
            self.in_flight -= 1
            before = self.limit
            why = ""
            if status is not None and overloaded(status):
                why = f"answered {status}" if status else "no answer"
            elif status is not None and status < 400:
                if self._latency.rising(ticket.kind, now - ticket.sent):
                    why = "answers slowed down"
                elif ticket.sent >= self._changed_at:
                    # Only answers to requests sent at the current limit say it is fine.
                    self._grow(now)
            if why and ticket.sent >= self._changed_at:
                self._overloaded_at = self.window
                self.window = max(1, self.window // 2)
                self._credit = 0
                self._changed_at = now
                self.cuts += 1
                if why == "answers slowed down":
                    self._latency.accept_slower(ticket.kind)
            if retry_after:
                self._held_until = max(self._held_until, now + retry_after)
            self.lowest = min(self.lowest, self.limit)
            self._cond.notify_all()
        if self.limit != before and self.on_change is not None:
            self.on_change(before, self.limit, why or "answers came back well")

    def _grow(self, now: float) -> None:
        """One more slot per full round of answers that came back well (additive increase).

        The step back up to the limit that last overloaded the target takes PATIENCE rounds:
        a target with a hard capacity is then probed past it now and then, not every few
        rounds. A full round there that comes back well clears the memory.
        """
        self._credit += 1
        rounds = PATIENCE if self.window + 1 == self._overloaded_at else 1
        if self.window >= self._overloaded_at and self._credit >= self.window:
            self._overloaded_at = self.ceiling + 1
        if self._credit >= self.window * rounds and self.window < self.ceiling:
            self.window += 1
            self._credit = 0
            self._changed_at = now


class _Latency:
    """Whether answers of one kind are clearly slower than usual for this target.

    The usual is the best smoothed latency seen; after a cut made for slowness the usual
    is raised, so a target that stays slower is accepted instead of cut down to 1.
    """

    def __init__(self) -> None:
        self.smoothed: dict[str, float] = {}
        self.usual: dict[str, float] = {}
        self.samples: dict[str, int] = {}

    def rising(self, kind: str, seconds: float) -> bool:
        previous = self.smoothed.get(kind)
        smoothed = seconds if previous is None else previous + SMOOTHING * (seconds - previous)
        self.smoothed[kind] = smoothed
        self.samples[kind] = self.samples.get(kind, 0) + 1
        if self.samples[kind] < WARM_UP:
            self.usual[kind] = min(self.usual.get(kind, smoothed), smoothed)
            return False
        usual = min(self.usual.get(kind, smoothed), smoothed)
        self.usual[kind] = usual
        return smoothed > usual * TOLERANCE + MARGIN

    def accept_slower(self, kind: str) -> None:
        # The pace that made the cut becomes the usual: another cut needs another clear
        # rise, and if the cut was what the target needed, answers speed up and the usual
        # follows them down again.
        self.usual[kind] = self.smoothed[kind]


def logged(log: Any) -> Callable[[int, int, str], None]:
    """An on_change that writes each move of the limit to the run's log (the audit trail
    shows when the target was overloaded and how scimrec eased off)."""

    def changed(old: int, new: int, why: str) -> None:
        say = log.warning if new < old else log.info
        say("concurrency", outcome="lowered" if new < old else "raised",
            limit=new, was=old, reason=why)  # fmt: skip

    return changed
