"""scimrec's benchmark suite (issue 6): `python bench/run.py [--full] [--json FILE]`.

P1 no-op plan vs a bare paged read, P2 initial apply with 20 ms added per request vs a
sequential lookup+write client and a raw concurrent loop, P3 `make_plan` alone, P4 P2's
apply through SCIM Bulk vs the same raw loop. Each measured
thing runs in its own process (bench/worker.py) against a scim2-server target in another
(bench/server.py). See bench/README.md for what each figure means and the last results.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import dataset
import report
from measure import BENCH, run_worker
from target import Running, serving

Result = dict[str, Any]
TOKEN = "scimrec-bench-token"  # not a word that appears in names: redaction would mask it
NO_CACHE = {"SCIMREC_CACHE_DIR": ""}  # reconciler/spec/cache.py: off
SMALL = {
    "p1": dataset.Sizes(2_000, 40),
    "p1fast": dataset.Sizes(2_000, 40),
    "p2": dataset.Sizes(200, 10),
    "p3": dataset.Sizes(5_000, 100),
    "p4": dataset.Sizes(200, 10),
    "p5": dataset.Sizes(200, 10),
}
FULL = {
    "p1": dataset.Sizes(100_000, 2_000),
    "p1fast": dataset.Sizes(100_000, 2_000),
    "p2": dataset.Sizes(10_000, 500),
    "p3": dataset.Sizes(100_000, 2_000),
    "p4": dataset.Sizes(10_000, 500),
    "p5": dataset.Sizes(2_000, 100),
}
DELAY = 0.020  # P2: added to every request, as a remote target's round trip
CONCURRENCY = 8  # scimrec's default `concurrency` (reconciler/model.py Target)
PAGE_SIZE = 500  # scimrec's default `page_size`; the baseline reads with the same
PARTS = ("p1", "p1fast", "p2", "p3", "p4", "p5")
RATE = 25.0  # P5: requests per second the throttled target admits (Entra's ask of gallery apps)


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def p1(sizes: dataset.Sizes, work: Path, http: str) -> Result:
    say(f"P1: seeding {sizes.users:,} users + {sizes.groups:,} groups")
    out: Result = {}
    with serving(sizes, fill="matching", http=http, token=TOKEN) as server:
        say(f"P1: server ready ({server.http}, seeded in {server.seed_s:.1f} s)")
        spec = dataset.write_spec(work, sizes, server.url, concurrency=CONCURRENCY)
        out["seed_s"] = server.seed_s
        args = ["p1-baseline", "--url", server.url]
        out["baseline"] = _counted(server, args, work / "p1-baseline.log")
        say(f"P1: bare paged read {out['baseline']['wall_s']:.2f} s")
        for key, level in (("scimrec", "info"), ("scimrec_quiet", "warning")):
            args = ["p1-scimrec", "--spec", str(spec), "--log-level", level]
            # Both runs parse the spec: P1 stays comparable with runs before the spec cache.
            out[key] = _counted(server, args, work / f"p1-{level}.log", NO_CACHE)
            say(f"P1: scimrec plan (log {level}) {out[key]['wall_s']:.2f} s")
            if out[key]["exit_code"] != 0 or not out[key]["no_changes"]:
                raise RuntimeError(f"P1: scimrec did not plan 'No changes.' (see {work})")
    return out


def p1fast(sizes: dataset.Sizes, work: Path, http: str) -> Result:
    """The same no-op plan against a target serving pre-serialised pages (bench/pages.py)."""
    say(f"P1-fast: serialising {sizes.users:,} users + {sizes.groups:,} groups")
    out: Result = {}
    cache = work / "spec-cache"
    shutil.rmtree(cache, ignore_errors=True)  # the first plan parses every file
    env = {"SCIMREC_CACHE_DIR": str(cache)}
    with serving(sizes, fill="matching", http=http, token=TOKEN, app="pages") as server:
        spec = dataset.write_spec(work, sizes, server.url, concurrency=CONCURRENCY)
        # CPU seconds of one command move by 10-20% between runs on a shared machine (the
        # bare read's too), so at full size the bare read and the warm plans at each log
        # level run three times, interleaved, and each keeps its median run: the ratios
        # and the log cost compare medians, not single runs.
        rounds = 3 if sizes.users >= 50_000 else 1
        done: dict[str, list[Result]] = {}
        bare = ["p1-baseline", "--url", server.url]
        done["baseline"] = [_counted(server, bare, work / "p1fast-baseline.log")]
        say(f"P1-fast: bare paged read {done['baseline'][0]['wall_s']:.2f} s")
        warm = [("warm", "info"), ("warm_quiet", "warning")]
        runs = [("cold", "info"), *warm, *[("baseline", ""), *warm] * (rounds - 1)]
        for key, level in runs:
            if key == "baseline":
                done[key].append(_counted(server, bare, work / "p1fast-baseline.log"))
                continue
            args = ["p1-scimrec", "--spec", str(spec), "--log-level", level]
            run = _counted(server, args, work / f"p1fast-{key}.log", env)
            say(f"P1-fast: scimrec plan ({key}, log {level}) {run['wall_s']:.2f} s")
            if run["exit_code"] != 0 or not run["no_changes"]:
                raise RuntimeError(f"P1-fast: scimrec did not plan 'No changes.' (see {work})")
            done.setdefault(key, []).append(run)
        for key, results in done.items():
            ordered = sorted(results, key=lambda r: r["cpu_s"])
            out[key] = {**ordered[len(ordered) // 2], "cpu_s_runs": [r["cpu_s"] for r in results]}
    return out


def _counted(
    server: Running, args: list[str], log: Path | None, env: dict[str, str] | None = None
) -> Result:
    """Run a worker and add the number of requests the server saw during it."""
    server.reset()
    before = server.stats()["cpu_s"]
    result = run_worker([*args, "--page-size", str(PAGE_SIZE)], stderr_to=log, env=env)
    stats = server.stats()
    result["server_requests"] = sum(stats["by_method"].values())
    result["server_by_method"] = stats["by_method"]
    result["server_cpu_s"] = round(stats["cpu_s"] - before, 3)
    return result


def p2(sizes: dataset.Sizes, work: Path, http: str) -> Result:
    out: Result = {"delay_s": DELAY, "concurrency": CONCURRENCY}
    common = ["--delay", str(DELAY), "--concurrency", str(CONCURRENCY)]
    population = ["--users", str(sizes.users), "--groups", str(sizes.groups)]
    for key in ("scimrec", "concurrent", "sequential"):
        with serving(sizes, fill="empty", http=http, token=TOKEN) as server:
            say(f"P2: {key} apply of {sizes.users:,} users + {sizes.groups:,} groups")
            if key == "scimrec":
                spec = dataset.write_spec(work, sizes, server.url, concurrency=CONCURRENCY)
                args = ["p2-scimrec", "--spec", str(spec), "--verify", *common]
                out[key] = run_worker(args, stderr_to=work / "p2-scimrec.log")
            else:
                args = [f"p2-{key}", "--url", server.url, *population, *common]
                out[key] = run_worker(args, stderr_to=work / f"p2-{key}.log")
            say(f"P2: {key} {out[key]['wall_s']:.2f} s")
    return out


def p4(sizes: dataset.Sizes, work: Path, http: str, p2: Result | None) -> Result:
    """P2's initial apply through Bulk (RFC 7644 §3.7), which the target advertises, against
    P2's raw concurrent loop (reused when P2 ran at the same size, else run here)."""
    out: Result = {"delay_s": DELAY, "concurrency": CONCURRENCY}
    common = ["--delay", str(DELAY), "--concurrency", str(CONCURRENCY)]
    with serving(sizes, fill="empty", http=http, token=TOKEN) as server:
        say(f"P4: scimrec apply with Bulk of {sizes.users:,} users + {sizes.groups:,} groups")
        spec = dataset.write_spec(work, sizes, server.url, concurrency=CONCURRENCY, bulk=True)
        args = ["p2-scimrec", "--spec", str(spec), "--verify", *common]
        out["scimrec"] = run_worker(args, stderr_to=work / "p4-scimrec.log")
        say(f"P4: scimrec {out['scimrec']['wall_s']:.2f} s")
    if p2 is not None:
        out["concurrent"] = p2["concurrent"]
        return out
    population = ["--users", str(sizes.users), "--groups", str(sizes.groups)]
    with serving(sizes, fill="empty", http=http, token=TOKEN) as server:
        say("P4: the raw concurrent loop (P2's baseline)")
        args = ["p2-concurrent", "--url", server.url, *population, *common]
        out["concurrent"] = run_worker(args, stderr_to=work / "p4-concurrent.log")
        say(f"P4: raw concurrent loop {out['concurrent']['wall_s']:.2f} s")
    return out


def p5(sizes: dataset.Sizes, work: Path, http: str) -> Result:
    """Initial apply onto a target that admits RATE requests per second (bench/throttle.py):
    scimrec as it is (learning a pace from the 429s), then with that learning turned off
    (what it did before: 429s only halve the concurrency), each on a fresh empty target."""
    out: Result = {"rate": RATE, "concurrency": CONCURRENCY}
    for key, extra in (("scimrec", []), ("unpaced", ["--no-pace-learning"])):
        with serving(sizes, fill="empty", http=http, token=TOKEN, rate=RATE) as server:
            say(f"P5: {key} apply of {sizes.users:,} users + {sizes.groups:,} groups at R={RATE}")
            spec = dataset.write_spec(work, sizes, server.url, concurrency=CONCURRENCY)
            server.reset()
            args = ["p2-scimrec", "--spec", str(spec), "--concurrency", str(CONCURRENCY), *extra]
            result = run_worker(args, stderr_to=work / f"p5-{key}.log")
            stats = server.stats()
            result["admitted"], result["refused"] = stats["admitted"], stats["refused"]
            out[key] = result
            refused = f"{stats['refused']} of {result['requests']} refused"
            say(f"P5: {key} {result['wall_s']:.1f} s, {refused}")
    return out


def p3(sizes: dataset.Sizes, work: Path) -> Result:
    out: Result = {}
    base = ["p3", "--spec-root", str(work), "--users", str(sizes.users)]
    base += ["--groups", str(sizes.groups)]
    runs = (
        ("unchanged", ["--percent", "0"]),
        ("one_percent", ["--percent", "1"]),
        ("unchanged_alloc", ["--percent", "0", "--alloc"]),
    )
    for key, extra in runs:
        out[key] = run_worker([*base, *extra], stderr_to=work / f"p3-{key}.log")
        say(f"P3: {key} cpu {out[key]['cpu_s']:.2f} s")
    return out


def machine(http: str) -> Result:
    memory = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory = int(line.split()[1]) * 1024
    git = shutil.which("git")
    revision, dirty = "", ""
    if git:
        command = [git, "-C", str(BENCH.parent), "rev-parse", "--short", "HEAD"]
        revision = subprocess.run(command, capture_output=True, text=True, check=False).stdout
        status = [git, "-C", str(BENCH.parent), "status", "--porcelain", "reconciler"]
        dirty = subprocess.run(status, capture_output=True, text=True, check=False).stdout
    return {
        "cores": os.cpu_count(),
        "memory_bytes": memory,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "http_server": http,
        "git_head": revision.strip() or None,
        # Others edit reconciler/ while the benchmark runs: name what was uncommitted.
        "reconciler_uncommitted": [line[3:] for line in dirty.splitlines()],
    }


def _http(choice: str) -> str:
    if choice != "auto":
        return choice
    try:
        import cheroot  # noqa: F401 - only probing whether it is installed
    except ImportError:
        return "wsgiref"
    return "cheroot"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="issue 6's sizes (takes long)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the summary here")
    parser.add_argument(
        "--http",
        choices=("wsgiref", "cheroot", "auto"),
        default="wsgiref",
        help="the target's HTTP server: wsgiref as in `scimrec sandbox` (default), or cheroot "
        "(HTTP/1.1 keep-alive; pip install cheroot); auto picks cheroot when installed",
    )
    parser.add_argument("--only", choices=PARTS, action="append", help="run a part (repeatable)")
    parser.add_argument("--workdir", type=Path, default=BENCH / ".work", help="specs and logs")
    args = parser.parse_args(argv)
    sizes = FULL if args.full else SMALL
    http = _http(args.http)
    work = args.workdir / ("full" if args.full else "small")
    work.mkdir(parents=True, exist_ok=True)
    parts = args.only or list(PARTS)
    os.environ[dataset.TOKEN_ENV] = TOKEN  # the workers' spec reads the token from here
    started = time.perf_counter()
    facts = machine(http)  # git state at the start: reconciler/ may change while this runs
    raw: Result = {}
    if "p1" in parts:
        raw["p1"] = p1(sizes["p1"], work, http)
    if "p1fast" in parts:
        raw["p1fast"] = p1fast(sizes["p1fast"], work, http)
    if "p2" in parts:
        raw["p2"] = p2(sizes["p2"], work, http)
    if "p3" in parts:
        raw["p3"] = p3(sizes["p3"], work)
    if "p4" in parts:
        same = "p2" in raw and sizes["p2"] == sizes["p4"]
        raw["p4"] = p4(sizes["p4"], work, http, raw["p2"] if same else None)
    if "p5" in parts:
        raw["p5"] = p5(sizes["p5"], work, http)
    (work / "raw.json").write_text(json.dumps(raw, indent=2))
    size_info = {k: {"users": v.users, "groups": v.groups} for k, v in sizes.items()}
    facts["suite_s"] = round(time.perf_counter() - started, 1)
    end = machine(http)
    facts["git_head_at_end"] = end["git_head"]
    facts["reconciler_uncommitted_at_end"] = end["reconciler_uncommitted"]
    summary = report.summarise(raw, size_info, facts)
    print(report.table(summary))
    print(f"\nsuite took {facts['suite_s']:.0f} s; raw results in {work / 'raw.json'}")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
