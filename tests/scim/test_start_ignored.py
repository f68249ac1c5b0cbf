"""A listing that ends as SCIMMY's do (the request past totalResults answered with the first
page again) is the end only where startIndex is honoured. A target that ignores startIndex
and caps its page at a "total" of its own (AWS IAM Identity Center's ListGroups: 50 at
most, totalResults the count it sent) answers the same; taken as complete, the groups past
the cap looked missing, were created again on every run, and kept members the spec had
removed. One request from the second resource tells the two apart."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest

from reconciler.scim.paging import read_all
from tests.fakescim import FakeScim
from tests.scim.test_faults import (
    listing_starts,
    plan_and_apply,
    replan,
    scim_client,
    user,
    write_spec,
)

pytestmark = pytest.mark.usefixtures("token")


def aws_like(groups: int) -> FakeScim:
    fake = FakeScim()
    fake.ignore_start_index = True
    fake.max_count = 2
    fake.total_is_page = True
    for n in range(groups):
        fake.add_group(f"G{n}")
    return fake


def test_a_capped_listing_that_ignores_start_index_is_not_complete() -> None:
    listing = read_all(scim_client(aws_like(5)), "/Groups", 10)
    assert (len(listing.resources), listing.complete, listing.capped) == (2, False, True)
    assert listing.notes == (
        "/Groups: startIndex is ignored (the page from the second resource starts at the "
        "first), so only the first page can be read",
    )


def test_scimmys_end_is_still_the_end_at_the_cost_of_one_request() -> None:
    fake = FakeScim()
    fake.restart_past_end = True
    for n in range(5):
        fake.add_user(f"user{n}@example.com")
    listing = read_all(scim_client(fake), "/Users", 10)
    assert (len(listing.resources), listing.complete, listing.notes) == (5, True, ())
    assert listing_starts(fake) == ["1", "6", "2"]
    assert fake.requests[-1].params["count"] == "1"


@pytest.mark.parametrize(
    ("status", "body"),
    [(400, None), (200, ["not", "a", "listing"]), (200, {"items": []})],
    ids=["refused", "no-object", "no-list-response"],
)
def test_a_probe_that_fails_leaves_the_listing_incomplete_not_capped(
    status: int, body: object
) -> None:
    # Not known complete, so nothing is pruned; not known capped, so no lookup mode.
    fake = FakeScim()
    fake.restart_past_end = True
    for n in range(3):
        fake.add_user(f"user{n}@example.com")
    fake.fail("GET", "/Users", status=status, body=body, times=1,
              when=lambda s: s.params.get("count") == "1")  # fmt: skip
    listing = read_all(scim_client(fake), "/Users", 10)
    assert (len(listing.resources), listing.complete, listing.capped) == (3, False, False)
    assert listing.notes[0].startswith("/Users: whether startIndex is honoured is not known (")


def test_a_probe_answered_with_an_empty_page_confirms_nothing_ignored() -> None:
    fake = FakeScim()
    fake.restart_past_end = True
    for n in range(3):
        fake.add_user(f"user{n}@example.com")
    empty = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
             "totalResults": 0, "Resources": []}  # fmt: skip
    fake.fail("GET", "/Users", status=200, body=empty, times=1,
              when=lambda s: s.params.get("count") == "1")  # fmt: skip
    listing = read_all(scim_client(fake), "/Users", 10)
    assert (listing.complete, listing.capped, listing.notes) == (True, False, ())


class GroupsIgnoreStart(FakeScim):
    """Only /Groups ignores startIndex (and caps its page, its size as the total): the
    connection test's probe of /Users finds nothing wrong."""

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        self.ignore_start_index = request.url.path.endswith("/Groups")
        return super().handle(request)


def test_groups_past_such_a_cap_are_not_created_again(tmp_path: Path) -> None:
    fake = GroupsIgnoreStart()
    fake.max_count = 2
    fake.total_is_page = True
    users = [fake.add_user(f"u{n}@example.com") for n in range(3)]
    gids = [fake.add_group(f"G{n}", users[:2]) for n in range(5)]
    groups = [{"displayName": f"G{n}", "members": ["u0@example.com"]} for n in range(5)]
    specs = write_spec(tmp_path, [user(f"u{n}@example.com") for n in range(3)], groups)
    prepared, result = plan_and_apply(specs, fake)
    # Each declared group is looked up by its name (lookup mode), so each is found; and a
    # read that saw only part of the target takes no one out of a group: it says so.
    assert not prepared.observed.complete
    assert result.failed == ()
    assert sorted(fake.groups) == sorted(gids)  # none created again
    assert all([m["value"] for m in fake.groups[g]["members"]] == users[:2] for g in gids)
    again = replan(specs, fake).plan
    assert not again.has_changes
    assert any("5 deprovision(s) and member removal(s) are withheld" in n for n in again.notes)
