"""What a target's refusal of a write means for the next try (PATCH or PUT, with or without
member `$ref`s), and the one way a PATCH is sent; shared by apply's phases and doctor."""

from __future__ import annotations

import re
from collections.abc import Callable

from reconciler.core.model import Json
from reconciler.errors import ScimHTTPError
from reconciler.scim.client import Reply, ScimClient

# Statuses that mean "this PATCH (or this path) is not supported here": fall back to PUT.
PATCH_UNSUPPORTED = frozenset({400, 405, 501})


def sender(
    client: ScimClient, path: str, ops: list[dict[str, Json]], etag: str | None = None
) -> Callable[[], Reply]:
    return lambda: client.patch(path, ops, etag)


def put_sender(
    client: ScimClient, path: str, body: dict[str, Json], version: str | None, use_etag: bool
) -> Callable[[], Reply]:
    """A PUT of a body merged from a read of `version`: with If-Match where the target
    advertises ETags; else without, and once more with that same version where the target
    answers 428 (RFC 7644 §3.14 lets it require one). Never with a later read's version:
    the body holds what the earlier read showed, and sent as current it would undo what
    changed since (a member another admin added); with this one, such a change gets 412."""
    sent = version if use_etag else None

    def send() -> Reply:
        try:
            return client.put(path, body, sent)
        except ScimHTTPError as exc:
            if exc.status != 428 or sent is not None or not version:
                raise
            return client.put(path, body, version)

    return send


def wants_ref(exc: ScimHTTPError) -> bool:
    """A refusal for want of a member `$ref` (the detail names `ref` or `$ref`)."""
    return exc.status == 400 and re.search(r"(?<![\w])\$?ref(?![\w])", exc.detail, re.I) is not None


def wants_display(exc: ScimHTTPError) -> bool:
    """A refusal for want of a member `display` (the detail names `display`, not as part of
    `displayName`)."""
    return (
        exc.status == 400 and re.search(r"(?<![\w$])display(?![\w])", exc.detail, re.I) is not None
    )


def patch_unsupported(exc: ScimHTTPError) -> bool:
    """A refusal of the PATCH itself (so PUT may work), not of the values it carries."""
    if exc.status in (405, 501):
        return True
    # RFC 7644 §3.12: invalidValue, mutability and uniqueness are about the data, and a
    # PUT with the same data would fail the same way.
    return exc.status == 400 and exc.scim_type not in ("invalidValue", "mutability", "uniqueness")


# Refusals that say nothing of what a write carried: the credentials (401), the resource
# gone (404, 410), its version stale (412, 428: a smaller write with it meets the same), the
# rate (429, already waited out by the client).
_NOT_OF_THE_VALUES = frozenset({401, 404, 410, 412, 428, 429})


def of_what_was_sent(exc: ScimHTTPError) -> bool:
    """A refusal a smaller write may not meet: of a value (RFC 7644 §3.12: an immutable or
    taken name, a readOnly role; 400, 403, 409, 422), or a failure on one (a transactional
    target answering 500 for a taken name, as django-scim2 does). A write refused so keeps
    nothing else of the object back (users._take_access_alone, groups.write_group). Not a
    gateway's or an unavailable target's 502, 503 or 504, nor any other 5xx: they say
    nothing of the values, and every smaller write would meet them too."""
    status = exc.status
    return (400 <= status < 500 and status not in _NOT_OF_THE_VALUES) or status == 500


def no_target(exc: ScimHTTPError) -> bool:
    """A `remove` whose path matched nothing (RFC 7644 §3.5.2.2, scimType noTarget): of a
    member, one no longer held (groups.remove_members), not a PATCH the target refuses."""
    return exc.status == 400 and (exc.scim_type or "").casefold() == "notarget"
