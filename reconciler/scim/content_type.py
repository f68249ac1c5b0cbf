"""The media type request bodies are sent as: `application/scim+json` (RFC 7644 §3.1), or
`application/json` for the rest of the run once the target refuses the first with 415."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from reconciler.errors import ScimHTTPError

SCIM_JSON = "application/scim+json"
# RFC 7644 §8.1: "older versions of SCIM are known to informally use application/json";
# some targets take nothing else (better-auth before its PR #6365, medplum before #4143,
# Owin.Scim), and refuse every write sent as SCIM_JSON.
PLAIN_JSON = "application/json"
UNSUPPORTED_MEDIA_TYPE = 415  # RFC 9110 §15.5.16

T = TypeVar("T")


class BodyType:
    """What bodies go out as, learned once per client and shared by all its threads."""

    def __init__(self) -> None:
        self.current = SCIM_JSON
        self._lock = threading.Lock()
        # Called once, when the target first refuses SCIM_JSON (run.py logs it).
        self.on_change: Callable[[str, str, str], None] | None = None

    def send(self, attempt: Callable[[str], T]) -> T:
        """`attempt(content_type)`, sent once more as PLAIN_JSON where the target refuses
        SCIM_JSON with 415. A 415 says the request was refused unprocessed (RFC 9110
        §15.5.16), so even a create is safe to resend; and every later body goes as
        PLAIN_JSON, so a run meets one 415 (one per thread, for requests already sent)
        rather than one per write. A 415 to PLAIN_JSON stands, and says both were refused.
        """
        sent = self.current
        try:
            return attempt(sent)
        except ScimHTTPError as exc:
            if exc.status != UNSUPPORTED_MEDIA_TYPE:
                raise
            if sent != SCIM_JSON:
                raise _both_refused(exc) from None
            self._fall_back(exc)
        try:
            return attempt(PLAIN_JSON)
        except ScimHTTPError as exc:
            if exc.status != UNSUPPORTED_MEDIA_TYPE:
                raise
            raise _both_refused(exc) from None

    def _fall_back(self, refused: ScimHTTPError) -> None:
        with self._lock:
            first = self.current == SCIM_JSON
            self.current = PLAIN_JSON
        if first and self.on_change is not None:
            self.on_change(refused.method, refused.path, refused.detail)


def _both_refused(exc: ScimHTTPError) -> ScimHTTPError:
    error = ScimHTTPError(
        exc.method,
        exc.path,
        exc.status,
        f"{exc.detail} (the target refused the body as {SCIM_JSON} and as {PLAIN_JSON})",
        exc.scim_type,
    )
    error.from_service = exc.from_service
    return error


def logged(log: Any) -> Callable[[str, str, str], None]:
    """An on_change that writes the switch to PLAIN_JSON to the run's log, once."""

    def changed(method: str, path: str, detail: str) -> None:
        log.warning(
            "content type refused",
            outcome="plain_json",
            request=f"{method} {path}",
            status=UNSUPPORTED_MEDIA_TYPE,
            reason=detail,
            detail=f"the target refused {SCIM_JSON} (415): every body is sent as "
            f"{PLAIN_JSON} for the rest of the run",
        )

    return changed
