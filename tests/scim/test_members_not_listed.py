"""Groups whose listing leaves `members` out (only `GET /Groups/<id>` shows them, or only
a read asking for them by name) are read one by one, so plans see who is in each group."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.core.model import Capabilities
from reconciler.run import Prepared
from reconciler.scim.client import ScimClient
from reconciler.scim.observe import observe
from reconciler.scim.reads_by_id import MAX_READS
from tests.fakescim import BASE_URL, FakeScim
from tests.scim.test_faults import TARGET, RecordingLog, plan_and_apply, replan, user, write_spec

pytestmark = pytest.mark.usefixtures("token")


@pytest.mark.parametrize("shown", ["one", "asked"])
def test_members_a_listing_leaves_out_are_read_and_removed_once(tmp_path: Path, shown: str) -> None:
    fake = FakeScim()
    fake.members_shown = shown
    a = fake.add_user("a@example.com")
    b = fake.add_user("b@example.com")
    fake.add_group("Eng", [a])
    fake.add_group("Ops", [a, b])
    specs = write_spec(
        tmp_path,
        [user("a@example.com"), user("b@example.com")],
        [
            {"displayName": "Eng", "members": ["b@example.com"]},
            {"displayName": "Ops", "members": ["a@example.com", "b@example.com"]},
        ],
    )
    prepared, result = plan_and_apply(specs, fake)
    changed = {c.key: c for c in prepared.plan.changes}
    assert set(changed) == {"Eng"}  # Ops already holds both: no add sent again
    assert result.failed == ()
    held = {g["displayName"]: [m["value"] for m in g["members"]] for g in fake.groups.values()}
    assert held == {"Eng": [b], "Ops": [a, b]}
    assert not replan(specs, fake).plan.has_changes


def test_a_listing_that_shows_members_is_not_read_again(tmp_path: Path) -> None:
    fake = FakeScim()
    a = fake.add_user("a@example.com")
    fake.add_group("Eng", [a])
    fake.add_group("Empty")  # no members attribute at all: no value (RFC 7643 §2.5)
    specs = write_spec(
        tmp_path,
        [user("a@example.com")],
        [{"displayName": "Eng", "members": ["a@example.com"]}, {"displayName": "Empty"}],
    )
    assert not replan(specs, fake).plan.has_changes
    assert fake.count("GET", "/Groups/*") == 0


@pytest.mark.parametrize("status", [405, 501])
def test_groups_that_no_read_shows_members_of_are_taken_as_listed(
    tmp_path: Path, status: int
) -> None:
    fake = FakeScim()
    fake.add_user("a@example.com")
    fake.add_group("Eng")
    # No read by id offered: nothing more is known (a failed read puts the group in
    # error instead: test_reads_by_id_failures.py).
    fake.fail("GET", "/Groups/*", status=status, times=100)
    specs = write_spec(
        tmp_path, [user("a@example.com")], [{"displayName": "Eng", "members": ["a@example.com"]}]
    )
    prepared = replan(specs, fake)
    (change,) = prepared.plan.changes
    assert change.key == "Eng"


def _in_lookup_mode(tmp_path: Path, groups: int) -> Prepared:
    """A target whose listing cannot be read whole (lookup mode) and shows no group's
    members, holding a and b and `groups` groups declared with both; planned."""
    fake = FakeScim()
    fake.members_shown = "one"
    fake.ignore_start_index = True  # a listing that cannot be read whole: lookup mode
    a = fake.add_user("a@example.com")
    b = fake.add_user("b@example.com")
    names = [f"Eng{n}" if n else "Eng" for n in range(groups)]
    for name in names:
        fake.add_group(name, [a, b])
    specs = write_spec(
        tmp_path,
        [user("a@example.com"), user("b@example.com")],
        [{"displayName": n, "members": ["a@example.com", "b@example.com"]} for n in names],
    )
    return replan(specs, fake)


def test_groups_found_by_filter_in_lookup_mode_are_read_for_their_members(
    tmp_path: Path,
) -> None:
    prepared = _in_lookup_mode(tmp_path, 1)
    assert prepared.observed.lookup
    assert not prepared.plan.has_changes


def test_groups_read_one_by_one_are_checked_value_by_value() -> None:
    # Their bodies come from their own GETs, not from a page proven plain.
    fake = FakeScim()
    fake.members_shown = "one"
    fake.add_group("Eng", [fake.add_user("a@example.com")])
    client = ScimClient(fake.client(), BASE_URL)
    observed = observe(client, TARGET, Capabilities(), RecordingLog())
    assert [len(g.body["members"]) for g in observed.groups] == [1]
    assert not observed.representable
    fake.members_shown = "always"
    assert observe(client, TARGET, Capabilities(), RecordingLog()).representable


def test_a_group_whose_id_no_url_names_is_taken_as_listed() -> None:
    fake = FakeScim()
    fake.members_shown = "one"
    fake.add_group("Eng", [fake.add_user("a@example.com")])
    fake.groups["\ud800"] = {**fake.groups["g2"], "id": "\ud800"}
    client = ScimClient(fake.client(), BASE_URL)
    observed = observe(client, TARGET, Capabilities(), RecordingLog())
    bodies = {g.id: g.body for g in observed.groups}
    assert "members" not in bodies["\ud800"]
    assert len(bodies["g2"]["members"]) == 1


def test_empty_groups_are_not_asked_again_where_a_get_shows_members() -> None:
    # A target whose GET shows members leaves them out of an empty group only: one read
    # each, not a second asking for members, doubling a plan's requests.
    fake = FakeScim()
    fake.members_shown = "one"
    fake.add_group("Eng", [fake.add_user("a@example.com")])
    fake.add_group("Empty")
    fake.add_group("Idle")
    client = ScimClient(fake.client(), BASE_URL)
    observed = observe(client, TARGET, Capabilities(), RecordingLog())
    assert fake.count("GET", "/Groups/*") == 3
    assert [len(g.body.get("members", [])) for g in observed.groups] == [1, 0, 0]


def test_groups_found_in_lookup_mode_and_too_many_to_read_are_noted(tmp_path: Path) -> None:
    # What is not known of objects found by filter is said, as it is of a listing's.
    prepared = _in_lookup_mode(tmp_path, MAX_READS + 1)
    assert prepared.observed.lookup
    assert (
        f"the target shows no group's members, and {MAX_READS + 1} groups are more than "
        f"{MAX_READS} to read one by one: they are taken as listed"
    ) in prepared.observed.notes


def test_groups_no_read_shows_members_of_are_noted(tmp_path: Path) -> None:
    # Every group empty, or a target that never shows members (AWS IAM Identity Center's
    # groups): no read tells which, and the plan says what it cannot see.
    fake = FakeScim()
    a = fake.add_user("a@example.com")
    fake.add_group("Eng", [a])
    fake.add_group("Ops", [a])
    for group in fake.groups.values():
        group.pop("members")  # held where no read shows it
    specs = write_spec(
        tmp_path, [user("a@example.com")], [{"displayName": "Eng", "members": ["a@example.com"]}]
    )
    prepared = replan(specs, fake)
    assert (
        "none of the 2 groups shows members, in the listing, on its GET or asked for by "
        "`attributes=members`: each is compared as empty, so on a target that holds members "
        "it does not show, no member removal can be planned, and each member added fails its "
        "group (the target does not show it)"
    ) in prepared.observed.notes


def test_groups_one_read_shows_members_of_are_not_noted(tmp_path: Path) -> None:
    fake = FakeScim()
    fake.members_shown = "one"  # left out of the listing, shown on a group's GET
    a = fake.add_user("a@example.com")
    fake.add_group("Eng", [a])
    specs = write_spec(
        tmp_path, [user("a@example.com")], [{"displayName": "Eng", "members": ["a@example.com"]}]
    )
    prepared = replan(specs, fake)
    assert not any("shows members" in n for n in prepared.observed.notes)
    assert not prepared.plan.has_changes
