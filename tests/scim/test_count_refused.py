"""A target that fails every listing carrying `count` (RFC 7644 §3.4.2.4 makes it optional
for the client) is read without it, from test_connection on.

Seen in Canaille 0.3: its parser compares the text of `count` with a number and answers
500. Before, the probe's 500 put such a target in lookup mode, and its filters (which it
ignores) could not match anything: no plan at all.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.core.plan import Action
from tests.fakescim import FakeScim
from tests.scim.conftest import TOKEN
from tests.scim.test_faults import outcomes, plan_and_apply, replan, user, write_spec

# The fake target's token in the environment; retries are fast outside tests/e2e/ (conftest).
pytestmark = pytest.mark.usefixtures("token")


def crashing_on_count() -> FakeScim:
    fake = FakeScim(token=TOKEN)
    fake.count_crashes = True
    fake.ignore_filter = True  # as Canaille: a filter returns every resource
    return fake


def test_a_target_failing_on_count_is_listed_without_it(tmp_path: Path) -> None:
    fake = crashing_on_count()
    alice = fake.add_user("alice@example.com", title="Old")
    fake.add_user("stray@example.com")
    specs = write_spec(
        tmp_path,
        [user("alice@example.com", title="New"), user("bob@example.com")],
        [{"displayName": "Eng", "members": ["alice@example.com", "bob@example.com"]}],
        prune="all",
        deprovision="disable",
    )
    prepared, result = plan_and_apply(specs, fake)
    assert prepared.caps.count_refused
    # Nor is a probe's 500 taken for overload: the run keeps its concurrency.
    assert prepared.client.limiter.cuts == 0
    assert prepared.caps.lookup_reason is None  # the listing is read whole, so prune works
    assert outcomes(result) == {
        "alice@example.com": (Action.UPDATE, True),
        "bob@example.com": (Action.CREATE, True),
        "stray@example.com": (Action.DISABLE, True),
        "Eng": (Action.CREATE, True),
    }
    assert fake.users[alice]["title"] == "New"
    # Only test_connection's two first probes carried `count`, each sent once (a probe's
    # 500 is not waited out: it asks again without `count`); every listing after them
    # left it out.
    with_count = [s for s in fake.requests if s.method == "GET" and "count" in s.params]
    assert [(s.path, "filter" in s.params) for s in with_count] == [
        ("/Users", True),
        ("/Users", False),
    ]
    first_without = next(
        i for i, s in enumerate(fake.requests) if s.method == "GET" and "startIndex" in s.params
        and "count" not in s.params
    )  # fmt: skip
    assert all("count" not in s.params for s in fake.requests[first_without:])
    assert not replan(specs, fake).plan.has_changes


def test_a_listing_refused_with_and_without_count_still_means_lookup_mode(
    tmp_path: Path,
) -> None:
    fake = FakeScim(token=TOKEN)
    fake.add_user("alice@example.com")
    # Every unfiltered listing fails, with `count` or without (the filter probe answers).
    fake.fail("GET", "/Users", times=100, when=lambda seen: "filter" not in seen.params)
    specs = write_spec(tmp_path, [user("alice@example.com")])
    prepared = replan(specs, fake)
    assert not prepared.caps.count_refused
    assert prepared.caps.lookup_reason == "the /Users listing is refused (500)"


def test_a_probe_refused_for_now_is_still_waited_for(tmp_path: Path) -> None:
    # Only a 500 ends a probe at once: a 429 (or a 502, 503, 504) says "later", not "never
    # in this form", and taking it for a refused `count` would page a whole tenant by the
    # target's default page size.
    fake = FakeScim(token=TOKEN)
    fake.add_user("alice@example.com")
    for status in (429, 502):
        fake.fail("GET", "/Users", status=status, when=lambda seen: "count" in seen.params)
    specs = write_spec(tmp_path, [user("alice@example.com")])
    prepared = replan(specs, fake)
    assert not prepared.caps.count_refused
    assert prepared.caps.lookup_reason is None
    assert not prepared.plan.has_changes


def test_a_filter_probe_failing_once_is_asked_again(tmp_path: Path) -> None:
    # The filter probe ends at its first 500 (it may be `count` the target fails on); where
    # the listing took `count`, that 500 was no refusal of `count`, so the probe is asked
    # again, waited out as any read is: one passing 500 does not leave a target matched
    # only through filters (listing: none) with no way to match anything.
    fake = FakeScim(token=TOKEN)
    fake.add_user("alice@example.com")
    fake.fail("GET", "/Users", status=500, when=lambda seen: "filter" in seen.params)
    for listing in ("auto", "none"):
        specs = write_spec(tmp_path, [user("alice@example.com")], quirks={"listing": listing})
        prepared = replan(specs, fake)
        assert prepared.caps.filter_honoured, listing
        assert not prepared.plan.has_changes
        fake.fail("GET", "/Users", status=500, when=lambda seen: "filter" in seen.params)
