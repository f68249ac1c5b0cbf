"""An untyped member whose id is a group's is not taken for that group where the read may
not have shown a user with the id.

Where each kind is counted from 1 (django-scim2), user "1" and group "1" both exist. A group
holding user "1" untyped, beside no nested group "1", may be read as holding group "1" when
no listed user has that id: in lookup mode (only declared users are looked up) or when the
listing hides the user. A removal of "that nested group" names the value alone, and takes
the user out of the group: a removal no spec asked for.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
import stamina

from tests.fakescim import FakeScim
from tests.scim.conftest import TOKEN, TOKEN_ENV
from tests.scim.test_faults import outcomes, plan_and_apply, replan, user, write_spec

BOB, CAROL = "bob@example.com", "carol@example.com"


@pytest.fixture(autouse=True)
def _setup(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    stamina.set_testing(True)
    yield
    stamina.set_testing(False)


def _target() -> tuple[FakeScim, str, str]:
    """carol is user "1" (undeclared), Inner is group "1"; Outer holds carol and bob, untyped."""
    fake = FakeScim(token=TOKEN)
    fake.ids_per_kind = True
    carol, bob = fake.add_user(CAROL), fake.add_user(BOB)
    inner = fake.add_group("Inner")
    outer = fake.add_group("Outer", [carol, bob])
    assert carol == inner == "1"
    return fake, carol, outer


@pytest.mark.parametrize("read", ["lookup mode", "user hidden from the listing"])
def test_an_unseen_user_is_not_removed_as_the_nested_group_of_its_id(
    tmp_path: Path, read: str
) -> None:
    fake, carol, outer = _target()
    settings: dict[str, object] = {}
    if read == "lookup mode":
        settings["quirks"] = {"listing": "none"}
    else:
        fake.hidden.add(carol)
        fake.hidden_kinds = {"User"}
    groups = [{"displayName": "Outer", "members": [BOB]}, {"displayName": "Inner", "members": []}]
    specs = write_spec(
        tmp_path,
        [user(BOB)],
        groups,
        nested_groups="native",
        guards={"max_member_removals": 10, "max_member_removal_percent": 100},
        **settings,
    )
    prepared, result = plan_and_apply(specs, fake)
    assert result.failed == (), outcomes(result)
    assert all(not c.members_remove for c in prepared.plan.changes)
    assert {"value": carol} in fake.groups[outer]["members"]
    if read == "lookup mode":  # a listing that hid her is incomplete: it says so already
        assert (
            "group Outer: 1 untyped member(s) with a nested group's id may be users the read "
            "did not show; they are left in place"
        ) in prepared.plan.notes


def test_an_untyped_nested_group_the_target_confirms_is_still_removed(tmp_path: Path) -> None:
    # No user has id "1" (the target answers 404): the untyped entry is the nested group.
    fake, carol, outer = _target()
    del fake.users[carol]
    groups = [{"displayName": "Outer", "members": [BOB]}, {"displayName": "Inner", "members": []}]
    specs = write_spec(
        tmp_path,
        [user(BOB)],
        groups,
        nested_groups="native",
        guards={"max_member_removals": 10, "max_member_removal_percent": 100},
    )
    _, result = plan_and_apply(specs, fake)
    assert result.failed == (), outcomes(result)
    assert fake.groups[outer]["members"] == [{"value": fake.user_named(BOB)[0]["id"]}]
    assert not replan(specs, fake).plan.has_changes


class OneIdSpace(FakeScim):
    """Serves each resource at either endpoint: GET /Users/<a group's id> is that group."""

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        *_, endpoint, rid = request.url.path.rsplit("/", 2)
        if request.method == "GET" and endpoint == "Users" and rid in self.groups:
            return httpx2.Response(200, json=self.groups[rid])
        return super().handle(request)


def test_a_target_that_answers_for_a_group_at_users_confirms_it_is_no_user(
    tmp_path: Path,
) -> None:
    # The group it answers with is not a user the listing hid: no error, no short read,
    # and the untyped nested group is removed as the spec says.
    fake = OneIdSpace(token=TOKEN)
    bob = fake.add_user(BOB)
    inner = fake.add_group("Inner")
    outer = fake.add_group("Outer", [bob, inner])
    groups = [{"displayName": "Outer", "members": [BOB]}, {"displayName": "Inner", "members": []}]
    specs = write_spec(
        tmp_path,
        [user(BOB)],
        groups,
        nested_groups="native",
        prune="all",
        guards={"max_member_removals": 10, "max_member_removal_percent": 100},
    )
    prepared, result = plan_and_apply(specs, fake)
    assert prepared.plan.errors == ()
    assert prepared.plan.complete_read
    assert result.failed == (), outcomes(result)
    assert fake.groups[outer]["members"] == [{"value": bob}]
    assert not replan(specs, fake).plan.has_changes
