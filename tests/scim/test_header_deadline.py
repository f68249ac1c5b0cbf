"""The whole exchange, headers included, ends by request_timeout_seconds and the run's
deadline: a target or token endpoint that drips its status line and headers, or sends
`100 Continue` without end, resets every per-read timeout and must still be cut off.

A slow server cannot be a MockTransport (it opens no socket, and the wait is in the
socket reads), so each test serves one on loopback from a thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from reconciler.core.config import Auth, Target
from reconciler.errors import ScimHTTPError, TargetError
from reconciler.scim.auth import credentials
from reconciler.scim.client import RetryPolicy, ScimClient
from reconciler.scim.transfer import RunDeadline, RunTimedOut

ONE_TRY = RetryPolicy(attempts=1)


def drip(conn: socket.socket, stop: threading.Event) -> None:
    for byte in b"HTTP/1.1 200 OK\r\nX-A: " + b"a" * 10_000:
        if stop.wait(0.05):
            return
        conn.sendall(bytes([byte]))


def endless_continue(conn: socket.socket, stop: threading.Event) -> None:
    while not stop.wait(0.05):
        conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")


Behaviour = Callable[[socket.socket, threading.Event], None]


@pytest.fixture(params=[drip, endless_continue], ids=["header drip", "endless 100 Continue"])
def slow_url(request: pytest.FixtureRequest) -> Iterator[str]:
    behaviour: Behaviour = request.param
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def answer(conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                behaviour(conn, stop)
            except OSError:
                pass  # the client hung up: what the test wants

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=answer, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    listener.close()


def target(url: str, request_timeout_seconds: float) -> Target:
    return Target(
        "t",
        f"{url}/scim/v2",
        Auth(),
        timeout_seconds=2,
        request_timeout_seconds=request_timeout_seconds,
    )


@pytest.mark.timing
def test_slow_headers_are_cut_at_the_request_deadline(slow_url: str) -> None:
    # A GET that timed out is retried: the tests' stamina makes three quick attempts.
    client = ScimClient.for_target(target(slow_url, request_timeout_seconds=0.3), retry=ONE_TRY)
    started = time.monotonic()
    with pytest.raises(ScimHTTPError) as caught:
        client.get("/Users")
    client.close()
    assert time.monotonic() - started < 2
    assert str(caught.value) == (
        "GET /Users got no answer: timed out: the response took longer than 0.3 s "
        "(request_timeout_seconds)"
    )


@pytest.mark.timing
def test_slow_headers_are_cut_at_the_run_deadline(slow_url: str) -> None:
    client = ScimClient.for_target(target(slow_url, request_timeout_seconds=60), retry=ONE_TRY)
    client.deadline = RunDeadline(0.5)
    started = time.monotonic()
    with pytest.raises(RunTimedOut):
        client.get("/Users")
    client.close()
    assert time.monotonic() - started < 1.5


@pytest.mark.timing
def test_a_token_endpoint_with_slow_headers_is_cut_off(
    slow_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth = Auth(
        type="oauth2_client_credentials",
        token_url=f"{slow_url}/token",
        client_id_env="HD_CLIENT_ID",
        client_secret_env="HD_CLIENT_SECRET",
    )
    slow = Target(
        "t", "http://127.0.0.1:9/scim/v2", auth, timeout_seconds=2, request_timeout_seconds=0.5
    )
    monkeypatch.setenv("HD_CLIENT_ID", "client")
    monkeypatch.setenv("HD_CLIENT_SECRET", "s" * 24)
    started = time.monotonic()
    with pytest.raises(TargetError) as caught:
        credentials(slow)
    assert time.monotonic() - started < 1.5
    assert str(caught.value).startswith(f"cannot get an OAuth token from {slow_url}/token: ")
