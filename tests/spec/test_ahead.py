"""Large spec files read by worker processes (reconciler/spec/ahead.py): a load with workers
gives what a load without them gives, the same objects or the same messages at the same
places, on every tree the quick-read tests know; the workers read each clean file, and no
other; and a worker's answer for other bytes than the load's is not taken.

Workers are forked only from a process running one thread, and the test process may run
others (servers some tests start), so these checks run in a fresh interpreter: this file
run as a program (`_probe`) prints what it found as JSON.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from reconciler.core.config import Spec
from reconciler.errors import SpecError
from reconciler.spec import checked
from reconciler.spec.ahead import Ahead, Clean, Workers
from reconciler.spec.cache import MAX_ENTRIES, SpecCache
from reconciler.spec.load import clean_objects, load_spec, spec_files
from reconciler.spec.objects import exact_positions
from reconciler.spec.positions import Reread
from reconciler.spec.text import decode, read_raw
from tests.spec.test_load import Files, write_tree
from tests.spec.test_quick_read import trees

ROOT = Path(__file__).resolve().parents[2]
# A second clean file for trees of one file, so that two files go to workers.
EXTRA = "users:\n" + "".join(f"  - userName: extra-{n}@ahead.example\n" for n in range(3))
EVERY = Workers(2, min_bytes=0)  # two workers, for files of any size
# `scimrec validate` run whole starts one worker a core (Workers.auto): on one core, none.
WORKERS_START = pytest.mark.skipif(
    Workers.auto().count < 2, reason="one core: scimrec starts no worker to interrupt"
)


def _trees() -> list[tuple[str, Files]]:
    return [(name, {**tree, "zz-extra.yaml": EXTRA}) for name, tree in trees()]


def _probe(tmp_path: Path, names: list[str]) -> dict[str, Any]:
    found = subprocess.run(
        [sys.executable, "-m", "tests.spec.test_ahead", str(tmp_path), *names],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert found.returncode == 0, found.stderr
    result: dict[str, Any] = json.loads(found.stdout)
    return result


def test_loads_with_workers_agree_with_loads_without(tmp_path: Path) -> None:
    cases = _trees()
    for name, tree in cases:
        write_tree(tmp_path / name, tree)
    found = _probe(tmp_path, [name for name, _ in cases])
    assert found["threads"] == 1
    assert {name: row["same"] for name, row in found["trees"].items()} == dict.fromkeys(
        (name for name, _ in cases), True
    )
    # The workers read each clean file without targets, the extra one at least, and gave
    # back its objects as its own checks leave them.
    for name, row in found["trees"].items():
        assert row["taken"] == row["clean"], name
        assert "zz-extra.yaml" in row["taken"], name
        assert row["objects_equal"], name
    # A file with a problem of its own is read by the load itself; one whose problem only
    # the checks across files find was read by a worker like any clean file.
    assert found["trees"]["invalid-wrong-type-active"]["taken"] == ["zz-extra.yaml"]
    assert found["trees"]["invalid-manager-unknown"]["taken"] == ["a.yaml", "zz-extra.yaml"]


def test_an_answer_for_other_bytes_is_not_taken(tmp_path: Path) -> None:
    write_tree(tmp_path / "pair", {"a.yaml": EXTRA, "b.yaml": EXTRA.replace("extra", "other")})
    found = _probe(tmp_path, ["--other-bytes", "pair"])
    assert found["trees"]["pair"]["taken"] == ["a.yaml", "b.yaml"]
    assert found["trees"]["pair"]["other_bytes"] is None


def test_a_worker_that_dies_or_cannot_start_costs_only_time(tmp_path: Path) -> None:
    write_tree(tmp_path / "pair", {"a.yaml": EXTRA, "b.yaml": EXTRA.replace("extra", "other")})
    found = _probe(tmp_path, ["--faults", "pair"])["faults"]
    assert found == {
        "dying_taken": [],
        "no_stdout_same": True,
        "full_cache_same": True,
        "full_cache_entries": MAX_ENTRIES,
        "no_fork_same": True,
        "no_fork_taken": [],
    }
    # The same probe without faults: both files go to workers.
    assert _probe(tmp_path, ["pair"])["trees"]["pair"]["taken"] == ["a.yaml", "b.yaml"]


@pytest.mark.timing
@WORKERS_START
def test_ctrl_c_however_often_ends_the_load_and_every_worker(tmp_path: Path) -> None:
    """Ctrl-C reaches every process of the terminal's group: once, twice or three times
    while the workers run, scimrec ends as interrupted, and no worker is left running."""
    _big_tree(tmp_path, 40_000)
    for times in (1, 2, 3):
        found = subprocess.Popen(
            [sys.executable, "-m", "reconciler", "validate", str(tmp_path)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own group, as a terminal's job is
            env={**os.environ, "SCIMREC_CACHE_DIR": ""},
        )
        _workers_of(found.pid)
        sent = time.monotonic()
        for _ in range(times):
            os.killpg(found.pid, signal.SIGINT)
            time.sleep(0.05)
        _, err = found.communicate(timeout=60)  # ends: no worker holds its output open
        # At once: the load does not read the workers' files itself first (about 4 s).
        assert time.monotonic() - sent < 2.0
        assert "Interrupted." in err.decode().splitlines(), err
        # A later Ctrl-C may come once scimrec has said so and is ending: Python then ends
        # by the signal, as it does for any program interrupted on its way out.
        assert found.returncode == 130 or (times > 1 and found.returncode == -signal.SIGINT)
        with pytest.raises(ProcessLookupError):
            os.killpg(found.pid, 0)  # no process of its group is left


@WORKERS_START
def test_sigterm_ends_the_load_and_every_worker_as_ctrl_c(tmp_path: Path) -> None:
    """SIGTERM to scimrec's pid alone (kill, a service manager) is held and looked for as
    Ctrl-C is: the workers are ended, and scimrec ends as interrupted by it (143)."""
    _big_tree(tmp_path, 40_000)
    found = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "validate", str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env={**os.environ, "SCIMREC_CACHE_DIR": ""},
    )
    _workers_of(found.pid)
    sent = time.monotonic()
    found.send_signal(signal.SIGTERM)
    _, err = found.communicate(timeout=60)
    assert time.monotonic() - sent < 2.0
    assert "Interrupted." in err.decode().splitlines(), err
    assert found.returncode == 143
    with pytest.raises(ProcessLookupError):
        os.killpg(found.pid, 0)


def _big_tree(root: Path, users: int) -> None:
    text = "".join(
        f"  - userName: u{n}@ahead.example\n    title: T{n % 50}\n    displayName: U {n}\n"
        for n in range(users)
    )
    for k in range(4):  # four files, each a worker's work for a while
        path = root / f"users-{k}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("users:\n" + text.replace("@", f"-{k}@"))


def test_ctrl_c_at_any_moment_leaves_no_worker_and_nothing_held(tmp_path: Path) -> None:
    _big_tree(tmp_path / "big", 20_000)
    outcomes = _probe(tmp_path, ["--burst", "big"])["burst"]["outcomes"]
    assert outcomes[1::3] == ["no child"] * 5, outcomes
    assert outcomes[2::3] == ["not held"] * 5, outcomes
    assert "interrupted" in outcomes[0::3]


@pytest.mark.timing
@WORKERS_START
def test_workers_end_with_the_load_killed_alone(tmp_path: Path) -> None:
    """A SIGKILL to scimrec's pid alone (a service manager's, a CI runner's, after the
    SIGTERM) runs none of its code: the workers end with it, and release its output at
    once."""
    _big_tree(tmp_path, 80_000)
    found = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "validate", str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env={**os.environ, "SCIMREC_CACHE_DIR": ""},
    )
    workers = _workers_of(found.pid)
    os.kill(found.pid, signal.SIGKILL)
    started = time.monotonic()
    found.communicate(timeout=60)  # the output's end: no worker holds it open
    assert found.returncode == -signal.SIGKILL
    assert time.monotonic() - started < 1.0
    for pid in workers:
        assert _ended(pid), pid


def _ended(pid: int) -> bool:
    """Whether the process has ended (gone, or a zombie no one reaps): a process being
    killed may still read as running for a moment after its files are closed."""
    state = Path(f"/proc/{pid}/stat")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if state.read_text().split(")")[-1].split()[0] != "Z":
                time.sleep(0.01)
                continue
        return True
    return False


def _workers_of(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    deadline = time.monotonic() + 30
    while not children.read_text().split() and time.monotonic() < deadline:
        time.sleep(0.01)
    found = [int(child) for child in children.read_text().split()]
    assert found, "no worker started"
    return found


def test_no_worker_is_forked_beside_another_thread(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a.yaml": EXTRA, "b.yaml": EXTRA.replace("extra", "other")})
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert _taken(tmp_path) == []
        assert load_spec(tmp_path, cache=SpecCache(None), workers=EVERY) == load_spec(
            tmp_path, cache=SpecCache(None), workers=Workers(1)
        )
    finally:
        stop.set()
        thread.join()


# -- the probe, run in a fresh interpreter ---------------------------------------------


def _outcome(root: Path, workers: Workers, cache: SpecCache) -> Spec | list[str]:
    try:
        return load_spec(root, cache=cache, workers=workers)
    except SpecError as exc:
        return [str(issue) for issue in exc.issues]


def _taken(root: Path, wrong: bool = False, clean: Clean = clean_objects) -> list[str]:
    """The files whose objects workers gave back (with `wrong`, asked for other bytes)."""
    taken = []
    with SpecCache(None) as cache, Ahead(spec_files(root), cache, EVERY, clean) as ahead:
        for path in spec_files(root):
            raw, _ = ahead.raw(path, path.as_posix())
            assert raw is not None
            sha256 = hashlib.sha256(b"other" if wrong else raw).digest()
            reread = Reread(path, path.as_posix(), sha256, exact_positions)
            if ahead.objects(path, sha256, path.as_posix(), reread) is not None:
                taken.append(path.relative_to(root).as_posix())
    return taken


def _clean(root: Path) -> tuple[list[str], bool]:
    """The files a worker should read (clean, no targets), and whether the workers' objects
    for them equal those a load in this process makes."""
    clean, equal = [], True
    with SpecCache(None) as cache, Ahead(spec_files(root), cache, EVERY, clean_objects) as ahead:
        for path in spec_files(root):
            raw, _ = read_raw(path, path.as_posix())
            text, _ = decode(raw or b"", path.as_posix())
            if raw is None or text is None:
                continue
            sha256 = hashlib.sha256(raw).digest()
            here = clean_objects(SpecCache(None), path, sha256, text)
            reread = Reread(path, path.as_posix(), sha256, exact_positions)
            there = ahead.objects(path, sha256, path.as_posix(), reread)
            if here is not None:
                clean.append(path.relative_to(root).as_posix())
            equal = equal and (None if here is None else here[:2]) == there
    return clean, equal


def _tree(root: Path, cache_dir: Path, other_bytes: bool) -> dict[str, Any]:
    alone = _outcome(root, Workers(1), SpecCache(None))
    ahead = _outcome(root, EVERY, SpecCache(None))
    # Through a cache: the workers keep what they read, and a later load reads it back.
    kept = SpecCache(cache_dir, min_bytes=0, checks=checked.code_digest())
    cold = _outcome(root, EVERY, kept)
    warm = _outcome(root, Workers(1), kept)
    clean, equal = _clean(root)
    return {
        "same": alone == ahead == cold == warm,
        "taken": _taken(root),
        "clean": clean,
        "objects_equal": equal,
        "other_bytes": (_taken(root, wrong=True) or None) if other_bytes else "not asked",
    }


def _dying(*_: object) -> None:
    """A worker that ends at once, as one the system kills would."""
    os._exit(3)


def _faults(root: Path) -> dict[str, Any]:
    """A load where workers die, one with no standard output (a service's), one that fills
    the cache, and one where the system refuses to fork."""
    alone = _outcome(root, Workers(1), SpecCache(None))
    dying = _taken(root, clean=_dying)
    stdout, sys.stdout = sys.stdout, None
    try:
        no_stdout = _outcome(root, EVERY, SpecCache(None)) == alone
    finally:
        sys.stdout = stdout
    # A cache already holding the most it keeps, every entry older than this load: the
    # entries the workers write make it prune the oldest.
    where = root.parent / "full-cache"
    where.mkdir(mode=0o700)
    for n in range(MAX_ENTRIES):
        old = where / f"{n:064x}.json"
        old.write_text("{}")
        os.utime(old, (1, 1))
    full = SpecCache(where, min_bytes=0, checks=checked.code_digest())
    filled = _outcome(root, EVERY, full) == alone
    entries = len(list(where.iterdir()))

    def refused() -> int:
        raise OSError(errno.EAGAIN, "Resource temporarily unavailable")

    os.fork = refused  # the system's answer where a process limit is reached
    return {
        "dying_taken": dying,
        "no_stdout_same": no_stdout,
        "full_cache_same": filled,
        "full_cache_entries": entries,
        "no_fork_same": _outcome(root, EVERY, SpecCache(None)) == alone,
        "no_fork_taken": _taken(root),
    }


def _burst(root: Path) -> dict[str, Any]:
    """Loads under a rain of Ctrl-Cs (one every few milliseconds, from a timer), started
    at several moments: each either ends or is interrupted, and afterwards no worker is
    left, not even unreaped, and Ctrl-C is not held. Ctrl-C raises only while `armed`
    (set and cleared where Python looks for no signal), so the rain stops at the load."""
    armed = [False]

    def interrupt(*_: object) -> None:
        if armed[0]:
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGALRM, lambda *_: os.kill(os.getpid(), signal.SIGINT))
    outcomes = []
    for delay in (0.001, 0.05, 0.2, 0.4, 0.8):
        signal.setitimer(signal.ITIMER_REAL, delay, 0.003)
        armed[0] = True
        try:
            load_spec(root, cache=SpecCache(None), workers=EVERY)
            outcome = "loaded"
        except KeyboardInterrupt:
            armed[0] = False
            outcome = "interrupted"
        armed[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        try:
            left = os.waitpid(-1, os.WNOHANG)  # a child not reaped, ended or not
        except ChildProcessError:
            left = None
        held = signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, ())
        outcomes += [outcome, "no child" if left is None else f"child left: {left}"]
        outcomes.append("held" if held else "not held")
    return {"outcomes": outcomes}


def _main(base: Path, names: list[str]) -> None:
    threads = threading.active_count()
    if names[:1] == ["--burst"]:
        print(json.dumps({"threads": threads, "burst": _burst(base / names[1])}))
        return
    if names[:1] == ["--faults"]:
        print(json.dumps({"threads": threads, "faults": _faults(base / names[1])}))
        return
    other = names[:1] == ["--other-bytes"]
    names = names[other:]
    found = {name: _tree(base / name, base / f"{name}.cache", other) for name in names}
    print(json.dumps({"threads": threads, "trees": found}))


if __name__ == "__main__":
    _main(Path(sys.argv[1]), sys.argv[2:])
