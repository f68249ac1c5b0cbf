"""Fault injection (DESIGN §5, §6, §8): what scimrec does when the target misbehaves.

Every test talks to `FakeScim` through an injected httpx2 MockTransport; nothing of
reconciler is patched. Retries run in stamina's testing mode (no waits) or with a tiny
RetryPolicy, except where the test measures the wait that Retry-After asked for.
"""

from __future__ import annotations

import email.utils
import json
import math
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
import stamina
import stamina.instrumentation
import structlog
import yaml

from reconciler import logs
from reconciler.core.config import Auth, Target
from reconciler.core.model import Capabilities
from reconciler.core.plan import Action
from reconciler.errors import ScimHTTPError, ScimProtocolError, ScimrecError, TargetError
from reconciler.run import Prepared, prepare
from reconciler.scim.apply.runner import Applier, ApplyResult
from reconciler.scim.client import ScimClient
from reconciler.scim.connection import test_connection as connect
from reconciler.scim.paging import read_all
from reconciler.scim.retries import RetryPolicy
from reconciler.scim.retries import retry_after as _retry_after
from reconciler.scim.search import find
from tests.fakescim import BASE_URL, ENTERPRISE_URN, FakeScim, Seen
from tests.scim.conftest import TOKEN_ENV

# A transport's handler: what a target answers to one request.
Handler = Callable[[httpx2.Request], httpx2.Response]

TINY = RetryPolicy(attempts=3, timeout=10.0, wait_initial=0.001, wait_max=0.002)
TARGET = Target("fake", BASE_URL, Auth("bearer", token_env=TOKEN_ENV))


# -- fixtures and helpers ------------------------------------------------------------------


@pytest.fixture
def fast_retries() -> Iterator[None]:
    """stamina's testing mode: no backoff, three attempts; restored afterwards."""
    with stamina.set_testing(True, attempts=3):
        yield


@pytest.fixture
def real_retries() -> Iterator[None]:
    """Retries as in production (the policy's attempts, real waits); restored afterwards."""
    with stamina.set_testing(False):
        yield


@pytest.fixture
def retry_waits(real_retries: None) -> Iterator[list[float]]:
    """The waits stamina scheduled between attempts, as its instrumentation reports them."""
    waits: list[float] = []

    def record(details: stamina.instrumentation.RetryDetails) -> None:
        waits.append(details.wait_for)

    before = stamina.instrumentation.get_on_retry_hooks()
    stamina.instrumentation.set_on_retry_hooks([record])
    yield waits
    stamina.instrumentation.set_on_retry_hooks(before)


@pytest.fixture
def json_logs() -> Iterator[None]:
    logs.configure("debug", json_lines=True)
    yield
    structlog.reset_defaults()


class RecordingLog:
    """A structlog-shaped logger that keeps what it was told, for test_connection."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, dict[str, Any]]] = []

    def bind(self, **_: Any) -> RecordingLog:
        return self

    def _record(self, level: str, event: str, **kw: Any) -> None:
        self.events.append((level, event, kw))

    def debug(self, event: str, **kw: Any) -> None:
        self._record("debug", event, **kw)

    def info(self, event: str, **kw: Any) -> None:
        self._record("info", event, **kw)

    def warning(self, event: str, **kw: Any) -> None:
        self._record("warning", event, **kw)

    def error(self, event: str, **kw: Any) -> None:
        self._record("error", event, **kw)

    def named(self, event: str) -> list[dict[str, Any]]:
        return [kw for _, name, kw in self.events if name == event]


def scim_client(fake: FakeScim, policy: RetryPolicy | None = TINY) -> ScimClient:
    return ScimClient(fake.client(), BASE_URL, retry=policy)


def listing_starts(fake: FakeScim, path: str = "/Users") -> list[str]:
    return [
        s.params["startIndex"]
        for s in fake.requests
        if s.method == "GET" and s.path == path and "startIndex" in s.params
    ]


def user(user_name: str, **attrs: Any) -> dict[str, Any]:
    return {"userName": user_name, **attrs}


def write_spec(
    root: Path,
    users: list[dict[str, Any]],
    groups: list[dict[str, Any]] | None = None,
    **target: Any,
) -> Path:
    settings: dict[str, Any] = {
        "url": BASE_URL,
        "auth": {"type": "bearer", "token_env": TOKEN_ENV},
        **target,
    }
    doc: dict[str, Any] = {"version": 1, "targets": {"fake": settings}, "users": users}
    if groups:
        doc["groups"] = groups
    (root / "spec.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return root


def plan_and_apply(specs: Path, fake: FakeScim) -> tuple[Prepared, ApplyResult]:
    prepared = prepare(specs, "fake", transport=fake.transport)
    try:
        applier = Applier(prepared.client, prepared.target, prepared.caps, prepared.log)
        result = applier.run(prepared.plan)
    finally:
        prepared.client.close()
    return prepared, result


def apply_through(specs: Path, fake: FakeScim, handle: Handler) -> ApplyResult:
    """Plan against `fake`, then apply through `handle`: a transport's handler that answers
    some requests as a target would (a refusal, a quirk) and hands the rest to `fake`."""
    prepared = replan(specs, fake)
    client = ScimClient.for_target(prepared.target, transport=httpx2.MockTransport(handle))
    try:
        return Applier(client, prepared.target, prepared.caps, prepared.log).run(prepared.plan)
    finally:
        client.close()


def replan(specs: Path, fake: FakeScim) -> Prepared:
    prepared = prepare(specs, "fake", transport=fake.transport)
    prepared.client.close()
    return prepared


def outcomes(result: ApplyResult) -> dict[str, tuple[Action, bool]]:
    return {o.key: (o.action, o.ok) for o in result.outcomes}


def user_id(fake: FakeScim, name: str) -> str:
    (found,) = fake.user_named(name)
    return str(found["id"])


# -- 1. pagination in read_all ---------------------------------------------------------------


def test_read_all_stops_on_total_results() -> None:
    fake = FakeScim()
    for n in range(4):
        fake.add_user(f"user{n}@example.com")
    listing = read_all(scim_client(fake), "/Users", 2)
    assert len(listing.resources) == 4
    # One request past totalResults confirms the end (a target may under-report it).
    assert (listing.complete, listing.notes, listing.pages) == (True, (), 3)
    assert listing_starts(fake) == ["1", "3", "5"]


def test_read_all_stops_on_an_empty_page() -> None:
    fake = FakeScim()
    fake.omit_total = True
    for n in range(4):
        fake.add_user(f"user{n}@example.com")
    listing = read_all(scim_client(fake), "/Users", 2)
    assert len(listing.resources) == 4
    assert (listing.complete, listing.notes, listing.pages) == (True, (), 3)
    assert listing_starts(fake) == ["1", "3", "5"]


def test_read_all_stops_on_a_short_page() -> None:
    fake = FakeScim()
    fake.omit_total = True
    for n in range(5):
        fake.add_user(f"user{n}@example.com")
    listing = read_all(scim_client(fake), "/Users", 2)
    assert [r.body["userName"] for r in listing.resources] == [
        f"user{n}@example.com" for n in range(5)
    ]
    assert (listing.complete, listing.notes) == (True, ())
    assert listing_starts(fake) == ["1", "3", "5"]


def test_read_all_without_total_results_reads_everything() -> None:
    fake = FakeScim()
    fake.omit_total = True
    for n in range(7):
        fake.add_user(f"user{n}@example.com")
    listing = read_all(scim_client(fake), "/Users", 3)
    assert len(listing.resources) == 7
    assert listing.complete is True
    assert listing_starts(fake) == ["1", "4", "7"]


def test_read_all_repeated_page_is_incomplete_and_bounded() -> None:
    fake = FakeScim()
    fake.ignore_start_index = True
    for n in range(5):
        fake.add_user(f"user{n}@example.com")
    listing = read_all(scim_client(fake), "/Users", 2)
    assert len(listing.resources) == 2
    assert listing.complete is False
    assert listing.notes == (
        "/Users: page at startIndex 3 repeated earlier resources",
        "/Users: read 2 resources but the target reports 5",
    )
    assert fake.count("GET", "/Users") == 2


def test_read_all_repeated_page_without_total_is_incomplete() -> None:
    fake = FakeScim()
    fake.ignore_start_index = True
    fake.omit_total = True
    for n in range(5):
        fake.add_user(f"user{n}@example.com")
    listing = read_all(scim_client(fake), "/Users", 2)
    assert (len(listing.resources), listing.complete) == (2, False)
    assert listing.notes == ("/Users: page at startIndex 3 repeated earlier resources",)
    assert fake.count("GET", "/Users") == 2


def test_read_all_past_the_end_answered_with_the_first_page_is_the_end() -> None:
    # SCIMMY serves a startIndex past the end as page 1: the one request scimrec sends
    # past totalResults then repeats earlier resources, which confirms the end.
    fake = FakeScim()
    fake.restart_past_end = True
    for n in range(5):
        fake.add_user(f"user{n}@example.com")
    listing = read_all(scim_client(fake), "/Users", 10)
    assert (len(listing.resources), listing.complete, listing.notes) == (5, True, ())
    assert listing_starts(fake) == ["1", "6", "2"]  # the last: is startIndex honoured?


def test_read_all_follows_a_server_that_caps_count() -> None:
    fake = FakeScim()
    fake.max_count = 50
    for n in range(120):
        fake.add_user(f"user{n:03}@example.com")
    listing = read_all(scim_client(fake), "/Users", 500)
    assert len({r.id for r in listing.resources}) == 120
    assert (listing.complete, listing.notes) == (True, ())
    assert listing_starts(fake) == ["1", "51", "101", "121"]
    assert {s.params["count"] for s in fake.requests} == {"500"}


def test_read_all_capped_count_with_the_page_as_total_reads_everything() -> None:
    # A server that caps `count` and reports what it sent as totalResults: the first page
    # reaches that "total", the one past it brings more, and the rest is paged by the 50
    # the server gives, not stopped at the second page for being shorter than 500.
    fake = FakeScim()
    fake.max_count = 50
    fake.total_is_page = True
    for n in range(120):
        fake.add_user(f"user{n:03}@example.com")
    listing = read_all(scim_client(fake), "/Users", 500)
    assert (len(listing.resources), listing.complete) == (120, True)
    assert listing_starts(fake) == ["1", "51", "101"]


def test_read_all_capped_count_without_total_is_not_a_complete_short_read() -> None:
    fake = FakeScim()
    fake.max_count = 50
    fake.omit_total = True
    for n in range(120):
        fake.add_user(f"user{n:03}@example.com")
    listing = read_all(scim_client(fake), "/Users", 500)
    # Either read everything, or admit the read is short; never "complete" with 50 of 120.
    assert (len(listing.resources), listing.complete) == (120, True)


def test_read_all_lying_total_results_is_incomplete() -> None:
    fake = FakeScim()
    fake.total_override = 10
    for n in range(5):
        fake.add_user(f"user{n}@example.com")
    listing = read_all(scim_client(fake), "/Users", 500)
    assert len(listing.resources) == 5
    assert listing.complete is False
    assert listing.notes == ("/Users: read 5 resources but the target reports 10",)
    assert listing_starts(fake) == ["1", "6"]


def test_read_all_resource_without_id_is_incomplete() -> None:
    fake = FakeScim()
    fake.add_user("alice@example.com")
    fake.users["broken"] = {"schemas": [], "userName": "ghost@example.com"}  # no "id"
    fake.add_user("bob@example.com")
    listing = read_all(scim_client(fake), "/Users", 100)
    assert [r.body["userName"] for r in listing.resources] == [
        "alice@example.com",
        "bob@example.com",
    ]
    assert listing.complete is False
    assert "/Users: a resource without an id was skipped" in listing.notes


def test_read_all_rejects_a_body_that_is_not_a_list_response() -> None:
    fake = FakeScim()
    fake.fail("GET", "/Users", body=[{"id": "u1"}], status=200)
    with pytest.raises(ScimProtocolError, match="did not answer a ListResponse"):
        read_all(scim_client(fake), "/Users", 100)


def test_short_read_never_turns_into_membership_removals(
    tmp_path: Path, token: str, fast_retries: None, json_logs: None
) -> None:
    fake = FakeScim(token=token)
    ids = [fake.add_user(f"{n}@example.com") for n in ("alice", "bob", "carol")]
    fake.add_group("Engineering", ids)
    fake.ignore_start_index = True  # the second page repeats the first: carol is never seen
    users = [user(f"{n}@example.com") for n in ("alice", "bob", "carol")]
    members = [f"{n}@example.com" for n in ("alice", "bob", "carol")]
    specs = write_spec(
        tmp_path, users, [{"displayName": "Engineering", "members": members}], page_size=2
    )
    prepared = replan(specs, fake)
    # A listing that ignores startIndex is recognised: each declared object is looked up.
    assert prepared.observed.lookup is True
    assert prepared.plan.notes[0].startswith(
        "lookup mode: the /Users listing ignores startIndex (every page starts at the first "
        "user); each declared object was looked up through eq filters (4 objects)"
    )
    removals = [m for c in prepared.plan.changes for m in c.members_remove]
    deprovisions = [c for c in prepared.plan.changes if c.action in (Action.DELETE, Action.DISABLE)]
    assert (removals, deprovisions) == ([], [])
    assert not prepared.plan.has_changes  # carol was found, not created again


# -- 2. retries ------------------------------------------------------------------------------


def test_429_retry_after_seconds_is_honoured(retry_waits: list[float]) -> None:
    fake = FakeScim()
    fake.fail("GET", "/Users/*", status=429, headers={"Retry-After": "1"})
    uid = fake.add_user("alice@example.com")
    started = time.monotonic()
    reply = scim_client(fake).get(f"/Users/{uid}")
    elapsed = time.monotonic() - started
    assert reply.status == 200
    assert reply.body["userName"] == "alice@example.com"
    assert retry_waits == [1.0]
    assert elapsed >= 1.0
    assert fake.count("GET") == 2


def test_429_retry_after_http_date_is_honoured(retry_waits: list[float]) -> None:
    fake = FakeScim()
    # A whole second three seconds on: the date has one-second resolution, so a date
    # made from now + 2 lay 1 to 2 s away, and a run started late in a second and slowed
    # by 0.1 s before the answer was read saw less than 0.9 s.
    when = email.utils.formatdate(math.floor(time.time()) + 3, usegmt=True)
    fake.fail("GET", "/Users/*", status=429, headers={"Retry-After": when})
    uid = fake.add_user("alice@example.com")
    reply = scim_client(fake).get(f"/Users/{uid}")
    assert reply.status == 200
    assert fake.count("GET") == 2
    (wait,) = retry_waits
    # TINY's own backoff would be 0.002 s at most.
    assert 1.0 < wait <= 3.0


def test_retry_after_parsing() -> None:
    assert _retry_after("1") == 1.0
    assert _retry_after(" 7 ") == 7.0
    assert _retry_after("3600") == 120.0  # capped: a runaway value never stalls a run
    assert _retry_after(email.utils.formatdate(time.time() - 60, usegmt=True)) == 0.0
    later = _retry_after(email.utils.formatdate(time.time() + 30, usegmt=True))
    assert later is not None
    assert 28.0 <= later <= 30.0
    assert _retry_after("soon") is None
    assert _retry_after("") is None
    assert _retry_after("\u00b2") is None  # a header byte 0xB2: isdigit() says yes, float() no
    assert _retry_after("9" * 5000) == 120.0
    assert _retry_after(None) is None


@pytest.mark.usefixtures("fast_retries")
def test_429_then_200_succeeds_in_testing_mode() -> None:
    fake = FakeScim()
    fake.fail("GET", "/Users", status=429, headers={"Retry-After": "30"})
    fake.add_user("alice@example.com")
    listing = read_all(scim_client(fake, None), "/Users", 10)
    assert [r.body["userName"] for r in listing.resources] == ["alice@example.com"]
    assert fake.count("GET", "/Users") == 3  # the 429, the page, the end confirmed


@pytest.mark.usefixtures("fast_retries")
def test_503_then_200_succeeds() -> None:
    fake = FakeScim()
    fake.fail("GET", "/ServiceProviderConfig", status=503)
    reply = scim_client(fake, None).get("/ServiceProviderConfig")
    assert reply.status == 200
    assert fake.count("GET", "/ServiceProviderConfig") == 2


@pytest.mark.usefixtures("fast_retries")
def test_503_on_create_is_retried_and_creates_once() -> None:
    fake = FakeScim()
    fake.fail("POST", "/Users", status=503, headers={"Retry-After": "1"})
    reply = scim_client(fake, None).create("/Users", {"userName": "alice@example.com"})
    assert reply.status == 201
    assert fake.count("POST") == 2
    assert len(fake.user_named("alice@example.com")) == 1


@pytest.mark.usefixtures("fast_retries")
@pytest.mark.parametrize("status", [502, 504])
def test_gateway_errors_are_retried_for_get(status: int) -> None:
    fake = FakeScim()
    fake.fail("GET", "/Users/*", status=status, text="<html>bad gateway</html>")
    uid = fake.add_user("alice@example.com")
    reply = scim_client(fake, None).get(f"/Users/{uid}")
    assert reply.status == 200
    assert fake.count("GET") == 2


@pytest.mark.usefixtures("fast_retries")
@pytest.mark.parametrize("status", [502, 504])
def test_gateway_errors_are_not_retried_for_post(status: int) -> None:
    fake = FakeScim()
    fake.fail("POST", "/Users", status=status, text="<html>bad gateway</html>")
    with pytest.raises(ScimHTTPError) as caught:
        scim_client(fake, None).create("/Users", {"userName": "alice@example.com"})
    assert (caught.value.method, caught.value.status) == ("POST", status)
    assert fake.count("POST") == 1
    assert fake.users == {}


@pytest.mark.usefixtures("fast_retries")
def test_connection_reset_on_get_is_retried() -> None:
    fake = FakeScim()
    fake.fail("GET", "/Users/*", exc=httpx2.ReadError("connection reset by peer"))
    uid = fake.add_user("alice@example.com")
    reply = scim_client(fake, None).get(f"/Users/{uid}")
    assert reply.body["id"] == uid
    assert fake.count("GET") == 2


@pytest.mark.usefixtures("fast_retries")
def test_connection_reset_on_post_is_not_retried() -> None:
    fake = FakeScim()
    fake.fail("POST", "/Users", exc=httpx2.ReadError("connection reset by peer"))
    with pytest.raises(ScimHTTPError) as caught:
        scim_client(fake, None).create("/Users", {"userName": "alice@example.com"})
    assert caught.value.status == 0
    assert (
        str(caught.value)
        == "POST /Users got no answer: connection failed: connection reset by peer"
    )
    assert fake.count("POST") == 1


@pytest.mark.usefixtures("fast_retries")
def test_timeout_on_post_is_status_0_and_not_retried() -> None:
    fake = FakeScim()
    fake.fail("POST", "/Users", exc=httpx2.ReadTimeout("read timed out"))
    with pytest.raises(ScimHTTPError) as caught:
        scim_client(fake, None).create("/Users", {"userName": "alice@example.com"})
    assert (caught.value.status, caught.value.detail) == (0, "timed out")
    assert fake.count("POST") == 1


@pytest.mark.usefixtures("fast_retries")
def test_timeout_on_get_is_retried() -> None:
    fake = FakeScim()
    fake.fail("GET", "/ServiceProviderConfig", exc=httpx2.ReadTimeout("read timed out"), times=2)
    assert scim_client(fake, None).get("/ServiceProviderConfig").status == 200
    assert fake.count("GET") == 3


@pytest.mark.usefixtures("fast_retries")
def test_connect_error_on_post_is_retried() -> None:
    # Nothing reached the server, so resending a create cannot make a duplicate.
    fake = FakeScim()
    fake.fail("POST", "/Users", exc=httpx2.ConnectError("connection refused"))
    reply = scim_client(fake, None).create("/Users", {"userName": "alice@example.com"})
    assert reply.status == 201
    assert len(fake.user_named("alice@example.com")) == 1


@pytest.mark.usefixtures("real_retries")
def test_attempts_are_bounded_by_the_policy() -> None:
    fake = FakeScim()
    fake.fail("GET", "/Users", status=503, times=1000, body={"detail": "maintenance"})
    policy = RetryPolicy(attempts=4, timeout=10.0, wait_initial=0.001, wait_max=0.002)
    with pytest.raises(ScimHTTPError) as caught:
        scim_client(fake, policy).get("/Users")
    assert str(caught.value) == "GET /Users answered 503: maintenance"
    assert fake.count("GET") == 4


@pytest.mark.usefixtures("fast_retries")
def test_attempts_are_bounded_in_testing_mode() -> None:
    fake = FakeScim()
    fake.fail("POST", "/Users", status=429, times=1000)
    with pytest.raises(ScimHTTPError) as caught:
        scim_client(fake, None).create("/Users", {"userName": "alice@example.com"})
    assert caught.value.status == 429
    assert fake.count("POST") == 3


# -- 3. error mapping ------------------------------------------------------------------------

HTML_502 = (
    """<!DOCTYPE html>
<html>
<head><title>502 Bad Gateway</title>
<style>body { font-family: sans-serif; }</style></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>nginx</center>
<script>var tracking = "deep-in-the-page-marker";</script>
</body>
</html>
"""
    + "<!-- padding -->\n" * 50
)


@pytest.mark.usefixtures("fast_retries")
def test_html_502_page_becomes_a_one_line_error() -> None:
    fake = FakeScim()
    fake.fail("GET", "/Users", status=502, text=HTML_502, times=1000)
    with pytest.raises(ScimHTTPError) as caught:
        scim_client(fake, None).get("/Users")
    message = str(caught.value)
    assert caught.value.status == 502
    assert "\n" not in message
    assert message.startswith("GET /Users answered 502: ")
    assert "text/html" in message
    assert "deep-in-the-page-marker" not in message
    assert "padding" not in message
    assert len(message) < 200


def test_invalid_json_on_200_is_a_protocol_error() -> None:
    fake = FakeScim()
    fake.fail("GET", "/Users", status=200, text='{"Resources": [', headers={})
    with pytest.raises(ScimProtocolError) as caught:
        scim_client(fake).get("/Users")
    assert str(caught.value) == (
        "GET /Users answered 200 with a body that is not JSON (text/html; charset=utf-8)"
    )


def test_scim_error_without_scim_type_keeps_the_detail() -> None:
    fake = FakeScim()
    error = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "400"}
    fake.fail("POST", "/Users", status=400, body={**error, "detail": "title is too long"})
    with pytest.raises(ScimHTTPError) as caught:
        scim_client(fake).create("/Users", {"userName": "alice@example.com"})
    assert str(caught.value) == "POST /Users answered 400: title is too long"
    assert caught.value.scim_type is None


def test_scim_error_with_scim_type_names_it() -> None:
    fake = FakeScim()
    fake.add_user("alice@example.com")
    with pytest.raises(ScimHTTPError) as caught:
        scim_client(fake).create("/Users", {"userName": "ALICE@example.com"})
    assert str(caught.value) == (
        "POST /Users answered 409 (uniqueness): userName ALICE@example.com is already taken"
    )


def test_401_on_service_provider_config_names_the_env_var(token: str) -> None:
    fake = FakeScim(token="a-different-token")
    client = ScimClient.for_target(TARGET, transport=fake.transport, retry=TINY)
    with pytest.raises(TargetError) as caught:
        connect(client, TARGET, RecordingLog())
    message = str(caught.value)
    assert message == f"target 'fake' refused our credentials (401) (check {TOKEN_ENV})"
    assert token not in message
    assert fake.count("GET") == 1  # a 401 is not retried


def test_403_on_service_provider_config_is_a_permission_error() -> None:
    fake = FakeScim()
    fake.fail("GET", "/ServiceProviderConfig", status=403, body={"detail": "forbidden"})
    with pytest.raises(TargetError, match=r"denied access \(403\)"):
        connect(scim_client(fake), TARGET, RecordingLog())


def test_404_hints_at_the_base_url() -> None:
    fake = FakeScim()
    target = Target("fake", "https://scim.test/api")
    client = ScimClient(fake.client(), target.url, retry=TINY)
    with pytest.raises(TargetError) as caught:
        connect(client, target, RecordingLog())
    assert str(caught.value) == (
        "https://scim.test/api has no SCIM endpoint (GET /ServiceProviderConfig answered 404): "
        "is the base URL right? it usually ends in /scim/v2"
    )


@pytest.mark.usefixtures("fast_retries")
def test_connection_refused_on_a_closed_port() -> None:
    # The port stays bound, never listening, for the whole test: refused all the same, and
    # no other process can take it and answer in between.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        url = f"http://127.0.0.1:{port}/scim/v2"
        target = Target("closed", url, timeout_seconds=2.0)
        client = ScimClient.for_target(target, transport=httpx2.HTTPTransport())
        with pytest.raises(TargetError) as caught:
            connect(client, target, RecordingLog())
    assert str(caught.value).startswith(f"cannot connect to {url}: ")
    assert "\n" not in str(caught.value)


@pytest.mark.usefixtures("fast_retries")
def test_connect_error_from_the_transport_is_a_target_error() -> None:
    fake = FakeScim()
    fake.fail("GET", "/ServiceProviderConfig", exc=httpx2.ConnectError("refused"), times=1000)
    with pytest.raises(TargetError) as caught:
        connect(scim_client(fake, None), TARGET, RecordingLog())
    assert str(caught.value) == f"cannot connect to {BASE_URL}: refused"
    assert fake.count("GET") == 3


def test_non_scim_json_is_not_a_scim_endpoint() -> None:
    fake = FakeScim()
    fake.fail("GET", "/ServiceProviderConfig", status=200, body={"status": "ok", "version": 3})
    with pytest.raises(TargetError) as caught:
        connect(scim_client(fake), TARGET, RecordingLog())
    assert str(caught.value) == (
        f"{BASE_URL} does not look like a SCIM endpoint: /ServiceProviderConfig has no SCIM fields"
    )


def test_html_login_page_is_not_a_scim_endpoint() -> None:
    fake = FakeScim()
    fake.fail("GET", "/ServiceProviderConfig", status=200, text="<html><form>login</form></html>")
    with pytest.raises(TargetError) as caught:
        connect(scim_client(fake), TARGET, RecordingLog())
    assert str(caught.value) == (
        f"{BASE_URL} does not look like a SCIM endpoint: /ServiceProviderConfig is not JSON"
    )


# -- 4. test_connection ----------------------------------------------------------------------


def test_connection_learns_capabilities() -> None:
    fake = FakeScim()
    fake.config["etag"] = {"supported": True}
    log = RecordingLog()
    caps = connect(scim_client(fake), TARGET, log)
    assert caps == Capabilities(
        patch=True, etag=True, bulk=False, filter_supported=True, filter_honoured=True
    )
    probe = [s for s in fake.requests if s.path == "/Users" and "filter" in s.params]
    assert len(probe) == 1
    assert probe[0].params["filter"].startswith('userName eq "')
    # And the listing itself, in a page of two: an empty target lists nothing, fine.
    assert [s.params for s in fake.requests if s.path == "/Users" and "filter" not in s.params] == [
        {"startIndex": "1", "count": "2"}
    ]
    assert log.named("connected")[0]["outcome"] == "ok"


def test_filter_ignored_is_noted_not_fatal() -> None:
    fake = FakeScim()
    fake.ignore_filter = True
    fake.add_user("alice@example.com")
    log = RecordingLog()
    caps = connect(scim_client(fake), TARGET, log)
    assert caps.filter_honoured is False
    assert [kw["outcome"] for kw in log.named("filter not honoured")] == ["filter_ignored"]
    assert log.named("connected")[0]["filter_honoured"] is False


def test_filter_rejected_is_noted_not_fatal() -> None:
    fake = FakeScim()
    fake.reject_filter = True
    log = RecordingLog()
    caps = connect(scim_client(fake), TARGET, log)
    assert caps.filter_honoured is False
    assert caps.patch is True
    (rejected,) = log.named("filter rejected")
    assert (rejected["outcome"], rejected["status"]) == ("filter_rejected", 400)


# -- 5. apply through the fake ---------------------------------------------------------------


@pytest.mark.usefixtures("fast_retries", "json_logs")
def test_create_without_body_or_location_is_looked_up(tmp_path: Path, token: str) -> None:
    fake = FakeScim(token=token)
    fake.create_without_body = True
    specs = write_spec(tmp_path, [user("alice@example.com", displayName="Alice")])
    _, result = plan_and_apply(specs, fake)
    (outcome,) = result.outcomes
    assert (outcome.action, outcome.ok) == (Action.CREATE, True)
    assert outcome.target_id == user_id(fake, "alice@example.com")
    assert fake.count("POST") == 1
    lookups = [s for s in fake.requests if s.method == "GET" and "filter" in s.params]
    assert lookups[-1].params["filter"] == 'userName eq "alice@example.com"'
    assert not replan(specs, fake).plan.has_changes


@pytest.mark.usefixtures("fast_retries", "json_logs")
def test_lost_create_response_is_adopted(tmp_path: Path, token: str) -> None:
    fake = FakeScim(token=token)
    fake.fail("POST", "/Users", exc=httpx2.ReadTimeout("read timed out"), after=True)
    specs = write_spec(tmp_path, [user("alice@example.com", title="Engineer")])
    _, result = plan_and_apply(specs, fake)
    (outcome,) = result.outcomes
    assert (outcome.action, outcome.ok) == (Action.CREATE, True)
    assert outcome.target_id == user_id(fake, "alice@example.com")
    assert len(fake.users) == 1
    assert fake.count("POST") == 1
    assert not replan(specs, fake).plan.has_changes


@pytest.mark.usefixtures("fast_retries", "json_logs")
def test_lost_group_create_response_is_adopted_with_its_members(tmp_path: Path, token: str) -> None:
    fake = FakeScim(token=token)
    alice = fake.add_user("alice@example.com")
    fake.fail("POST", "/Groups", exc=httpx2.ReadTimeout("read timed out"), after=True)
    specs = write_spec(
        tmp_path,
        [user("alice@example.com")],
        [{"displayName": "Engineering", "members": ["alice@example.com"]}],
    )
    _, result = plan_and_apply(specs, fake)
    assert outcomes(result) == {"Engineering": (Action.CREATE, True)}
    (group,) = fake.groups.values()
    assert [m["value"] for m in group["members"]] == [alice]
    assert fake.count("POST", "/Groups") == 1
    assert not replan(specs, fake).plan.has_changes


@pytest.mark.usefixtures("fast_retries", "json_logs")
def test_create_answered_502_after_it_happened_is_adopted(tmp_path: Path, token: str) -> None:
    fake = FakeScim(token=token)
    fake.fail("POST", "/Users", status=502, text="<html>gateway timeout</html>", after=True)
    specs = write_spec(tmp_path, [user("alice@example.com")])
    _, result = plan_and_apply(specs, fake)
    (outcome,) = result.outcomes
    assert len(fake.users) == 1
    assert (outcome.ok, outcome.target_id) == (True, user_id(fake, "alice@example.com"))


@pytest.mark.usefixtures("fast_retries", "json_logs")
def test_409_on_create_re_matches_and_adopts_without_a_duplicate(
    tmp_path: Path, token: str
) -> None:
    fake = FakeScim(token=token)
    alice = fake.add_user("alice@example.com", title="Old")
    fake.hidden.add(alice)  # the listing misses it, so the plan wants to create it
    specs = write_spec(tmp_path, [user("alice@example.com", title="New"), user("bob@example.com")])
    prepared, result = plan_and_apply(specs, fake)
    assert [c.action for c in prepared.plan.changes] == [Action.CREATE, Action.CREATE]
    # The 409 is a match the listing missed: looked up, adopted, brought to the spec (an
    # update of the account found, never counted a create).
    assert outcomes(result) == {
        "alice@example.com": (Action.UPDATE, True),
        "bob@example.com": (Action.CREATE, True),
    }
    (stored,) = fake.user_named("alice@example.com")
    assert (stored["id"], stored["title"]) == (alice, "New")
    assert fake.count("POST") == 2
    assert [s.method for s in fake.requests if s.path == f"/Users/{alice}"] == ["PATCH"]


@pytest.mark.usefixtures("fast_retries", "json_logs")
def test_409_without_a_single_match_fails_clearly(tmp_path: Path, token: str) -> None:
    fake = FakeScim(token=token)
    fake.fail(
        "POST",
        "/Users",
        status=409,
        body={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": "409",
            "scimType": "uniqueness",
            "detail": "taken",
        },
    )
    specs = write_spec(tmp_path, [user("ghost@example.com")])
    _, result = plan_and_apply(specs, fake)
    (failed,) = result.failed
    assert failed.message == (
        "POST /Users answered 409 (uniqueness): taken; the target says the object exists, "
        "but no single object with its key can be found: check the target for duplicates, "
        "then plan again"
    )
    assert fake.user_named("ghost@example.com") == []


@pytest.mark.usefixtures("fast_retries", "json_logs")
def test_patch_answered_204_is_fine(tmp_path: Path, token: str) -> None:
    fake = FakeScim(token=token)
    alice = fake.add_user("alice@example.com", title="Engineer")
    fake.patch_status = 204
    specs = write_spec(tmp_path, [user("alice@example.com", title="Staff Engineer")])
    _, result = plan_and_apply(specs, fake)
    assert outcomes(result) == {"alice@example.com": (Action.UPDATE, True)}
    assert fake.users[alice]["title"] == "Staff Engineer"
    # The connection test reads the one user listed (is it real?); no body to verify the
    # write against: it is read back (write verification), once.
    assert [s.method for s in fake.requests if s.path == f"/Users/{alice}"] == [
        "GET",
        "PATCH",
        "GET",
    ]
    assert result.not_kept == ()
    assert not replan(specs, fake).plan.has_changes


@pytest.mark.usefixtures("fast_retries", "json_logs")
def test_patch_501_falls_back_to_put_keeping_unmanaged_attributes(
    tmp_path: Path, token: str
) -> None:
    fake = FakeScim(token=token)
    alice = fake.add_user(
        "alice@example.com",
        title="Engineer",
        nickName="Al",
        name={"givenName": "Alice", "familyName": "Wong"},
        **{ENTERPRISE_URN: {"department": "R&D", "costCenter": "42"}},
    )
    fake.patch_unsupported = True
    spec_user = user(
        "alice@example.com",
        title="Staff Engineer",
        name={"givenName": "Alice"},
        enterprise={"department": "Engineering"},
    )
    specs = write_spec(tmp_path, [spec_user])
    _, result = plan_and_apply(specs, fake)
    assert outcomes(result) == {"alice@example.com": (Action.UPDATE, True)}
    # (first, the connection test reads the one user listed: is it real?)
    assert [s.method for s in fake.requests if s.path == f"/Users/{alice}"] == [
        "GET",
        "PATCH",
        "GET",
        "PUT",
    ]
    stored = fake.users[alice]
    assert stored["title"] == "Staff Engineer"
    assert stored["nickName"] == "Al"
    assert stored["name"] == {"givenName": "Alice", "familyName": "Wong"}
    assert stored[ENTERPRISE_URN] == {"department": "Engineering", "costCenter": "42"}
    (put,) = [s for s in fake.requests if s.method == "PUT"]
    assert "meta" not in put.body
    assert not replan(specs, fake).plan.has_changes


@pytest.mark.usefixtures("fast_retries", "json_logs")
def test_patch_unsupported_in_config_uses_put_only(tmp_path: Path, token: str) -> None:
    fake = FakeScim(token=token)
    fake.config["patch"] = {"supported": False}
    alice = fake.add_user("alice@example.com", title="Engineer", nickName="Al")
    specs = write_spec(tmp_path, [user("alice@example.com", title="Staff Engineer")])
    _, result = plan_and_apply(specs, fake)
    assert outcomes(result) == {"alice@example.com": (Action.UPDATE, True)}
    # The connection test's read of the one user listed (is it real?), then GET-merge-PUT.
    assert [s.method for s in fake.requests if s.path == f"/Users/{alice}"] == [
        "GET",
        "GET",
        "PUT",
    ]
    assert (fake.users[alice]["title"], fake.users[alice]["nickName"]) == ("Staff Engineer", "Al")


@pytest.mark.usefixtures("fast_retries", "json_logs")
def test_member_removal_falls_back_to_the_value_list(tmp_path: Path, token: str) -> None:
    fake = FakeScim(token=token)
    alice = fake.add_user("alice@example.com")
    bob = fake.add_user("bob@example.com")
    eng = fake.add_group("Engineering", [alice, bob])
    fake.reject_member_filter_path = True
    specs = write_spec(
        tmp_path,
        [user("alice@example.com"), user("bob@example.com")],
        [{"displayName": "Engineering", "members": ["alice@example.com"]}],
    )
    _, result = plan_and_apply(specs, fake)
    assert outcomes(result) == {"Engineering": (Action.UPDATE, True)}
    assert fake.groups[eng]["members"] == [{"value": alice}]
    patches = [s.body["Operations"] for s in fake.requests if s.method == "PATCH"]
    assert patches == [
        [{"op": "remove", "path": f'members[value eq "{bob}"]'}],
        [{"op": "remove", "path": "members", "value": [{"value": bob}]}],
    ]
    assert not replan(specs, fake).plan.has_changes


@pytest.mark.usefixtures("fast_retries", "json_logs")
def test_401_mid_apply_fails_only_the_objects_it_hits(tmp_path: Path, token: str) -> None:
    fake = FakeScim(token=token)
    dave = fake.add_user("dave@example.com", title="Engineer")

    def is_bob(seen: Seen) -> bool:
        return bool(seen.body and seen.body.get("userName") == "bob@example.com")

    fake.fail("POST", "/Users", status=401, when=is_bob, body={"detail": "token revoked"})
    fake.fail("PATCH", f"/Users/{dave}", status=401, body={"detail": "token revoked"})
    users = [user(f"{n}@example.com") for n in ("alice", "bob", "carol")]
    users.append(user("dave@example.com", title="Staff Engineer"))
    members = ["alice@example.com", "bob@example.com", "carol@example.com"]
    specs = write_spec(
        tmp_path, users, [{"displayName": "Engineering", "members": members}], concurrency=2
    )
    _, result = plan_and_apply(specs, fake)
    assert outcomes(result) == {
        "alice@example.com": (Action.CREATE, True),
        "bob@example.com": (Action.CREATE, False),
        "carol@example.com": (Action.CREATE, True),
        "dave@example.com": (Action.UPDATE, False),
        "Engineering": (Action.CREATE, False),
    }
    messages = {o.key: o.message for o in result.failed}
    assert messages == {
        "bob@example.com": "POST /Users answered 401: token revoked",
        "dave@example.com": f"PATCH /Users/{dave} answered 401: token revoked",
        "Engineering": "member bob@example.com has no target id (its create failed)",
    }
    (group,) = fake.groups.values()
    assert {m["value"] for m in group["members"]} == {
        user_id(fake, "alice@example.com"),
        user_id(fake, "carol@example.com"),
    }
    assert result.counts() == {"create": 2, "update": 0, "disable": 0, "delete": 0, "failed": 3}


def test_find_verifies_what_an_ignored_filter_returns() -> None:
    fake = FakeScim()
    fake.ignore_filter = True
    fake.add_user("alicia@example.com")
    alice = fake.add_user("alice@example.com", externalId="alice")
    fake.add_user("bob@example.com", externalId="Alice")
    client = scim_client(fake)
    found = find(client, "/Users", "userName", "ALICE@example.com", 100)
    assert [r.id for r in found] == [alice]
    # externalId is case-exact (RFC 7643 §3.1).
    assert [r.id for r in find(client, "/Users", "externalId", "alice", 100)] == [alice]
    assert find(client, "/Users", "userName", "nobody@example.com", 100) == []


def test_find_falls_back_to_the_listing_when_the_filter_is_rejected() -> None:
    fake = FakeScim()
    fake.reject_filter = True
    fake.add_user("bob@example.com")
    alice = fake.add_user("alice@example.com")
    assert [
        r.id for r in find(scim_client(fake), "/Users", "userName", "alice@example.com", 1)
    ] == [alice]
    assert listing_starts(fake) == ["1", "2", "3"]


def test_find_with_an_ignored_filter_looks_past_the_first_page() -> None:
    fake = FakeScim()
    fake.ignore_filter = True
    fake.max_count = 2
    for n in range(4):
        fake.add_user(f"user{n}@example.com")
    alice = fake.add_user("alice@example.com")
    found = find(scim_client(fake), "/Users", "userName", "alice@example.com", 2)
    assert [r.id for r in found] == [alice]


# -- 6. secrets ------------------------------------------------------------------------------


def _everything_said(
    capsys: pytest.CaptureFixture[str], result: ApplyResult, errors: list[str]
) -> str:
    out, err = capsys.readouterr()
    said = [out, err, *errors]
    said += [json.dumps([o.message for o in result.outcomes])]
    return "\n".join(said)


@pytest.mark.usefixtures("fast_retries", "json_logs")
def test_token_never_appears_in_logs_or_messages(
    tmp_path: Path, token: str, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeScim(token=token)
    alice = fake.add_user("alice@example.com", title="Engineer")
    carol = fake.add_user("carol@example.com")
    fake.hidden.add(carol)  # a 409 on create
    fake.fail("GET", "/Users", status=503, headers={"Retry-After": "1"})  # a retry
    fake.fail("PATCH", f"/Users/{alice}", status=501)  # a PUT fallback
    fake.fail("POST", "/Groups", exc=httpx2.ReadTimeout("read timed out"), after=True)
    users = [
        user("alice@example.com", title="Staff Engineer"),
        user("bob@example.com", displayName="Bob"),
        user("carol@example.com"),
    ]
    groups = [{"displayName": "Engineering", "members": ["alice@example.com", "bob@example.com"]}]
    specs = write_spec(tmp_path, users, groups)
    errors: list[str] = []
    _, result = plan_and_apply(specs, fake)
    try:
        replan(specs, FakeScim(token="another-token"))
    except ScimrecError as exc:
        errors.append(str(exc))
    assert errors == [f"target 'fake' refused our credentials (401) (check {TOKEN_ENV})"]
    assert outcomes(result) == {
        "alice@example.com": (Action.UPDATE, True),
        "bob@example.com": (Action.CREATE, True),
        "carol@example.com": (Action.UPDATE, True),  # 409: re-matched and adopted
        "Engineering": (Action.CREATE, True),
    }
    said = _everything_said(capsys, result, errors)
    assert '"event": "write"' in said  # the audit trail was captured
    assert token not in said
    # ... and the token did go on the wire, so the check above means something.
    assert all(s.headers["authorization"] == f"Bearer {token}" for s in fake.requests)


@pytest.mark.usefixtures("fast_retries", "json_logs")
def test_token_echoed_by_the_server_never_reaches_the_logs(
    tmp_path: Path, token: str, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeScim(token=token)
    fake.echo_authorization = True
    fake.add_user("carol@example.com")
    fake.hidden.update(fake.users)
    fake.reject_filter = True  # so the 409 cannot be re-matched, and fails with its detail
    specs = write_spec(tmp_path, [user("carol@example.com")])
    _, result = plan_and_apply(specs, fake)
    assert outcomes(result) == {"carol@example.com": (Action.CREATE, False)}
    _, err = capsys.readouterr()
    assert '"outcome": "failed"' in err
    assert token not in err


@pytest.mark.usefixtures("fast_retries", "json_logs")
def test_token_echoed_by_the_server_never_reaches_outcome_messages(
    tmp_path: Path, token: str
) -> None:
    fake = FakeScim(token=token)
    fake.echo_authorization = True
    fake.add_user("carol@example.com")
    fake.hidden.update(fake.users)
    fake.reject_filter = True  # so the 409 cannot be re-matched, and fails with its detail
    specs = write_spec(tmp_path, [user("carol@example.com")])
    _, result = plan_and_apply(specs, fake)
    (failed,) = result.failed
    assert failed.message.startswith("POST /Users answered 409 (uniqueness): ")
    assert token not in failed.message


@pytest.mark.usefixtures("fast_retries", "json_logs")
def test_token_echoed_by_the_server_never_reaches_exception_messages(
    tmp_path: Path, token: str
) -> None:
    fake = FakeScim(token=token)
    fake.fail(
        "GET", "/ServiceProviderConfig", status=500, times=9, body={"detail": f"saw Bearer {token}"}
    )
    specs = write_spec(tmp_path, [user("carol@example.com")])
    with pytest.raises(TargetError) as caught:
        replan(specs, fake)
    assert str(caught.value).startswith("target 'fake' failed the connection test: ")
    assert token not in str(caught.value)


def test_read_all_retries_without_count_when_count_crashes_the_server(token: str) -> None:
    fake = FakeScim()
    for i in range(3):
        fake.add_user(f"u{i}@example.com")
    fake.fail(
        "GET",
        "/Users",
        status=500,
        times=99,
        text="<html>boom</html>",
        when=lambda seen: "count" in seen.params,
    )
    listing = read_all(scim_client(fake), "/Users", 500)
    assert (len(listing.resources), listing.complete) == (3, True)
    assert listing.notes == ("/Users: the target refused count=500 (500)",)
    # A 500 may be a passing overload, so the GET is retried (TINY: 3 attempts) first;
    # then, without count, to the end and one page past totalResults.
    counted = [("count" in s.params) for s in fake.requests if s.path == "/Users"]
    assert counted == [True, True, True, False, False]
