"""Reads a SCIM listing page by page, and knows when to stop: by index (RFC 7644 §3.4.2.4),
or by cursor (RFC 9865) where the target advertises it."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

from reconciler.core.config import DEFAULT_MAX_OBJECTS
from reconciler.core.model import Json, Resource
from reconciler.errors import ScimHTTPError, ScimProtocolError
from reconciler.scim import start_index
from reconciler.scim.client import ScimClient
from reconciler.scim.copies import Copies
from reconciler.scim.progress import Progress
from reconciler.scim.resources import listed, resource
from reconciler.scim.sharing import Shared

# With no totalResults to trust, a listing that keeps yielding new pages is cut off here.
MAX_PAGES = 100_000
# Cursor pages in a row that bring no resource not seen before: an honest cursor moves on
# (RFC 9865 §2), so a listing that keeps handing out new cursors over old or no resources
# is going nowhere, and is stopped incomplete instead of running to MAX_PAGES.
STALE_CURSOR_PAGES = 10


@dataclass(frozen=True)
class Listing:
    resources: tuple[Resource, ...]
    complete: bool
    notes: tuple[str, ...]
    pages: int
    # The listing cannot be read whole however it is paged: it ends before totalResults, or
    # a page repeats earlier resources (startIndex ignored). Matching then needs lookups.
    capped: bool = False
    # Every page was proven to hold only values any output can hold (client.Reply).
    representable: bool = False
    # No page had a secret masked in it (client.Reply.masked).
    unmasked: bool = False


@dataclass
class _Pager:
    """The state of one listing as it is read."""

    endpoint: str
    page_size: int
    max_objects: int = DEFAULT_MAX_OBJECTS
    seen: dict[str, Resource] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    start: int = 1
    size: int = 0
    pages: int = 0
    total: int | None = None
    complete: bool = True
    use_count: bool = True
    checked_past_total: bool = False
    # How many resources the listing may hold: set by its first page (see `bound`).
    limit: int | None = None
    first_total: int | None = None
    repeated: bool = False  # a page repeated earlier ones short of totalResults
    restarted: bool = False  # the request past totalResults served the first page again
    # The totalResults each page gave for the whole listing, in order (see `moved`).
    totals: list[int] = field(default_factory=list)
    skipped: int = 0  # resources without an id
    # Resources listed in one page under an id another one in it has (scimgateway's
    # plugin-loki makes a group's id from its name and keeps it through a rename, so a new
    # group with the old name gets the same id): counted as read, not as a short listing.
    clashes: int = 0
    representable: bool = True  # every page so far (client.Reply.representable)
    unmasked: bool = True  # every page so far (not client.Reply.masked)
    shared: Shared | None = None  # one object per repeated value, across the read
    copies: Copies | None = None  # later copies of an id, with other content (copies.py)

    @property
    def read(self) -> int:
        return len(self.seen) + self.clashes

    def params(self, scim_filter: str | None) -> dict[str, str | int]:
        params: dict[str, str | int] = {"startIndex": self.start}
        if self.use_count:
            params["count"] = self.page_size
        if scim_filter:
            params["filter"] = scim_filter
        return params

    def take(self, body: Json) -> tuple[int, int]:
        """Record one page; returns how many items it held and how many were new."""
        if not isinstance(body, dict):
            raise ScimProtocolError(f"GET {self.endpoint} did not answer a ListResponse object")
        items = listed(body, f"GET {self.endpoint}")
        reported = body.get("totalResults")
        if reported.__class__ is int and reported >= 0:  # not true, not -1 for "unknown"
            self.total = reported
            # A total equal to the page's own count may be just that (some targets report
            # it so), and says nothing of the listing.
            if reported != len(items):
                self.totals.append(reported)
        if self.limit is None:
            self.limit = self.bound()
        fresh = 0
        page: set[str] = set()
        for item in items:
            found = resource(item)
            if found is None:
                self.complete = False
                self.skipped += 1
                self.notes.append(f"{self.endpoint}: a resource without an id was skipped")
            elif found.id not in self.seen:
                fresh += 1
                page.add(found.id)
                if self.shared is not None:
                    self.shared.take(found.body)
                self.seen[found.id] = found
            elif not self.again.keep(self.seen[found.id], found):
                continue  # the same object again: a page served again, or pages overlapping
            elif found.id in page:
                # Two objects under one id in one page: both read, so the listing is not
                # taken for a short one (core/shape.py puts each in error).
                fresh += 1
                self.clashes += 1
            if len(self.seen) + len(self.again) > self.limit:
                raise self.overflow()
        return len(items), fresh

    @property
    def again(self) -> Copies:
        if self.copies is None:
            self.copies = Copies(self.endpoint)
        return self.copies

    def resources(self) -> tuple[Resource, ...]:
        return tuple(self.seen.values()) + self.again.all()

    def bound(self) -> int:
        """The most resources this listing may hold, from its first page.

        A totalResults may be stale or low (objects created while the listing is read, a
        target that counts wrong), so the listing is read on past it, but only so far:
        twice the first page's totalResults, or ten pages past it if that is more, and
        never more than the target's max_objects. A listing that keeps handing out fresh
        ids beyond that is not one to hold in memory (nor to plan from).
        """
        first = self.first_total = self.total
        if first is None:
            return self.max_objects
        if first > self.max_objects:
            raise ScimProtocolError(
                f"GET {self.endpoint}: the target reports {first:,} resources, more than "
                f"max_objects ({self.max_objects:,}); raise max_objects if that is real"
            )
        return min(self.max_objects, first + max(first, 10 * self.page_size))

    def overflow(self) -> ScimProtocolError:
        if self.limit == self.max_objects:
            return ScimProtocolError(
                f"GET {self.endpoint}: the listing passed max_objects ({self.max_objects:,}) "
                "and was stopped; raise max_objects if the target is really that large"
            )
        return ScimProtocolError(
            f"GET {self.endpoint}: the listing passed {self.limit:,} resources although its "
            f"first page reported {self.first_total or 0:,}; stopped reading a listing that keeps "
            "growing"
        )

    def moved(self) -> None:
        """Incomplete where the listing's total fell between its pages: resources were
        removed while they were read, and paging by index then skips one for each removed
        before the page it was on (RFC 7644 §3.4.2.4 promises no consistency). One added
        shows a resource twice at most, which is read once (copies.py): a total that only
        grows (this run's own creates, while a create looks itself up) skips nothing."""
        fell = next(((a, b) for a, b in pairwise(self.totals) if b < a), None)
        if fell is not None:
            self.complete = False
            self.notes.append(
                f"{self.endpoint}: totalResults fell from {fell[0]} to {fell[1]} while the "
                "pages were read (resources removed meanwhile): paging by index may have "
                "skipped some"
            )

    def finished(self, count: int, fresh: int) -> bool:
        """Whether this page was the last: empty, repeated, totalResults reached, or short."""
        if count == 0:
            return True
        if fresh == 0 and self.checked_past_total and self.complete:
            # The request past totalResults, answered with the first page again (SCIMMY
            # serves every startIndex past the end so): nothing new, so the end is
            # confirmed, as by an empty page or a 400/404 there. No short read to report.
            self.restarted = True
            return True
        if fresh == 0:
            self.notes.append(
                f"{self.endpoint}: page at startIndex {self.start} repeated earlier resources"
            )
            reached = self.total is not None and self.read >= self.total
            # Short of totalResults, a repeat means startIndex is ignored: the rest cannot
            # be reached. At it, the listing is as complete as its pages were: one that
            # skipped a resource without an id stays incomplete.
            self.complete = self.complete and reached
            self.repeated = not reached
            return True
        if self.total is not None and self.read >= self.total:
            # totalResults is never trusted blindly (DESIGN §5): a target that caps `count`
            # may report what it sent as the total, and stopping there would make the rest
            # look missing. One request past the end settles it; more found is read on.
            if not self.checked_past_total:
                self.checked_past_total = True
                if self.pages == 1 and count < self.page_size:
                    # A short first page at its own "total" may be the server's cap (one
                    # that reports what it sent as the total): if more follows, a page
                    # of that size is not the last one.
                    self.size = count
                self.start += count
                return False
            note = (
                f"{self.endpoint}: totalResults said {self.total}, but more resources "
                "followed; read to the end"
            )
            if note not in self.notes:  # each later page reports the same total again
                self.notes.append(note)
            self.total = None
        if (
            self.pages == 1
            and count < self.page_size
            and (self.total is None or self.total > count)
        ):
            # The server may cap `count` (RFC 7644 §3.4.2.4 allows it): page by what it
            # gives. Without totalResults that costs one more request to see the end.
            self.size = count
        elif count < self.size:
            return True
        self.start += count
        return False


def read_all(
    client: ScimClient,
    endpoint: str,
    page_size: int,
    scim_filter: str | None = None,
    progress: Progress | None = None,
    max_objects: int = DEFAULT_MAX_OBJECTS,
    *,
    cursor: bool = False,
    shared: Shared | None = None,
    use_count: bool = True,
) -> Listing:
    """Read every resource of an endpoint, by cursor where `cursor` says the target
    advertises it (see read_by_cursor), else with startIndex/count paging. With `shared`,
    the values the resources repeat are held once (sharing.py).

    Index paging stops on totalResults, on an empty page, on a page shorter than the
    server's page size, and on a page that holds nothing new; the listing is marked
    incomplete when it stops before reaching totalResults, so the plan can refuse to
    deprovision from a short read. A listing that grows past its first page's
    totalResults (with slack) or past `max_objects` is an error, by cursor or by index:
    memory stays bounded whatever the target sends.
    """
    if cursor:
        listing = read_by_cursor(
            client, endpoint, page_size, scim_filter, progress, max_objects, shared=shared
        )
        if listing is not None:
            return listing
    pager = _Pager(endpoint, page_size, max_objects, size=page_size, shared=shared)
    pager.use_count = use_count  # False: test_connection saw the target fail on `count`
    while pager.pages < MAX_PAGES:
        try:
            reply = client.get(endpoint, pager.params(scim_filter))
        except ScimHTTPError as exc:
            if pager.checked_past_total and pager.total is not None and exc.status in (400, 404):
                break  # a target that refuses to page past totalResults: the end, confirmed
            if pager.pages > 0 or not pager.use_count or exc.status not in (400, 500):
                raise
            # Some servers fail on `count` itself: page by what they give without it.
            pager.notes.append(f"{endpoint}: the target refused count={page_size} ({exc.status})")
            pager.use_count = False
            continue
        pager.pages += 1
        pager.representable &= reply.representable
        pager.unmasked &= not reply.masked
        count, fresh = pager.take(reply.body)
        if progress is not None:
            progress.reading(endpoint.strip("/").lower(), len(pager.seen), pager.total)
        if pager.finished(count, fresh):
            break
    else:
        pager.notes.append(f"{endpoint}: stopped after {MAX_PAGES} pages")
        pager.complete = False
    if pager.restarted and len(pager.seen) > 1:
        # That end is also what a target answers that ignores startIndex (start_index.py).
        params = {**pager.params(scim_filter), "startIndex": 2}
        unknown = start_index.ignored(client, endpoint, params, next(iter(pager.seen)))
        if unknown is not None:
            note, pager.repeated = unknown
            pager.complete = False
            pager.notes.append(note)
    pager.moved()
    short = pager.total is not None and pager.read < pager.total
    if short:
        pager.complete = False
        pager.notes.append(
            f"{endpoint}: read {len(pager.seen)} resources but the target reports {pager.total}"
        )
    resources = pager.resources()
    # Capped: what it lists stops short of what it reports, and not because of resources
    # it listed without an id; or its pages repeat (startIndex ignored).
    unreachable = pager.total is not None and pager.total - pager.read - pager.skipped > 0
    capped = unreachable or pager.repeated
    return Listing(
        resources, pager.complete, tuple(pager.notes), pager.pages, capped, pager.representable,
        pager.unmasked,
    )  # fmt: skip


def read_by_cursor(
    client: ScimClient,
    endpoint: str,
    page_size: int,
    scim_filter: str | None = None,
    progress: Progress | None = None,
    max_objects: int = DEFAULT_MAX_OBJECTS,
    *,
    shared: Shared | None = None,
) -> Listing | None:
    """Read every resource by cursor (RFC 9865 §2): a listing that stays consistent while
    others write, where offsets would skip or repeat resources.

    The first page asks for `cursor` with an empty value; each next page repeats the query
    with the `nextCursor` of the last, whose absence alone ends the listing (§2.2). None
    when the target refuses the first cursor request: the caller pages by index instead.
    A cursor refused later (expired, invalid: §2.3) starts the listing over, once.
    """
    pager = _Pager(endpoint, page_size, max_objects, shared=shared)
    restarted = False
    token = ""
    cursors: set[str] = set()
    stale = 0
    while pager.pages < MAX_PAGES:
        params: dict[str, str | int] = {"cursor": token, "count": page_size}
        if scim_filter:
            params["filter"] = scim_filter
        try:
            reply = client.get(endpoint, params)
        except ScimHTTPError as exc:
            if pager.pages == 0 and exc.status in (400, 404, 501):
                return None
            if exc.status != 400 or restarted:
                raise
            # invalidCursor, expiredCursor (RFC 9865 §2.3): read again from the start.
            pager.notes.append(f"{endpoint}: the target refused a cursor ({exc}); read again")
            restarted, token = True, ""
            cursors.clear()
            continue
        pager.pages += 1
        pager.representable &= reply.representable
        pager.unmasked &= not reply.masked
        _, fresh = pager.take(reply.body)
        if progress is not None:
            progress.reading(endpoint.strip("/").lower(), len(pager.seen), pager.total)
        following = reply.body.get("nextCursor") if isinstance(reply.body, dict) else None
        if not isinstance(following, str) or not following:
            break
        if following in cursors:
            pager.complete = False
            pager.notes.append(f"{endpoint}: the target sent the same nextCursor twice")
            break
        stale = 0 if fresh else stale + 1
        if stale >= STALE_CURSOR_PAGES:
            pager.complete = False
            pager.notes.append(
                f"{endpoint}: {stale} cursor pages in a row brought no new resource; stopped"
            )
            break
        cursors.add(following)
        token = following
    else:
        pager.notes.append(f"{endpoint}: stopped after {MAX_PAGES} pages")
        pager.complete = False
    if pager.total is not None and pager.read < pager.total:
        pager.complete = False
        pager.notes.append(
            f"{endpoint}: read {len(pager.seen)} resources but the target reports {pager.total}"
        )
    resources = pager.resources()
    return Listing(
        resources, pager.complete, tuple(pager.notes), pager.pages, False, pager.representable,
        pager.unmasked,
    )  # fmt: skip
