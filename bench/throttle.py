"""P5's throttled target: a token bucket in front of the SCIM application.

The bucket holds `rate` tokens and refills at `rate` per second (R = 25 by default, the
rate Entra asks of gallery apps). A request that finds no token is answered 429 with
`Retry-After: 1` and a SCIM error body, and never reaches the application; nothing else
tells the client the rate, so a client that does not learn it bounces off the limit.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


class TokenBucket:
    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.tokens = rate
        self.stamp = time.monotonic()
        self.lock = threading.Lock()
        self.refused = 0
        self.admitted = 0

    def take(self) -> bool:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                self.admitted += 1
                return True
            self.refused += 1
            return False

    def reset(self) -> None:
        with self.lock:
            self.refused = self.admitted = 0

    def wrap(self, inner: WSGIApp) -> WSGIApp:
        body = json.dumps(
            {"schemas": [ERROR], "status": "429", "detail": "too many requests"}
        ).encode()

        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            if self.take():
                return inner(environ, start_response)
            headers = [
                ("Content-Type", "application/scim+json"),
                ("Retry-After", "1"),
                ("Content-Length", str(len(body))),
            ]
            start_response("429 Too Many Requests", headers)
            return [body]

        return app
