"""Terminal behaviour: progress and colour on a TTY, none when piped, NO_COLOR respected."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.scim.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "terminal-test-token"


@pytest.fixture(scope="module")
def terminal_specs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    sandbox = Sandbox(token=TOKEN).start()
    root = tmp_path_factory.mktemp("specs")
    users = "".join(f"  - userName: u{i}@example.com\n" for i in range(300))
    (root / "spec.yaml").write_text(
        f"version: 1\ntargets:\n  t:\n    url: {sandbox.url}\n    page_size: 20\n"
        f"    auth: {{type: bearer, token_env: TERMINAL_TOKEN}}\nusers:\n{users}"
    )
    yield root
    sandbox.stop()


def run(
    args: list[str], *, tty_out: bool, tty_err: bool, env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    """Run the CLI with stdout and/or stderr on a pseudo-terminal; returns what each got."""
    inherited = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    environ = inherited | {"TERMINAL_TOKEN": TOKEN, "COLUMNS": "120"} | (env or {})
    fds: dict[str, tuple[int, int]] = {}
    streams = {}
    for name, wanted in (("out", tty_out), ("err", tty_err)):
        if wanted:
            fds[name] = pty.openpty()
            streams[name] = fds[name][1]
        else:
            streams[name] = subprocess.PIPE
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", *args],
        cwd=ROOT,
        env=environ,
        stdout=streams["out"],
        stderr=streams["err"],
    )
    for _, follower in fds.values():
        os.close(follower)
    captured = {}
    for name in ("out", "err"):
        if name in fds:
            chunks = []
            while True:
                try:
                    data = os.read(fds[name][0], 65536)
                except OSError:  # the pty closes when the process ends
                    break
                if not data:
                    break
                chunks.append(data)
            captured[name] = b"".join(chunks).decode(errors="replace")
            os.close(fds[name][0])
    piped_out, piped_err = process.communicate(timeout=60)
    captured.setdefault("out", (piped_out or b"").decode())
    captured.setdefault("err", (piped_err or b"").decode())
    return process.returncode, captured["out"], captured["err"]


def plan(specs: Path, *extra: str) -> list[str]:
    return ["plan", str(specs), "--target", "t", "--log-level", "warning", *extra]


def test_progress_on_a_terminal(terminal_specs: Path) -> None:
    code, _, err = run(plan(terminal_specs), tty_out=False, tty_err=True)
    assert code == 0
    assert "read users" in err


def test_no_progress_when_asked_or_piped(terminal_specs: Path) -> None:
    code, _, err = run(plan(terminal_specs, "--no-progress"), tty_out=False, tty_err=True)
    assert code == 0
    assert "read users" not in err
    code, _, err = run(plan(terminal_specs), tty_out=False, tty_err=False)
    assert code == 0
    assert err == ""  # warnings only, and there are none: CI logs stay clean


def test_colour_on_a_terminal_only(terminal_specs: Path) -> None:
    code, out, _ = run(plan(terminal_specs), tty_out=True, tty_err=False)
    assert code == 0
    assert "\x1b[32m  + create user u0@example.com\x1b[0m" in out
    _, out, _ = run(plan(terminal_specs), tty_out=True, tty_err=False, env={"NO_COLOR": "1"})
    assert "\x1b[" not in out
    _, out, _ = run(plan(terminal_specs, "--no-color"), tty_out=True, tty_err=False)
    assert "\x1b[" not in out
    _, out, _ = run(plan(terminal_specs), tty_out=False, tty_err=False)
    assert "\x1b[" not in out
    assert "+ create user u0@example.com" in out


def test_default_log_level_shows_a_person_the_plan_and_a_pipe_everything(
    terminal_specs: Path,
) -> None:
    args = ["plan", str(terminal_specs), "--target", "t", "--no-progress"]
    # On a terminal: warnings and errors only, and there are none here.
    code, _, err = run(args, tty_out=False, tty_err=True)
    assert (code, err) == (0, "")
    # To a pipe: every event, as JSON lines (three per object, and the run's own).
    code, _, err = run(args, tty_out=False, tty_err=False)
    assert code == 0
    events = [json.loads(line) for line in err.splitlines()]
    assert {e["level"] for e in events} == {"info"}
    assert sum(e["event"] == "match" for e in events) == 300
    # --log-level still chooses, on a terminal too.
    code, _, err = run([*args, "--log-level", "info"], tty_out=False, tty_err=True)
    assert code == 0
    assert "spec loaded" in err
