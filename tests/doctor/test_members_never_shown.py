"""doctor on a target that shows `members: []` for every group, whoever it holds: the
listing is not taken for one that shows members, and the member add probe says that the
add cannot be seen, and what apply then does."""

from __future__ import annotations

from tests.doctor.test_doctor import fake_doctor, populated
from tests.fakescim import FakeScim


def test_empty_member_lists_are_not_taken_for_shown_members() -> None:
    fake = FakeScim()
    fake.members_shown = "never"
    fake.add_group("Eng", [fake.add_user("a@example.com")])
    report, status = fake_doctor(fake, write_probe=False)
    assert status[("groups", "members listed")] == "info"
    assert report.finding("groups", "members listed").observed == (
        "no listed group shows members, nor does the first one's own GET (it may be empty)"
    )


def test_a_member_add_no_read_shows_fails_with_what_apply_does() -> None:
    fake = populated()
    fake.members_shown = "never"
    report, status = fake_doctor(fake, write_probe=True)
    assert status[("groups", "add member")] == "fail"
    finding = report.finding("groups", "add member")
    assert finding.observed == "adding a member answered 200, but the group's GET does not show it"
    assert "apply fails each group it adds members to" in finding.action
    assert "manage memberships in the application itself" in finding.action
    assert status[("cleanup", "temporary objects")] == "ok"


def test_shown_members_are_still_ok() -> None:
    fake: FakeScim = populated()
    _, status = fake_doctor(fake, write_probe=True)
    assert status[("groups", "add member")] == "ok"
