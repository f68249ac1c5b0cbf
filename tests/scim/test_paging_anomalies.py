"""Listings that page wrongly never turn into deprovisions of unseen accounts: each read
that stops short of what the target reports is incomplete (the plan withholds removals),
and a total that is no count at all is not believed.

Pinned here: the anomalies a hostile or buggy target produces with index paging (RFC 7644
§3.4.2.4), each read through `read_all` exactly as the import reads it.
"""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.scim.paging import read_all
from tests.scim.test_paging import Page, served, users

IDS = [f"u{n:02}" for n in range(12)]


def target(page: Any, total: Any = 12, ids: list[str] = IDS) -> Any:
    """Pages of `ids` by startIndex and count, through `page(start, count, ids)`."""

    def pages(params: dict[str, str]) -> Page:
        start, count = int(params["startIndex"]), int(params.get("count", 100))
        body: dict[str, Any] = {"Resources": users(*page(start, count, ids))}
        if total is not None:
            body["totalResults"] = total(start) if callable(total) else total
        return 200, body

    return pages


def honest(start: int, count: int, ids: list[str]) -> list[str]:
    return ids[start - 1 : start - 1 + count]


@pytest.mark.parametrize(
    "page",
    [
        pytest.param(lambda s, c, ids: ids[s : s + c], id="zero-based"),
        pytest.param(lambda s, c, ids: [] if s == 6 else honest(s, c, ids), id="empty-page-mid"),
        pytest.param(lambda s, c, ids: honest(s, c, ids)[: 2 if s == 6 else c], id="short-mid"),
        pytest.param(
            lambda s, c, ids: honest(s, c, ids) if s < 11 else [], id="stops-before-total"
        ),
    ],
)
def test_a_listing_that_skips_resources_is_incomplete(page: Any) -> None:
    listing = read_all(served(target(page))[0], "/Users", 5)
    assert len(listing.resources) < len(IDS)
    assert not listing.complete


def test_overlapping_pages_lose_and_repeat_no_one() -> None:
    def overlapping(start: int, count: int, ids: list[str]) -> list[str]:
        return ids[max(0, start - 2) : start - 1 + count]  # each page repeats the last one

    listing = read_all(served(target(overlapping))[0], "/Users", 5)
    assert sorted(r.id for r in listing.resources) == IDS


def test_a_total_that_drops_between_pages_is_not_the_end() -> None:
    # The first page says 12, the second says 7: read on, then stop short of nothing.
    listing = read_all(
        served(target(honest, total=lambda start: 12 if start == 1 else 7))[0], "/Users", 5
    )
    assert sorted(r.id for r in listing.resources) == IDS


@pytest.mark.parametrize("reported", [-1, -100, -(10**9)])
def test_a_negative_total_is_no_total(reported: int) -> None:
    # Read as a count, -100 made the listing's bound negative: "passed -50 resources
    # although its first page reported -100" on the first resource.
    listing = read_all(served(target(honest, total=reported))[0], "/Users", 5)
    assert sorted(r.id for r in listing.resources) == IDS
    assert listing.complete
