"""Every request and every run ends (DESIGN §6): whole-response deadlines, the run's deadline,
the size of a response, and redirects, which are failures and never followed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from reconciler.core.config import Auth, Target
from reconciler.errors import ScimHTTPError, ScimProtocolError
from reconciler.run import bounded, prepare
from reconciler.scim.apply.runner import Applier
from reconciler.scim.client import RetryPolicy, ScimClient
from reconciler.scim.paging import read_all
from reconciler.scim.transfer import MIB, Bounds, RunDeadline, RunTimedOut
from tests.fakescim import BASE_URL, FakeScim
from tests.scim.test_faults import user, write_spec

ONE_TRY = RetryPolicy(attempts=1, timeout=10.0, wait_initial=0.001, wait_max=0.002)


class Drip(httpx2.SyncByteStream):
    """A body of `chunks` chunks of `size` blanks, one every `pause` seconds; counts them.

    Finite, so that without the protection under test a test fails instead of hanging.
    """

    def __init__(self, size: int = 1, pause: float = 0.0, chunks: int = 100) -> None:
        self.size = size
        self.pause = pause
        self.chunks = chunks
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        for _ in range(self.chunks):
            if self.pause:
                time.sleep(self.pause)
            self.sent += self.size
            yield b" " * self.size


def serving(stream: httpx2.SyncByteStream, headers: dict[str, str] | None = None) -> ScimClient:
    def handle(_: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers=headers or {}, stream=stream)

    return ScimClient(
        httpx2.Client(transport=httpx2.MockTransport(handle)), BASE_URL, retry=ONE_TRY
    )


@pytest.mark.timing
def test_a_body_that_drips_is_cut_at_the_request_deadline() -> None:
    # One byte every 20 ms never trips a per-read timeout; the whole-response deadline does.
    client = serving(Drip(pause=0.02))
    client.bounds = Bounds(request_seconds=0.3)
    started = time.monotonic()
    with pytest.raises(ScimHTTPError) as caught:
        client.get("/Users")
    assert time.monotonic() - started < 1.5
    assert str(caught.value) == (
        "GET /Users got no answer: timed out: the response took longer than 0.3 s "
        "(request_timeout_seconds)"
    )


def test_a_body_past_the_cap_is_refused_while_it_streams() -> None:
    drip = Drip(size=64 * 1024, chunks=32)
    client = serving(drip)
    client.bounds = Bounds(max_bytes=MIB)
    with pytest.raises(ScimProtocolError) as caught:
        client.get("/Users")
    assert str(caught.value) == (
        "GET /Users: the response is larger than 1 MiB and was refused "
        "(max_response_mib raises the cap)"
    )
    # Never held whole: reading stopped at the first chunk past the cap.
    assert drip.sent == MIB + 64 * 1024


def test_a_declared_length_past_the_cap_is_refused_before_reading() -> None:
    drip = Drip(size=1024)
    client = serving(drip, {"Content-Length": str(2 * MIB)})
    client.bounds = Bounds(max_bytes=MIB)
    with pytest.raises(ScimProtocolError):
        client.get("/Users")
    assert drip.sent == 0


def test_a_declared_length_that_is_no_number_is_counted_as_it_arrives() -> None:
    # Header bytes are read as Latin-1: 0xB2 is "²", which isdigit() takes and int() refuses.
    def handle(_: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers=[(b"Content-Length", b"\xb2")], content=b"{}")

    client = ScimClient(httpx2.Client(transport=httpx2.MockTransport(handle)), BASE_URL)
    assert client.get("/Users").body == {}


def test_a_compressed_bomb_is_counted_after_decompression() -> None:
    import gzip

    packed = gzip.compress(b" " * (8 * MIB))
    assert len(packed) < MIB / 10

    def handle(_: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"Content-Encoding": "gzip"}, content=packed)

    client = ScimClient(
        httpx2.Client(transport=httpx2.MockTransport(handle)), BASE_URL, retry=ONE_TRY
    )
    client.bounds = Bounds(max_bytes=MIB)
    with pytest.raises(ScimProtocolError, match="larger than 1 MiB"):
        client.get("/Users")


def test_a_body_within_the_bounds_is_read_whole() -> None:
    fake = FakeScim()
    fake.add_user("a@example.com")
    client = ScimClient(fake.client(), BASE_URL, retry=ONE_TRY)
    client.bounds = Bounds(max_bytes=10 * 1024, request_seconds=5)
    reply = client.get("/Users")
    assert isinstance(reply.body, dict)
    assert reply.body["totalResults"] == 1


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_no_request_starts_after_the_run_deadline() -> None:
    fake = FakeScim()
    clock = Clock()
    client = ScimClient(fake.client(), BASE_URL, retry=ONE_TRY, deadline=RunDeadline(60, clock))
    client.get("/Users")
    clock.now += 61
    with pytest.raises(RunTimedOut) as caught:
        client.create("/Users", {"userName": "a@example.com"})
    assert str(caught.value) == (
        "the run passed its deadline of 60 s before POST /Users "
        "(run_timeout_seconds, or --run-timeout)"
    )
    assert [s.method for s in fake.requests] == ["GET"]


@pytest.mark.timing
def test_the_run_deadline_also_cuts_the_request_in_flight() -> None:
    client = serving(Drip(pause=0.02))
    client.bounds = Bounds(request_seconds=60)
    client.deadline = RunDeadline(0.3)
    started = time.monotonic()
    with pytest.raises(RunTimedOut):
        client.get("/Users")
    assert time.monotonic() - started < 1.5


def test_the_client_takes_its_bounds_from_the_target() -> None:
    target = Target(
        "t",
        BASE_URL,
        Auth(),
        request_timeout_seconds=7,
        run_timeout_seconds=90,
        max_response_mib=0.5,
    )
    client = ScimClient.for_target(target, transport=FakeScim().transport)
    assert client.bounds == Bounds(max_bytes=MIB // 2, request_seconds=7)
    assert client.deadline.seconds == 90
    assert client.http.follow_redirects is False


# -- redirects: a failure that names the Location; never followed ------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize(
    ("method", "call"),
    [
        ("GET", lambda c: c.get("/Users/u1")),
        ("POST", lambda c: c.create("/Users", {"userName": "a@example.com"})),
        ("PATCH", lambda c: c.patch("/Users/u1", [], None)),
        ("PUT", lambda c: c.put("/Users/u1", {"userName": "a@example.com"}, None)),
        ("DELETE", lambda c: c.delete("/Users/u1", None)),
    ],
)
def test_a_redirect_is_a_failure_naming_the_location(
    status: int, method: str, call: object
) -> None:
    fake = FakeScim(token="tok-redirect-secret")
    fake.add_user("a@example.com")
    elsewhere = "https://elsewhere.test/collect"
    fake.fail(method, "/Users*", status=status, headers={"Location": elsewhere})
    target = Target("fake", BASE_URL, Auth("bearer", token_env="REDIRECT_TOKEN"))
    seen: list[httpx2.Request] = []

    def handle(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return fake.handle(request)

    with pytest.MonkeyPatch.context() as env:
        env.setenv("REDIRECT_TOKEN", "tok-redirect-secret")
        client = ScimClient.for_target(
            target, transport=httpx2.MockTransport(handle), retry=ONE_TRY
        )
    with pytest.raises(ScimHTTPError) as caught:
        call(client)  # type: ignore[operator]
    assert caught.value.status == status
    assert f"redirected to {elsewhere}; redirects are not followed" in str(caught.value)
    # Nothing went to the Location: not the request, and so not the token.
    assert [r.url.host for r in seen] == ["scim.test"]


# -- the run's deadline during an apply ---------------------------------------------------------


def test_an_apply_past_its_deadline_starts_no_new_change(tmp_path: Path, token: str) -> None:
    fake = FakeScim(token=token)
    clock = Clock()

    def handle(request: httpx2.Request) -> httpx2.Response:
        response = fake.handle(request)
        if fake.count("POST") == 3:
            clock.now += 3600  # the third create ends past the deadline
        return response

    users = [user(f"u{i:02d}@example.com") for i in range(10)]
    specs = write_spec(tmp_path, users, concurrency=1)
    prepared = prepare(specs, "fake", transport=httpx2.MockTransport(handle))
    prepared.client.deadline = RunDeadline(60, clock)
    try:
        result = Applier(prepared.client, prepared.target, prepared.caps, prepared.log).run(
            prepared.plan
        )
    finally:
        prepared.client.close()
    assert result.timed_out
    # The change under way when time ran out fails (a multi-request change may be half
    # done); the six after it never start.
    assert (result.counts()["create"], result.counts()["failed"]) == (3, 1)
    assert result.failed[0].message == (
        "the run passed its deadline of 60 s before POST /Users "
        "(run_timeout_seconds, or --run-timeout)"
    )
    assert result.not_attempted == 6
    assert fake.count("POST") == 3  # nothing was sent after the deadline
    assert len(fake.users) == 3


def test_run_timeout_flag_overrides_the_target_setting(tmp_path: Path) -> None:
    target = Target("t", BASE_URL, Auth(), run_timeout_seconds=10)
    assert bounded(target, None) is target
    assert bounded(target, 2.0).run_timeout_seconds == 2.0


def test_writes_answered_3xx_fail_and_say_where_they_were_sent(tmp_path: Path, token: str) -> None:
    fake = FakeScim(token=token)
    fake.add_user("bob@example.com", title="Old")
    fake.add_user("carol@example.com")
    elsewhere = {"Location": "https://elsewhere.test/scim"}
    for method, path, status in (
        ("POST", "/Users", 302),
        ("PATCH", "/Users/*", 307),
        ("PUT", "/Users/*", 307),
        ("DELETE", "/Users/*", 302),
    ):
        fake.fail(method, path, status=status, headers=elsewhere, times=10)
    users = [
        user("alice@example.com"),
        user("bob@example.com", title="New"),
        {"userName": "carol@example.com", "state": "absent"},
    ]
    specs = write_spec(tmp_path, users, deprovision="delete")
    prepared = prepare(specs, "fake", transport=fake.transport)
    try:
        result = Applier(prepared.client, prepared.target, prepared.caps, prepared.log).run(
            prepared.plan
        )
    finally:
        prepared.client.close()
    assert {o.key: (o.action.value, o.ok) for o in result.outcomes} == {
        "alice@example.com": ("create", False),
        "bob@example.com": ("update", False),
        "carol@example.com": ("delete", False),
    }
    assert all("redirected to https://elsewhere.test/scim" in o.message for o in result.failed)
    assert result.counts() == {"create": 0, "update": 0, "disable": 0, "delete": 0, "failed": 3}
    assert len(fake.users) == 2


# -- listings stay bounded -----------------------------------------------------------------------


class Endless:
    """A listing that hands out fresh ids on every page, whatever it was asked.

    Its totalResults: a fixed number, None (left out), or `growing` (always a page ahead of
    what was read, so it is never reached).
    """

    def __init__(self, total: int | None, *, growing: bool = False) -> None:
        self.total = total
        self.growing = growing
        self.pages = 0

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        count = int(request.url.params.get("count", 100))
        start = self.pages * count
        self.pages += 1
        if self.pages > 200:  # only so that a test without the bound fails, not hangs
            count = 0
        resources = [
            {"id": f"x{start + i}", "userName": f"x{start + i}@example.com"} for i in range(count)
        ]
        body: dict[str, object] = {"Resources": resources}
        if self.total is not None:
            body["totalResults"] = self.total + start if self.growing else self.total
        return httpx2.Response(200, json=body)

    def client(self) -> ScimClient:
        http = httpx2.Client(transport=httpx2.MockTransport(self.handle))
        return ScimClient(http, BASE_URL, retry=ONE_TRY)


def test_a_listing_that_outgrows_its_first_total_is_stopped() -> None:
    endless = Endless(total=1000, growing=True)
    with pytest.raises(ScimProtocolError) as caught:
        read_all(endless.client(), "/Users", 100)
    assert str(caught.value) == (
        "GET /Users: the listing passed 2,000 resources although its first page reported "
        "1,000; stopped reading a listing that keeps growing"
    )
    assert endless.pages == 21


def test_a_first_total_past_max_objects_is_refused_at_once() -> None:
    endless = Endless(total=10**9)
    with pytest.raises(ScimProtocolError) as caught:
        read_all(endless.client(), "/Users", 100, max_objects=5000)
    assert str(caught.value) == (
        "GET /Users: the target reports 1,000,000,000 resources, more than max_objects "
        "(5,000); raise max_objects if that is real"
    )
    assert endless.pages == 1


def test_a_listing_without_total_stops_at_max_objects() -> None:
    endless = Endless(total=None)
    with pytest.raises(ScimProtocolError, match=r"passed max_objects \(250\)"):
        read_all(endless.client(), "/Users", 100, max_objects=250)
    assert endless.pages == 3


def test_a_listing_that_grows_a_little_while_read_is_fine() -> None:
    fake = FakeScim()
    for i in range(10):
        fake.add_user(f"u{i}@example.com")
    added = iter(range(10, 25))  # within the slack: ten pages (30) past the first total

    def handle(request: httpx2.Request) -> httpx2.Response:
        response = fake.handle(request)
        for i in [next(added, None)]:
            if i is not None:
                fake.add_user(f"u{i}@example.com")  # created while the listing is read
        return response

    client = ScimClient(
        httpx2.Client(transport=httpx2.MockTransport(handle)), BASE_URL, retry=ONE_TRY
    )
    listing = read_all(client, "/Users", 3)
    assert len(listing.resources) > 10  # read past its first totalResults, without an error


def test_observe_bounds_each_listing_by_the_target_max_objects(tmp_path: Path, token: str) -> None:
    fake = FakeScim(token=token)
    for i in range(40):
        fake.add_user(f"u{i:02d}@example.com")
    fake.omit_total = True
    specs = write_spec(tmp_path, [user("u00@example.com")], max_objects=30, page_size=10)
    with pytest.raises(ScimProtocolError, match=r"passed max_objects \(30\)"):
        prepare(specs, "fake", transport=fake.transport)
    # (the connection test's filter probe and its two small pages aside)
    assert (
        sum(1 for s in fake.requests if s.path == "/Users" and s.params.get("count") == "10") <= 4
    )
