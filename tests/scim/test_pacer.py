"""The pace learned from 429s: against a token bucket it settles just under the bucket's
rate, without being told the rate, and bounces off the limit rarely."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import stamina

from reconciler.scim.client import ScimClient
from reconciler.scim.limiter import Limiter
from reconciler.scim.pacer import FLOOR, Pacer
from reconciler.scim.transfer import RunDeadline, RunTimedOut
from tests.fakescim import BASE_URL, FakeScim


@pytest.fixture(autouse=True)
def _waits_as_in_production() -> Iterator[None]:
    # These tests wait on a fake clock; stamina's testing mode would skip the learned pace.
    stamina.set_testing(False)
    yield
    stamina.set_testing(True, attempts=3)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class Bucket:
    """The rate limiter of many SaaS APIs: `rate` tokens, refilled at `rate` per second."""

    def __init__(self, clock: Clock, rate: float, capacity: float | None = None) -> None:
        self.clock, self.rate = clock, rate
        self.capacity = rate if capacity is None else capacity
        self.tokens, self.stamp = self.capacity, clock.now
        self.admitted = self.refused = 0

    def take(self) -> int:
        now = self.clock.now
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            self.admitted += 1
            return 200
        self.refused += 1
        return 429


def drive(pacer: Pacer, clock: Clock, bucket: Bucket, requests: int, latency: float) -> float:
    """Send `requests` one after another as the client does (a 429 is sent again after its
    Retry-After of 1 s, which holds everyone until a pace is learned); the seconds taken."""
    started = clock.now
    done = 0
    while done < requests:
        sent = pacer.wait()
        status = bucket.take()
        clock.now += latency
        paced = pacer.answered(sent, status)
        if status == 429:
            if not paced:
                clock.now += 1.0  # the shared hold of the Retry-After
            continue
        done += 1
    return clock.now - started


@pytest.mark.parametrize("rate", [5.0, 25.0, 100.0])
def test_the_pace_settles_under_a_token_bucket_without_being_told_its_rate(rate: float) -> None:
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    bucket = Bucket(clock, rate)
    seconds = drive(pacer, clock, bucket, int(rate * 120), latency=0.002)
    throughput = bucket.admitted / seconds / rate
    refused = bucket.refused / (bucket.admitted + bucket.refused)
    assert throughput >= 0.9, (throughput, refused, pacer.cuts)
    assert refused <= 0.05, (throughput, refused, pacer.cuts)
    assert pacer.rate is not None and pacer.rate <= rate * 1.3


def test_a_limit_per_minute_is_learned_too() -> None:
    """600 a minute as a bucket of 600 refilled at 10/s: a burst goes through, then the
    pace settles near 10/s instead of cutting a little at every 429."""
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    bucket = Bucket(clock, 10.0, capacity=600)
    seconds = drive(pacer, clock, bucket, 3000, latency=0.002)
    assert bucket.refused <= 0.05 * (bucket.admitted + bucket.refused)
    assert bucket.admitted / seconds >= 0.85 * 10 * (1 + 600 / (10 * seconds)) - 1
    assert pacer.rate is not None and 6 <= pacer.rate <= 13


def test_without_a_429_nothing_is_paced() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    for _ in range(1000):
        assert pacer.answered(pacer.wait(), 200) is False
    assert clock.now == 1000.0
    assert pacer.rate is None and pacer.cuts == 0


def test_other_answers_do_not_slow_the_pace() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    for status in (None, 0, 400, 404, 500, 503):
        pacer.answered(pacer.wait(), status)
    assert pacer.rate is None


def test_max_rps_is_a_ceiling_the_pace_never_passes() -> None:
    clock = Clock()
    pacer = Pacer(4.0, clock=clock, sleep=clock.sleep)
    start = clock.now
    for _ in range(41):
        clock.now += 0.001
        pacer.answered(pacer.wait(), 200)
    assert clock.now - start >= 10.0
    assert pacer.rate == 4.0


def test_a_429_is_learned_below_max_rps_and_growth_stops_at_it() -> None:
    clock = Clock()
    pacer = Pacer(50.0, clock=clock, sleep=clock.sleep)
    bucket = Bucket(clock, 10.0)
    drive(pacer, clock, bucket, 300, latency=0.001)
    assert pacer.rate is not None and pacer.rate < 20
    for _ in range(3000):
        clock.now += 0.5
        pacer.answered(pacer.wait(), 200)
    assert pacer.rate == 50.0


def test_one_round_of_429s_cuts_once() -> None:
    """Requests sent before a cut all meet the same empty allowance: their 429s say
    nothing new, and cutting once per answer would crash the pace to the floor."""
    clock = Clock()
    changes: list[tuple[float | None, float, str]] = []
    pacer = Pacer(clock=clock, sleep=clock.sleep, on_change=lambda *c: changes.append(c))
    for _ in range(50):
        pacer.answered(pacer.wait(), 200)
        clock.now += 0.01
    in_flight = [pacer.wait() for _ in range(8)]
    first = pacer.answered(in_flight[0], 429)
    assert first is False  # no pace was learned before: the Retry-After holds everyone
    rate = pacer.rate
    assert rate is not None
    assert [pacer.answered(sent, 429) for sent in in_flight[1:]] == [True] * 7
    assert pacer.rate == rate and pacer.cuts == 1
    assert changes == [(None, rate, "answered 429")]
    assert pacer.answered(pacer.wait(), 429) is True
    assert pacer.cuts == 2 and pacer.rate is not None and pacer.rate < rate


def test_the_pace_never_drops_below_the_floor() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    for _ in range(50):
        clock.now += 100
        pacer.answered(pacer.wait(), 429)
    assert pacer.rate == FLOOR


def test_growth_needs_answers_not_idle_time() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    pacer.answered(pacer.wait(), 429)
    rate = pacer.rate
    clock.now += 3600  # a long pause between phases: no answers, no growth
    pacer.answered(pacer.wait(), 200)
    assert rate is not None and pacer.rate is not None
    assert pacer.rate <= rate * 1.03


def test_learning_can_be_turned_off() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep, learn=False)
    assert pacer.answered(pacer.wait(), 429) is False
    assert pacer.rate is None


def test_a_ceiling_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        Pacer(0)


def test_in_staminas_testing_mode_a_learned_pace_does_not_wait_but_max_rps_does() -> None:
    stamina.set_testing(True, attempts=3)
    clock = Clock()
    learned = Pacer(clock=clock, sleep=clock.sleep)
    learned.answered(learned.wait(), 429)
    assert learned.rate is not None
    for _ in range(10):
        learned.answered(learned.wait(), 200)
    assert clock.now == 1000.0
    ceiling = Pacer(2.0, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        ceiling.answered(ceiling.wait(), 200)
    assert clock.now >= 1001.0


def test_a_429_cuts_the_pace_and_leaves_the_concurrency_limit_alone() -> None:
    """A 429 speaks of a rate (RFC 6585 §4): the client gives it to the pace, and the number
    of requests in flight stays where it was; a 500 is the concurrency limit's."""
    fake = FakeScim()
    fake.fail("GET", "/Users", status=429, headers={"Retry-After": "0"})
    limiter = Limiter(8)
    client = ScimClient(fake.client(), BASE_URL, limiter=limiter)
    with stamina.set_testing(True, attempts=3):
        client.get("/Users")
    assert client.pacer.cuts == 1
    assert (limiter.limit, limiter.cuts) == (8, 0)
    fake.fail("GET", "/Users", status=500)
    with stamina.set_testing(True, attempts=3):
        client.get("/Users")
    assert (limiter.limit, limiter.cuts) == (4, 1)


def test_the_pace_never_sleeps_past_the_time_left() -> None:
    # max_rps: 0.001 is a request every 1,000 s; a run with 5 s left waits 5 s at most.
    clock = Clock()
    pacer = Pacer(0.001, clock=clock, sleep=clock.sleep)
    pacer.answered(pacer.wait(5.0), 200)
    pacer.wait(5.0)
    assert clock.now == 1005.0
    pacer.wait(-1.0)  # already past the deadline: no wait at all
    assert clock.now == 1005.0


@pytest.mark.timing
def test_a_client_paced_past_its_run_deadline_stops_at_the_deadline() -> None:
    fake = FakeScim()
    client = ScimClient(fake.client(), BASE_URL, deadline=RunDeadline(0.5))
    client.pacer = Pacer(0.001)
    started = time.monotonic()
    client.get("/Users")
    with pytest.raises(RunTimedOut) as caught:
        client.get("/Users")
    assert time.monotonic() - started < 2
    assert str(caught.value) == (
        "the run passed its deadline of 0.5 s before GET /Users "
        "(run_timeout_seconds, or --run-timeout)"
    )
