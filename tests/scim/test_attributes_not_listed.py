"""A /Users listing that shows only a few attributes of each user (its own GET shows the
rest): users are read one by one, so plans compare what the target holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.core.model import Capabilities
from reconciler.scim.client import ScimClient
from reconciler.scim.observe import observe
from tests.fakescim import BASE_URL, FakeScim
from tests.scim.test_faults import TARGET, RecordingLog, plan_and_apply, replan, user, write_spec

pytestmark = pytest.mark.usefixtures("token")
SLIM = {"schemas", "id", "userName", "active", "meta"}
WORK = [{"value": "a@example.com", "type": "work"}]


def test_attributes_a_listing_leaves_out_are_read_and_written_once(tmp_path: Path) -> None:
    fake = FakeScim()
    fake.listed_user_attributes = SLIM
    fake.add_user("a@example.com", title="Staff", emails=WORK)
    fake.add_user("b@example.com", title="Old")
    specs = write_spec(
        tmp_path,
        [user("a@example.com", title="Staff", emails=WORK), user("b@example.com", title="New")],
    )
    prepared, result = plan_and_apply(specs, fake)
    assert [(c.key, [a.path for a in c.attributes]) for c in prepared.plan.changes] == [
        ("b@example.com", ["title"])
    ]
    assert result.failed == ()
    assert fake.count("PATCH") == 1
    assert not replan(specs, fake).plan.has_changes


def test_a_listing_of_users_in_full_costs_one_read_at_most() -> None:
    fake = FakeScim()
    for n in range(3):
        fake.add_user(f"u{n}@example.com")  # nothing but a userName: the sample's read
    client = ScimClient(fake.client(), BASE_URL)
    observed = observe(client, TARGET, Capabilities(), RecordingLog())
    assert fake.count("GET", "/Users/*") == 1
    assert observed.representable
    fake.add_user("t@example.com", title="T")  # one user with more: no read at all
    observe(client, TARGET, Capabilities(), RecordingLog())
    assert fake.count("GET", "/Users/*") == 1


def test_users_read_one_by_one_are_checked_value_by_value() -> None:
    fake = FakeScim()
    fake.listed_user_attributes = SLIM
    fake.add_user("a@example.com", title="T")
    fake.add_user("b@example.com", title="U")
    client = ScimClient(fake.client(), BASE_URL)
    observed = observe(client, TARGET, Capabilities(), RecordingLog())
    assert [u.body.get("title") for u in observed.users] == ["T", "U"]
    assert not observed.representable


def test_users_found_by_filter_in_lookup_mode_are_read_in_full(tmp_path: Path) -> None:
    fake = FakeScim()
    fake.listed_user_attributes = SLIM  # filters answer as listings do
    fake.ignore_start_index = True  # a listing that cannot be read whole: lookup mode
    for name in ("a@example.com", "b@example.com"):
        fake.add_user(name, title="Staff")
    specs = write_spec(
        tmp_path, [user("a@example.com", title="Staff"), user("b@example.com", title="Staff")]
    )
    prepared = replan(specs, fake)
    assert prepared.observed.lookup
    assert not prepared.plan.has_changes


def test_attributes_a_users_own_get_shows_empty_are_no_reason_to_read_all() -> None:
    # A GET that spells out unset attributes (null, [], {}) shows nothing a plan compares:
    # read one by one, every plan would cost a GET per user for nothing.
    fake = FakeScim()
    fake.listed_user_attributes = SLIM
    for n in range(3):
        fake.add_user(f"u{n}@example.com", title=None, emails=[], name={})
    client = ScimClient(fake.client(), BASE_URL)
    observe(client, TARGET, Capabilities(), RecordingLog())
    assert fake.count("GET", "/Users/*") == 1
