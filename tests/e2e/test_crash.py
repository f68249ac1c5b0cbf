"""Interrupted applies: SIGKILL at several points, or Ctrl-C, then run again and converge."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TOKEN_ENV, Target, write_spec
from tests.e2e.test_lifecycle import assert_converged, listing, person, run

ROOT = Path(__file__).resolve().parents[2]
USERS = 150


def big_spec(target: Target, root: Path, **settings: Any) -> Path:
    users = [person(target, f"user{i:03d}@example.com", f"U{i}", "Test") for i in range(USERS)]
    groups = [
        {"displayName": f"Team {t}", "members": [u["userName"] for u in users[t::3]]}
        for t in range(3)
    ]
    # Two workers and small member chunks: many writes, so a kill lands mid-run.
    return write_spec(root, target, users, groups, concurrency=2, membership_chunk=10, **settings)


def start_apply(specs: Path, target: Target, stdout: Path) -> subprocess.Popen[str]:
    """The CLI in its own process; stdout goes to a file so a large plan cannot block it."""
    env = {**os.environ, TOKEN_ENV: target.token}
    command = [sys.executable, "-m", "reconciler", "apply", str(specs), "--target", "e2e"]
    with stdout.open("w") as sink:
        return subprocess.Popen(
            [*command, "--auto-approve"],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.PIPE,
            text=True,
            # As at a terminal: a suite started in the background (`make test &`) ignores
            # SIGINT, children inherit that, and Python then never raises KeyboardInterrupt.
            preexec_fn=_default_sigint,  # noqa: PLW1509 - only resets one signal
        )


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_for_writes(process: subprocess.Popen[str], count: int) -> int:
    """Read the JSON log until `count` writes are done; returns how many were seen."""
    assert process.stderr is not None
    seen = 0
    for line in process.stderr:
        try:
            event: dict[str, Any] = json.loads(line)
        except ValueError:
            continue
        if event.get("event") == "write":
            seen += 1
            if seen >= count:
                break
    return seen


def assert_exactly_declared(target: Target) -> None:
    names = Counter(u["userName"].casefold() for u in listing(target, "/Users"))
    assert len(names) == USERS
    assert max(names.values()) == 1, "a duplicate user was created"
    groups = listing(target, "/Groups")
    assert sorted(g["displayName"] for g in groups) == ["Team 0", "Team 1", "Team 2"]
    assert sum(len(g.get("members") or []) for g in groups) == USERS


@pytest.mark.parametrize("kill_after", [5, 90, USERS + 4])
def test_sigkill_then_rerun_converges(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str], kill_after: int
) -> None:
    specs = big_spec(target, tmp_path / "specs")
    process = start_apply(specs, target, tmp_path / "stdout")
    seen = wait_for_writes(process, kill_after)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    assert seen == kill_after, "the apply finished before it could be killed"

    code, out, err = run(
        capsys, "apply", str(specs), "--target", "e2e", "--auto-approve", "--log-level", "warning"
    )
    assert code == 0, out + err
    assert_converged(capsys, specs)
    assert_exactly_declared(target)


@pytest.mark.parametrize("bulk", ["never", "use"])
def test_ctrl_c_stops_cleanly_with_a_summary(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str], bulk: str
) -> None:
    if bulk == "use" and target.flavour != "scim2-server":
        pytest.skip("django-scim2 and Better Auth do not advertise Bulk: as bulk: never")
    specs = big_spec(target, tmp_path / "specs", quirks={"bulk": bulk})
    process = start_apply(specs, target, tmp_path / "stdout")
    wait_for_writes(process, 20)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    out = (tmp_path / "stdout").read_text()
    assert process.returncode == 130, err[-2000:]
    assert "Traceback" not in out + err
    assert "Interrupted: stopped after the requests in flight;" in out
    assert "Apply complete" in out or "Apply finished" in out
    created = len(listing(target, "/Users"))
    # One request per create stops among the users; through Bulk they were one request,
    # and Ctrl-C lands in what follows (verification, the groups).
    assert 20 <= created < USERS if bulk == "never" else created == USERS

    assert (
        run(
            capsys,
            "apply",
            str(specs),
            "--target",
            "e2e",
            "--auto-approve",
            "--log-level",
            "warning",
        )[0]
        == 0
    )
    assert_exactly_declared(target)
