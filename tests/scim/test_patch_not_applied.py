"""A user PATCH answered with success whose answer shows none of it applied (a target that
cannot parse the path, such as the enterprise extension's URN, and ignores it) is sent
again as a GET-merge-PUT; where PUT does not keep it either, apply warns as before and
tries PUT for that attribute no more in the run."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from reconciler.core.model import Kind
from reconciler.report.render import not_kept_warning
from tests.fakescim import ENTERPRISE_URN, FakeScim
from tests.scim.test_faults import plan_and_apply, replan, user, write_spec

pytestmark = pytest.mark.usefixtures("token")


def _writes(fake: FakeScim) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in fake.requests if r.method in ("PATCH", "PUT", "DELETE")]


def _two_titles_ignored(tmp_path: Path) -> tuple[FakeScim, str, str, Path]:
    """Two users whose title the spec changes, each PATCH answered with the user as it
    was; applied one at a time, so the second comes after the first's PUT."""
    fake = FakeScim()
    a = fake.add_user("a@example.com", title="Old")
    b = fake.add_user("b@example.com", title="Old")
    for uid in (a, b):
        fake.fail("PATCH", f"/Users/{uid}", status=200, body=copy.deepcopy(fake.users[uid]))
    specs = write_spec(
        tmp_path,
        [user("a@example.com", title="Staff"), user("b@example.com", title="Staff")],
        concurrency=1,
    )
    return fake, a, b, specs


def test_a_patch_the_target_ignores_is_sent_again_as_put(tmp_path: Path) -> None:
    fake = FakeScim()
    uid = fake.add_user(
        "a@example.com", active=True, **{ENTERPRISE_URN: {"department": "Engineering"}}
    )
    # Answered 200 with the user as it was: the PATCH changed nothing.
    fake.fail("PATCH", "/Users/*", status=200, body=copy.deepcopy(fake.users[uid]))
    specs = write_spec(
        tmp_path, [user("a@example.com", active=True, enterprise={"department": "Research"})]
    )
    _, result = plan_and_apply(specs, fake)
    assert result.failed == ()
    assert result.not_kept == ()
    assert _writes(fake) == [("PATCH", f"/Users/{uid}"), ("PUT", f"/Users/{uid}")]
    assert fake.users[uid][ENTERPRISE_URN] == {"department": "Research"}
    assert fake.users[uid]["active"] is True
    assert not replan(specs, fake).plan.has_changes


def test_what_put_does_not_keep_either_is_reported_and_not_put_again(tmp_path: Path) -> None:
    fake, a, b, specs = _two_titles_ignored(tmp_path)
    fake.drops.add("title")  # and a PUT answered success without it
    _, result = plan_and_apply(specs, fake)
    assert result.failed == ()
    assert {key: paths for _, key, paths in result.not_kept} == {
        "a@example.com": ("title",),
        "b@example.com": ("title",),
    }
    # One PUT tried, for the first user; the second only PATCHed.
    assert _writes(fake) == [
        ("PATCH", f"/Users/{a}"),
        ("PUT", f"/Users/{a}"),
        ("PATCH", f"/Users/{b}"),
    ]


def test_an_attribute_never_held_is_not_put_again(tmp_path: Path) -> None:
    # A target that does not store it drops it from any request: no PUT is worth sending.
    fake = FakeScim()
    fake.drops.add("title")
    uid = fake.add_user("a@example.com")
    specs = write_spec(tmp_path, [user("a@example.com", title="Staff")])
    _, result = plan_and_apply(specs, fake)
    assert _writes(fake) == [("PATCH", f"/Users/{uid}")]
    assert [paths for _, _, paths in result.not_kept] == [("title",)]


def test_groups_are_never_put_after_a_patch(tmp_path: Path) -> None:
    # A group's PUT carries its members: a PATCH answered as not applied is only reported.
    fake = FakeScim()
    gid = fake.add_group("Eng")
    fake.groups[gid]["externalId"] = "old"
    fake.fail("PATCH", "/Groups/*", status=200, body=copy.deepcopy(fake.groups[gid]))
    specs = write_spec(tmp_path, [], [{"displayName": "Eng", "externalId": "new"}])
    _, result = plan_and_apply(specs, fake)
    assert _writes(fake) == [("PATCH", f"/Groups/{gid}")]
    assert [(key, paths) for _, key, paths in result.not_kept] == [("Eng", ("externalId",))]


def test_a_group_attribute_not_kept_is_not_offered_the_users_quirk() -> None:
    # not_kept: [externalId] would stop managing every user's externalId on the target.
    text = not_kept_warning([(Kind.GROUP, "Eng", ("externalId",))])
    assert text.splitlines() == [
        "Warning: the target did not keep what it was sent, so the next plan would propose "
        "it again:",
        "  group Eng: not kept by the target: externalId",
        "A group's attributes are not covered by quirks: not_kept (users only): run plan to "
        "see whether the target holds them, and stop declaring those it does not keep.",
    ]
    mixed = not_kept_warning(
        [(Kind.GROUP, "Eng", ("externalId",)), (Kind.USER, "a@example.com", ("title",))]
    )
    assert "quirks: {not_kept: [title]}" in mixed
    assert "not_kept: [externalId" not in mixed


def test_a_refused_put_leaves_the_patch_and_the_warning(tmp_path: Path) -> None:
    # As a refused narrow PATCH does (test_repairs.py): the user is not failed for the
    # second try, what was not kept is reported, and no later user is PUT for it.
    fake, a, b, specs = _two_titles_ignored(tmp_path)
    fake.fail("PUT", "/Users/*", status=501)
    _, result = plan_and_apply(specs, fake)
    assert result.failed == ()
    assert {key: paths for _, key, paths in result.not_kept} == {
        "a@example.com": ("title",),
        "b@example.com": ("title",),
    }
    assert _writes(fake) == [
        ("PATCH", f"/Users/{a}"),
        ("PUT", f"/Users/{a}"),
        ("PATCH", f"/Users/{b}"),
    ]
