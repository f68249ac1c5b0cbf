"""Step 1, `test_connection`: authorise with harmless requests, and learn what the target
says (ServiceProviderConfig) and shows (a filter for a user that cannot exist) it can do."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from typing import Any

from reconciler.core import attributes as A
from reconciler.core.config import Target
from reconciler.core.model import Capabilities, Json
from reconciler.errors import ScimHTTPError, ScimProtocolError, TargetError
from reconciler.scim.client import ScimClient


def test_connection(client: ScimClient, target: Target, log: Any) -> Capabilities:
    """Authorise with harmless requests and learn what the target says it supports.

    Fails fast (TargetError) on a bad URL, refused credentials or a non-SCIM answer. A
    filter that is rejected or not honoured is only noted: matching never relies on it.
    """
    try:
        config = client.get("/ServiceProviderConfig")
    except ScimHTTPError as exc:
        raise _explain(exc, target) from None
    except ScimProtocolError:
        raise TargetError(
            f"{target.url} does not look like a SCIM endpoint: /ServiceProviderConfig is not JSON"
        ) from None
    body = config.body if isinstance(config.body, dict) else {}
    if not any(k in body for k in ("patch", "filter", "schemas")):
        raise TargetError(
            f"{target.url} does not look like a SCIM endpoint: "
            "/ServiceProviderConfig has no SCIM fields"
        )
    pagination = body.get("pagination")
    pagination = pagination if isinstance(pagination, dict) else {}
    largest = pagination.get("maxPageSize")
    caps = Capabilities(
        patch=_supported(body, "patch", default=True),
        etag=_supported(body, "etag"),
        bulk=_supported(body, "bulk"),
        filter_supported=_supported(body, "filter"),
        cursor_paging=pagination.get("cursor") is True,
        max_page_size=largest if _positive(largest) else None,
    )
    probe = str(uuid.uuid4())
    honoured = False
    try:
        reply = client.get("/Users", {"filter": f"userName eq {A.quote(probe)}", "count": 1})
        listing = reply.body if isinstance(reply.body, dict) else {}
        found = listing.get("Resources") or []
        honoured = not found and listing.get("totalResults", 0) == 0
        if not honoured:
            log.warning(
                "filter not honoured",
                step="test_connection",
                outcome="filter_ignored",
                detail="a filter for a user that cannot exist returned users; "
                "matching uses the full listing",
            )
    except ScimHTTPError as exc:
        if exc.status in (401, 403):
            raise _explain(exc, target) from None
        if exc.status == 404:
            raise _explain(exc, target) from None
        log.warning(
            "filter rejected",
            step="test_connection",
            outcome="filter_rejected",
            status=exc.status,
            detail="matching uses the full listing",
        )
    except ScimProtocolError as exc:
        raise TargetError(f"{target.url} does not look like a SCIM endpoint: {exc}") from None
    caps = dataclasses.replace(caps, filter_honoured=honoured)
    log.info(
        "connected",
        step="test_connection",
        outcome="ok",
        patch=caps.patch,
        etag=caps.etag,
        bulk=caps.bulk,
        filter_honoured=caps.filter_honoured,
        cursor_paging=caps.cursor_paging,
    )
    return caps


def _positive(value: Json) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _supported(body: Mapping[str, Json], feature: str, *, default: bool = False) -> bool:
    value = body.get(feature)
    if isinstance(value, dict) and isinstance(value.get("supported"), bool):
        return bool(value["supported"])
    return default


def _explain(exc: ScimHTTPError, target: Target) -> TargetError:
    if exc.status == 0:
        return TargetError(f"cannot reach target '{target.name}' at {target.url}: {exc.detail}")
    if exc.status == 401:
        hint = f" (check {target.auth.token_env})" if target.auth.token_env else ""
        return TargetError(f"target '{target.name}' refused our credentials (401){hint}")
    if exc.status == 403:
        return TargetError(
            f"target '{target.name}' denied access (403): the credentials lack permission"
        )
    if exc.status == 404:
        return TargetError(
            f"{target.url} has no SCIM endpoint ({exc.method} {exc.path} answered 404): "
            "is the base URL right? it usually ends in /scim/v2"
        )
    return TargetError(f"target '{target.name}' failed the connection test: {exc}")
