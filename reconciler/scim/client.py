"""The SCIM client: every HTTP request scimrec makes goes through this module (RFC 7644).

Requests are built and responses checked here; the HTTP transport is injected, so tests
swap in a fault-injecting `MockTransport` and production uses the OS trust store.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar

import httpx2
import stamina

from reconciler.core.config import Target
from reconciler.core.masking import sent_secrets
from reconciler.core.model import PATCH_OP, Json
from reconciler.core.urls import shown_url
from reconciler.errors import ScimHTTPError, ScimProtocolError, TargetError
from reconciler.scim.auth import credentials
from reconciler.scim.content_type import SCIM_JSON, BodyType
from reconciler.scim.http_client import http_client
from reconciler.scim.limiter import Limiter
from reconciler.scim.oauth import ClientCredentials
from reconciler.scim.pacer import Pacer
from reconciler.scim.proxies import check_environment_proxies
from reconciler.scim.redact import register_secrets, scrub
from reconciler.scim.replies import Reply, reply
from reconciler.scim.retries import (
    IDEMPOTENT,
    RetryPolicy,
    backoff_probe,
    retry_on,
)
from reconciler.scim.retries import Retry as _Retry
from reconciler.scim.socket_deadline import bound_exchanges, exchange_ends
from reconciler.scim.transfer import (
    MIB,
    Bounds,
    RunDeadline,
    read_body,
    read_timeout,
    request_ends,
    timed_out,
)
from reconciler.scim.writes import refuse_unsafe_path

# The writes sent once more with the version a read gives, when refused for want of
# If-Match (RFC 7644 §3.14): not a PUT, whose body was merged from an earlier read (sent
# with a later version, it would undo a change made since: a member another admin added).
_VERSIONED = frozenset({"PATCH", "DELETE"})
# RetryPolicy lives in retries.py; callers that build a client build one too.
__all__ = ["ExchangeHook", "Reply", "RetryPolicy", "ScimClient"]

DEFAULT_CONCURRENCY = 8  # a target's default `concurrency`
# Called once per HTTP exchange: method, path, status (0 if none), seconds taken.
ExchangeHook = Callable[[str, str, int, float], None]
Params = Mapping[str, str | int]
# Where a write is being recorded (apply/session.py Session.write): each attempt of a write
# request that failed and was sent again, so the audit log has a line for every request
# the target may have carried out, not only the last one's answer.
RESENT: ContextVar[list[ScimHTTPError] | None] = ContextVar("resent", default=None)


def encoded(method: str, path: str, body: Mapping[str, Json]) -> bytes:
    """The JSON bytes of a request body; ScimProtocolError, before anything is sent, where
    it holds a number JSON cannot write (NaN, an infinity: RFC 8259 §6). Python would write
    `NaN`, which a lenient target stores and then sends back in every listing of it, which
    scimrec cannot read: the whole target would be unreadable from then on."""
    try:
        return json.dumps(body, allow_nan=False).encode()
    except ValueError:
        raise ScimProtocolError(
            f"refusing to send {method} {path}: the body holds a number JSON cannot carry"
            " (NaN or infinity)"
        ) from None


class ScimClient:
    """A thin SCIM client over an injected httpx2 client; thread-safe like httpx2.Client."""

    def __init__(
        self,
        http: httpx2.Client,
        base_url: str,
        *,
        retry: RetryPolicy | None = None,
        on_exchange: ExchangeHook | None = None,
        bounds: Bounds | None = None,
        deadline: RunDeadline | None = None,
        limiter: Limiter | None = None,
    ) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.on_exchange = on_exchange
        self.pacer = Pacer()  # not paced until the target says 429 (see pacer.py)
        self.bounds = bounds or Bounds()
        self.deadline = deadline or RunDeadline(None)
        # Every request holds a slot of this while in flight, from whichever thread.
        self.limiter = limiter or Limiter(DEFAULT_CONCURRENCY)
        self.body_type = BodyType()  # a body's Content-Type, for the whole run
        # The flat paths the target's /Schemas marks write-only (Capabilities.write_only),
        # set once it is read (extensions.py, the doctor's discovery).
        self.write_only: frozenset[str] = frozenset()

    @classmethod
    def for_target(
        cls,
        target: Target,
        *,
        transport: httpx2.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        on_exchange: ExchangeHook | None = None,
    ) -> ScimClient:
        if transport is None:  # an injected transport takes no proxy from the environment
            check_environment_proxies()  # before credentials(): OAuth sends a request
        limiter = Limiter(target.concurrency)
        fixed, auth = credentials(target, transport)
        headers = {"Accept": f"{SCIM_JSON}, application/json", **fixed}
        http = http_client(target, headers, auth, transport)
        bound_exchanges(http)
        bounds = Bounds(round(target.max_response_mib * MIB), target.request_timeout_seconds)
        client = cls(
            http,
            target.url,
            retry=retry,
            on_exchange=on_exchange,
            bounds=bounds,
            deadline=RunDeadline(target.run_timeout_seconds),
            limiter=limiter,
        )
        client.pacer = Pacer(target.max_rps)
        return client

    def close(self) -> None:
        self.http.close()
        if isinstance(self.http.auth, ClientCredentials):
            self.http.auth.close()

    # -- the SCIM operations ---------------------------------------------------------

    def get(self, path: str, params: Params | None = None, *, probe: bool = False) -> Reply:
        return self.request("GET", path, params=params, probe=probe)  # retries.backoff_probe

    def create(self, path: str, body: Mapping[str, Json], *, resend_503: bool = True) -> Reply:
        return self.request("POST", path, body=body, resend_503=resend_503)

    def patch(self, path: str, operations: list[dict[str, Json]], etag: str | None) -> Reply:
        body = {"schemas": [PATCH_OP], "Operations": operations}
        return self.request("PATCH", path, body=body, etag=etag)

    def put(self, path: str, body: Mapping[str, Json], etag: str | None) -> Reply:
        return self.request("PUT", path, body=body, etag=etag)

    def delete(self, path: str, etag: str | None) -> Reply:
        return self.request("DELETE", path, etag=etag)

    # -- plumbing ------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Mapping[str, Json] | None = None,
        etag: str | None = None,
        resend_503: bool = True,  # retries.retry_on
        probe: bool = False,  # retries.backoff_probe
    ) -> Reply:
        """Send one request, retrying transient failures per RFC 7644 §3.12 and RFC 6585."""
        refuse_unsafe_path(method, path)
        headers: dict[str, str] = {}
        if etag is not None:
            headers["If-Match"] = etag  # RFC 7644 §3.14
        if body is not None:
            # Each write-only value sent (a password, a PIN: whatever route, create, PATCH,
            # PUT or Bulk) is a secret from here on: a target that echoes it in an error,
            # or anywhere, has it masked like a token.
            register_secrets(sent_secrets(body, self.write_only))
        content = None if body is None else encoded(method, path, body)
        url = f"{self.base_url}{path}"
        policy = self.retry
        kind = f"{method} {'listing' if params else 'resource'}"

        def sent_as(media: str | None) -> Reply:
            typed = headers if media is None else {**headers, "Content-Type": media}
            return self._admitted(kind, method, path, url, params, content, typed, probe)

        def send() -> Reply:
            return sent_as(None) if content is None else self.body_type.send(sent_as)

        failed: ScimHTTPError | None = None  # the last attempt's failure, if sent again
        resent = RESENT.get() if method != "GET" else None
        try:
            for attempt in stamina.retry_context(
                on=backoff_probe if probe else retry_on(method, body, resend_503=resend_503),
                attempts=policy.attempts,
                timeout=policy.timeout,
                wait_initial=policy.wait_initial,
                wait_max=policy.wait_max,
                wait_jitter=policy.wait_jitter,
            ):
                if failed is not None and resent is not None:
                    resent.append(failed)
                failed = None
                with attempt:
                    try:
                        return send()
                    except _Retry as exc:
                        # A connection never made (TargetError) sent nothing to record.
                        if isinstance(exc.cause, ScimHTTPError):
                            failed = exc.cause
                        raise
                    except ScimHTTPError as exc:
                        if exc.status == 428 and etag is None and method in _VERSIONED:
                            return self._with_version(method, path, body, exc)
                        # An OAuth token the target refused (revoked, expired early): get
                        # a new one and resend once; a second 401 stands.
                        oauth = self.http.auth
                        if exc.status != 401 or not isinstance(oauth, ClientCredentials):
                            raise
                        oauth.refresh_after_401()
                        return send()
        except _Retry as exc:
            raise exc.cause from None
        raise AssertionError("unreachable: stamina re-raises the last failure")  # pragma: no cover

    def _with_version(
        self, method: str, path: str, body: Mapping[str, Json] | None, refused: ScimHTTPError
    ) -> Reply:
        """A write refused for want of If-Match (428: RFC 7644 §3.14 lets a target require
        it), sent once more with the version the object holds now. Only a PATCH or DELETE
        sent without a version comes here: a membership change, which adds and removes by
        id whatever else the group holds, or a write to a target that did not advertise
        ETags. No version to be read, and the refusal stands."""
        current = self.get(path)
        meta = current.body.get("meta") if isinstance(current.body, dict) else None
        version = current.headers.get("etag") or (
            meta.get("version") if isinstance(meta, dict) else None
        )
        if not isinstance(version, str) or not version.strip():
            raise refused
        return self.request(method, path, body=body, etag=version)

    def _admitted(
        self,
        kind: str,
        method: str,
        path: str,
        url: str,
        params: Mapping[str, str | int] | None,
        content: bytes | None,
        headers: dict[str, str],
        probe: bool = False,
    ) -> Reply:
        """One attempt, holding a slot of the limiter; its answer teaches the limiter (but
        a probe's 500, which may answer the form of the request: retries.backoff_probe)."""
        ticket = self.limiter.acquire(kind)
        status: int | None = None
        retry_after: float | None = None
        sent = ticket.sent  # if the pace's wait is cut short: no answer, nothing learned
        try:
            sent = self.pacer.wait(self.deadline.remaining())
            reply = self._send(method, path, url, params, content, headers)
            status = reply.status
            return reply
        except _Retry as exc:
            status = exc.cause.status if isinstance(exc.cause, ScimHTTPError) else None
            # In stamina's testing mode nothing waits, so neither does the shared hold.
            retry_after = exc.wait if stamina.is_active() and not stamina.is_testing() else None
            raise
        except ScimHTTPError as exc:
            status = exc.status
            raise
        finally:
            # Once a pace is learned, a 429 slows the pace instead of holding every thread
            # for its Retry-After.
            paced = self.pacer.answered(sent, status)
            learned = self.pacer.learns_from(status) or (probe and status == 500)
            for_limit = None if learned else status
            self.limiter.release(ticket, for_limit, None if paced else retry_after)

    def _send(
        self,
        method: str,
        path: str,
        url: str,
        params: Mapping[str, str | int] | None,
        content: bytes | None,
        headers: dict[str, str],
    ) -> Reply:
        self.deadline.check(method, path)
        started = time.perf_counter()
        ends = request_ends(self.bounds, self.deadline)
        status = 0
        try:
            request = self.http.build_request(
                method,
                url,
                params=dict(params) if params else None,
                content=content,
                headers=headers,
                timeout=read_timeout(self.http.timeout, ends),
            )
        except UnicodeEncodeError:
            # Target data in a URL or a header (a filter value, a cursor, a version for
            # If-Match) that cannot go out: a lone surrogate has no UTF-8, and headers take
            # ASCII. Nothing is sent; this one request fails, never the run.
            raise ScimProtocolError(
                f"refusing to send {method} {path}: it holds text that cannot be sent "
                "(not Unicode, or not ASCII in a header)"
            ) from None
        try:
            with exchange_ends(ends):  # the headers too: socket_deadline.py
                response = self.http.send(request, stream=True)
                try:
                    status = response.status_code
                    body = read_body(response, method, path, self.bounds, ends)
                finally:
                    response.close()
        except httpx2.TimeoutException as exc:
            self.deadline.check(method, path, in_flight=True)
            error = timed_out(method, path, self.bounds, ends)
            if method in IDEMPOTENT:
                raise _Retry(error, None) from exc
            raise error from None
        except ScimHTTPError as exc:  # the whole response took too long (transfer.too_slow)
            self.deadline.check(method, path, in_flight=True)
            if method in IDEMPOTENT:
                raise _Retry(exc, None) from None
            raise
        except httpx2.ConnectError as exc:
            # Nothing reached the server, so even a create is safe to resend.
            reason = _reason(exc)
            if "CERTIFICATE_VERIFY_FAILED" in reason:
                # Not transient: retrying cannot make an untrusted certificate trusted.
                raise TargetError(
                    f"cannot verify the TLS certificate of {shown_url(self.base_url)}: {reason} "
                    "(trust its CA with the target's ca_bundle setting)"
                ) from None
            refused = TargetError(f"cannot connect to {shown_url(self.base_url)}: {reason}")
            raise _Retry(refused, None) from exc
        except httpx2.TransportError as exc:
            error = ScimHTTPError(method, path, 0, f"connection failed: {_reason(exc)}")
            if method in IDEMPOTENT:
                raise _Retry(error, None) from exc
            raise error from None
        finally:
            if self.on_exchange is not None:
                self.on_exchange(method, path, status, time.perf_counter() - started)
        return reply(method, path, status, response.headers, body)


def _reason(exc: Exception) -> str:
    # Target data: a transport error can quote what the target sent (a malformed header
    # line echoing Authorization), so it is scrubbed as it arrives, like a body.
    text = " ".join(scrub(str(exc)).split())
    text = re.sub(r"^\[Errno -?\d+\] ", "", text)  # the OS error text says it all
    return text or type(exc).__name__
