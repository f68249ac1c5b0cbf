"""Nested groups a /Groups listing leaves out (Fleet, fleetdm/fleet#52501: the listing shows
each group's users, `GET /Groups/<id>` its nested groups too) are read by id where the plan
manages them (`nested_groups: native`): the plan converges, and takes out a nested group
the spec no longer names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.cli import main
from tests.fakescim import FakeScim
from tests.scim.test_faults import plan_and_apply, replan, user, write_spec

pytestmark = pytest.mark.usefixtures("token")

USERS = [user("alice@example.com"), user("bob@example.com")]


def teams(nested: list[str]) -> list[dict[str, Any]]:
    return [
        {"displayName": "Platform", "members": ["bob@example.com"]},
        {"displayName": "Engineering", "members": ["alice@example.com"], "groups": nested},
    ]


def held(fake: FakeScim, name: str) -> list[tuple[str, str | None]]:
    (group,) = (g for g in fake.groups.values() if g["displayName"] == name)
    return sorted((m["value"], m.get("type")) for m in group.get("members", []))


def test_a_nested_group_the_listing_hides_is_added_once_and_removed(tmp_path: Path) -> None:
    # Before: every apply added Platform again ("1 updated", never "No changes"), and once
    # the spec dropped it, the plan said "No changes" while Engineering still held it.
    fake = FakeScim()
    fake.nested_unlisted = True
    specs = write_spec(tmp_path, USERS, teams(["Platform"]), nested_groups="native")
    _, result = plan_and_apply(specs, fake)
    assert result.failed == ()
    (platform,) = (gid for gid, g in fake.groups.items() if g["displayName"] == "Platform")
    assert (platform, "Group") in held(fake, "Engineering")

    again = replan(specs, fake)
    assert not again.plan.has_changes
    assert any("leaves nested groups out" in n for n in again.plan.notes)

    write_spec(tmp_path, USERS, teams([]), nested_groups="native")
    prepared, result = plan_and_apply(specs, fake)
    (change,) = prepared.plan.changes
    assert (change.key, [m.id for m in change.members_remove]) == ("Engineering", [platform])
    assert result.failed == ()
    assert (platform, "Group") not in held(fake, "Engineering")
    assert not replan(specs, fake).plan.has_changes


def test_a_listing_that_shows_nested_groups_is_not_read_again(tmp_path: Path) -> None:
    fake = FakeScim()
    specs = write_spec(tmp_path, USERS, teams(["Platform"]), nested_groups="native")
    plan_and_apply(specs, fake)
    fake.requests.clear()
    assert not replan(specs, fake).plan.has_changes
    assert fake.count("GET", "/Groups/*") == 0


def test_without_native_nesting_no_group_is_read(tmp_path: Path) -> None:
    fake = FakeScim()
    fake.nested_unlisted = True
    specs = write_spec(tmp_path, USERS, teams(["Platform"]))  # flattened: users only
    plan_and_apply(specs, fake)
    fake.requests.clear()
    assert not replan(specs, fake).plan.has_changes
    assert fake.count("GET", "/Groups/*") == 0


def test_a_saved_plan_reads_them_as_its_plan_did(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeScim()
    fake.nested_unlisted = True
    specs = tmp_path / "specs"
    specs.mkdir()
    write_spec(specs, USERS, teams(["Platform"]), nested_groups="native")
    plan_and_apply(specs, fake)
    write_spec(specs, USERS, teams([]), nested_groups="native")
    saved = tmp_path / "plan.json"
    quiet = ["--log-level", "error"]
    assert main(["plan", str(specs), "--out", str(saved), *quiet], transport=fake.transport) == 0
    code = main(["apply", "--plan", str(saved), str(specs), *quiet], transport=fake.transport)
    assert code == 0, capsys.readouterr().err
    assert [t for _, t in held(fake, "Engineering")] == [None]  # alice alone


def test_groups_that_nest_nothing_cost_a_sample_of_reads(tmp_path: Path) -> None:
    # Thirty groups, none nested, and nothing to change: five are read to tell whether
    # the listing hides nesting, not one a group on every plan.
    fake = FakeScim()
    fake.nested_unlisted = True
    alice = fake.add_user("alice@example.com")
    names = [f"G{n:02}" for n in range(30)]
    for name in names:
        fake.add_group(name, [alice])
    groups = [{"displayName": n, "members": ["alice@example.com"]} for n in names]
    specs = write_spec(tmp_path, [user("alice@example.com")], groups, nested_groups="native")
    prepared = replan(specs, fake)
    assert prepared.plan.changes == ()
    assert fake.count("GET", "/Groups/*") == 5
