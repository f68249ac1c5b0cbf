"""The adaptive concurrency limit (AIMD) every request to a target passes through."""

from __future__ import annotations

import threading
import time

import pytest

from reconciler.scim.limiter import MARGIN, PATIENCE, WARM_UP, Limiter, overloaded


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def round_trip(limiter: Limiter, clock: Clock, status: int, seconds: float = 0.01) -> None:
    ticket = limiter.acquire("PATCH resource")
    clock.now += seconds
    limiter.release(ticket, status)


@pytest.mark.parametrize("status", [0, 429, 500, 502, 503, 504])
def test_what_counts_as_overload(status: int) -> None:
    assert overloaded(status)


@pytest.mark.parametrize("status", [200, 204, 400, 404, 409, 501])
def test_what_does_not_count_as_overload(status: int) -> None:
    assert not overloaded(status)


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504, 0])
def test_an_overload_halves_the_limit(status: int) -> None:
    clock = Clock()
    limiter = Limiter(8, clock=clock)
    round_trip(limiter, clock, status)
    assert limiter.limit == 4
    round_trip(limiter, clock, status)
    assert limiter.limit == 2
    round_trip(limiter, clock, status)
    round_trip(limiter, clock, status)
    assert limiter.limit == 1  # never below 1
    assert (limiter.cuts, limiter.lowest) == (4, 1)


def test_answers_that_are_not_overload_do_not_cut() -> None:
    clock = Clock()
    limiter = Limiter(8, clock=clock)
    for status in (400, 404, 409, 501):
        round_trip(limiter, clock, status)
    assert (limiter.limit, limiter.cuts) == (8, 0)


def test_one_round_of_overload_cuts_once() -> None:
    """Requests sent before a cut met the old load: their failures do not cut again."""
    clock = Clock()
    limiter = Limiter(8, clock=clock)
    tickets = [limiter.acquire() for _ in range(8)]
    clock.now += 0.01
    for ticket in tickets:
        limiter.release(ticket, 500)
    assert (limiter.limit, limiter.cuts) == (4, 1)
    round_trip(limiter, clock, 500)  # sent after the cut: a fresh signal
    assert (limiter.limit, limiter.cuts) == (2, 2)


def test_recovery_is_one_step_per_round_and_never_above_the_ceiling() -> None:
    clock = Clock()
    limiter = Limiter(8, clock=clock)
    round_trip(limiter, clock, 503)
    round_trip(limiter, clock, 503)
    assert limiter.limit == 2
    for _ in range(2):  # a round at limit 2: two answers that came back well
        round_trip(limiter, clock, 200)
    assert limiter.limit == 3
    # 4 is where the target last said "too much": the step back there takes PATIENCE rounds.
    for _ in range(3 * PATIENCE - 1):
        round_trip(limiter, clock, 200)
    assert limiter.limit == 3
    round_trip(limiter, clock, 200)
    assert limiter.limit == 4
    for _ in range(4):  # a good round at 4 clears the memory: 5 comes after one round
        round_trip(limiter, clock, 200)
    assert limiter.limit == 5
    for _ in range(200):
        round_trip(limiter, clock, 200)
    assert limiter.limit == 8


def test_rising_latency_cuts_and_a_slower_target_is_then_accepted() -> None:
    clock = Clock()
    limiter = Limiter(8, clock=clock)
    for _ in range(WARM_UP + 5):
        round_trip(limiter, clock, 200, seconds=0.05)
    assert limiter.limit == 8
    slow = 0.05 * 4 + MARGIN * 2
    cuts = 0
    for _ in range(40):
        round_trip(limiter, clock, 200, seconds=slow)
        cuts = limiter.cuts
    assert cuts == 1  # once: the slower pace is then taken as this target's usual
    assert limiter.lowest == 4


def test_latency_is_judged_per_kind_of_request() -> None:
    """A listing page is slower than a PATCH by nature; that is no sign of overload."""
    clock = Clock()
    limiter = Limiter(8, clock=clock)
    for _ in range(WARM_UP + 5):
        round_trip(limiter, clock, 200, seconds=0.02)
        ticket = limiter.acquire("GET listing")
        clock.now += 2.0
        limiter.release(ticket, 200)
    assert limiter.cuts == 0


def test_the_limit_holds_across_threads() -> None:
    limiter = Limiter(8)
    lock = threading.Lock()
    seen: list[int] = []
    busy = [0]

    def work(status: int) -> None:
        ticket = limiter.acquire()
        with lock:
            busy[0] += 1
            seen.append(busy[0])
        time.sleep(0.005)
        with lock:
            busy[0] -= 1
        limiter.release(ticket, status)

    threads = [threading.Thread(target=work, args=(200,)) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert max(seen) <= 8
    assert limiter.peak == max(seen)
    # Overload to a limit of 1: from then on, one request at a time.
    for _ in range(4):
        limiter.release(limiter.acquire(), 500)
        time.sleep(0.001)
    assert limiter.limit == 1
    seen.clear()
    threads = [threading.Thread(target=work, args=(500,)) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert max(seen) == 1
    assert limiter.in_flight == 0


def test_retry_after_holds_every_thread() -> None:
    limiter = Limiter(4)
    limiter.release(limiter.acquire(), 429, retry_after=0.2)
    started = time.monotonic()
    limiter.release(limiter.acquire(), 200)
    assert time.monotonic() - started >= 0.19


def test_changes_are_reported() -> None:
    changes: list[tuple[int, int, str]] = []
    clock = Clock()
    limiter = Limiter(
        4, clock=clock, on_change=lambda old, new, why: changes.append((old, new, why))
    )
    round_trip(limiter, clock, 500)
    for _ in range(2):
        round_trip(limiter, clock, 200)
    assert changes == [(4, 2, "answered 500"), (2, 3, "answers came back well")]


def test_a_ceiling_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Limiter(0)
