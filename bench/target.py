"""Starts and stops the benchmark's SCIM server process (bench/server.py) and reads its stats."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import dataset
import httpx2
from measure import BENCH


@dataclass(frozen=True)
class Running:
    url: str
    seed_s: float
    http: str

    @property
    def root(self) -> str:
        return self.url.split("/scim/", 1)[0]

    def stats(self) -> dict[str, Any]:
        """The server's request counts by method and its CPU seconds so far."""
        reply = httpx2.get(f"{self.root}/_bench/stats", timeout=30)
        reply.raise_for_status()
        data: dict[str, Any] = reply.json()
        return data

    def reset(self) -> None:
        httpx2.post(f"{self.root}/_bench/reset", timeout=30)


@contextmanager
def serving(
    sizes: dataset.Sizes,
    *,
    fill: str,
    http: str,
    token: str,
    app: str = "scim2-server",
    rate: float = 0.0,
) -> Iterator[Running]:
    """A seeded server for the duration of the block; it exits when its stdin closes."""
    command = [
        sys.executable,
        str(BENCH / "server.py"),
        "--users",
        str(sizes.users),
        "--groups",
        str(sizes.groups),
        "--fill",
        fill,
        "--http",
        http,
        "--token",
        token,
        "--app",
        app,
        "--rate",
        str(rate),
    ]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        line = process.stdout.readline() if process.stdout is not None else b""
        if not line:
            raise RuntimeError(f"the benchmark server exited ({process.wait()}) before serving")
        info = json.loads(line)
        yield Running(info["url"], float(info["seed_s"]), info["http"])
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
