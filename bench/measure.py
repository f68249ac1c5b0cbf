"""Process-level measurement: RSS now and at peak, and running one measured thing in a child.

Every figure that involves peak RSS comes from its own child process (`python bench/worker.py`),
so one measurement's memory never inflates another's.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
Result = dict[str, Any]


def rss_now() -> int:
    """Resident set size of this process, in bytes (Linux /proc)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def cpu_time() -> float:
    """CPU seconds of this process and of its children that have ended: a cold spec load
    parses large files in worker processes (reconciler/spec/ahead.py), and their CPU is
    the load's too."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def rss_peak() -> int:
    """Peak resident set size of this process so far, in bytes (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def reset_peak() -> None:
    """Reset the kernel's peak-RSS mark (Linux >= 4.0), so a later peak belongs to later work."""
    with suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def vm_hwm() -> int:
    """Peak RSS since the last `reset_peak` (VmHWM), in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return rss_peak()


@dataclass
class Phases:
    """Wall and CPU seconds spent in named steps, added up across calls."""

    wall: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        wall, cpu = time.perf_counter(), cpu_time()
        try:
            yield
        finally:
            self.wall[name] = self.wall.get(name, 0.0) + time.perf_counter() - wall
            self.cpu[name] = self.cpu.get(name, 0.0) + cpu_time() - cpu

    def to_json(self) -> Result:
        return {
            "wall_s": {k: round(v, 3) for k, v in self.wall.items()},
            "cpu_s": {k: round(v, 3) for k, v in self.cpu.items()},
        }


def run_worker(
    args: list[str],
    *,
    env: Mapping[str, str] | None = None,
    stderr_to: Path | None = None,
    timeout: float = 7200,
) -> Result:
    """Run `python bench/worker.py ARGS` and return the JSON object it prints last."""
    # The spec cache (reconciler/spec/cache.py) stays off unless a part asks for it: a
    # figure never depends on what an earlier run left in the user's cache directory.
    full_env = {**os.environ, "SCIMREC_CACHE_DIR": "", **(env or {})}
    command = [sys.executable, str(BENCH / "worker.py"), *args]
    with (stderr_to or Path(os.devnull)).open("wb") as err:
        done = subprocess.run(
            command, stdout=subprocess.PIPE, stderr=err, env=full_env, timeout=timeout, check=False
        )
    lines = done.stdout.decode().strip().splitlines()
    if done.returncode != 0 or not lines:
        where = f" (stderr in {stderr_to})" if stderr_to else ""
        raise RuntimeError(f"worker {args[0]} exited {done.returncode}{where}")
    result: Result = json.loads(lines[-1])
    if stderr_to is not None and stderr_to.exists():
        data = stderr_to.read_bytes()
        result["stderr_bytes"] = len(data)
        result["stderr_lines"] = data.count(b"\n")
    return result
