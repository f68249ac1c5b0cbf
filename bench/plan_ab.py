"""`make_plan` at two versions of reconciler/, in turns: the CPU of each one's first plan.

On a shared machine one run of P3 moves by 15-30% from run to run, more than most changes
to planning. This puts the two versions side by side instead: each round starts one fresh
process per version (in turns, so both meet the same load), builds P3's spec and observed
state (100,000 users + 2,000 groups, nothing differing), settles the collector as
`run.prepare` does, and times one `make_plan`, the plan kept, as the CLI keeps it.

    python bench/plan_ab.py OLD_TREE NEW_TREE [--rounds 5] [--users 100000]

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


def once(tree: Path, users: int, work: Path) -> float:
    code = _ONE.format(users=users, groups=max(1, users // 50), work=str(work))
    env = {**os.environ, "PYTHONPATH": f"{tree}{os.pathsep}{BENCH}"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=BENCH, env=env
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=BENCH / ".work" / "plan_ab")
    args = parser.parse_args()
    times: dict[Path, list[float]] = {args.old: [], args.new: []}
    for round_ in range(1, args.rounds + 1):
        for tree in (args.old, args.new):
            times[tree].append(once(tree.resolve(), args.users, args.workdir.resolve()))
        print(f"round {round_}: old {times[args.old][-1]:.2f} s, new {times[args.new][-1]:.2f} s")
    old, new = (statistics.median(times[t]) for t in (args.old, args.new))
    print(f"make_plan CPU, median of {args.rounds}: old {old:.2f} s, new {new:.2f} s", end="")
    print(f" ({new / old:.2f}x)")


if __name__ == "__main__":
    main()
