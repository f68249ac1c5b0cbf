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
from reconciler.core.urls import shown_url
from reconciler.errors import ScimHTTPError, ScimProtocolError, TargetError
from reconciler.scim.client import ScimClient
from reconciler.scim.resources import listed
from reconciler.scim.writes import resource_path


def test_connection(client: ScimClient, target: Target, log: Any) -> Capabilities:
    """Authorise with harmless requests and learn what the target says it supports.

    Fails fast (TargetError) on a bad URL, refused credentials or a non-SCIM answer. A
    filter that is rejected or not honoured is only noted: matching never relies on it.
    """
    body = _service_provider_config(client, target, log)
    pagination = body.get("pagination")
    pagination = pagination if isinstance(pagination, dict) else {}
    largest = pagination.get("maxPageSize")
    bulk = body.get("bulk")
    bulk = bulk if isinstance(bulk, dict) else {}
    operations, payload = bulk.get("maxOperations"), bulk.get("maxPayloadSize")
    caps = Capabilities(
        patch=_supported(body, "patch", default=True),
        etag=_supported(body, "etag"),
        bulk=_supported(body, "bulk"),
        bulk_max_operations=operations if _positive(operations) else None,
        bulk_max_payload=payload if _positive(payload) else None,
        filter_supported=_supported(body, "filter"),
        cursor_paging=pagination.get("cursor") is True,
        max_page_size=largest if _positive(largest) else None,
    )
    honoured, rejected = _filter_probe(client, target, log, count=True)
    refused = False
    if target.quirks.get("listing") == "none":
        reason: str | None = "quirks: {listing: none}"
    else:
        reason, refused = _listing(client, caps)
        caps = dataclasses.replace(caps, count_refused=refused)
        if refused:
            log.warning(
                "count refused",
                step="test_connection",
                outcome="count_refused",
                detail="the /Users listing fails with count and answers without it: "
                "every listing leaves count out",
            )
        if refused and rejected in (400, 500):
            # The filter probe may have failed on its `count` alone.
            honoured, rejected = _filter_probe(client, target, log, count=False)
    if rejected == 500 and not refused:
        # No refusal of `count` (the listing took it, or was not asked): a 500 that may
        # have passed, asked again and waited out as any read, lest one passing 500 leave
        # a target matched through filters (lookup mode) with no way to match anything.
        honoured, rejected = _filter_probe(client, target, log, count=True, wait=True)
    caps = dataclasses.replace(
        caps, filter_honoured=honoured, filter_no_match_404=rejected == NO_MATCH_404
    )
    if reason is not None:
        caps = dataclasses.replace(caps, lookup_reason=reason)
        log.warning(
            "listing unusable",
            step="test_connection",
            outcome="lookup_mode",
            detail=f"{reason}: each declared object is matched through eq filters instead",
        )
    log.info(
        "connected",
        step="test_connection",
        outcome="ok",
        patch=caps.patch,
        etag=caps.etag,
        bulk=caps.bulk,
        filter_honoured=caps.filter_honoured,
        filter_no_match_404=caps.filter_no_match_404,
        cursor_paging=caps.cursor_paging,
        lookup_mode=caps.lookup_reason is not None,
    )
    return caps


# Answers that say a discovery document is not there (RFC 9110 §15.5.5, §15.5.6, §15.6.2).
ABSENT = frozenset({404, 405, 501})
# What `_filter_probe` returns for a filter with no match answered 404 by a target that
# lists /Users all the same.
NO_MATCH_404 = 404


def _service_provider_config(client: ScimClient, target: Target, log: Any) -> dict[str, Json]:
    """The target's ServiceProviderConfig (RFC 7644 §5), or {} where it publishes none.

    Neither Okta nor Entra reads it, so many targets they provision leave it out, or serve
    it at SCIM 1.1's plural path. Such a target is still one, when /Users answers a
    ListResponse; it is then taken to say nothing (PATCH tried first, with GET-merge-PUT
    after a refusal; no ETags, no Bulk). Anything else that answers it is no SCIM target.
    """
    try:
        config = client.get("/ServiceProviderConfig")
    except ScimHTTPError as exc:
        if exc.status not in ABSENT:
            raise _explain(exc, target) from None
        missing = _explain(exc, target)
    except ScimProtocolError:
        raise TargetError(
            f"{shown_url(target.url)} does not look like a SCIM endpoint: "
            "/ServiceProviderConfig is not JSON"
        ) from None
    else:
        body = config.body if isinstance(config.body, dict) else {}
        if not any(k in body for k in ("patch", "filter", "schemas")):
            raise TargetError(
                f"{shown_url(target.url)} does not look like a SCIM endpoint: "
                "/ServiceProviderConfig has no SCIM fields"
            )
        return body
    try:
        plural = client.get("/ServiceProviderConfigs").body
    except (ScimHTTPError, ScimProtocolError):
        plural = None
    if isinstance(plural, dict) and any(k in plural for k in ("patch", "filter")):
        return plural
    if not _lists_users(client, target):
        raise missing
    log.warning(
        "no service provider config",
        step="test_connection",
        outcome="defaults",
        detail="the target publishes no ServiceProviderConfig but lists /Users: PATCH is "
        "tried first (GET-merge-PUT where refused), no ETags, no Bulk",
    )
    return {}


def _lists_users(client: ScimClient, target: Target) -> bool:
    """Whether GET /Users answers a ListResponse (RFC 7644 §3.4.2): with a page of one, or
    without paging where the target fails on it."""
    for params in ({"startIndex": 1, "count": 1}, {}):
        try:
            body = client.get("/Users", params, probe=bool(params)).body
        except ScimHTTPError as exc:
            if exc.status in (401, 403):
                raise _explain(exc, target) from None
            if exc.status in (400, 500) and params:
                continue
            return False
        except ScimProtocolError:
            return False
        return isinstance(body, dict) and (
            isinstance(body.get("Resources"), list) or isinstance(body.get("totalResults"), int)
        )
    return False  # pragma: no cover (the loop returns on its last pass)


def _filter_probe(
    client: ScimClient, target: Target, log: Any, *, count: bool, wait: bool = False
) -> tuple[bool, int | None]:
    """Whether a filter for a user that cannot exist finds nothing (the filter is
    honoured), and the status it was refused with (None: answered; NO_MATCH_404: "nothing"
    said by a 404). With `count` and without `wait`, a 500 is not waited out
    (retries.backoff_probe)."""
    params: dict[str, str | int] = {"filter": f"userName eq {A.quote(str(uuid.uuid4()))}"}
    params |= {"count": 1} if count else {}
    try:
        reply = client.get("/Users", params, probe=count and not wait)
    except ScimHTTPError as exc:
        if exc.status in (401, 403):
            raise _explain(exc, target) from None
        if exc.status == 404:
            # Some targets answer a filter that matches nothing with 404 instead of an
            # empty ListResponse (scimgateway, WSO2): no missing endpoint, if the plain
            # listing answers. Where it does not, the base URL is wrong, as the 404 said.
            if not _lists_users(client, target):
                raise _explain(exc, target) from None
            log.warning(
                "filter answers 404",
                step="test_connection",
                outcome="filter_no_match_404",
                detail="a filter that matches nothing is answered 404, not an empty "
                "ListResponse: such a 404 to an eq filter is read as no match",
            )
            return True, NO_MATCH_404
        log.warning(
            "filter rejected",
            step="test_connection",
            outcome="filter_rejected",
            status=exc.status,
            detail="matching uses the full listing",
        )
        return False, exc.status
    except ScimProtocolError as exc:
        raise TargetError(
            f"{shown_url(target.url)} does not look like a SCIM endpoint: {exc}"
        ) from None
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
    return honoured, None


def listing_problem(client: ScimClient, caps: Capabilities) -> str | None:
    """Why the /Users listing cannot be read whole, if the first two pages show it.

    Harmless reads: a page of two (does the target list at all, and is what it lists
    real?), and, by index, the page from the second resource (is startIndex honoured, RFC
    7644 §3.4.2.4?) and the last one it reports (does the listing reach its totalResults?).
    A listing that stops short further on shows when it is read (paging.py, observe.py).
    """
    return _listing(client, caps)[0]


def _listing(client: ScimClient, caps: Capabilities) -> tuple[str | None, bool]:
    """`listing_problem`, and whether the target refuses `count` (it fails the page of
    two, 400 or 500, and answers the same request without `count`)."""
    where: dict[str, str | int] = {"cursor": ""} if caps.cursor_paging else {"startIndex": 1}
    try:
        first = _page(client.get("/Users", {**where, "count": 2}, probe=True).body)
    except ScimHTTPError as exc:
        if exc.status == 404:
            return None, False
        if exc.status not in (400, 500) or caps.cursor_paging:
            return f"the /Users listing is refused ({exc.status})", False
        try:
            first = _page(client.get("/Users", where).body)
        except ScimHTTPError:
            return f"the /Users listing is refused ({exc.status})", False
        return _pages(client, first, caps, count=False), True
    return _pages(client, first, caps, count=True), False


def _pages(
    client: ScimClient, first: Mapping[str, Json], caps: Capabilities, *, count: bool
) -> str | None:
    """The checks of `listing_problem` after its first page; `count`: send `count` (a
    target that refuses it answers each page from startIndex to the end)."""
    items = [i for i in listed(first, "GET /Users") if isinstance(i, dict)]
    total = first.get("totalResults")
    if not items:
        more = isinstance(total, int) and not isinstance(total, bool) and total > 0
        return f"the /Users listing is empty but reports {total} users" if more else None
    if len(items) == 1 and (total is None or total == 1) and "id" in items[0]:
        # A listing of one: a real user can be read by its id; a sample object cannot.
        try:
            path = resource_path("/Users", str(items[0]["id"]))
        except ScimProtocolError:
            return None  # an id no URL names: that user is in error (core/shape.py)
        try:
            client.get(path)
        except ScimHTTPError as exc:
            if exc.status == 404:
                return "the unfiltered /Users listing returns a synthetic object"
            raise
        return None
    if caps.cursor_paging or len(items) < 2:
        return None
    one: dict[str, str | int] = {"count": 1} if count else {}
    second = _page(client.get("/Users", {"startIndex": 2, **one}).body)
    again = [i for i in listed(second, "GET /Users") if isinstance(i, dict)]
    if again and again[0].get("id") == items[0].get("id"):
        return "the /Users listing ignores startIndex (every page starts at the first user)"
    if isinstance(total, int) and not isinstance(total, bool) and total > len(items):
        # The last user it reports must be there to read (a listing capped below its own
        # totalResults answers nothing); a target refusing the page proves nothing.
        try:
            last = _page(client.get("/Users", {"startIndex": total, **one}).body)
        except ScimHTTPError:
            return None
        if not listed(last, "GET /Users"):
            return f"the /Users listing stops before its totalResults ({total})"
    return None


def _page(body: Json) -> Mapping[str, Json]:
    return body if isinstance(body, dict) else {}


def _positive(value: Json) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _supported(body: Mapping[str, Json], feature: str, *, default: bool = False) -> bool:
    value = body.get(feature)
    if isinstance(value, dict) and isinstance(value.get("supported"), bool):
        return bool(value["supported"])
    return default


def _explain(exc: ScimHTTPError, target: Target) -> TargetError:
    if exc.status == 0:
        return TargetError(
            f"cannot reach target '{target.name}' at {shown_url(target.url)}: {exc.detail}"
        )
    if exc.status == 401:
        hint = f" (check {target.auth.token_env})" if target.auth.token_env else ""
        return TargetError(f"target '{target.name}' refused our credentials (401){hint}")
    if exc.status == 403:
        return TargetError(
            f"target '{target.name}' denied access (403): the credentials lack permission"
        )
    if exc.status == 404:
        return TargetError(
            f"{shown_url(target.url)} has no SCIM endpoint ({exc.method} {exc.path} answered 404): "
            "is the base URL right? it usually ends in /scim/v2"
        )
    return TargetError(f"target '{target.name}' failed the connection test: {exc}")
