"""How fast requests go to one target: a pace learned from its 429s, under any `max_rps`.

Most targets never say 429, and no request is paced until one does. A 429 says "too many
requests in a given amount of time" (RFC 6585 §4): a rate, not a number in flight, so it
teaches this pacer rather than the concurrency limit (`limiter.py`). The first 429 sets a
pace: 90% of what the target admitted since the run began, counting the wait its
Retry-After asked for (a token bucket lets a burst through, then admits about its rate over
any span that includes the wait). Each later 429 cuts the pace the same way, from the rate
admitted since the last cut; each second of answers without one adds 2% of the rate that
was learned (additive increase), so the pace keeps probing a limit that rose, and a rate
limiter's window that refills more than expected is used. A configured `max_rps` is a
ceiling the pace never passes.

Once a pace is learned, a 429 slows the pace instead of holding every thread for its
Retry-After: paced below the rate, the target's allowance refills between requests, and
stopping everyone again would only waste it. The request that got the 429 still waits its
Retry-After before it is sent again (`client.py`).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import stamina

CUT = 0.9  # a 429 sets the pace to this share of the rate the target admitted
GROWTH = 0.02  # per second of answers without a 429: this share of the learned rate
FLOOR = 0.2  # requests per second: the slowest pace, one request every 5 s
WINDOW = 1.0  # seconds over which the rate requests are sent at is measured
RATE_LIMITED = 429


class Pacer:
    """Spaces requests to a rate learned from the target's 429s (and at most `ceiling`);
    thread-safe. Without a ceiling and before a 429, requests are not paced at all."""

    def __init__(
        self,
        ceiling: float | None = None,
        *,
        learn: bool = True,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        on_change: Callable[[float | None, float, str], None] | None = None,
    ) -> None:
        if ceiling is not None and ceiling <= 0:
            raise ValueError(f"a pace needs a positive rate, got {ceiling}")
        self.ceiling = ceiling
        self.rate = ceiling  # requests per second; None: not paced
        self.learn = learn
        self.learned: float | None = None  # the rate the last 429 taught, for the growth step
        self.clock = clock
        self.sleep = sleep
        self.on_change = on_change  # (old pace, new pace, why)
        self.cuts = 0
        self._next = -math.inf  # the earliest time the next request may go
        self._sent: deque[float] = deque()  # send times within the last WINDOW
        self._since = clock()  # when admissions started being counted: start, or last cut
        self._admitted = 0  # answers other than 429 since then
        self._changed_at = -math.inf  # answers to requests sent before this teach nothing
        self._grown_at = -math.inf
        self._lock = threading.Lock()

    def wait(self, left: float | None = None) -> float:
        """Wait for this request's turn; the time it is sent at (to pass to `answered`).

        `left`: the seconds left to the run (None: no deadline). The wait never outlasts
        them: a turn past the deadline comes to nothing, and the client's deadline check
        then ends the run on time, where a slow pace (max_rps: 0.001) would sleep on."""
        with self._lock:
            now = self.clock()
            slot = now if self.rate is None else max(now, self._next)
            if self.rate is not None:
                self._next = slot + 1.0 / self.rate
            self._sent.append(slot)
            while self._sent and self._sent[0] < slot - WINDOW:
                self._sent.popleft()
        if slot > now and not (self.learned is not None and _testing()):
            self.sleep(slot - now if left is None else max(0.0, min(slot - now, left)))
        return slot

    def answered(self, sent: float, status: int | None) -> bool:
        """Learn from one answer (None or 0: none came). True when a 429 met a pace that was
        already learned, so its Retry-After need not hold every other request back."""
        if status is None or status == 0:
            return False
        with self._lock:
            now = self.clock()
            if status != RATE_LIMITED:
                self._admitted += 1
                self._grow(now, sent)
                return False
            paced = self.learned is not None
            if self.learn and sent > self._changed_at:
                self._cut(now)
            return paced

    def learns_from(self, status: int | None) -> bool:
        """Whether this answer is the pace's to learn from (a 429, unless learning is off),
        and so not the concurrency limit's: a 429 speaks of a rate, not of a number in
        flight."""
        return self.learn and status == RATE_LIMITED

    def _cut(self, now: float) -> None:
        """Multiplicative decrease, once per round: from the rate admitted since the last
        cut (or the start), and never above the rate requests were being sent at."""
        spell = now - self._since
        sending = len(self._sent) / WINDOW
        if self.rate is not None:
            sending = min(sending, self.rate)
        # Too short a spell since the last cut says little of the rate admitted (a few
        # answers, or none): the pace was still too fast, so it is cut from itself.
        base = sending if spell < WINDOW else min(self._admitted / spell, sending)
        rate = max(FLOOR, CUT * base)
        if self.ceiling is not None:
            rate = min(rate, self.ceiling)
        self._change(rate, f"answered {RATE_LIMITED}", now)
        # The next request waits its turn at the new pace, not at the one that failed.
        self._next = max(self._next, now + 1.0 / rate)
        self.learned = rate
        self.cuts += 1
        self._since = now
        self._admitted = 0

    def _grow(self, now: float, sent: float) -> None:
        """Additive increase: one step per second in which answers came back without a 429
        (only answers to requests sent at the current pace count, and never while idle)."""
        if self.learned is None or self.rate is None or sent < self._changed_at:
            return
        if now - self._grown_at < 1.0:
            return
        rate = self.rate + GROWTH * self.learned
        if self.ceiling is not None:
            rate = min(rate, self.ceiling)
        self._grown_at = now
        self.rate = rate

    def _change(self, rate: float, why: str, now: float) -> None:
        before = self.rate
        self.rate = rate
        self._changed_at = self._grown_at = now
        if self.on_change is not None:
            self.on_change(before, rate, why)


def _testing() -> bool:
    """stamina's testing mode, in which no retry waits (its Retry-After included, client.py):
    nor does the pace learned from 429s, which takes that hold's place. A configured
    `max_rps` is kept even then."""
    return stamina.is_testing() or not stamina.is_active()


def logged(log: Any) -> Callable[[float | None, float, str], None]:
    """An on_change that writes each cut of the pace to the run's log: the audit trail
    shows when the target limited the rate, and to what. (The growth between cuts, a step
    a second, is not logged: it would be a line a second.)"""

    def changed(old: float | None, new: float, why: str) -> None:
        was = None if old is None else round(old, 2)
        log.warning("pace", outcome="lowered", rate=round(new, 2), was=was, reason=why)

    return changed
