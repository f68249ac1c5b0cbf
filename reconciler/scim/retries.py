"""Which failed requests are sent again, and after how long (RFC 9110, RFC 6585, RFC 7644).

The client (client.py) raises `Retry` for a failure worth another attempt; stamina runs
the attempts with `backoff` for requests that may be sent twice, and with
`backoff_unprocessed` for those that must not run twice (a create, a PATCH that appends).
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from reconciler.core.model import Json
from reconciler.errors import ScimHTTPError, TargetError

IDEMPOTENT = frozenset({"GET", "PUT", "PATCH", "DELETE"})
# 429 and 503 mean "not processed, come back later" (RFC 6585 §4, RFC 9110 §15.6.4),
# so even a create may be resent; 500, 502 and 504 leave the outcome unknown, so only a
# request that does the same when sent twice is (RFC 9110 §9.2.2). A create that got one
# is looked up before it is sent again (apply/session.py, create_failed).
RETRY_ALWAYS = frozenset({429, 503})
RETRY_IDEMPOTENT = frozenset({500, 502, 504})
# PATCH operations that leave the same resource when applied twice (RFC 7644 §3.5.2):
# replace and remove. Never an `add`: to a multi-valued attribute it may append a second
# copy, of `members` too (Canaille holds a member added twice twice); an add of members
# whose outcome is unknown is resent by apply after a read, naming only those the group
# does not show (apply/groups.py, add_members).
IDEMPOTENT_OPS = frozenset({"replace", "remove"})
MAX_RETRY_AFTER = 120.0


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    timeout: float = 120.0
    wait_initial: float = 0.2
    wait_max: float = 10.0
    wait_jitter: float = 1.0  # up to this much more, at random, so threads spread out


class Retry(Exception):
    """A transient failure worth another attempt, with the server's requested wait."""

    def __init__(self, cause: ScimHTTPError | TargetError, wait: float | None) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.wait = wait


def idempotent(method: str, body: Mapping[str, Json] | None) -> bool:
    """Whether sending this request twice does what sending it once does (RFC 9110 §9.2.2).

    A PATCH is judged by its operations: see IDEMPOTENT_OPS.
    """
    if method != "PATCH":
        return method in IDEMPOTENT
    operations = (body or {}).get("Operations")
    if not isinstance(operations, list):
        return False
    for operation in operations:
        op = str(operation.get("op", "")).lower() if isinstance(operation, dict) else ""
        if op not in IDEMPOTENT_OPS:
            return False
    return True


def outcome_unknown(exc: ScimHTTPError) -> bool:
    """Whether a write that failed so may have been carried out all the same: a 500, 502
    or 504, or no complete answer (status 0: a timeout, a dropped connection)."""
    return exc.status == 0 or exc.status in RETRY_IDEMPOTENT


def backoff(exc: Exception) -> bool | float:
    if not isinstance(exc, Retry):
        return False
    if exc.wait is not None:
        return exc.wait
    return True


def backoff_unprocessed(exc: Exception) -> bool | float:
    """For a request that must not run twice: retry only what surely did not run.

    That is a 429 or 503 (RFC 6585 §4, RFC 9110 §15.6.4), or a connection that was never
    made (the client raises TargetError for it).
    """
    if not isinstance(exc, Retry):
        return False
    cause = exc.cause
    if isinstance(cause, ScimHTTPError) and cause.status not in RETRY_ALWAYS:
        return False
    return backoff(exc)


def retry_on(
    method: str, body: Mapping[str, Json] | None, *, resend_503: bool = True
) -> Callable[[Exception], bool | float]:
    """Which failures a request is sent again after: `backoff` where sending it twice does
    what sending it once does, else `backoff_unprocessed`. Without `resend_503` (a create
    apply looks up first, creates.py), a 503 is not resent either: a gateway that gave up
    on a server still at work answers 503 too, and the object may have been made."""
    if idempotent(method, body):
        return backoff
    return backoff_unprocessed if resend_503 else backoff_rate_limited


def backoff_probe(exc: Exception) -> bool | float:
    """`backoff`, but a 500 ends the attempts: a probe of what the target takes (a listing
    with `count`) may fail on the form of the request itself, every time, and the probe
    then asks in another form instead of waiting out the backoff (about ten seconds)."""
    cause = exc.cause if isinstance(exc, Retry) else None
    if isinstance(cause, ScimHTTPError) and cause.status == 500:
        return False
    return backoff(exc)


def backoff_rate_limited(exc: Exception) -> bool | float:
    """`backoff_unprocessed`, but a 503 ends the attempts (see `retry_on`), unless the
    SCIM service itself said it (a SCIM error body, RFC 7644 §3.12): it declined the
    request, and a gateway that gave up waiting does not answer so. A lookup after each
    such refusal would read the whole listing (an absent user proves absent only so) of a
    target that is shedding load."""
    cause = exc.cause if isinstance(exc, Retry) else None
    if isinstance(cause, ScimHTTPError) and cause.status == 503 and not cause.from_service:
        return False
    return backoff_unprocessed(exc)


def retry_after(value: str | None) -> float | None:
    """Seconds to wait per Retry-After: delay-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    # ASCII digits only: a header byte 0xB2 reads as "²", which isdigit() takes and float()
    # refuses.
    if value.isascii() and value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, min(when.timestamp() - time.time(), MAX_RETRY_AFTER))
