"""Two listed resources under one id (scim/paging.py).

scimgateway's plugin-loki makes a group's id from its displayName and keeps it when the
group is renamed; a new group with the old name then gets the same id, and /Groups lists
both. The second was dropped as a repeat, so the listing looked one short of its
totalResults: "capped", the plan went to lookup mode, and its `eq` filters (a regex there,
which `erin+ops@...` does not match) missed existing users, planning them as creates. Both
are now read, so the listing is complete in count, and each is an object in error (as any
id shown with two contents, tests/scim/test_id_clashes.py): nothing is matched onto,
written to or deprovisioned from either; the rest of the plan goes on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest

from reconciler.scim.paging import read_all
from tests.fakescim import FakeScim, Seen, json_response
from tests.scim.conftest import TOKEN, TOKEN_ENV
from tests.scim.test_faults import plan_and_apply, replan, scim_client, user, write_spec


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)


class SharedIdScim(FakeScim):
    """Lists one more group, under the id another listed group has."""

    def _serve(self, seen: Seen) -> httpx2.Response:
        answer = super()._serve(seen)
        if seen.method != "GET" or seen.path != "/Groups" or "filter" in seen.params:
            return answer
        body: dict[str, Any] = json.loads(answer.content)
        if int(seen.params.get("startIndex", "1")) == 1 and body["Resources"]:
            body["Resources"].append({**body["Resources"][0], "displayName": "Sales"})
            body["totalResults"] += 1
        return json_response(200, body)


def shared(fake: FakeScim) -> FakeScim:
    fake.groups["g9"] = fake._stamp("Group", "g9", {"displayName": "Sales EMEA"})
    return fake


def test_read_all_keeps_both_objects_under_one_id_and_counts_them_read() -> None:
    listing = read_all(scim_client(shared(SharedIdScim())), "/Groups", 50)
    assert [r.body["displayName"] for r in listing.resources] == ["Sales EMEA", "Sales"]
    assert (listing.complete, listing.capped) == (True, False)


def test_a_page_served_again_is_still_a_repeat_not_a_shared_id() -> None:
    fake = FakeScim()
    fake.ignore_start_index = True
    for n in range(3):
        fake.add_user(f"user{n}@example.com")
    listing = read_all(scim_client(fake), "/Users", 2)
    assert listing.capped is True
    assert len(listing.resources) == 2  # the pages served again added no copy


def test_the_plan_is_no_lookup_and_decides_nothing_from_the_shared_id(tmp_path: Path) -> None:
    fake = shared(SharedIdScim(token=TOKEN))
    fake.add_user("erin+ops@example.com")
    fake.add_user("gone@example.com", active=True)
    specs = write_spec(tmp_path, [user("erin+ops@example.com")], prune="all")
    prepared = replan(specs, fake)
    assert prepared.caps.lookup_reason is None
    # erin is matched from the listing, not planned as a create; gone@ is pruned as any
    # undeclared user; neither group under g9 is deleted, both are in error.
    assert [(c.key, c.action.value) for c in prepared.plan.changes] == [
        ("gone@example.com", "disable")
    ]
    assert {(e.kind.value, e.key) for e in prepared.plan.errors} >= {("group", "g9")}
    _, result = plan_and_apply(specs, fake)
    assert [(o.key, o.ok) for o in result.outcomes] == [("gone@example.com", True)]
    assert sorted(fake.groups) == ["g9"]
    assert fake.user_named("gone@example.com")[0]["active"] is False
