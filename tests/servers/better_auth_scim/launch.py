"""Starts Better Auth's SCIM 2.0 plugin (Node.js, npm `@better-auth/scim`) on loopback.

`install.sh` beside this file must have run first (it fills the git-ignored
node_modules/ from package-lock.json). The server keeps everything in memory, so
each start is an empty target. Emptying one with DELETEs is not enough: Better Auth keeps
the app account behind a deleted SCIM user, and a new SCIM user with the same email is
refused (409, QUIRKS.md §4), so the tests take a fresh server each (`Spares`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

from tests.servers.launch import Server, _wait_ready, free_port

HERE = Path(__file__).resolve().parent
INSTALL_HINT = "run tests/servers/better_auth_scim/install.sh first"


def start_better_auth_scim() -> Server:
    """Better Auth 1.7.5 with @better-auth/scim 1.7.5; bearer auth with a fresh token."""
    server = spawn_better_auth_scim()
    _wait_ready(server.url, server.token, server.process)
    return server


class Spares:
    """Fresh servers on demand, the next one starting while the current one is in use."""

    def __init__(self) -> None:
        self.next: Server | None = None
        self.running: list[Server] = []

    def take(self) -> Server:
        server = self.next or spawn_better_auth_scim()
        self.running.append(server)
        _wait_ready(server.url, server.token, server.process)
        self.next = spawn_better_auth_scim()
        return server

    def give_back(self, server: Server) -> None:
        server.stop()
        self.running.remove(server)

    def stop(self) -> None:
        for server in [*self.running, *([self.next] if self.next else [])]:
            server.stop()


def spawn_better_auth_scim() -> Server:
    """Start the server without waiting for it to listen (see `_wait_ready`)."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError(f"node is not on PATH: {INSTALL_HINT}")
    if not (HERE / "node_modules" / "@better-auth" / "scim").is_dir():
        raise RuntimeError(f"the npm packages are not installed: {INSTALL_HINT}")
    port = free_port()
    token = uuid.uuid4().hex
    env = {**os.environ, "SCIM_PORT": str(port), "SCIM_TOKEN": token}
    process = subprocess.Popen(
        [node, "server.mjs"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=HERE,
        env=env,
    )
    url = f"http://127.0.0.1:{port}/api/auth/scim/v2"
    return Server("better-auth-scim", url, token, process)
