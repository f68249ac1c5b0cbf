"""A proxy variable the HTTP library would refuse is one line naming it, never its value.

httpx2 reads the proxy variables when a client is built with no transport injected, and
refused a bad one with an exception that is no scimrec error (exit 3), quoting the URL.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx2
import pytest

from reconciler.core.config import Target
from reconciler.errors import UsageError
from reconciler.scim.client import ScimClient
from reconciler.scim.http_client import http_client, token_client

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
TARGET = Target("t", "https://scim.example.com/scim/v2")


@pytest.fixture(autouse=True)
def no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.delenv("REQUEST_METHOD", raising=False)


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (
            "http://u:pw-0123@proxy.example:abc",
            "not a URL with a host and a port such as http://proxy.example:3128",
        ),
        ("ftp://u:pw-0123@proxy.example:21", "its scheme is none of http, https, socks5, socks5h"),
        ("http://u:pw-0123@:3128", "it names no host"),
        ("http://u:pw-0123@proxy.example:99999", "its port is not a number from 1 to 65535"),
    ],
)
def test_an_unusable_proxy_is_named_without_its_value(
    monkeypatch: pytest.MonkeyPatch, value: str, why: str
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", value)
    with pytest.raises(UsageError) as caught:
        ScimClient.for_target(TARGET)
    assert str(caught.value) == (
        f"environment variable HTTPS_PROXY is not a usable proxy URL ({why}): "
        "correct it or unset it"
    )


def test_a_socks_proxy_without_socksio_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    if importlib.util.find_spec("socksio") is not None:
        pytest.skip("socksio is installed: a SOCKS proxy is usable")
    monkeypatch.setenv("HTTPS_PROXY", "socks5://u:pw-0123@proxy.example:1080")
    with pytest.raises(UsageError) as caught:
        ScimClient.for_target(TARGET)
    assert str(caught.value) == (
        "environment variable HTTPS_PROXY is not a usable proxy URL (a SOCKS proxy needs the "
        "socksio package, which is not installed): correct it or unset it"
    )


def test_the_lower_case_variable_is_named_when_it_is_the_one_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("all_proxy", "gopher://proxy.example:70")
    with pytest.raises(UsageError, match=r"^environment variable all_proxy is not a usable"):
        ScimClient.for_target(TARGET)


def test_a_usable_proxy_and_an_injected_transport_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    ScimClient.for_target(TARGET).close()
    # An injected transport takes no proxy from the environment: nothing to refuse.
    monkeypatch.setenv("HTTPS_PROXY", "ftp://proxy.example:21")
    injected = httpx2.MockTransport(lambda _: httpx2.Response(200))
    ScimClient.for_target(TARGET, transport=injected).close()


class _Recorder(BaseHTTPRequestHandler):
    """A forward proxy (it is sent `GET http://host/path`) or a target (`GET /path`) that
    answers 200 to all, recording what it was sent and with which credentials."""

    seen: list[tuple[str, str, str | None]]

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.seen.append((self.command, self.path, self.headers.get("Authorization")))
        body = b'{"access_token": "t", "token_type": "Bearer"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def recorders() -> Iterator[tuple[ThreadingHTTPServer, ThreadingHTTPServer]]:
    """A proxy and a target, both on 127.0.0.1."""
    servers = []
    for _ in range(2):
        handler = type("Recorder", (_Recorder,), {"seen": []})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
    yield servers[0], servers[1]
    for server in servers:
        server.shutdown()
        server.server_close()


def _seen(server: ThreadingHTTPServer) -> list[tuple[str, str, str | None]]:
    return list(server.RequestHandlerClass.seen)  # type: ignore[attr-defined]


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
def test_a_loopback_target_is_never_reached_through_a_proxy(
    monkeypatch: pytest.MonkeyPatch,
    recorders: tuple[ThreadingHTTPServer, ThreadingHTTPServer],
    variable: str,
) -> None:
    # Before: plain http:// is allowed to loopback for it never leaves the machine, yet
    # the client sent it, bearer token and client secret in clear text, to the proxy.
    proxy, target = recorders
    monkeypatch.setenv(variable, f"http://127.0.0.1:{proxy.server_address[1]}")
    port = target.server_address[1]
    loopback = Target("t", f"http://127.0.0.1:{port}/scim/v2")
    secret = {"Authorization": "Bearer tok-loopback-0123"}
    with http_client(loopback, secret, None, None) as client:
        assert client.get(f"http://127.0.0.1:{port}/scim/v2/Users").status_code == 200
        assert client.get(f"http://localhost:{port}/scim/v2/Groups").status_code == 200
        # Nothing listens here: refused, never handed to the proxy instead.
        for url in ("http://127.0.0.2:9/", "http://[::1]:9/", "http://[0:0::1]:9/"):
            with pytest.raises(httpx2.TransportError):
                client.get(url)
    with token_client(loopback, None) as tokens:
        assert tokens.post(f"http://127.0.0.1:{port}/token", headers=secret).status_code == 200
    assert _seen(proxy) == []
    assert [(m, p) for m, p, _ in _seen(target)] == [
        ("GET", "/scim/v2/Users"),
        ("GET", "/scim/v2/Groups"),
        ("POST", "/token"),
    ]
    # Any other host still goes through the proxy the environment names.
    with http_client(loopback, secret, None, None) as client:
        assert client.get("http://scim.example.test/scim/v2/Users").status_code == 200
    assert _seen(proxy) == [
        ("GET", "http://scim.example.test/scim/v2/Users", secret["Authorization"])
    ]
