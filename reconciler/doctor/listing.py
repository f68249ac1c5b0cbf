"""How the target pages /Users (RFC 7644 §3.4.2.4, RFC 9865): count, totalResults,
itemsPerPage, startIndex past the end, cursors, and whether the listing can be read whole.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.core.config import Target
from reconciler.core.model import Capabilities, Json
from reconciler.doctor.findings import INFO, OK, WARN, Finding, failure
from reconciler.errors import ScimHTTPError, ScimProtocolError
from reconciler.scim.client import Reply, ScimClient
from reconciler.scim.connection import listing_problem

ITEMS = "scimrec counts the Resources it receives and never relies on itemsPerPage"


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Json]]
    total: int | None
    per_page: Json


def read_page(reply: Reply) -> Page:
    body = reply.body
    if not isinstance(body, dict) or not isinstance(body.get("Resources", []), list):
        raise ScimProtocolError("a listing did not answer a ListResponse")
    items = [i for i in body.get("Resources") or [] if isinstance(i, dict)]
    total = body.get("totalResults")
    total = total if isinstance(total, int) and not isinstance(total, bool) else None
    return Page(items, total, body.get("itemsPerPage"))


def counted(
    client: ScimClient, path: str, params: dict[str, str | int]
) -> tuple[Reply, ScimHTTPError | None]:
    """A listing read with `params` (`count` among them), or without `count` where the
    target fails on it (400 or 500), as the connection test reads it; with that failure."""
    try:
        return client.get(path, params, probe=True), None
    except ScimHTTPError as exc:
        if exc.status not in (400, 500):
            raise
        plain = {k: v for k, v in params.items() if k != "count"}
        try:
            return client.get(path, plain), exc
        except ScimHTTPError:
            raise exc from None


def first_page(client: ScimClient, path: str, size: int) -> Page:
    """The first page of a listing, `size` long, or as the target sends it where it fails
    on `count` (probe_paging reports that)."""
    return read_page(counted(client, path, {"startIndex": 1, "count": size})[0])


def probe_paging(client: ScimClient, target: Target) -> tuple[list[Finding], list[dict[str, Json]]]:
    """count, totalResults, itemsPerPage and startIndex past the end (RFC 7644 §3.4.2.4)."""
    size = target.page_size
    reply, refused = counted(client, "/Users", {"startIndex": 1, "count": 1})
    one = read_page(reply)
    if refused is not None:
        # As the connection test: a target failing on `count` is read without it.
        found = _n(len(one.items), "user")
        seen = f"any listing with count answers {failure(refused)}; without count, {found}"
        action = "scimrec leaves count out of every listing (each page is what the target sends)"
        return [Finding("paging", "count", WARN, seen, action)], one.items
    pages = [(1, one)]
    try:
        big = read_page(client.get("/Users", {"startIndex": 1, "count": size}))
    except ScimHTTPError as exc:
        if exc.status < 500:
            raise
        seen = f"count={size} answered {failure(exc)}"
        action = f"lower page_size for this target (e.g. page_size: {max(1, size // 5)})"
        return [Finding("paging", "count", WARN, seen, action)], one.items
    pages.append((size, big))
    total, n = big.total, len(big.items)
    capped = n < size and (total or 0) > n
    if n and n < size and total is None:
        after = read_page(client.get("/Users", {"startIndex": n + 1, "count": size}))
        pages.append((size, after))
        seen_ids = {i.get("id") for i in big.items}
        capped = any(i.get("id") not in seen_ids for i in after.items)
    findings = [_count(len(one.items), n, size, total, capped)]
    if total is None:
        seen = "the /Users ListResponse has no totalResults"
        action = "scimrec reads until an empty or short page and cannot cross-check the count"
        findings.append(Finding("paging", "totalResults", WARN, seen, action))
    else:
        seen = f"totalResults present ({_n(total, 'user')})"
        action = "scimrec reads until totalResults and never deprovisions after a short read"
        findings.append(Finding("paging", "totalResults", OK, seen, action))
    ignored = len(one.items) > 1 or n > size
    end = total if total is not None else (None if capped or ignored else n)
    findings += [_past_end(client, end, pages), _items_per_page(pages)]
    return findings, big.items


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _count(first: int, n: int, size: int, total: int | None, capped: bool) -> Finding:
    if first > 1 or n > size:
        seen = f"count is ignored: count=1 gave {first}, count={size} gave {_n(n, 'user')}"
        action = "scimrec takes pages as they come and de-duplicates by id"
        return Finding("paging", "count", WARN, seen, action)
    if capped:
        of = f" of {total}" if total is not None else ""
        seen = f"count is capped at {n}: count={size} returned {n}{of} users"
        action = f"scimrec pages by the {n} the target gives, until the end"
        return Finding("paging", "count", WARN, seen, action)
    if n == size:
        return Finding("paging", "count", OK, f"count={size} is honoured", "none needed")
    seen = f"not measured: all {_n(n, 'user')} fit in one page of {size}"
    return Finding("paging", "count", INFO, seen, "scimrec pages by what the target gives")


def _past_end(client: ScimClient, end: int | None, pages: list[tuple[int, Page]]) -> Finding:
    check = "startIndex past the end"
    if not end:
        seen = "not measured (no users, or no totalResults and count not honoured)"
        return Finding("paging", check, INFO, seen, "none needed")
    past = read_page(client.get("/Users", {"startIndex": end + 1, "count": 2}))
    pages.append((2, past))
    action = "scimrec stops a listing at the first page that brings nothing new"
    if past.items:
        seen = f"startIndex={end + 1} (past the end) returns {_n(len(past.items), 'user')}"
        return Finding("paging", check, WARN, seen, action)
    return Finding("paging", check, OK, "startIndex past the end answers an empty page", action)


def _items_per_page(pages: list[tuple[int, Page]]) -> Finding:
    if all(p.per_page is None for _, p in pages):
        return Finding("paging", "itemsPerPage", WARN, "ListResponses have no itemsPerPage", ITEMS)
    for asked, page in pages:
        if page.per_page != len(page.items):
            echo = " (echoes the requested count)" if page.per_page == asked else ""
            seen = f"itemsPerPage {page.per_page} for {len(page.items)} resources{echo}"
            return Finding("paging", "itemsPerPage", WARN, seen, ITEMS)
    return Finding("paging", "itemsPerPage", OK, "itemsPerPage counts the resources sent", ITEMS)


def probe_listing(client: ScimClient, spc: dict[str, Json]) -> list[Finding]:
    """Can the /Users listing be read whole, and how: cursor (RFC 9865) or index paging?"""
    pagination = spc.get("pagination") if isinstance(spc.get("pagination"), dict) else {}
    cursor = isinstance(pagination, dict) and pagination.get("cursor") is True
    if cursor:
        seen = "cursor paging is advertised (RFC 9865)"
        cursor_finding = Finding("paging", "cursor", OK, seen, "scimrec reads listings by cursor")
    else:
        seen = "cursor paging is not advertised (RFC 9865)"
        action = "scimrec pages listings by startIndex and count (RFC 7644 §3.4.2.4)"
        cursor_finding = Finding("paging", "cursor", INFO, seen, action)
    reason = listing_problem(client, Capabilities(cursor_paging=cursor))
    if reason is None:
        seen = "the first pages of /Users are real and follow startIndex or the cursor"
        action = "scimrec reads the whole listing, and matches on its side"
        return [cursor_finding, Finding("paging", "whole listing", OK, seen, action)]
    action = (
        "scimrec matches each declared object through eq filters instead (lookup mode, as "
        "Entra does), and refuses what needs every object: prune: all|owned, and finding "
        "unmanaged objects in drift; quirks: {listing: none} forces this from the start"
    )
    return [cursor_finding, Finding("paging", "whole listing", WARN, reason, action)]
