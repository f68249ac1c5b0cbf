"""doctor: whether the listings show users' attributes and groups' members as a resource's
own GET does (scimrec reads one by one where they do not: scim/reads_by_id.py)."""

from __future__ import annotations

from tests.doctor.test_doctor import fake_doctor
from tests.fakescim import FakeScim

SLIM = {"schemas", "id", "userName", "active", "meta"}


def findings(fake: FakeScim) -> dict[str, tuple[str, str, str]]:
    report, _ = fake_doctor(fake, write_probe=False)
    return {
        f.check: (f.status, f.observed, f.action)
        for f in report.findings
        if f.check in ("attributes listed", "members listed")
    }


def test_listings_that_show_everything_are_ok() -> None:
    fake = FakeScim()
    a = fake.add_user("a@example.com", title="T")
    fake.add_group("Eng", [a])
    seen = findings(fake)
    assert {check: status for check, (status, _, _) in seen.items()} == {
        "attributes listed": "ok",
        "members listed": "ok",
    }


def test_listings_that_leave_things_out_are_warned_of() -> None:
    fake = FakeScim()
    fake.listed_user_attributes = SLIM
    fake.members_shown = "one"
    a = fake.add_user("a@example.com", title="T", nickName="A")
    fake.add_group("Eng", [a])
    seen = findings(fake)
    assert seen["attributes listed"] == (
        "warn",
        "the /Users listing leaves out nickName, title, which GET /Users/<id> shows",
        "scimrec reads every user by id on each plan (up to 1000)",
    )
    assert seen["members listed"] == (
        "warn",
        "the /Groups listing leaves members out; a group's own GET shows them",
        "scimrec reads every group by id on each plan (up to 1000)",
    )


def test_a_listing_that_shows_some_attributes_and_not_others_is_not_read_again() -> None:
    fake = FakeScim()
    fake.listed_user_attributes = SLIM | {"name"}
    fake.add_user("a@example.com", name={"givenName": "A"}, title="T")
    status, _, action = findings(fake)["attributes listed"]
    assert (status, action) == (
        "warn",
        "declared attributes the listing leaves out are written again on every run",
    )
