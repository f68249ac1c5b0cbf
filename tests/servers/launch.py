"""Starts the real SCIM servers the end-to-end tests talk to, on loopback, as subprocesses."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx2

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Server:
    """A running SCIM server: its name, SCIM base URL, bearer token and process."""

    name: str
    url: str
    token: str
    process: subprocess.Popen[bytes]

    def http(self) -> httpx2.Client:
        """A raw client to inspect the target independently of scimrec."""
        return httpx2.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=10
        )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_ready(url: str, token: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before it was ready")
        try:
            reply = httpx2.get(
                f"{url}/ServiceProviderConfig",
                headers={"Authorization": f"Bearer {token}"},
                timeout=1,
            )
            if reply.status_code == 200:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"server at {url} not ready after 20 s")


def start_scim2_server(*extra: str) -> Server:
    """The scim2-server package's own command, with a fresh tenant per test (see tenant())."""
    port = free_port()
    token = uuid.uuid4().hex
    command = [
        sys.executable,
        "-c",
        "from scim2_server.testserver.cli import main; main()",
        "--port",
        str(port),
        "--bearer-token",
        token,
        "--dynamic-tenants",
        *extra,
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT
    )
    base = f"http://127.0.0.1:{port}"
    _wait_ready(f"{base}/ready/v2", token, process)
    return Server("scim2-server", base, token, process)


def start_django_scim(db: Path) -> Server:
    port = free_port()
    token = uuid.uuid4().hex
    env = {**os.environ, "DJANGO_SCIM_TOKEN": token}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.servers.django_scim.serve",
            "--port",
            str(port),
            "--db",
            str(db),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}/scim/v2"
    _wait_ready(url, token, process)
    return Server("django-scim2", url, token, process)


def wipe(url: str, token: str) -> None:
    """Delete every user and group, so each test starts from an empty target."""
    with httpx2.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as http:
        for endpoint in ("/Groups", "/Users"):
            while True:
                page = http.get(endpoint, params={"count": 500}).json()
                items = page.get("Resources") or []
                if not items:
                    break
                for item in items:
                    http.delete(f"{endpoint}/{item['id']}")
