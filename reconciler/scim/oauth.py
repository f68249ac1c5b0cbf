"""OAuth 2.0 client credentials (RFC 6749 §4.4) as an httpx2 Auth: a bearer token fetched from
the target's token endpoint, refreshed before it expires and once after a 401.

A run can outlive one token (a large apply takes minutes), so the token's `expires_in`
(RFC 6749 §5.1) is honoured: a new one is fetched a little before the old one runs out. A
target may still refuse a token early (revoked, clock skew): the client then asks for a new
one and resends the request once (`refresh_after_401`). The client authenticates to the
token endpoint with HTTP Basic (`client_secret_basic`, the default) or in the form body
(`client_secret_post`), per RFC 6749 §2.3.1. Every secret it handles is registered for
redaction; the client id is not a secret (RFC 6749 §2.2), and is not masked.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Generator
from typing import Any
from urllib.parse import quote

import httpx2

from reconciler.core.urls import shown_url
from reconciler.errors import ScimrecError, TargetError
from reconciler.scim.payload import NotJson, parse
from reconciler.scim.redact import register_secret, scrub
from reconciler.scim.socket_deadline import exchange_ends
from reconciler.scim.transfer import MIB, Bounds, Clock, read_body

METHODS = ("client_secret_basic", "client_secret_post")
# Fetch a new token when this share of its lifetime is left, and at most a minute before.
AHEAD_SHARE = 0.1
AHEAD_MAX = 60.0
# A lifetime past a year is longer than any run: as good as none given. Compared before any
# conversion, so `expires_in` of 400 digits (a JSON integer Python reads whole) is no float.
LONGEST = 366 * 86400
# A token response is a few hundred bytes; nothing near this is one.
TOKEN_RESPONSE_BYTES = MIB


class ClientCredentials(httpx2.Auth):
    """Bearer tokens from a token endpoint; safe to share between threads."""

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        scope: str | None = None,
        method: str = "client_secret_basic",
        http: httpx2.Client,
        request_seconds: float = Bounds().request_seconds,
        clock: Clock = time.monotonic,
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.scope = scope
        self.method = method
        self.http = http
        self.clock = clock
        # The whole answer within the target's request_timeout_seconds, as a SCIM one's.
        self.bounds = Bounds(TOKEN_RESPONSE_BYTES, request_seconds)
        self.lock = threading.Lock()
        self.current: str | None = None
        self.renew_at: float | None = None  # None: until the target refuses it
        self.fetches = 0
        self.used = threading.local()  # the token each thread last sent
        self.basic = ""
        register_secret(client_secret)
        if method == "client_secret_basic":
            # RFC 6749 §2.3.1: both parts form-urlencoded, then HTTP Basic.
            pair = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}"
            self.basic = base64.b64encode(pair.encode()).decode()
            register_secret(self.basic)

    # -- httpx2.Auth ---------------------------------------------------------------------

    def sync_auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, Any, None]:
        token = self.token()
        self.used.token = token
        request.headers["Authorization"] = f"Bearer {token}"
        yield request

    def close(self) -> None:
        self.http.close()

    # -- tokens --------------------------------------------------------------------------

    def token(self) -> str:
        """A token that is not about to expire; fetched now if there is none such."""
        with self.lock:
            current = self.current
            if current is None or (self.renew_at is not None and self.clock() >= self.renew_at):
                current = self._fetch()
            return current

    def refresh_after_401(self) -> None:
        """The target refused the token this thread last sent: get a new one, unless
        another thread has already replaced it since."""
        stale = getattr(self.used, "token", None)
        with self.lock:
            if self.current == stale:
                self._fetch()

    def _fetch(self) -> str:
        data = {"grant_type": "client_credentials"}
        if self.scope:
            data["scope"] = self.scope
        headers = {"Accept": "application/json"}
        if self.method == "client_secret_post":
            data |= {"client_id": self.client_id, "client_secret": self.client_secret}
        else:
            headers["Authorization"] = f"Basic {self.basic}"
        started = self.clock()
        status, body = self._post(data, headers)
        self.fetches += 1
        endpoint = f"the token endpoint {shown_url(self.token_url)}"
        if 300 <= status < 400:
            raise TargetError(
                f"{endpoint} answered {status} (a redirect; not followed, so the client "
                "secret goes nowhere else)"
            )
        if status != 200:
            raise TargetError(f"{endpoint} answered {status}{_oauth_error(body)}")
        token, lifetime = _parse_token(body, self.token_url)
        self.current = token
        if lifetime is None:
            self.renew_at = None
        else:
            self.renew_at = started + lifetime - min(AHEAD_MAX, lifetime * AHEAD_SHARE)
        return token

    def _post(self, data: dict[str, str], headers: dict[str, str]) -> tuple[int, bytes]:
        ends = time.monotonic() + self.bounds.request_seconds
        try:
            request = self.http.build_request("POST", self.token_url, data=data, headers=headers)
            with exchange_ends(ends):  # the headers too: socket_deadline.py
                response = self.http.send(request, stream=True, auth=None)
                try:
                    return response.status_code, read_body(
                        response, "POST", self.token_url, self.bounds, ends
                    )
                finally:
                    response.close()
        except httpx2.HTTPError as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            if "CERTIFICATE_VERIFY_FAILED" in reason:
                reason += " (trust its CA with the target's ca_bundle setting)"
            raise TargetError(
                f"cannot get an OAuth token from {shown_url(self.token_url)}: {reason}"
            ) from None
        except ScimrecError as exc:
            raise TargetError(f"cannot get an OAuth token: {exc}") from None


def _parse_token(body: bytes, url: str) -> tuple[str, float | None]:
    """The access token and its lifetime in seconds from RFC 6749 §5.1 (None: not given, or
    longer than any run)."""
    try:
        data: Any = parse(body)
    except NotJson:
        data = None
    token = data.get("access_token") if isinstance(data, dict) else None
    if not isinstance(token, str) or not token:
        raise TargetError(f"the token endpoint {shown_url(url)} sent no access_token")
    # Registered before anything in the answer is quoted (a token type it holds, too).
    register_secret(token)
    kind = data.get("token_type")
    if isinstance(kind, str) and kind.casefold() != "bearer":
        # RFC 6749 §7.1: only bearer tokens (RFC 6750) are sent as `Authorization: Bearer`.
        raise TargetError(
            f"the token endpoint {shown_url(url)} sent a {kind!r} token, not a bearer token"
        )
    return token, _lifetime(data.get("expires_in"))


def _lifetime(value: Any) -> float | None:
    """Seconds from `expires_in`; None when none is given, or it is longer than any run
    (the token is then renewed only once the target refuses it: refresh_after_401)."""
    if isinstance(value, str) and value.isascii() and value.isdigit():  # some send a string
        # Ten digits already say more than LONGEST; int() refuses past 4,300 of them.
        digits = value.lstrip("0") or "0"
        value = int(digits) if len(digits) <= 10 else None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < LONGEST:
        return None
    return float(value)


def _oauth_error(body: bytes) -> str:
    """`: error (description)` from an RFC 6749 §5.2 error response, scrubbed."""
    try:
        data: Any = parse(body)
    except NotJson:
        return ""
    if not isinstance(data, dict) or not isinstance(data.get("error"), str):
        return ""
    text = data["error"]
    if isinstance(data.get("error_description"), str):
        text += f" ({data['error_description']})"
    return ": " + scrub(" ".join(text.split()))[:200]
