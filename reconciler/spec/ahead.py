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
The load owns its workers outright (os.fork, a pipe each), so however it ends, by an error or
by Ctrl-C once or many times, it kills and reaps them before it returns: no pool to shut down
half way, no worker left behind. A worker ignores Ctrl-C (the terminal sends it to every
process of the group; the load decides), never runs the load's exit handlers, and ends when
its pipe has no reader.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import pickle
import queue
import select
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

from reconciler.core.model import Declared
from reconciler.errors import SpecIssue
from reconciler.spec import checked
from reconciler.spec.cache import SpecCache
from reconciler.spec.positions import Reread
from reconciler.spec.text import Text, decode, read_raw

# A file this large takes a tenth of a second or more to read and check: worth a worker.
MIN_BYTES = 1024 * 1024
# The name the columns travel under from a worker (spec/checked.py seals them under one).
_TRANSFER = b"scimrec-spec-ahead"
_LENGTH = 8  # bytes of each frame's length, before the frame
# Ctrl-C, and SIGTERM, which the command line raises as Ctrl-C (cli/terminate.py).
_INTERRUPT = frozenset({signal.SIGINT, signal.SIGTERM})
_POLL = 0.1  # seconds between looks for a held Ctrl-C while the load waits on a worker
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


@dataclass(frozen=True)
class Workers:
    """How many processes may read large files at once (1: none but the load's own), and
    from what size a file is given to one."""

    count: int
    min_bytes: int = MIN_BYTES

    @classmethod
    def auto(cls) -> Workers:
        return cls(_cpus())


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _forkable() -> bool:
    """Whether a fork is safe here: another thread may hold a lock the child would wait on
    for ever, and on macOS system libraries may not survive a fork."""
    return sys.platform == "linux" and threading.active_count() == 1


Read = tuple[bytes | None, list[SpecIssue]]
# A file's objects, read quickly and checked clean, or None (load.py `clean_objects`; given
# by the load, since load.py imports this module).
# The third: the columns as marshal wrote them to the cache, if it kept them.
Clean = Callable[
    [SpecCache, Path, bytes, Text], tuple[list[Declared], list[Declared], bytes | None] | None
]
# What a worker sends for one file: whether it wrote to the cache, and the file's digest and
# sealed columns (None: the load reads the file itself).
Answer = tuple[bool, tuple[bytes, bytes] | None]


@dataclass
class _Worker:
    pid: int
    pipe: int  # the read end of its pipe
    answers: dict[int, Answer] = field(default_factory=dict)  # read before they were asked
    alive: bool = True


class Ahead:
    """The large files of one load, each read once here and given to a worker if the cache
    holds no checked objects for it (a context manager: the workers end with it)."""

    def __init__(self, files: list[Path], cache: SpecCache, workers: Workers, clean: Clean) -> None:
        self._files = files
        self._cache = cache
        self._workers = workers
        self._clean = clean
        self._read: dict[Path, Read] = {}
        self._digests: dict[Path, tuple[bytes, bytes]] = {}  # the bytes read, their SHA-256
        self._given: dict[Path, tuple[_Worker, int]] = {}  # each file's worker, and its place
        self._running: list[_Worker] = []
        # The signals of _INTERRUPT this load held, to be let in again (none held before).
        self._unblock: frozenset[signal.Signals] = frozenset()

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
        if len(misses) >= 2:
            try:
                self._start(misses)
            except BaseException:
                self.__exit__()  # Ctrl-C as the workers start: `with` will not end them
                raise
        return self

    def _start(self, misses: list[Path]) -> None:
        count = min(self._workers.count, len(misses))
        # Round robin: each worker's files are in the load's order, and the load takes
        # their answers in that order as it reaches each file.
        shares = [list(enumerate(misses))[k::count] for k in range(count)]
        # Ctrl-C is held while the workers run, and looked for while the load waits on
        # them (`_wait`): there it ends them first, then lets it in. Held, it cannot land
        # between a fork and its record, or as the load's exit starts, where Python would
        # raise it before any code that ends the workers runs. (One that came before is
        # raised as the mask is set, before any fork; `_unblock` is set first, so the exit
        # lets Ctrl-C in again even then.)
        self._cache.trusted()  # opened here once: each worker uses this descriptor
        self._unblock = _INTERRUPT - signal.pthread_sigmask(signal.SIG_BLOCK, ())
        signal.pthread_sigmask(signal.SIG_BLOCK, _INTERRUPT)
        for share in shares:
            work = [(place, path, *self._digests[path]) for place, path in share]
            worker = _fork(work, self._clean, self._cache, [w.pipe for w in self._running])
            if worker is None:
                break  # no fork here (a process limit, a sandbox): read the rest here
            self._running.append(worker)
            for place, path in share:
                self._given[path] = worker, place

    def __exit__(self, *exc: object) -> None:
        """Kill and reap every worker (after the last answer each has ended or is ending,
        and on an error or an interrupt what they would still send is not wanted), then
        let Ctrl-C in again: one held meanwhile is raised then."""
        try:
            self._end_all()
        finally:
            self._release()

    def _end_all(self) -> None:
        while self._running:
            _end(self._running.pop())
        self._given.clear()

    def _release(self) -> None:
        """Let Ctrl-C in again, if this load held it: one held meanwhile is raised here."""
        if self._unblock:
            held, self._unblock = self._unblock, frozenset()
            signal.pthread_sigmask(signal.SIG_UNBLOCK, held)

    def _wait(self, worker: _Worker) -> bool:
        """Wait until the worker's pipe can be read; False once Ctrl-C is held: every
        worker is then ended and Ctrl-C let in (raised, unless the process handles it
        otherwise, and then the load reads the rest itself)."""
        while True:
            if _INTERRUPT & signal.sigpending():
                self._end_all()
                self._release()
                return False
            with contextlib.suppress(InterruptedError):
                if select.select([worker.pipe], [], [], _POLL)[0]:
                    return True

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
        given = self._given.pop(path, None)
        if given is None:
            return None
        wrote, found = self._answer(*given)
        if not self._given:  # the last answer: the workers are done, and Ctrl-C let in
            self._end_all()
            self._release()
        if wrote:
            self._cache.wrote = True  # so this load prunes the cache, as if it had written
        if found is None or found[0] != sha256:
            return None  # unclean, or an answer for other bytes than the load's
        try:
            columns = checked.opened(found[1], checked.key(_TRANSFER, sha256))
            return checked.from_columns(columns, display, reread)
        except (ValueError, TypeError, KeyError, EOFError):
            return None

    def _answer(self, worker: _Worker, place: int) -> Answer:
        """The worker's answer for the file at `place`, read from its pipe; a worker that
        ended early, or sent what cannot be read, answers nothing for it or its later
        files."""
        while worker.alive and place not in worker.answers:
            try:
                size = int.from_bytes(self._exactly(worker, _LENGTH), "big")
                got, answer = pickle.loads(self._exactly(worker, size))  # noqa: S301 - our fork's
            except (OSError, EOFError, ValueError, pickle.UnpicklingError):
                worker.alive = False
                break
            worker.answers[got] = answer
        return worker.answers.pop(place, (False, None))

    def _exactly(self, worker: _Worker, size: int) -> bytes:
        data = bytearray()
        while len(data) < size:
            if not self._wait(worker):
                raise EOFError("Ctrl-C: the workers are ended")
            chunk = os.read(worker.pipe, size - len(data))
            if not chunk:
                raise EOFError("a worker ended early")
            data += chunk
        return bytes(data)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _end(worker: _Worker) -> None:
    with contextlib.suppress(OSError):
        os.close(worker.pipe)
    with contextlib.suppress(OSError):
        os.kill(worker.pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.waitpid(worker.pid, 0)


# A worker's files: each one's place among the files given to workers, its path, and the
# bytes the load read and their SHA-256 (the worker's own, forked: neither read nor hashed
# again, and the objects are those of the very bytes the load hashed).
Work = list[tuple[int, Path, bytes, bytes]]


def _fork(work: Work, clean: Clean, cache: SpecCache, others: list[int]) -> _Worker | None:
    try:
        read_end, write_end = os.pipe()
    except OSError:
        return None
    parent = os.getpid()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return None
    if pid == 0:  # the worker: never returns into the load
        try:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            # A SIGTERM to the worker's pid alone ends it, as it would any process.
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
            _die_with(parent)
            for fd in (read_end, *others):
                os.close(fd)  # so that each pipe's only reader is the load
            _serve(work, write_end, clean, cache)
        finally:
            os._exit(0)  # no exit handlers, no flush of the load's buffered output
    os.close(write_end)
    return _Worker(pid, read_end)


def _die_with(parent: int) -> None:
    """In a worker: be killed when the load's process ends, however it ends (a SIGKILL to
    its pid alone, as a service manager or a CI runner may send, runs no exit code)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(0)  # it ended before the request was made


def _serve(work: Work, out: int, clean: Clean, cache: SpecCache) -> None:
    """In a worker: each file's answer, in order, on the pipe. A thread writes them, so the
    next file is read while the load has yet to take the last answer; once the pipe has no
    reader (the load ended), the worker stops. The cache is the load's own, its directory
    the descriptor the load checked (spec/cache.py), inherited."""
    frames: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
    broken = threading.Event()

    def write() -> None:
        with os.fdopen(out, "wb") as pipe:
            while (frame := frames.get()) is not None:
                try:
                    pipe.write(frame)
                    pipe.flush()
                except OSError:
                    broken.set()
                    return

    writer = threading.Thread(target=write)
    writer.start()
    try:
        for place, path, raw, sha256 in work:
            if broken.is_set():
                break
            try:
                answer = prepare(clean, path, raw, sha256, cache)
            except Exception:  # noqa: BLE001 - any failure: the load reads the file itself
                answer = False, None
            frame = pickle.dumps((place, answer), pickle.HIGHEST_PROTOCOL)
            frames.put(len(frame).to_bytes(_LENGTH, "big") + frame)
    finally:
        frames.put(None)
        writer.join()


def prepare(clean: Clean, path: Path, raw: bytes, sha256: bytes, cache: SpecCache) -> Answer:
    """In a worker: whether it has written to the cache, and the file's digest and its
    checked objects as sealed columns if its quick read is clean and keepable
    (spec/checked.py)."""
    text, issues = decode(raw, path.as_posix())
    if text is None or issues:
        return cache.wrote, None
    found = clean(cache, path, sha256, text)
    if found is None:
        return cache.wrote, None
    users, groups, kept = found
    # The columns the cache was given, sent on under the transfer's name: made once (with
    # the cache on, making them twice took 0.1 s a 5,000-user file).
    columns = checked.payload(users, groups) if kept is None else kept
    return cache.wrote, (sha256, checked.seal(columns, checked.key(_TRANSFER, sha256)))
