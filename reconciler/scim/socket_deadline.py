"""One deadline for a whole HTTP exchange, enforced on every socket wait it makes.

The HTTP library's timeouts bound each wait for the next bytes, never the whole exchange:
a server that sends its status line and headers one byte at a time, or `100 Continue`
interim responses without end (RFC 9110 §15.2), resets the read timeout with every byte
and keeps the request waiting forever, before any body is read (transfer.read_body bounds
only the body). Here the sockets the HTTP client opens cap each wait at the time left
until the exchange's deadline, and past it fail at once as a read (or write) timeout, so
the request ends as any timeout does: retried per retries.py, and within the run's deadline.

The deadline is held per thread (a context variable), set by `exchange_ends` around each
exchange in client.py and oauth.py, and read by the sockets of whichever connection the
pool hands that thread.
"""

from __future__ import annotations

import contextlib
import ssl
import time
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from typing import Any

import httpcore2
import httpx2

_ENDS: ContextVar[float | None] = ContextVar("scimrec_exchange_ends", default=None)


@contextlib.contextmanager
def exchange_ends(ends: float) -> Iterator[None]:
    """Every socket wait in this block ends by `ends` (a time.monotonic reading). Nested, the
    earlier deadline wins: a token fetched for a request is bounded by that request's too."""
    outer = _ENDS.get()
    token = _ENDS.set(ends if outer is None else min(ends, outer))
    try:
        yield
    finally:
        _ENDS.reset(token)


def bound_exchanges(http: httpx2.Client) -> None:
    """Give every connection pool of `http` (its own, and those of proxies from the
    environment) sockets that keep the exchange's deadline. httpx2 takes no network
    backend, so it is set on the pools it built; a transport injected for tests (a
    MockTransport) opens no socket and is left alone. An httpx2 release that moved these
    attributes fails here, at once, rather than leave the deadline unkept."""
    for transport in [http._transport, *http._mounts.values()]:
        if isinstance(transport, httpx2.HTTPTransport):
            pool = transport._pool
            pool._network_backend = _Backend(pool._network_backend)


def _capped(timeout: float | None, late: type[httpcore2.TimeoutException]) -> float | None:
    """The wait allowed now: the configured one, cut to what is left of the exchange."""
    ends = _ENDS.get()
    if ends is None:
        return timeout
    left = ends - time.monotonic()
    if left <= 0:
        raise late("the exchange passed its deadline")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore2.NetworkStream):
    def __init__(self, inner: httpcore2.NetworkStream) -> None:
        self.inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.inner.read(max_bytes, _capped(timeout, httpcore2.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.inner.write(buffer, _capped(timeout, httpcore2.WriteTimeout))

    def close(self) -> None:
        self.inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore2.NetworkStream:
        wait = _capped(timeout, httpcore2.ConnectTimeout)
        return _Stream(self.inner.start_tls(ssl_context, server_hostname, wait))

    def get_extra_info(self, info: str) -> Any:
        return self.inner.get_extra_info(info)


class _Backend(httpcore2.NetworkBackend):
    def __init__(self, inner: httpcore2.NetworkBackend) -> None:
        self.inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.NetworkStream:
        wait = _capped(timeout, httpcore2.ConnectTimeout)
        return _Stream(self.inner.connect_tcp(host, port, wait, local_address, socket_options))

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.NetworkStream:
        wait = _capped(timeout, httpcore2.ConnectTimeout)
        return _Stream(self.inner.connect_unix_socket(path, wait, socket_options))

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)
