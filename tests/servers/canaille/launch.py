"""Starts Canaille (tests/servers/canaille/QUIRKS.md) on loopback, in its own virtualenv.

`install.sh` beside this file must have run first (`make test` runs it). The store is in
memory, so each start is an empty target.
"""

from __future__ import annotations

import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx2

from tests.servers.launch import Server, _wait_ready, free_port

HERE = Path(__file__).resolve().parent
PYTHON = HERE / ".venv" / "bin" / "python"
INSTALL_HINT = "run tests/servers/canaille/install.sh first"


@dataclass
class Canaille:
    """A running Canaille: the SCIM server (its `token` one the token endpoint issued)
    and the OAuth2 client scimrec authenticates as."""

    server: Server
    token_url: str
    client_id: str
    client_secret: str


def start_canaille() -> Canaille:
    if not PYTHON.is_file():
        raise RuntimeError(f"Canaille's virtualenv is missing: {INSTALL_HINT}")
    port = free_port()
    client_id, secret = f"scimrec-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    process = subprocess.Popen(
        [str(PYTHON), str(HERE / "serve.py"), str(port), client_id, secret],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=HERE,
    )
    try:
        line = process.stdout.readline() if process.stdout is not None else b""
        if line.strip() != b"ready":
            raise RuntimeError(f"Canaille did not start (exit {process.poll()})")
        base = f"http://127.0.0.1:{port}"
        reply = httpx2.post(
            f"{base}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(client_id, secret),
            timeout=10,
        )
        reply.raise_for_status()
        token = str(reply.json()["access_token"])
        url = f"{base}/scim/v2"
        _wait_ready(url, token, process)
    except BaseException:
        process.kill()
        process.wait()
        raise
    server = Server("canaille", url, token, process)
    return Canaille(server, f"{base}/oauth/token", client_id, secret)
