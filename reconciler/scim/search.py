"""Looking one object up by an attribute (RFC 7644 §3.4.2.2 `eq` filters), verified on our
side whatever the target's filter does: for creates, adoption, and lookup mode."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.core import attributes as A
from reconciler.core import spelling
from reconciler.core.config import DEFAULT_MAX_OBJECTS
from reconciler.core.match import normalise
from reconciler.core.model import MASKED, Resource
from reconciler.errors import ScimHTTPError
from reconciler.scim.client import ScimClient
from reconciler.scim.paging import read_all
from reconciler.scim.resources import listed, resource


@dataclass(frozen=True)
class Found:
    """What a search found, and whether finding nothing proves the object is not there."""

    resources: list[Resource]
    conclusive: bool
    # The target's `eq` filter on this attribute answered with verified hits: it works
    # there, so an empty answer from it can be believed from now on (`filter_proven`).
    filter_works: bool = False
    # Without a listing: what the filter answered whose value a secret of the run was
    # masked in as it arrived (`alice@***.com`), so it cannot be told to hold the value
    # or not. Lookup mode keeps them: core/masked.py puts what they may be in error, where
    # dropped, the object would look missing and be created again.
    masked: tuple[Resource, ...] = ()


def find(
    client: ScimClient,
    endpoint: str,
    attribute: str,
    value: str,
    page_size: int,
    *,
    use_filter: bool = True,
    max_objects: int = DEFAULT_MAX_OBJECTS,
) -> list[Resource]:
    """Resources whose `attribute` equals `value`, verified on our side (see `search`)."""
    found = search(
        client, endpoint, attribute, value, page_size, use_filter=use_filter,
        max_objects=max_objects,
    )  # fmt: skip
    return found.resources


def search(
    client: ScimClient,
    endpoint: str,
    attribute: str,
    value: str,
    page_size: int,
    *,
    use_filter: bool = True,
    listing: bool = True,
    max_objects: int = DEFAULT_MAX_OBJECTS,
    cursor: bool = False,
    filter_proven: bool = False,
    count: bool = True,
    no_match_404: bool = False,
) -> Found:
    """Resources whose `attribute` equals `value`, verified on our side.

    Targets may ignore a filter (returning everything) or half-support it, so what a filter
    returns is checked value by value; a rejected filter falls back to the full listing.
    Without `listing` (a target that cannot list everything: lookup mode) the `eq` filter's
    answer is all there is, and an empty one is taken as "not there", as matching does.
    The listing is read by cursor where `cursor` says the target pages so (RFC 9865).
    With `filter_proven` (this filter found what it was asked for earlier in the run), an
    empty answer in one page is believed: a listing per create would make an initial
    apply of many groups quadratic.
    With `no_match_404` (Capabilities.filter_no_match_404), a 404 to the filter is an
    empty answer; otherwise it is a refusal, which the listing stands in for.
    """
    wanted = normalise(attribute, value)
    candidates: list[Resource] = []
    trusted = answered = works = False
    if use_filter:
        candidates, trusted, answered = _filtered(
            client, endpoint, attribute, value, wanted, no_404=no_match_404, with_listing=listing
        )
        works = trusted
        trusted = trusted or (filter_proven and answered and not candidates)
    if not listing:
        hits = [r for r in candidates if _has(r, attribute, wanted)]
        unsure = tuple(r for r in candidates if r not in hits and _masked(r, attribute))
        return Found(hits, answered, works, unsure)
    complete = trusted
    if not trusted:
        # The filter was rejected, ignored or answered in pages: read everything instead.
        read = read_all(
            client, endpoint, page_size, max_objects=max_objects, cursor=cursor, use_count=count
        )
        candidates, complete = [*map(spelling.resource_respelled, read.resources)], read.complete
    return Found([r for r in candidates if _has(r, attribute, wanted)], complete, works)


def _filtered(
    client: ScimClient,
    endpoint: str,
    attribute: str,
    value: str,
    wanted: str,
    *,
    no_404: bool = False,
    with_listing: bool = True,
) -> tuple[list[Resource], bool, bool]:
    """What an `eq` filter returns, whether that can be trusted on its own, and whether the
    target answered it in one page at all."""
    try:
        reply = client.get(
            endpoint, {"filter": f"{A.filter_attribute(attribute)} eq {A.quote(value)}"}
        )
    except ScimHTTPError as exc:
        if exc.status == 404 and no_404:
            # This target says "no match" so (test_connection saw it, and its listing
            # answer). Like an empty page, that proves nothing alone where a listing can
            # be read; in lookup mode it leads to a create at most (never a removal): a
            # 409 stops one of a user, and a group the target lets share a name is one
            # more group, which the next plan shows as a duplicate in error.
            return [], False, True
        # A 404 to a filter of an endpoint that exists (WSO2 answers a group filter
        # with no match so) is a filter that cannot be used: the listing decides. With no
        # listing to decide (lookup mode), it may be the endpoint that is missing, which
        # stands as the error it is (observe: no /Groups endpoint), not a "no match".
        if exc.status not in (400, 403, 404, 501) or (exc.status == 404 and not with_listing):
            raise
        return [], False, False
    body = reply.body if isinstance(reply.body, dict) else {}
    items = listed(body, f"GET {endpoint}")
    # A later user's `{"Value": ...}` (messages.py respells a page by its first resource)
    # would read as no address, and the object look missing and be created again.
    candidates = [
        spelling.resource_respelled(r) for r in (resource(i) for i in items) if r is not None
    ]
    total = body.get("totalResults")
    whole = not (isinstance(total, int) and total > len(candidates))
    # An empty answer proves nothing on a target that silently ignores some filters (or
    # matches case-sensitively): only a verified hit, all on one page, is trusted.
    trusted = bool(candidates) and all(_has(r, attribute, wanted) for r in candidates) and whole
    return candidates, trusted, whole


def _masked(resource: Resource, attribute: str) -> bool:
    have = A.read(resource.body, attribute)
    return isinstance(have, str) and MASKED in have


def _has(resource: Resource, attribute: str, wanted: str) -> bool:
    have = A.read(resource.body, attribute)
    return isinstance(have, str) and normalise(attribute, have) == wanted
