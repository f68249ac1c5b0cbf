"""Large spec files parsed and checked in other processes, on the machine's other cores, while
the load goes on in order.

A cold load of a 100,000-user tree spends about 6 s of CPU reading and checking its twenty
large files, one after the other, on one core. Each file's own read and checks depend on
nothing but its bytes (spec/checked.py keeps their outcome by the file's digest for the same
reason), so a worker process can do them and hand back the objects as the checked cache
keeps them: marshal columns behind their digest. The load takes each file's objects in
order, as from the cache, and runs the checks across files itself.

A worker gives back nothing for a file it cannot read quickly and cleanly (a problem, a
target, YAML the quick read leaves to PyYAML): the load then reads that file itself, as
without workers, so every message is the one a plain load gives. A worker that fails in any
way costs only time. Where the cache is on and trusted, a worker also keeps what it read
there, as the load would have.

Workers are forked, so they start in milliseconds and import nothing, and only where forking
is safe: on Linux, from a process running one thread (a load starts before any other work);
elsewhere, and where fewer than two large files need reading, the load stays in one process.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from reconciler.core.model import Declared
from reconciler.errors import SpecIssue
from reconciler.spec import checked
from reconciler.spec.cache import SpecCache
from reconciler.spec.positions import Reread
from reconciler.spec.source import Text, decode, read_raw

# A file this large takes a tenth of a second or more to read and check: worth a worker.
MIN_BYTES = 1024 * 1024
# The name the columns travel under from a worker (spec/checked.py seals them under one).
_TRANSFER = b"scimrec-spec-ahead"


@dataclass(frozen=True)
class Workers:
    """How many processes may read large files at once (1: none but the load's own), and
    from what size a file is given to one."""

    count: int
    min_bytes: int = MIN_BYTES

    @classmethod
    def auto(cls) -> Workers:
        return cls(_cpus())


def _forkable() -> bool:
    """Whether a fork is safe here: another thread may hold a lock the child would wait on
    for ever, and on macOS system libraries may not survive a fork."""
    return sys.platform == "linux" and threading.active_count() == 1


def _ignore_interrupts() -> None:
    """In a worker: Ctrl-C reaches every process of the terminal's group; the load handles
    it, and ends the workers (each finishes its file), without a traceback from each."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


Read = tuple[bytes | None, list[SpecIssue]]
# A file's objects, read quickly and checked clean, or None (load.py `clean_objects`; given
# by name, since that module imports this one).
Clean = Callable[[SpecCache, Path, bytes, Text], tuple[list[Declared], list[Declared]] | None]


class Ahead:
    """The large files of one load, each read once here and given to a worker if the cache
    holds no checked objects for it (a context manager: the workers end with it)."""

    def __init__(self, files: list[Path], cache: SpecCache, workers: Workers, clean: Clean) -> None:
        self._files = files
        self._clean = clean
        self._cache = cache
        self._workers = workers
        self._read: dict[Path, Read] = {}
        self._digests: dict[Path, tuple[bytes, bytes]] = {}  # the bytes read, their SHA-256
        self._pending: dict[Path, Future[tuple[bytes, bytes] | None]] = {}
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Self:
        if self._workers.count < 2 or not _forkable():
            return self
        large = [path for path in self._files if _size(path) >= self._workers.min_bytes]
        if len(large) < 2:
            return self
        misses = []
        for path in large:
            raw, _ = self._read[path] = read_raw(path, path.as_posix())
            if raw is not None:
                sha256 = hashlib.sha256(raw).digest()
                self._digests[path] = raw, sha256
                if not self._kept(sha256):
                    misses.append(path)
        if len(misses) < 2:
            return self
        # A forked worker flushes the standard streams as it ends: whatever they held
        # unwritten would be written again.
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            self._start(misses)
        except Exception:  # noqa: BLE001 - no fork (a process limit, a sandbox): read here
            self.__exit__()
            self._pending.clear()
        return self

    def _start(self, misses: list[Path]) -> None:
        self._pool = ProcessPoolExecutor(
            min(self._workers.count, len(misses)),
            multiprocessing.get_context("fork"),
            initializer=_ignore_interrupts,
        )
        where = self._cache.where if self._cache.trusted() else None
        for path in misses:
            self._pending[path] = self._pool.submit(
                prepare, self._clean, path, where, self._cache.min_bytes, self._cache.checks
            )

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _kept(self, sha256: bytes) -> bool:
        checks = self._cache.checks
        return checks is not None and self._cache.has(f"{checked.key(checks, sha256)}.bin")

    def raw(self, path: Path, display: str) -> Read:
        """The file's bytes as read before the workers started, or read now."""
        found = self._read.pop(path, None)
        return read_raw(path, display) if found is None else found

    def digest(self, path: Path, raw: bytes) -> bytes:
        """The SHA-256 of `raw`, the file's bytes `raw` gave (reused, not hashed again)."""
        kept = self._digests.pop(path, None)
        return kept[1] if kept is not None and kept[0] is raw else hashlib.sha256(raw).digest()

    def objects(
        self, path: Path, sha256: bytes, display: str, reread: Reread
    ) -> tuple[list[Declared], list[Declared]] | None:
        """The objects a worker read and checked clean from these very bytes, or None: the
        load then reads the file itself."""
        pending = self._pending.pop(path, None)
        if pending is None:
            return None
        try:
            found = pending.result()
            if found is None or found[0] != sha256:
                return None  # unclean, or the file changed between the two reads
            columns = checked.opened(found[1], checked.key(_TRANSFER, sha256))
            return checked.from_columns(columns, display, reread)
        except Exception:  # noqa: BLE001 - a worker that failed in any way: read the file here
            return None


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def prepare(
    clean: Clean, path: Path, where: Path | None, min_bytes: int, checks: bytes | None
) -> tuple[bytes, bytes] | None:
    """In a worker: the file's digest and its checked objects as sealed columns, if its
    quick read is clean and keepable (spec/checked.py); else None."""
    display = path.as_posix()
    raw, issues = read_raw(path, display)
    if raw is None or issues:
        return None
    text, issues = decode(raw, display)
    if text is None or issues:
        return None
    sha256 = hashlib.sha256(raw).digest()
    with SpecCache(where, min_bytes=min_bytes, checks=checks) as cache:
        found = clean(cache, path, sha256, text)
        if found is None:
            return None
        users, groups = found
        name = checked.key(_TRANSFER, sha256)
        return sha256, checked.sealed(checked.to_columns(users, groups), name)
