"""A group deleted takes the group from each of its members, so they count as member
removals (DESIGN §6), even on a target that lists some groups without their members (as
one that leaves out its largest groups' members does): the groups a plan deletes are read
for their members before the guards count them and before `protected` is checked, for a
plan made now and for a saved plan applied later."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.cli import main
from tests.cli.test_apply_last_checks import TOKEN, TOKEN_ENV, write_spec
from tests.fakescim import FakeScim


def listed_without_members(monkeypatch: pytest.MonkeyPatch) -> tuple[FakeScim, str]:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    fake = FakeScim(token=TOKEN)
    ids = [fake.add_user(f"u{i:02d}@example.com", active=True) for i in range(20)]
    ops = fake.add_group("Ops", ids)
    # Another group listed whole: the listing shows members, so the import reads no group
    # by id (scim/group_reads.py), and Ops, listed without its own, looks empty.
    fake.add_group("Eng", ids[:1])
    fake.list_without_members = {ops}
    return fake, ops


def deletes(fake: FakeScim) -> list[str]:
    return [s.path for s in fake.requests if s.method == "DELETE"]


def test_its_members_count_though_the_listing_did_not_show_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake, ops = listed_without_members(monkeypatch)
    specs = write_spec(tmp_path, {}, [], [{"displayName": "Ops", "state": "absent"}])
    argv = ["apply", str(specs), "--auto-approve", "--log-level", "error"]
    code = main(argv, transport=fake.transport)
    _, err = capsys.readouterr()
    assert code == 1
    assert "20 member removals in one run, more than guards.max_member_removals (10)" in err
    assert ops in fake.groups
    assert deletes(fake) == []
    code = main([*argv, "--allow-member-removals", "20"], transport=fake.transport)
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert deletes(fake) == [f"/Groups/{ops}"]


def test_a_protected_member_the_listing_did_not_show_keeps_the_group_from_the_plan_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake, ops = listed_without_members(monkeypatch)
    fake.users[next(iter(fake.users))]["userName"] = "admin@example.com"
    target = {"protected": ["admin@*"]}
    specs = write_spec(tmp_path, target, [], [{"displayName": "Ops", "state": "absent"}])
    argv = ["apply", str(specs), "--auto-approve", "--log-level", "error"]
    code = main([*argv, "--allow-member-removals", "20"], transport=fake.transport)
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "No changes." in out
    assert "group Ops: member admin@example.com is protected: the group is not deleted" in out
    assert ops in fake.groups
    assert deletes(fake) == []


def test_a_saved_plan_counts_them_too_and_is_not_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SCIMREC_PLAN_KEY", raising=False)
    fake, ops = listed_without_members(monkeypatch)
    specs = write_spec(tmp_path, {}, [], [{"displayName": "Ops", "state": "absent"}])
    saved = tmp_path / "plan.json"
    code = main(["plan", str(specs), "--out", str(saved)], transport=fake.transport)
    assert code in (0, 2), capsys.readouterr()
    capsys.readouterr()
    code = main(["apply", "--plan", str(saved), str(specs)], transport=fake.transport)
    _, err = capsys.readouterr()
    assert code == 1
    assert "20 member removals in one run" in err, err
    assert deletes(fake) == []
    argv = ["apply", "--plan", str(saved), str(specs), "--allow-member-removals", "20"]
    code = main(argv, transport=fake.transport)
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert deletes(fake) == [f"/Groups/{ops}"]
