"""The mutation score of the safety code, per module, from mutmut's results in ./mutants.

`make mutation` runs `mutmut run`, then this. The score is killed / (total - skipped): a
mutant that timed out, or that no test reaches, counts against it. A survivor or a mutant
no test reaches must be named in tests/MUTATION.md with the reason it cannot matter; this
lists those that are not, and exits 1 when there is one, or when the score is under the goal.
"""

from __future__ import annotations

import fnmatch
import json
import re
import sys
import tomllib
from collections import Counter
from pathlib import Path

from mutmut.stats import status_by_exit_code

GOAL = 90.0
ROOT = Path(__file__).resolve().parents[1]
EXPLAINED = ROOT / "tests" / "MUTATION.md"
MUTANT_NAME = re.compile(r"reconciler\.[\w.ǁ]+__mutmut_\d+")
# What a test must answer for: a mutant that lived through the suite, or that no test ran.
UNANSWERED = ("survived", "no tests")


def in_scope(pyproject: Path) -> list[str]:
    """The modules `[tool.mutmut]` mutates (`only_mutate`, globs)."""
    config = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    return list(config["tool"]["mutmut"]["only_mutate"])


def results(mutants: Path, scope: list[str]) -> dict[str, dict[str, str]]:
    """Each mutated module's mutants and their status (mutmut's words: killed, survived ...).

    Only the modules in scope count: ./mutants keeps the results of modules a wider run
    mutated, and those are not what `make mutation` measures.
    """
    out: dict[str, dict[str, str]] = {}
    for meta in sorted(mutants.rglob("*.py.meta")):
        module = meta.relative_to(mutants).as_posix().removesuffix(".meta")
        if not any(fnmatch.fnmatch(module, pattern) for pattern in scope):
            continue
        codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
        out[module] = {name: status_by_exit_code[code] for name, code in codes.items()}
    return out


def score(killed: int, total: int, skipped: int) -> float:
    return 100.0 * killed / (total - skipped) if total > skipped else 100.0


def report(by_module: dict[str, dict[str, str]], explained: set[str]) -> tuple[list[str], int]:
    """The table's lines, and how many reasons to fail there are."""
    head = f"{'module':<38} {'mutants':>7} {'killed':>7} {'survived':>8} {'no tests':>8}"
    lines = [f"{head} {'timeout':>7} {'not run':>7} {'other':>5} {'score':>7}"]
    overall: Counter[str] = Counter()
    for module, statuses in by_module.items():
        counts = Counter(statuses.values())
        overall += counts
        lines.append(_row(module, counts))
    lines.append(_row("all", overall))
    problems = 0
    total = sum(overall.values())
    if score(overall["killed"], total, overall["skipped"]) < GOAL:
        lines.append(f"\nThe score is under the goal of {GOAL:.0f}%.")
        problems += 1
    unanswered = sorted(
        name
        for statuses in by_module.values()
        for name, status in statuses.items()
        if status in UNANSWERED and name not in explained
    )
    if unanswered:
        lines.append(
            f"\n{len(unanswered)} mutants no test kills, and not in tests/MUTATION.md "
            "(`mutmut show NAME` shows each): kill it with a test, or say there why it "
            "cannot matter."
        )
        lines += [f"  {name}  ({_status(by_module, name)})" for name in unanswered]
        problems += 1
    # Only a mutant a run killed: one a partial run (`mutmut run NAME`) did not reach is
    # "not checked", and says nothing of whether its reason still holds.
    killed = sorted(
        name
        for statuses in by_module.values()
        for name, status in statuses.items()
        if name in explained and status == "killed"
    )
    if killed:
        lines.append("\nIn tests/MUTATION.md but now killed (take them out):")
        lines += [f"  {name}" for name in killed]
    return lines, problems


def _row(module: str, counts: Counter[str]) -> str:
    total = sum(counts.values())
    known = ("killed", "survived", "no tests", "timeout", "not checked", "skipped")
    other = total - sum(counts[k] for k in known)
    figure = score(counts["killed"], total, counts["skipped"])
    return (
        f"{module:<38} {total:>7} {counts['killed']:>7} {counts['survived']:>8} "
        f"{counts['no tests']:>8} {counts['timeout']:>7} {counts['not checked']:>7} "
        f"{other:>5} {figure:>6.1f}%"
    )


def _status(by_module: dict[str, dict[str, str]], name: str) -> str:
    return next(s[name] for s in by_module.values() if name in s)


def main() -> int:
    by_module = results(ROOT / "mutants", in_scope(ROOT / "pyproject.toml"))
    if not by_module:
        print("No mutmut results in ./mutants: run `make mutation`.", file=sys.stderr)
        return 1
    text = EXPLAINED.read_text(encoding="utf-8") if EXPLAINED.exists() else ""
    lines, problems = report(by_module, set(MUTANT_NAME.findall(text)))
    print("\n".join(lines))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
