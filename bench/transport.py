"""httpx2 transports for the benchmark: a fixed added latency, and a request counter.

Both wrap a real `HTTPTransport`, so they can be injected into scimrec
(`prepare(..., transport=...)`) and into the baselines alike, without touching scimrec.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import httpx2


def pooled(concurrency: int) -> httpx2.HTTPTransport:
    """The transport httpx2 builds for scimrec's client (ScimClient.for_target), pool included:
    a client's `limits` only reach the transport it creates itself, not an injected one."""
    size = concurrency + 2
    return httpx2.HTTPTransport(
        limits=httpx2.Limits(max_connections=size, max_keepalive_connections=size)
    )


class Delaying(httpx2.BaseTransport):
    """Adds `delay` seconds to every request, as a remote target's round trip would.

    The sleep releases the GIL, so concurrent requests overlap their waits like real ones.
    """

    def __init__(self, inner: httpx2.BaseTransport, delay: float) -> None:
        self.inner = inner
        self.delay = delay

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if self.delay > 0:
            time.sleep(self.delay)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


class Counting(httpx2.BaseTransport):
    """Counts requests by method (thread-safe)."""

    def __init__(self, inner: httpx2.BaseTransport) -> None:
        self.inner = inner
        self.lock = threading.Lock()
        self.by_method: Counter[str] = Counter()

    @property
    def total(self) -> int:
        return sum(self.by_method.values())

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        with self.lock:
            self.by_method[request.method] += 1
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def stack(concurrency: int, delay: float) -> Counting:
    """Counting over Delaying over a pooled HTTPTransport: what every P2 client uses."""
    return Counting(Delaying(pooled(concurrency), delay))
