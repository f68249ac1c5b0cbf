"""Steps 1 and 2 on the target side: `test_connection`, and reading what the target holds."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from reconciler.core import attributes as A
from reconciler.core.config import Target
from reconciler.core.match import normalise
from reconciler.core.model import Capabilities, Json, Observed, Resource
from reconciler.errors import ScimHTTPError, ScimProtocolError, TargetError
from reconciler.scim.client import ScimClient
from reconciler.scim.paging import read_all, resource
from reconciler.scim.progress import Progress


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
    caps = Capabilities(
        patch=_supported(body, "patch", default=True),
        etag=_supported(body, "etag"),
        bulk=_supported(body, "bulk"),
        filter_supported=_supported(body, "filter"),
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
    caps = Capabilities(
        patch=caps.patch,
        etag=caps.etag,
        bulk=caps.bulk,
        filter_supported=caps.filter_supported,
        filter_honoured=honoured,
    )
    log.info(
        "connected",
        step="test_connection",
        outcome="ok",
        patch=caps.patch,
        etag=caps.etag,
        bulk=caps.bulk,
        filter_honoured=caps.filter_honoured,
    )
    return caps


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


def observe(
    client: ScimClient,
    target: Target,
    caps: Capabilities,
    log: Any,
    user_filter: str | None = None,
    progress: Progress | None = None,
) -> Observed:
    """The import step on the target side: users and groups, each in one paged read."""
    users = read_all(client, "/Users", target.page_size, user_filter, progress)
    groups = read_all(client, "/Groups", target.page_size, None, progress)
    for kind, listing in (("user", users), ("group", groups)):
        log.info(
            "read target",
            step="import",
            kind=kind,
            outcome="complete" if listing.complete else "incomplete",
            count=len(listing.resources),
            pages=listing.pages,
        )
        for note in listing.notes:
            log.warning("short read", step="import", kind=kind, detail=note)
    return Observed(
        users=users.resources,
        groups=groups.resources,
        capabilities=caps,
        complete=users.complete and groups.complete,
        notes=users.notes + groups.notes,
    )


def find(
    client: ScimClient,
    endpoint: str,
    attribute: str,
    value: str,
    page_size: int,
    *,
    use_filter: bool = True,
) -> list[Resource]:
    """Resources whose `attribute` equals `value`, verified on our side.

    Targets may ignore a filter (returning everything) or half-support it, so what a filter
    returns is checked value by value; a rejected filter falls back to the full listing.
    """
    wanted = normalise(attribute, value)
    candidates: list[Resource] = []
    trusted = False
    if use_filter:
        candidates, trusted = _filtered(client, endpoint, attribute, value, wanted)
    if not trusted:
        # The filter was rejected, ignored or answered in pages: read everything instead.
        candidates = list(read_all(client, endpoint, page_size).resources)
    return [r for r in candidates if _has(r, attribute, wanted)]


def _filtered(
    client: ScimClient, endpoint: str, attribute: str, value: str, wanted: str
) -> tuple[list[Resource], bool]:
    """What an `eq` filter returns, and whether that answer can be trusted on its own."""
    try:
        reply = client.get(
            endpoint, {"filter": f"{A.filter_attribute(attribute)} eq {A.quote(value)}"}
        )
    except ScimHTTPError as exc:
        if exc.status not in (400, 403, 501):
            raise
        return [], False
    body = reply.body if isinstance(reply.body, dict) else {}
    items = body.get("Resources") or []
    candidates = [r for r in (resource(i) for i in items) if r is not None]
    total = body.get("totalResults")
    # An empty answer proves nothing on a target that silently ignores some filters (or
    # matches case-sensitively): only a verified hit, all on one page, is trusted.
    trusted = (
        bool(candidates)
        and all(_has(r, attribute, wanted) for r in candidates)
        and not (isinstance(total, int) and total > len(candidates))
    )
    return candidates, trusted


def _has(resource: Resource, attribute: str, wanted: str) -> bool:
    have = A.read(resource.body, attribute)
    return isinstance(have, str) and normalise(attribute, have) == wanted
