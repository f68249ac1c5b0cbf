"""What one HTTP answer of a target is to scimrec (client.py sends; this reads): its
status, its headers and body with every secret masked, an error or a redirect raised, a
success whose body is a SCIM error read as that error (RFC 7644 §3.12)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import httpx2

from reconciler.core.model import Json
from reconciler.errors import ScimHTTPError, ScimProtocolError
from reconciler.scim.messages import http_error, spelled, stated_error, unread
from reconciler.scim.payload import NotJson, parse_checked
from reconciler.scim.redact import scrub, scrub_json
from reconciler.scim.retries import IDEMPOTENT, RETRY_ALWAYS, RETRY_IDEMPOTENT
from reconciler.scim.retries import Retry as _Retry
from reconciler.scim.retries import retry_after as _retry_after


@dataclass(frozen=True)
class Reply:
    status: int
    body: Json
    headers: Mapping[str, str]
    # The body held a secret of this run, now masked: sent back (a GET-merge-PUT), it
    # would overwrite the target's value with the mask.
    masked: bool = False
    # Every value in the body is one any output can hold (payload.parse_checked): the
    # shape check need not encode each resource to find out.
    representable: bool = False


def reply(
    method: str, path: str, status: int, raw_headers: httpx2.Headers, content: bytes
) -> Reply:
    """One answer read: a redirect or an error raised (to retry where retries.py says), a
    body parsed, its names spelled as the RFC does, and every secret in it masked."""
    # What a target sends is scrubbed as it arrives: a target that echoes a secret (into
    # an attribute, a header, an error) cannot get it into a plan, report or file.
    headers = {k.lower(): scrub(v) for k, v in raw_headers.items()}
    if 300 <= status < 400:
        # Never followed (follow_redirects=False): the credentials stay with the target
        # the spec names. A write answered 3xx did not happen, so it is a failure.
        where = headers.get("location") or "no Location"
        raise ScimHTTPError(
            method, path, status, f"redirected to {where}; redirects are not followed"
        )
    if status >= 400:
        error = http_error(method, path, status, headers, content)
        if status in RETRY_ALWAYS or (status in RETRY_IDEMPOTENT and method in IDEMPOTENT):
            raise _Retry(error, _retry_after(headers.get("retry-after")))
        raise error
    if not content.strip():
        return Reply(status, None, headers)
    try:
        parsed, representable = parse_checked(content)
    except NotJson as exc:
        kind = headers.get("content-type", "no content type")
        said = f"{method} {path} answered {status} with {exc} ({kind})"
        raise unread(said, method, status) from None
    if (stated := stated_error(parsed)) is not None:
        # A success whose body is a SCIM error (RFC 7644 §3.12) did not succeed: read
        # as one, a delete or a disable that never happened would be reported as done.
        return reply(method, path, stated, raw_headers, content)
    try:
        parsed = spelled(parsed, f"{method} {path}")
    except ScimProtocolError as exc:
        raise unread(f"{exc} (answered {status})", method, status) from None
    body = scrub_json(parsed, content)
    masked = body is not parsed and body != parsed
    return Reply(status, body, headers, masked=masked, representable=representable)
