"""Cursor paging (RFC 9865, issue 14 item 6): used where the ServiceProviderConfig advertises
it, index paging otherwise; and why it is worth more than offsets while others write."""

from __future__ import annotations

from typing import Any

from reconciler.core.config import Auth, Target
from reconciler.scim.connection import test_connection as connect
from reconciler.scim.observe import observe
from reconciler.scim.paging import read_all
from tests.fakescim import BASE_URL, FakeScim, Seen
from tests.scim.test_faults import RecordingLog, scim_client

TARGET = Target("fake", BASE_URL, Auth(), page_size=4)


def populated(users: int = 10) -> FakeScim:
    fake = FakeScim()
    for n in range(users):
        fake.add_user(f"user{n:02d}@example.com")
    return fake


def listed(fake: FakeScim) -> list[dict[str, Any]]:
    return [dict(s.params) for s in fake.requests if s.method == "GET" and s.path == "/Users"]


def names(resources: Any) -> list[str]:
    return sorted(r.body["userName"] for r in resources)


def test_the_cursor_listing_follows_next_cursor_to_the_end() -> None:
    fake = populated()
    fake.paging(cursor=True, index=False)
    listing = read_all(scim_client(fake), "/Users", 4, cursor=True)
    assert names(listing.resources) == [f"user{n:02d}@example.com" for n in range(10)]
    assert (listing.complete, listing.pages, listing.notes) == (True, 3, ())
    # The first page asks for an empty cursor; each next one repeats the query with the
    # cursor the last page gave, and never a startIndex (RFC 9865 §2).
    assert listed(fake) == [
        {"cursor": "", "count": "4"},
        {"cursor": "after:u4", "count": "4"},
        {"cursor": "after:u8", "count": "4"},
    ]


def test_a_cursor_listing_stays_whole_while_others_delete() -> None:
    """Offsets skip a resource when one before them is deleted between pages; cursors do not."""

    def delete_first(fake: FakeScim) -> Any:
        def hook(seen: Seen) -> None:
            if len(listed(fake)) == 1:
                fake.users.pop("u1")  # someone deletes user00 after the first page

        return hook

    by_index = populated()
    by_index.on_page = delete_first(by_index)
    skipped = read_all(scim_client(by_index), "/Users", 4)
    by_cursor = populated()
    by_cursor.paging(cursor=True)
    by_cursor.on_page = delete_first(by_cursor)
    whole = read_all(scim_client(by_cursor), "/Users", 4, cursor=True)
    expected = [f"user{n:02d}@example.com" for n in range(10)]
    assert "user04@example.com" not in names(skipped.resources)  # the offset slid past it
    assert names(whole.resources) == expected  # user00 was read before it went


def test_a_target_that_refuses_the_cursor_is_paged_by_index() -> None:
    fake = populated()
    fake.paging(cursor=False)  # the listing ignores `cursor`; index paging it is
    fake.fail("GET", "/Users", status=400, body={"detail": "unknown parameter cursor"})
    listing = read_all(scim_client(fake), "/Users", 4, cursor=True)
    assert len(listing.resources) == 10
    assert listing.complete
    # (and one page past totalResults, which is never trusted blindly)
    assert [p.get("startIndex") for p in listed(fake)] == [None, "1", "5", "9", "11"]


def test_an_expired_cursor_starts_the_listing_over_once() -> None:
    fake = populated()
    fake.paging(cursor=True, index=False)
    fake.fail(
        "GET",
        "/Users",
        status=400,
        body={"detail": "cursor expired", "scimType": "expiredCursor"},
        when=lambda seen: seen.params.get("cursor") == "after:u4",
    )
    listing = read_all(scim_client(fake), "/Users", 4, cursor=True)
    assert len(listing.resources) == 10
    assert listing.complete
    assert listing.notes[0].startswith("/Users: the target refused a cursor")
    assert [p["cursor"] for p in listed(fake)] == ["", "after:u4", "", "after:u4", "after:u8"]


def test_a_repeated_cursor_ends_an_incomplete_listing() -> None:
    fake = populated()
    fake.paging(cursor=True)
    fake.fail(
        "GET",
        "/Users",
        status=200,
        times=9,
        body={"Resources": [], "nextCursor": "again", "totalResults": 10},
        when=lambda seen: seen.params.get("cursor") in ("after:u4", "again"),
    )
    listing = read_all(scim_client(fake), "/Users", 4, cursor=True)
    assert not listing.complete
    assert "/Users: the target sent the same nextCursor twice" in listing.notes


def test_the_connection_test_reads_the_pagination_the_target_advertises() -> None:
    fake = FakeScim()
    caps = connect(scim_client(fake), TARGET, RecordingLog())
    assert (caps.cursor_paging, caps.max_page_size) == (False, None)
    fake.paging(cursor=True, max_page=3)
    caps = connect(scim_client(fake), TARGET, RecordingLog())
    assert (caps.cursor_paging, caps.max_page_size) == (True, 3)


def test_the_import_reads_by_cursor_where_advertised_in_pages_the_target_allows() -> None:
    fake = populated(7)
    fake.add_group("Engineering")
    fake.paging(cursor=True, index=False, max_page=3)
    client = scim_client(fake)
    caps = connect(client, TARGET, RecordingLog())
    start = len(fake.requests)
    observed = observe(client, TARGET, caps, RecordingLog())
    assert (len(observed.users), len(observed.groups), observed.complete) == (7, 1, True)
    pages = [s.params for s in fake.requests[start:] if s.path == "/Users"]
    assert [p["count"] for p in pages] == ["3", "3", "3"]  # min(page_size 4, maxPageSize 3)
    assert all("startIndex" not in p for p in pages)


def test_the_import_pages_by_index_where_cursors_are_not_advertised() -> None:
    fake = populated(7)
    client = scim_client(fake)
    caps = connect(client, TARGET, RecordingLog())
    start = len(fake.requests)
    observe(client, TARGET, caps, RecordingLog())
    pages = [s.params for s in fake.requests[start:] if s.path == "/Users"]
    assert [p["startIndex"] for p in pages] == ["1", "5", "8"]  # and one past the total
    assert all("cursor" not in p for p in pages)
