"""Two undeclared groups may share a displayName (SCIM makes no group name unique). Under
prune both are deleted, and a plan file names each change by its key: with both keyed
"Contractors", `plan --out` wrote a file apply refused ("a second change"), and one
delete taken out of an edited copy went unseen (the check of what a file leaves out
compares by key). Such strays are keyed by name and id, as is one named like a declared
object's key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from reconciler.cli import main
from reconciler.core.planfile import digest_of
from tests.fakescim import BASE_URL, FakeScim

TOKEN_ENV = "SAME_NAMES_TOKEN"
TOKEN = "tok-same-names-0123456789"


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[FakeScim, Path, list[str]]:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    monkeypatch.delenv("SCIMREC_PLAN_KEY", raising=False)
    fake = FakeScim(token=TOKEN)
    fake.unique_names = False
    bob = fake.add_user("bob@example.com", active=True)
    gids = [fake.add_group("Contractors", [bob]) for _ in range(2)]
    specs = tmp_path / "specs"
    specs.mkdir()
    target = {"url": BASE_URL, "prune": "all", "auth": {"type": "bearer", "token_env": TOKEN_ENV}}
    doc = {"version": 1, "targets": {"prod": target}, "users": [{"userName": "bob@example.com"}]}
    (specs / "spec.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    return fake, specs, gids


def _run(fake: FakeScim, *args: str) -> int:
    return main([*args, "--log-level", "error"], transport=fake.transport)


def test_both_deletes_are_planned_saved_and_applied(
    world: tuple[FakeScim, Path, list[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake, specs, gids = world
    planfile = tmp_path / "plan.json"
    assert _run(fake, "plan", str(specs), "--out", str(planfile)) == 0
    keys = sorted(c["key"] for c in json.loads(planfile.read_text())["plan"]["changes"])
    assert keys == sorted(f"Contractors (id {gid})" for gid in gids)
    code = _run(fake, "apply", "--plan", str(planfile), str(specs))
    assert code == 0, capsys.readouterr().err
    assert fake.groups == {}


def test_one_delete_taken_out_of_the_file_is_refused(
    world: tuple[FakeScim, Path, list[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake, specs, gids = world
    planfile = tmp_path / "plan.json"
    assert _run(fake, "plan", str(specs), "--out", str(planfile)) == 0
    data = json.loads(planfile.read_text())
    data["plan"]["changes"] = [c for c in data["plan"]["changes"] if c["target_id"] != gids[0]]
    data["seen"] = [s for s in data["seen"] if s.get("id") != gids[0]]
    data["digest"] = digest_of({k: v for k, v in data.items() if k != "digest"}, None)
    planfile.write_text(json.dumps(data), encoding="utf-8")
    capsys.readouterr()
    assert _run(fake, "apply", "--plan", str(planfile), str(specs)) == 1
    assert f"group Contractors (id {gids[0]}): the plan leaves out the delete" in (
        capsys.readouterr().err
    )
    assert sorted(fake.groups) == sorted(gids)
    assert [s for s in fake.requests if s.method != "GET"] == []


def test_the_plan_names_each_once_with_its_id(
    world: tuple[FakeScim, Path, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    fake, specs, gids = world
    capsys.readouterr()
    assert _run(fake, "plan", str(specs)) == 0
    out = capsys.readouterr().out
    for gid in gids:
        assert f"  - delete group Contractors (id {gid})\n" in out
