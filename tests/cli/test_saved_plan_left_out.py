"""A reviewed change taken out of a saved plan is never skipped in silence.

Without SCIMREC_PLAN_KEY the file carries a SHA-256 that anyone can compute again, so
whoever can edit the artifact between the plan job and the apply job can delete a change
(a leaver's disable, say) and its `seen` entry. `apply --plan` must then refuse the whole
plan (exit 1, one line naming the object, nothing written), as it refuses an edited or
added change: the plan made at apply time and the file must agree both ways. What may
legitimately differ between the two, the order of the changes and the values new on every
run, must still apply. A FakeScim stands in for the target.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.cli import main
from reconciler.core.planfile import digest_of
from tests.fakescim import BASE_URL, FakeScim

TOKEN_ENV = "LEFT_OUT_PLAN_TOKEN"
TOKEN = "tok-left-out-plan-0123456789"


class World:
    """bob is promoted, mallory leaves, eve leaves the group Eng, and new@ joins."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch, leaver: str) -> None:
        monkeypatch.setenv(TOKEN_ENV, TOKEN)
        monkeypatch.delenv("SCIMREC_PLAN_KEY", raising=False)
        self.leaver = leaver
        self.fake = FakeScim(token=TOKEN)
        self.ids = {
            name: self.fake.add_user(f"{name}@example.com", active=True, title="Engineer")
            for name in ("bob", "mallory", "eve")
        }
        self.fake.add_group("Eng", [self.ids["bob"], self.ids["eve"]])
        self.specs = root / "specs"
        self.specs.mkdir()
        self.planfile = root / "plan.json"
        target = {
            "url": BASE_URL,
            "auth": {"type": "bearer", "token_env": TOKEN_ENV},
            "deprovision": {"action": leaver},
            "prune": "all",
        }
        users = [
            {"userName": "bob@example.com", "title": "Principal Engineer"},
            {"userName": "mallory@example.com", "state": "absent"},
            {"userName": "eve@example.com", "title": "Engineer"},
            {"userName": "new@example.com", "title": "Engineer"},
        ]
        groups = [{"displayName": "Eng", "members": ["bob@example.com"]}]
        doc = {"version": 1, "targets": {"prod": target}, "users": users, "groups": groups}
        (self.specs / "spec.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")

    def run(self, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
        self.fake.requests.clear()
        code = main([*args, "--log-level", "error"], transport=self.fake.transport)
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return code, out, err

    def plan(self, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
        code, _, err = self.run(capsys, "plan", str(self.specs), "--out", str(self.planfile))
        assert code == 0, err
        data: dict[str, Any] = json.loads(self.planfile.read_text(encoding="utf-8"))
        return data

    def save(self, data: dict[str, Any]) -> None:
        """Write `data` as the plan file, digested again as anyone without the key can."""
        content = {k: v for k, v in data.items() if k != "digest"}
        data["digest"] = digest_of(content, None)
        self.planfile.write_text(json.dumps(data), encoding="utf-8")

    def apply(self, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
        return self.run(capsys, "apply", "--plan", str(self.planfile), str(self.specs))

    def writes(self) -> list[str]:
        return [f"{s.method} {s.path}" for s in self.fake.requests if s.method != "GET"]


@pytest.fixture(params=["disable", "delete"])
def world(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    return World(tmp_path, monkeypatch, request.param)


def take_out(data: dict[str, Any], *keys: str) -> None:
    """Remove the changes to these objects and their `seen` entries, as an editor would."""
    found = {c["key"] for c in data["plan"]["changes"]} & set(keys)
    assert found == set(keys)
    data["plan"]["changes"] = [c for c in data["plan"]["changes"] if c["key"] not in keys]
    data["seen"] = [s for s in data["seen"] if s["key"] not in keys]


def refused(result: tuple[int, str, str], message: str) -> None:
    code, out, err = result
    assert code == 1, out + err
    assert err.startswith("Error: refusing to apply "), err
    assert err.count("\n") == 1, err
    assert message in err, err
    assert err.rstrip().endswith("nothing was written. Make a new plan."), err


def test_the_reviewed_plan_holds_every_kind_of_change(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    data = world.plan(capsys)
    changes = {(c["kind"], c["key"]): c["action"] for c in data["plan"]["changes"]}
    assert changes == {
        ("user", "new@example.com"): "create",
        ("user", "bob@example.com"): "update",
        ("user", "mallory@example.com"): world.leaver,
        ("group", "Eng"): "update",
    }
    code, out, err = world.apply(capsys)
    assert code == 0, err
    assert "Apply complete: 1 created, 2 updated" in out


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (("mallory@example.com",), "user mallory@example.com: the plan leaves out the "),
        (("bob@example.com",), "user bob@example.com: the plan leaves out the update the spec"),
        (("Eng",), "group Eng: the plan leaves out the update the spec and the target call for"),
        (("new@example.com",), "user new@example.com: the plan leaves out the create the spec"),
        (("mallory@example.com", "Eng"), "(and 1 more); nothing was written"),
    ],
    ids=["leaver", "update", "member removal", "create", "two"],
)
def test_a_change_taken_out_of_the_file_refuses_the_plan(
    world: World, capsys: pytest.CaptureFixture[str], keys: tuple[str, ...], message: str
) -> None:
    data = world.plan(capsys)
    take_out(data, *keys)
    world.save(data)
    refused(world.apply(capsys), message)
    assert world.writes() == []
    assert world.fake.users[world.ids["mallory"]]["active"] is True
    assert len(world.fake.users) == 3


def test_a_seen_entry_taken_out_alone_refuses_the_plan(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    # Each change must say what the plan saw of its object, or its staleness is unchecked.
    data = world.plan(capsys)
    data["seen"] = [s for s in data["seen"] if s["key"] != "mallory@example.com"]
    world.save(data)
    code, _, err = world.apply(capsys)
    assert code == 1
    assert err.count("\n") == 1, err
    assert "seen: nothing recorded for the change to user mallory@example.com" in err
    assert world.writes() == []


def test_a_stray_that_appeared_since_the_plan_refuses_it(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    # Drift that calls for a change the reviewed plan did not hold: it is not what would run.
    world.plan(capsys)
    world.fake.add_user("stray@example.com", active=True)
    refused(world.apply(capsys), "user stray@example.com: the plan leaves out the ")
    assert world.writes() == []


def test_a_file_in_another_order_is_the_plan_reviewed(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    # The order of changes and of `seen` carries no meaning; the new user's id is the
    # target's to give, after the plan.
    data = world.plan(capsys)
    data["plan"]["changes"].reverse()
    data["seen"].reverse()
    world.save(data)
    code, out, err = world.apply(capsys)
    assert code == 0, err
    assert "Apply complete: 1 created, 2 updated" in out
    code, out, _ = world.run(capsys, "plan", str(world.specs))
    assert code == 0
    assert "\nNo changes. The target matches the spec" in out


def test_a_plan_narrowed_with_only_applies_only_when_nothing_else_is_due(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    # Without a key a narrowed file and one with changes taken out look alike: the rest of
    # what the spec calls for refuses it, and `apply --only` is the way to apply a part.
    specs, plan = str(world.specs), str(world.planfile)
    code, _, err = world.run(capsys, "plan", specs, "--only", "user:bob@example.com", "--out", plan)
    assert code == 0, err
    left_out = "user new@example.com: the plan leaves out the create the spec and the target"
    refused(world.apply(capsys), left_out + " call for (and 2 more); nothing was written")
    assert world.writes() == []
    code, _, err = world.run(capsys, "apply", "--plan", plan, specs, "--only", "user:bob")
    assert (code, err) == (
        1,
        "Error: --only cannot narrow a saved plan; apply SPECS with --only and --auto-approve "
        "instead\n",
    )
    code, _, err = world.run(capsys, "apply", specs, "--auto-approve")
    assert code == 0, err
    world.fake.users[world.ids["bob"]]["title"] = "Engineer"  # bob's change is due again
    world.run(capsys, "plan", specs, "--only", "user:bob@example.com", "--out", plan)
    code, out, err = world.apply(capsys)
    assert code == 0, err
    assert "Apply complete: 0 created, 1 updated" in out
    assert world.writes() == [f"PATCH /Users/{world.ids['bob']}"]


def test_a_signed_plan_narrowed_with_only_applies_what_it_holds(
    world: World, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # With a key no change can be taken out unseen: a plan made with --only, or one that
    # drift has left behind, applies exactly what it holds, and nothing besides.
    monkeypatch.setenv("SCIMREC_PLAN_KEY", "a-key-of-the-team-0123456789")
    specs, plan = str(world.specs), str(world.planfile)
    code, _, err = world.run(capsys, "plan", specs, "--only", "user:bob@example.com", "--out", plan)
    assert code == 0, err
    world.fake.add_user("stray@example.com", active=True)
    code, out, err = world.apply(capsys)
    assert code == 0, err
    assert "Apply complete: 0 created, 1 updated" in out
    assert world.writes() == [f"PATCH /Users/{world.ids['bob']}"]
