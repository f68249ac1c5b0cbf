"""One measured thing per process: `python bench/worker.py KIND [options]` prints one JSON line.

Kinds: p1-baseline, p1-scimrec, p2-scimrec, p2-sequential, p2-concurrent, p3. Each child
holds only what its measurement needs, so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import baselines
import dataset
import httpx2
import measure
import scimrec_steps
from transport import Counting, pooled, stack

from reconciler.scim.apply.runner import ApplyResult

Result = dict[str, Any]


def _client(url: str, transport: httpx2.BaseTransport) -> httpx2.Client:
    token = os.environ[dataset.TOKEN_ENV]
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/scim+json"}
    return httpx2.Client(headers=headers, transport=transport, timeout=120)


@contextlib.contextmanager
def _profiled(path: str | None) -> Iterator[None]:
    if not path:
        yield
        return
    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        profile.dump_stats(path)


def _timed(work: Callable[[], Any], profile: str | None) -> tuple[Any, Result]:
    """Run `work` and measure wall, CPU and the RSS it adds (VmHWM is reset first)."""
    before = measure.rss_now()
    measure.reset_peak()
    wall, cpu = time.perf_counter(), measure.cpu_time()
    with _profiled(profile):
        value = work()
    figures = {
        "wall_s": round(time.perf_counter() - wall, 4),
        "cpu_s": round(measure.cpu_time() - cpu, 4),
        "rss_before": before,
        "rss_peak": measure.vm_hwm(),
    }
    return value, figures


def p1_baseline(args: argparse.Namespace) -> Result:
    counting = Counting(pooled(1))
    with _client(args.url, counting) as client:
        read, figures = _timed(lambda: baselines.paged_read(client, args.url, args.page_size), None)
    return {
        **figures,
        "requests": counting.total,
        "pages": read.pages,
        "users": len(read.users),
        "groups": len(read.groups),
    }


def p1_scimrec(args: argparse.Namespace) -> Result:
    steps = scimrec_steps.instrument()
    out = io.StringIO()
    code, figures = _timed(
        lambda: scimrec_steps.cli_plan(Path(args.spec), args.log_level, out), args.profile
    )
    text = out.getvalue()
    return {
        **figures,
        "exit_code": code,
        "no_changes": "No changes." in text,
        "stdout_bytes": len(text),
        "phases": steps.to_json(),
    }


def p2_scimrec(args: argparse.Namespace) -> Result:
    steps = scimrec_steps.instrument()
    counting = stack(args.concurrency, args.delay)
    out = io.StringIO()

    def work() -> ApplyResult:
        return scimrec_steps.apply(Path(args.spec), args.log_level, counting, out, steps)

    result, figures = _timed(work, args.profile)
    phases = steps.to_json()  # before the check below, which runs the same steps again
    verified = scimrec_steps.no_changes_after(Path(args.spec)) if args.verify else None
    return {
        **figures,
        "requests": counting.total,
        "by_method": dict(counting.by_method),
        "counts": result.counts(),
        "failed": [f"{o.kind.value} {o.key}: {o.message}" for o in result.failed[:5]],
        "verified_no_changes": verified,
        "phases": phases,
    }


def _check_created(client: httpx2.Client, url: str, sizes: dataset.Sizes) -> bool:
    totals = []
    for endpoint in ("Users", "Groups"):
        reply = client.get(f"{url}/{endpoint}", params={"count": 0})
        totals.append(int(reply.json().get("totalResults", -1)))
    return totals == [sizes.users, sizes.groups]


def p2_baseline(args: argparse.Namespace) -> Result:
    sizes = dataset.Sizes(args.users, args.groups)
    concurrency = 1 if args.kind == "p2-sequential" else args.concurrency
    counting = stack(concurrency, args.delay)
    with _client(args.url, counting) as client:

        def work() -> None:
            if args.kind == "p2-sequential":
                baselines.sequential_apply(client, args.url, sizes)
            else:
                baselines.concurrent_apply(client, args.url, sizes, concurrency)

        _, figures = _timed(work, None)
        requests = dict(counting.by_method)
        created = _check_created(client, args.url, sizes)
    total = sum(requests.values())
    return {**figures, "requests": total, "by_method": requests, "created": created}


def p3(args: argparse.Namespace) -> Result:
    """make_plan alone. With --alloc, tracemalloc runs from the start, so the Python heap
    held by the spec, by the observed state and added by make_plan are told apart exactly."""
    sizes = dataset.Sizes(args.users, args.groups)
    heap = scimrec_steps.Heap(args.alloc)
    start = measure.rss_now()
    spec, target = scimrec_steps.spec_input(Path(args.spec_root), sizes)
    heap.mark("spec")
    after_spec = measure.rss_now()
    observed = scimrec_steps.observed_input(sizes, args.percent)
    heap.mark("observed")
    after_observed = measure.rss_now()
    scimrec_steps.settle()
    plan, figures = _timed(
        lambda: scimrec_steps.pure_plan(spec, target, observed, heap), args.profile
    )
    return {
        **figures,
        "rss_at_start": start,
        "rss_spec": after_spec - start,
        "rss_observed": after_observed - after_spec,
        "rss_process_peak": measure.rss_peak(),
        "changes": len(plan.changes),
        "errors": len(plan.errors),
        "noop": plan.noop,
        "heap": heap.figures,
        "gc_gen2_during_plan": scimrec_steps.last_gen2_collections(),
    }


KINDS: dict[str, Callable[[argparse.Namespace], Result]] = {
    "p1-baseline": p1_baseline,
    "p1-scimrec": p1_scimrec,
    "p2-scimrec": p2_scimrec,
    "p2-sequential": p2_baseline,
    "p2-concurrent": p2_baseline,
    "p3": p3,
}


def _no_pace_learning() -> None:
    """Every client this process makes paces only to a configured max_rps, as before."""
    from reconciler.scim import pacer

    plain = pacer.Pacer.__init__

    def init(self: pacer.Pacer, *args: Any, **kwargs: Any) -> None:
        plain(self, *args, **{**kwargs, "learn": False})

    pacer.Pacer.__init__ = init  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=sorted(KINDS))
    parser.add_argument("--url", default="")
    parser.add_argument("--spec", default="")
    parser.add_argument("--spec-root", default="")
    parser.add_argument("--users", type=int, default=0)
    parser.add_argument("--groups", type=int, default=0)
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--percent", type=float, default=0.0)
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--alloc", action="store_true", help="P3: trace allocations (slower)")
    parser.add_argument("--verify", action="store_true", help="P2: plan again, expect no changes")
    parser.add_argument("--profile", default=None, help="write cProfile stats of the measured part")
    parser.add_argument(
        "--no-pace-learning",
        action="store_true",
        help="P5's comparison: do not learn a pace from 429s (scimrec's client before it did)",
    )
    args = parser.parse_args(argv)
    if args.no_pace_learning:
        _no_pace_learning()
    result = KINDS[args.kind](args)
    result["kind"] = args.kind
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
