"""A read by id that fails (a 5xx outlasting the retries, a group gone meanwhile) leaves
that object unknown: it is in error, named, never planned as if it were empty or bare."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import ScimrecError
from tests.fakescim import FakeScim
from tests.scim.test_faults import plan_and_apply, replan, user, write_spec

pytestmark = pytest.mark.usefixtures("token")
SLIM = {"schemas", "id", "userName", "active", "meta"}


def _held(fake: FakeScim) -> dict[str, list[str]]:
    return {
        g["displayName"]: sorted(m["value"] for m in g.get("members", []))
        for g in fake.groups.values()
    }


@pytest.mark.parametrize("status", [500, 503, 404])
def test_a_group_whose_read_by_id_fails_is_in_error_not_empty(tmp_path: Path, status: int) -> None:
    fake = FakeScim()
    fake.members_shown = "one"
    a = fake.add_user("a@example.com")
    b = fake.add_user("b@example.com")
    eng = fake.add_group("Eng", [a, b])
    fake.add_group("Ops", [a])
    fake.fail("GET", f"/Groups/{eng}", status=status, times=100)
    specs = write_spec(
        tmp_path,
        [user("a@example.com"), user("b@example.com")],
        [
            {"displayName": "Eng", "members": ["a@example.com"]},
            {"displayName": "Ops", "members": ["a@example.com", "b@example.com"]},
        ],
    )
    prepared, result = plan_and_apply(specs, fake)
    assert [c.key for c in prepared.plan.changes] == ["Ops"]
    (error,) = prepared.plan.errors
    assert (error.key, f"/Groups/{eng}" in error.message) == ("Eng", True)
    assert result.failed == ()
    assert _held(fake) == {"Eng": sorted([a, b]), "Ops": sorted([a, b])}


def test_a_group_whose_members_a_named_read_cannot_give_is_in_error(tmp_path: Path) -> None:
    fake = FakeScim()
    fake.members_shown = "asked"  # only GET /Groups/<id>?attributes=members shows them
    a = fake.add_user("a@example.com")
    b = fake.add_user("b@example.com")
    eng = fake.add_group("Eng", [a, b])
    fake.fail(
        "GET", f"/Groups/{eng}", status=503, times=100, when=lambda s: "attributes" in s.params
    )
    specs = write_spec(
        tmp_path,
        [user("a@example.com"), user("b@example.com")],
        [{"displayName": "Eng", "members": ["a@example.com"]}],
    )
    prepared = replan(specs, fake)
    assert prepared.plan.changes == ()
    assert [e.key for e in prepared.plan.errors] == ["Eng"]


def test_a_user_whose_read_by_id_fails_is_in_error_not_bare(tmp_path: Path) -> None:
    fake = FakeScim()
    fake.listed_user_attributes = SLIM
    fake.add_user("a@example.com", title="Staff")
    b = fake.add_user("b@example.com", title="Old")
    fake.fail("GET", f"/Users/{b}", status=503, times=100)
    specs = write_spec(
        tmp_path,
        [user("a@example.com", title="Staff"), user("b@example.com", title="Old")],
    )
    prepared = replan(specs, fake)
    assert prepared.plan.changes == ()  # not b's title written again, as if unset
    (error,) = prepared.plan.errors
    assert (error.key, f"/Users/{b}" in error.message) == ("b@example.com", True)


def test_bare_users_whose_sample_read_fails_refuse_the_plan(tmp_path: Path) -> None:
    # Which users the listing shows in full is told by one user's own GET: failing, the
    # plan would write every declared attribute of every user again, as if unset.
    fake = FakeScim()
    fake.listed_user_attributes = SLIM
    fake.add_user("a@example.com", title="Staff")
    fake.add_user("b@example.com", title="Old")
    fake.fail("GET", "/Users/*", status=503, times=100)
    specs = write_spec(
        tmp_path,
        [user("a@example.com", title="Staff"), user("b@example.com", title="Old")],
    )
    with pytest.raises(ScimrecError, match=r"GET /Users/u1 answered 503"):
        replan(specs, fake)


@pytest.mark.parametrize("status", [405, 501])
def test_bare_users_on_a_target_with_no_read_by_id_are_compared_as_listed(
    tmp_path: Path, status: int
) -> None:
    fake = FakeScim()
    fake.listed_user_attributes = SLIM
    fake.add_user("a@example.com", active=True)
    fake.add_user("b@example.com", active=True)
    fake.fail("GET", "/Users/*", status=status, times=100)
    specs = write_spec(tmp_path, [user("a@example.com", active=True)])
    assert not replan(specs, fake).plan.has_changes
