"""Starts SCIMMY (npm `scimmy`, served by `scimmy-routers` on Express) on loopback.

`install.sh` beside this file must have run first (it fills the git-ignored node_modules/
from package-lock.json). The store is in memory, so each start is an empty target, and a
running one is emptied between tests with `tests.servers.launch.wipe`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

from tests.servers.launch import Server, _wait_ready, free_port

HERE = Path(__file__).resolve().parent
INSTALL_HINT = "run tests/servers/scimmy/install.sh first"


def start_scimmy(express: int) -> Server:
    """SCIMMY 1.3.5 with scimmy-routers 1.3.2 on Express `express` (5 or 4); bearer auth."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError(f"node is not on PATH: {INSTALL_HINT}")
    if not (HERE / "node_modules" / "scimmy-routers").is_dir():
        raise RuntimeError(f"the npm packages are not installed: {INSTALL_HINT}")
    port = free_port()
    token = uuid.uuid4().hex
    env = {**os.environ, "SCIM_PORT": str(port), "SCIM_TOKEN": token}
    env["SCIM_EXPRESS"] = str(express)
    process = subprocess.Popen(
        [node, "server.mjs"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=HERE,
        env=env,
    )
    url = f"http://127.0.0.1:{port}/scim/v2"
    _wait_ready(url, token, process)
    return Server(f"scimmy-express{express}", url, token, process)
