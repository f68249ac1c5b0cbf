"""`scimrec sandbox` on a busy port, and `make demo`: it runs only on the sandbox it started."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.scim.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[2]


def port_of(sandbox: Sandbox) -> int:
    return int(sandbox.url.split(":")[2].split("/")[0])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_a_sandbox_on_a_busy_port_says_so_in_one_line(sandbox: Sandbox) -> None:
    port = port_of(sandbox)
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "sandbox", "--port", str(port)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (
        f"Error: cannot serve the sandbox on 127.0.0.1:{port}: the port is already in use "
        "(another sandbox, or another program); stop it, or choose another port with --port N\n"
    )


def make_demo(port: int) -> subprocess.CompletedProcess[str]:
    """`make demo PORT=port` with this test run's virtualenv, installed as it is."""
    venv = Path(sys.executable).parent.parent
    digest = hashlib.sha1((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:12]  # noqa: S324 - the Makefile's stamp name, not security
    stamp = f"{venv}/.installed-{digest}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    return subprocess.run(
        ["make", "-s", "-o", stamp, "demo", f"PORT={port}", f"VENV={venv}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_demo_runs_only_against_the_sandbox_it_started(sandbox: Sandbox) -> None:
    # Something else (here another sandbox) listens on the port: the demo stops at once.
    busy = make_demo(port_of(sandbox))
    assert busy.returncode != 0
    assert busy.stdout == ""
    assert busy.stderr.startswith(
        f"make demo: the sandbox did not start on port {port_of(sandbox)}:\n"
        f"Error: cannot serve the sandbox on 127.0.0.1:{port_of(sandbox)}: the port is already "
        "in use"
    )
    # On a free port it runs from validate to the final plan with no changes.
    port = free_port()
    done = make_demo(port)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"pointed at port {port})" in done.stdout
    assert done.stdout.rstrip().endswith(
        "No changes. The target matches the spec (7 objects checked)."
    )
