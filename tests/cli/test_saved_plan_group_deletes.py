"""A saved plan is held to the guards and to `protected` as a plan made at apply time is
(DESIGN §6): past the share of deprovisions, it needs --allow-deletes; a group it deletes
takes the group from each of its twenty members, so the delete needs
--allow-member-removals; and a delete of a group that holds a protected account, put into
a plan by hand, is refused with nothing written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cli.test_saved_plans import PEOPLE, TOKEN_ENV, World, refused
from tests.fakescim import BASE_URL


class GroupWorld(World):
    """The twenty users of World, all in group Ops, which the spec deletes."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch, **settings: Any) -> None:
        super().__init__(root, monkeypatch, **settings)
        self.users[0]["title"] = "Engineer"  # no user change: the group's delete alone
        self.ops = self.fake.add_group("Ops", [self.ids[p] for p in PEOPLE])
        self.write_spec()

    def write_spec(self) -> None:
        self.specs.mkdir(exist_ok=True)
        target = {"url": BASE_URL, "auth": {"type": "bearer", "token_env": TOKEN_ENV}}
        doc = {
            "version": 1,
            "targets": {"prod": {**target, **self.settings}},
            "users": self.users,
            "groups": [{"displayName": "Ops", "state": "absent"}],
        }
        (self.specs / "spec.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GroupWorld:
    monkeypatch.delenv("SCIMREC_PLAN_KEY", raising=False)
    return GroupWorld(tmp_path, monkeypatch)


def test_a_saved_group_delete_needs_the_member_removals_allowed(
    world: GroupWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    data = world.plan(capsys)
    assert [(c["key"], c["action"]) for c in data["plan"]["changes"]] == [("Ops", "delete")]
    refused(world.apply(capsys), "20 member removals in one run, more than")
    assert world.writes() == []
    code, _, err = world.apply(capsys, "--allow-member-removals", "20")
    assert code == 0, err
    assert world.writes() == [f"DELETE /Groups/{world.ops}"]


def test_a_group_delete_put_into_a_plan_past_protected_is_refused(
    world: GroupWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    planned = world.plan(capsys)
    [delete] = planned["plan"]["changes"]
    [seen] = planned["seen"]
    world.settings["protected"] = [PEOPLE[7]]
    world.write_spec()
    data = world.plan(capsys)
    assert data["plan"]["changes"] == []
    assert f"group Ops: member {PEOPLE[7]} is protected" in json.dumps(data["plan"]["notes"])
    data["plan"]["changes"] = [delete]
    data["seen"] = [seen]
    world.save(data)
    refused(
        world.apply(capsys, "--allow-member-removals", "20", "--allow-deletes", "1"),
        f"the plan goes past the spec's `protected`: group Ops: member {PEOPLE[7]} is protected",
    )
    assert world.writes() == []
    assert world.ops in world.fake.groups


def test_a_saved_plan_past_the_percent_cap_needs_its_deprovisions_allowed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SCIMREC_PLAN_KEY", raising=False)
    world = World(tmp_path, monkeypatch, guards={"max_deletes": 100, "max_delete_percent": 10})
    for user in world.users[1:4]:
        user["state"] = "absent"  # 3 of 20: 15%, under max_deletes, past the share
    world.write_spec()
    world.plan(capsys)
    refused(world.apply(capsys), "3 of 20 users (15.0%) would be deprovisioned")
    assert world.writes() == []
    code, out, err = world.apply(capsys, "--allow-deletes", "3")
    assert code == 0, err
    assert "3 disabled" in out
    assert len([w for w in world.writes() if w.startswith("PATCH")]) == 4
