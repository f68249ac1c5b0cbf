"""Two applies at once on one target leave no duplicates (issue 12 §6), on the real servers.

Two runs of the CLI start together on an empty target with the same spec; each plans every
object as a create. Users are unique on these servers (a 409 is adopted); groups are not,
so each run looks a group up right before creating it and verifies after: what is left
is exactly the declared objects, once each, with their members.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import TOKEN_ENV, Target, write_spec
from tests.e2e.test_lifecycle import assert_converged, listing, person

ROOT = Path(__file__).resolve().parents[2]


def test_two_applies_at_once_create_no_duplicates(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    users = [person(target, f"user{i:02d}@example.com", f"U{i}", "Test") for i in range(12)]
    groups = [
        {"displayName": f"Team {t}", "members": [u["userName"] for u in users[t::4]]}
        for t in range(6)
    ]
    specs = write_spec(tmp_path / "specs", target, users, groups, concurrency=4)
    env = {**os.environ, TOKEN_ENV: target.token}
    command = [sys.executable, "-m", "reconciler", "apply", str(specs), "--target", "e2e"]
    runs = [
        subprocess.Popen(
            [*command, "--auto-approve", "--log-level", "warning"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=120) for run in runs]
    for (out, err), run in zip(outputs, runs, strict=True):
        assert "Traceback" not in out + err
        assert run.returncode in (0, 1), out + err
    names = Counter(g["displayName"] for g in listing(target, "/Groups"))
    assert names == Counter({f"Team {t}": 1 for t in range(6)})
    people = Counter(str(u["userName"]).casefold() for u in listing(target, "/Users"))
    assert set(people.values()) == {1}
    assert len(people) == 12
    # Whatever either run could not finish, the next plan finishes: then nothing is left.
    assert_converged_after_one_more_apply(capsys, specs)


def assert_converged_after_one_more_apply(capsys: pytest.CaptureFixture[str], specs: Path) -> None:
    from reconciler.cli import main

    assert main(["apply", str(specs), "--target", "e2e", "--auto-approve"]) == 0
    capsys.readouterr()
    assert_converged(capsys, specs)
