"""`make_plan` at two versions of reconciler/, in turns: the CPU of each one's first plan.

On a shared machine one run of P3 moves by 15-30% from run to run, more than most changes
to planning. This puts the two versions side by side instead: each round starts one fresh
process per version (in turns, so both meet the same load), builds P3's spec and observed
state (100,000 users + 2,000 groups, nothing differing), settles the collector as
`run.prepare` does, and times one `make_plan`, the plan kept, as the CLI keeps it.

    python bench/plan_ab.py OLD NEW [--rounds 5] [--users 100000] [--load | --warm | --read]

With `--load`, each round times `load_spec` instead, cold (every file parsed, no spec
cache): its CPU with that of the processes it starts, its wall time, and the resident memory
the loaded spec holds per user. With `--warm`,
each round times `load_spec` with the spec cache warm: each version has a cache directory of
its own under the work directory (so neither prunes or replaces the other's entries), warmed
by one load in the same process before the one timed. With `--read`, each round runs a
whole no-op `scimrec plan` (warm spec cache, log level warning) against P1-fast's
pre-serialised pages served in the same process (no socket or server in the figures) and
gives the CPU of its `observe` step, of `make_plan`, and of the whole plan.

Each tree is a directory holding a `reconciler/` package (a checkout, or `git archive REV
reconciler | tar -x -C DIR`). Prints each round, then the medians.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent

# One measurement, run in a fresh process with the tree first on the path. Both versions
# read the same spec files; the spec cache, where on, makes every load after the first warm.
_ONE = """
import gc, sys, time
from pathlib import Path
import dataset, scimrec_steps
from reconciler.core.plan import make_plan
sizes = dataset.Sizes({users}, {groups})
spec, target = scimrec_steps.spec_input(Path({work!r}), sizes)
observed = scimrec_steps.observed_input(sizes, 0)
gc.collect(); gc.freeze()
start = time.process_time()
plan = make_plan(spec, target, observed)
print(time.process_time() - start)
"""

# The same for load_spec, cold: its CPU, then the RSS it holds per user once loaded.
_LOAD = """
import gc, time
from pathlib import Path
import dataset, measure
from reconciler.spec.cache import SpecCache
from reconciler.spec.load import load_spec
sizes = dataset.Sizes({users}, {groups})
root = dataset.write_spec(Path({work!r}), sizes, "http://127.0.0.1:9/scim/v2")
gc.collect()
before = measure.rss_now()
start, wall = measure.cpu_time(), time.perf_counter()  # CPU: with the worker processes
spec = load_spec(root, cache=SpecCache(None))
cpu, wall = measure.cpu_time() - start, time.perf_counter() - wall
gc.collect()
print(cpu, (measure.rss_now() - before) / {users}, wall)
"""

# The same with the spec cache warm (SCIMREC_CACHE_DIR, the version's own): its CPU.
_WARM = """
import time
from pathlib import Path
import dataset
from reconciler.spec.load import load_spec
sizes = dataset.Sizes({users}, {groups})
root = dataset.write_spec(Path({work!r}), sizes, "http://127.0.0.1:9/scim/v2")
load_spec(root)  # warms the cache, where an earlier round has not
start = time.process_time()
spec = load_spec(root)
print(time.process_time() - start)
"""


# A whole no-op `scimrec plan` against P1-fast's pre-serialised pages (pages.py), served in
# this process through a WSGI transport: no socket, no server process, so the figures are
# scimrec's own CPU with nothing else in them. The spec cache is warmed first, as P1-fast's
# warm runs have it; prints the CPU of observe, of make_plan, and of the whole plan.
_READ = """
import contextlib, io, os, time
from pathlib import Path
import dataset, httpx2, pages, scimrec_steps
from reconciler import cli
from reconciler.spec.load import load_spec
sizes = dataset.Sizes({users}, {groups})
os.environ[dataset.TOKEN_ENV] = "plan-ab-read-token"
app = pages.build(sizes, "plan-ab-read-token")
def mounted(environ, start_response):  # the app expects to be mounted under /scim
    environ["PATH_INFO"] = environ["PATH_INFO"].removeprefix("/scim")
    return app(environ, start_response)
root = dataset.write_spec(Path({work!r}), sizes, "http://127.0.0.1:9/scim/v2")
load_spec(root)
phases = scimrec_steps.instrument()
out = io.StringIO()
start = time.process_time()
with contextlib.redirect_stdout(out):
    code = cli.main(["plan", str(root), "--target", "bench", "--log-level", "warning"],
                    transport=httpx2.WSGITransport(app=mounted))
total = time.process_time() - start
assert code == 0 and "No changes." in out.getvalue(), out.getvalue()[-500:]
cpu = phases.to_json()["cpu_s"]
print(cpu["observe"], cpu["make_plan"], total)
"""


def once(
    tree: Path, users: int, work: Path, load: bool = False, warm: bool = False, read: bool = False
) -> list[float]:
    template = _READ if read else _WARM if warm else _LOAD if load else _ONE
    code = template.format(users=users, groups=max(1, users // 50), work=str(work))
    env = {**os.environ, "PYTHONPATH": f"{tree}{os.pathsep}{BENCH}"}
    if warm or read:
        side = hashlib.sha256(str(tree).encode()).hexdigest()[:12]
        env["SCIMREC_CACHE_DIR"] = str(work / f"cache-{side}")
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=BENCH, env=env
    )
    return [float(figure) for figure in out.stdout.strip().splitlines()[-1].split()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=BENCH / ".work" / "plan_ab")
    parser.add_argument("--load", action="store_true", help="time a cold load_spec instead")
    parser.add_argument("--warm", action="store_true", help="time a warm load_spec instead")
    parser.add_argument("--read", action="store_true", help="time a whole no-op plan instead")
    args = parser.parse_args()
    step = (
        "plan (observe, make_plan, whole)"
        if args.read
        else "warm load_spec" if args.warm else "load_spec" if args.load else "make_plan"
    )
    runs: dict[Path, list[list[float]]] = {args.old: [], args.new: []}
    for round_ in range(1, args.rounds + 1):
        for tree in (args.old, args.new):
            work = args.workdir.resolve()
            runs[tree].append(
                once(tree.resolve(), args.users, work, args.load, args.warm, args.read)
            )
        show = _cpu_of_steps if args.read else _shown
        print(f"round {round_}: {show('old', runs[args.old][-1])}, "
              f"{show('new', runs[args.new][-1])}")  # fmt: skip
    old, new = (_medians(runs[tree]) for tree in (args.old, args.new))
    ratios = f"{new[0] / old[0]:.2f}x CPU"
    if args.load and not args.warm:
        ratios += f", {new[1] / old[1]:.2f}x memory, {new[2] / old[2]:.2f}x wall"
    if args.read:
        ratios = ", ".join(f"{n / o:.2f}x" for o, n in zip(old, new, strict=True))
    shown = f"{show('old', old)}, {show('new', new)}"
    print(f"{step}, medians of {args.rounds}: {shown} ({ratios})")


def _medians(runs: list[list[float]]) -> list[float]:
    return [statistics.median(figures) for figures in zip(*runs, strict=True)]


def _cpu_of_steps(name: str, figures: list[float]) -> str:
    return f"{name} " + " / ".join(f"{figure:.2f}" for figure in figures) + " s"


def _shown(name: str, figures: list[float]) -> str:
    text = f"{name} {figures[0]:.2f} s"
    if len(figures) > 2:
        text += f" ({figures[2]:.2f} s wall)"
    return text + (f" and {figures[1]:,.0f} B per user held" if len(figures) > 1 else "")


if __name__ == "__main__":
    main()
