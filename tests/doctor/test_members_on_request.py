"""doctor on a target that shows a group's members only when a read asks for them
(`attributes=members`, RFC 7644 §3.9: Keycloak 26.6+ makes them `returned: request`): its
probes read the group as apply does, so memberships that work are not reported broken."""

from __future__ import annotations

from tests.doctor.test_doctor import fake_doctor
from tests.fakescim import FakeScim


def with_members() -> FakeScim:
    """A target whose one group holds a user, so every read of it has members to show."""
    fake = FakeScim()
    fake.add_group("Ops", [fake.add_user("a@example.com")])
    fake.add_user("b@example.com")
    return fake


def test_members_shown_only_when_asked_are_read_so_and_reported() -> None:
    # Before: "add member" failed ("the group's GET does not show it ... manage memberships
    # in the application itself"), the removal and PUT probes never ran, and the group
    # POST was said to ignore the members it kept.
    fake = with_members()
    fake.members_shown = "asked"
    report, status = fake_doctor(fake, write_probe=True)
    assert not [key for key, value in status.items() if value == "fail"]
    for check in ("members on POST", "add member", "remove member", "members on PUT"):
        assert status[("groups", check)] == "ok", check
    finding = report.finding("groups", "members on request")
    assert (finding.status, finding.observed) == (
        "info",
        "a group's GET shows its members only when asked for them (attributes=members)",
    )
    assert finding.action == "scimrec asks for them where a group's GET shows none, as apply does"
    assert report.finding("groups", "members listed").observed == (
        "the /Groups listing leaves members out; a group's own GET shows them only when "
        "asked (attributes=members)"
    )


def test_members_a_plain_get_shows_need_no_second_read() -> None:
    fake = with_members()
    _, status = fake_doctor(fake, write_probe=True)
    assert status[("groups", "add member")] == "ok"
    assert ("groups", "members on request") not in status
    asked = [s for s in fake.requests if "members" in s.params.get("attributes", "")]
    assert asked == []
