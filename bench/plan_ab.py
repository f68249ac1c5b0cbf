"""`make_plan` at two versions of reconciler/, in turns: the CPU of each one's first plan.

On a shared machine one run of P3 moves by 15-30% from run to run, more than most changes
to planning. This puts the two versions side by side instead: each round starts one fresh
process per version (in turns, so both meet the same load), builds P3's spec and observed
state (100,000 users + 2,000 groups, nothing differing), settles the collector as
`run.prepare` does, and times one `make_plan`, the plan kept, as the CLI keeps it.

    python bench/plan_ab.py OLD_TREE NEW_TREE [--rounds 5] [--users 100000] [--load]

With `--load`, each round times `load_spec` instead, cold (every file parsed, no spec
cache), and gives the resident memory the loaded spec holds per user as well.

Each tree is a directory holding a `reconciler/` package (a checkout, or `git archive REV
reconciler | tar -x -C DIR`). Prints each round, then the medians.
"""

from __future__ import annotations

import argparse
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
start = time.process_time()
spec = load_spec(root, cache=SpecCache(None))
cpu = time.process_time() - start
gc.collect()
print(cpu, (measure.rss_now() - before) / {users})
"""


def once(tree: Path, users: int, work: Path, load: bool = False) -> list[float]:
    template = _LOAD if load else _ONE
    code = template.format(users=users, groups=max(1, users // 50), work=str(work))
    env = {**os.environ, "PYTHONPATH": f"{tree}{os.pathsep}{BENCH}"}
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
    args = parser.parse_args()
    step = "load_spec" if args.load else "make_plan"
    runs: dict[Path, list[list[float]]] = {args.old: [], args.new: []}
    for round_ in range(1, args.rounds + 1):
        for tree in (args.old, args.new):
            runs[tree].append(once(tree.resolve(), args.users, args.workdir.resolve(), args.load))
        print(f"round {round_}: {_shown('old', runs[args.old][-1])}, "
              f"{_shown('new', runs[args.new][-1])}")  # fmt: skip
    old, new = (_medians(runs[tree]) for tree in (args.old, args.new))
    ratios = f"{new[0] / old[0]:.2f}x CPU"
    if args.load:
        ratios += f", {new[1] / old[1]:.2f}x memory"
    shown = f"{_shown('old', old)}, {_shown('new', new)}"
    print(f"{step}, medians of {args.rounds}: {shown} ({ratios})")


def _medians(runs: list[list[float]]) -> list[float]:
    return [statistics.median(figures) for figures in zip(*runs, strict=True)]


def _shown(name: str, figures: list[float]) -> str:
    text = f"{name} {figures[0]:.2f} s"
    return text + (f" and {figures[1]:,.0f} B per user held" if len(figures) > 1 else "")


if __name__ == "__main__":
    main()
