"""Turns raw worker results into the summary (`--json`) and the printed table.

Every ratio's direction is in its name and spelled out beside it (see bench/README.md):
- p1.ratio = scimrec wall time / bare paged read wall time: a slow-down, lower is better.
- p2.ratio_vs_sequential = sequential client time / scimrec time: a speed-up, higher is better.
- p2.ratio_vs_concurrent = raw concurrent loop time / scimrec time: the share of the raw
  loop's speed scimrec reaches, higher is better (1.0 = as fast).
"""

from __future__ import annotations

from typing import Any

Result = dict[str, Any]

DIRECTIONS = {
    "p1.ratio": "scimrec_s / baseline_s: slow-down vs the bare paged read, lower is better",
    "p1fast.ratio_wall": "scimrec wall / bare read wall (spec cache warm), lower is better",
    "p1fast.ratio_cpu": "scimrec CPU / bare read CPU (spec cache warm), lower is better",
    "p1fast.log_cost": "CPU at log level info / CPU at warning - 1, lower is better",
    "p4.ratio_vs_concurrent": "raw concurrent loop time / scimrec time with Bulk, higher is "
    "better (goal >= 3)",
    "p4.requests": "requests scimrec sent in P4's apply (Bulk requests count once each)",
    "p5.throughput_ratio": "requests admitted per second / R, higher is better (goal >= 0.9)",
    "p5.refused_share": "429s / requests sent, lower is better (goal <= 0.05)",
    "p2.ratio_vs_sequential": "sequential_s / scimrec_s: speed-up, higher is better",
    "p2.ratio_vs_concurrent": "concurrent_s / scimrec_s: share of raw speed, higher is better",
}


def _per(value: float, count: int) -> int:
    return round(value / count) if count else 0


def summarise(raw: Result, sizes: Result, machine: Result) -> Result:
    """The summary of the parts that ran (a part left out with --only has no key)."""
    parts = {"p1": _p1, "p1fast": _p1fast, "p2": _p2, "p3": _p3, "p4": _p4, "p5": _p5}
    out: Result = {k: parts[k](raw[k], sizes[k]) for k in parts if k in raw}
    return {**out, "directions": DIRECTIONS, "sizes": sizes, "machine": machine}


def _cpu(run: Result, phase: str) -> float | None:
    value = run.get("phases", {}).get("cpu_s", {}).get(phase)
    return None if value is None else round(value, 3)


def _p1(p1: Result, size: Result) -> Result:
    base, info, quiet = p1["baseline"], p1["scimrec"], p1.get("scimrec_quiet")
    users = size["users"]
    return {
        "ratio": round(info["wall_s"] / base["wall_s"], 3),
        "requests": info["server_requests"],
        "pages": base["pages"],
        "rss_bytes_per_user": _per(info["rss_peak"] - info["rss_before"], users),
        "scimrec_s": info["wall_s"],
        "baseline_s": base["wall_s"],
        "scimrec_cpu_s": info["cpu_s"],
        "baseline_cpu_s": base["cpu_s"],
        "spec_load_cpu_s": _cpu(info, "load_spec"),
        "baseline_rss_bytes_per_user": _per(base["rss_peak"] - base["rss_before"], users),
        "scimrec_quiet_s": quiet["wall_s"] if quiet else None,
        "log_lines": info.get("stderr_lines"),
        "log_bytes": info.get("stderr_bytes"),
        "phases_s": info["phases"]["wall_s"],
        "no_changes": info["no_changes"],
    }


def _p1fast(p1: Result, size: Result) -> Result:
    base, cold, warm, quiet = p1["baseline"], p1["cold"], p1["warm"], p1["warm_quiet"]
    return {
        "ratio_wall": round(warm["wall_s"] / base["wall_s"], 3),
        "ratio_cpu": round(warm["cpu_s"] / base["cpu_s"], 3),
        "ratio_wall_cold": round(cold["wall_s"] / base["wall_s"], 3),
        "ratio_cpu_cold": round(cold["cpu_s"] / base["cpu_s"], 3),
        "log_cost": round(warm["cpu_s"] / quiet["cpu_s"] - 1, 3),
        # Every warm run's CPU seconds: at full size, the figures above are their medians.
        "cpu_s_runs": {
            "baseline": base.get("cpu_s_runs"),
            "warm": warm.get("cpu_s_runs"),
            "warm_quiet": quiet.get("cpu_s_runs"),
        },
        "baseline_s": base["wall_s"],
        "baseline_cpu_s": base["cpu_s"],
        "scimrec_s": {
            "cold": cold["wall_s"],
            "warm": warm["wall_s"],
            "warm_quiet": quiet["wall_s"],
        },
        "scimrec_cpu_s": {
            "cold": cold["cpu_s"],
            "warm": warm["cpu_s"],
            "warm_quiet": quiet["cpu_s"],
        },
        "spec_load_cpu_s": {"cold": _cpu(cold, "load_spec"), "warm": _cpu(warm, "load_spec")},
        "phases_cpu_s": {"cold": cold["phases"]["cpu_s"], "warm": warm["phases"]["cpu_s"]},
        "requests": warm["server_requests"],
        "pages": base["pages"],
        "log_lines": warm.get("stderr_lines"),
        "log_bytes": warm.get("stderr_bytes"),
        "rss_bytes_per_user": _per(warm["rss_peak"] - warm["rss_before"], size["users"]),
        "no_changes": cold["no_changes"] and warm["no_changes"] and quiet["no_changes"],
    }


def _p2(p2: Result, size: Result) -> Result:
    seq, conc, mine = p2["sequential"], p2["concurrent"], p2["scimrec"]
    return {
        "ratio_vs_sequential": round(seq["wall_s"] / mine["wall_s"], 3),
        "ratio_vs_concurrent": round(conc["wall_s"] / mine["wall_s"], 3),
        "scimrec_s": mine["wall_s"],
        "sequential_s": seq["wall_s"],
        "concurrent_s": conc["wall_s"],
        "requests": {
            "scimrec": mine["requests"],
            "sequential": seq["requests"],
            "concurrent": conc["requests"],
        },
        "scimrec_by_method": mine["by_method"],
        "failed": mine["counts"].get("failed"),
        "verified_no_changes": mine.get("verified_no_changes"),
        "phases_s": mine["phases"]["wall_s"],
        "delay_s": p2["delay_s"],
        "concurrency": p2["concurrency"],
    }


def _p4(p4: Result, size: Result) -> Result:
    """P2's workload applied through Bulk (RFC 7644 §3.7), against P2's raw concurrent loop."""
    conc, mine = p4["concurrent"], p4["scimrec"]
    by_method = mine["by_method"]
    return {
        "bulk": by_method.get("POST", 0) < size["users"],  # fewer POSTs than users: Bulk ran
        "ratio_vs_concurrent": round(conc["wall_s"] / mine["wall_s"], 3),
        "requests": mine["requests"],
        "requests_concurrent": conc["requests"],
        "scimrec_s": mine["wall_s"],
        "concurrent_s": conc["wall_s"],
        "scimrec_by_method": by_method,
        "failed": mine["counts"].get("failed"),
        "verified_no_changes": mine.get("verified_no_changes"),
        "phases_s": mine["phases"]["wall_s"],
        "delay_s": p4["delay_s"],
        "concurrency": p4["concurrency"],
    }


def _p5(p5: Result, size: Result) -> Result:
    out = _p5_run(p5["scimrec"], p5["rate"])
    out.update(rate=p5["rate"], concurrency=p5["concurrency"])
    if "unpaced" in p5:
        out["unpaced"] = _p5_run(p5["unpaced"], p5["rate"])
    return out


def _p5_run(run: Result, rate: float) -> Result:
    sent = run["requests"]
    return {
        "throughput_ratio": round(run["admitted"] / run["wall_s"] / rate, 3),
        "failed": run["counts"].get("failed", 0),
        "refused_share": round(run["refused"] / sent, 3) if sent else None,
        "requests": sent,
        "refused": run["refused"],
        "admitted": run["admitted"],
        "scimrec_s": run["wall_s"],
        "failures": run["failed"],
    }


def _p3(p3: Result, size: Result) -> Result:
    cpu0, cpu1, alloc0 = p3["unchanged"], p3["one_percent"], p3.get("unchanged_alloc")
    users = size["users"]
    held = cpu0["rss_peak"]  # VmHWM while planning, with spec and observed state in memory
    return {
        "cpu_s_unchanged": cpu0["cpu_s"],
        "cpu_s_one_percent_changed": cpu1["cpu_s"],
        "rss_bytes_per_user": _per(held - cpu0["rss_at_start"], users),
        "rss_spec_bytes_per_user": _per(cpu0["rss_spec"], users),
        "rss_observed_bytes_per_user": _per(cpu0["rss_observed"], users),
        "heap_bytes_per_user": {k: _per(v, users) for k, v in alloc0["heap"].items()}
        if alloc0
        else None,
        "changes_one_percent": cpu1["changes"],
        "gc_gen2_collections": cpu0["gc_gen2_during_plan"],
    }


def _mb(value: float) -> str:
    return f"{value / 1e6:.0f} MB"


Row = tuple[str, str, str]


def _p1_rows(p1: Result, size: Result) -> list[Row]:
    return [
        ("P1 no-op plan", f"{size['users']:,} users + {size['groups']:,} groups", ""),
        ("  scimrec plan (log info)", _s(p1["scimrec_s"]), f"cpu {p1['scimrec_cpu_s']:.2f} s"),
        ("  scimrec plan (log warning)", _s(p1["scimrec_quiet_s"]), ""),
        ("  bare paged read", _s(p1["baseline_s"]), f"cpu {p1['baseline_cpu_s']:.2f} s"),
        ("  ratio scimrec/baseline", f"{p1['ratio']:.2f}x", "lower is better"),
        ("  requests / pages", f"{p1['requests']} / {p1['pages']}", "goal: <= pages + 3"),
        (
            "  RSS per user",
            f"{p1['rss_bytes_per_user']:,} B",
            f"baseline {p1['baseline_rss_bytes_per_user']:,} B",
        ),
        ("  log lines", f"{p1['log_lines']:,}", _mb(p1["log_bytes"] or 0)),
        ("  phases (wall s)", "", _phases(p1["phases_s"])),
    ]


def _p2_rows(p2: Result, size: Result) -> list[Row]:
    requests = p2["requests"]
    latency = f"+{p2['delay_s'] * 1000:.0f} ms/request, concurrency {p2['concurrency']}"
    mine = f"{requests['scimrec']} requests {_methods(p2['scimrec_by_method'])}"
    check = f"plan after apply: no changes = {p2['verified_no_changes']}"
    return [
        ("P2 initial apply", f"{size['users']:,} users + {size['groups']:,} groups", latency),
        ("  scimrec apply", _s(p2["scimrec_s"]), mine),
        ("  sequential lookup+write", _s(p2["sequential_s"]), f"{requests['sequential']} requests"),
        ("  raw concurrent loop", _s(p2["concurrent_s"]), f"{requests['concurrent']} requests"),
        ("  speed-up vs sequential", f"{p2['ratio_vs_sequential']:.2f}x", "higher is better"),
        ("  share of raw concurrent", f"{p2['ratio_vs_concurrent']:.2f}x", "higher is better"),
        ("  phases (wall s)", "", _phases(p2["phases_s"])),
        ("  check", f"failed {p2['failed']}", check),
    ]


def _p4_rows(p4: Result, size: Result) -> list[Row]:
    latency = f"+{p4['delay_s'] * 1000:.0f} ms/request, concurrency {p4['concurrency']}"
    mine = f"{p4['requests']} requests {_methods(p4['scimrec_by_method'])}"
    check = f"plan after apply: no changes = {p4['verified_no_changes']}"
    return [
        (
            "P4 initial apply with Bulk",
            f"{size['users']:,} users + {size['groups']:,} groups",
            latency,
        ),
        ("  scimrec apply (Bulk)", _s(p4["scimrec_s"]), mine),
        ("  raw concurrent loop", _s(p4["concurrent_s"]), f"{p4['requests_concurrent']} requests"),
        ("  speed-up vs raw concurrent", f"{p4['ratio_vs_concurrent']:.2f}x", "higher; goal >= 3"),
        ("  phases (wall s)", "", _phases(p4["phases_s"])),
        ("  check", f"failed {p4['failed']}", f"bulk used = {p4['bulk']}; {check}"),
    ]


def _p3_rows(p3: Result, size: Result) -> list[Row]:
    held = (
        f"spec {p3['rss_spec_bytes_per_user']:,} B + "
        f"observed {p3['rss_observed_bytes_per_user']:,} B (RSS growth)"
    )
    return [
        ("P3 make_plan alone", f"{size['users']:,} users + {size['groups']:,} groups", ""),
        ("  CPU, unchanged", _s(p3["cpu_s_unchanged"]), f"gen2 GCs {p3['gc_gen2_collections']}"),
        (
            "  CPU, 1% differ",
            _s(p3["cpu_s_one_percent_changed"]),
            f"{p3['changes_one_percent']} changes",
        ),
        ("  RSS per user (held)", f"{p3['rss_bytes_per_user']:,} B", held),
        ("  Python heap per user", "", _heap(p3["heap_bytes_per_user"])),
    ]


def _p1fast_rows(p1: Result, size: Result) -> list[Row]:
    wall, cpu, load = p1["scimrec_s"], p1["scimrec_cpu_s"], p1["spec_load_cpu_s"]
    return [
        ("P1-fast no-op plan, pre-serialised pages", f"{size['users']:,} users", ""),
        ("  bare paged read", _s(p1["baseline_s"]), f"cpu {p1['baseline_cpu_s']:.2f} s"),
        ("  scimrec plan, spec cache cold", _s(wall["cold"]), f"cpu {cpu['cold']:.2f} s"),
        ("  scimrec plan, spec cache warm", _s(wall["warm"]), f"cpu {cpu['warm']:.2f} s"),
        (
            "  scimrec plan, warm, log warning",
            _s(wall["warm_quiet"]),
            f"cpu {cpu['warm_quiet']:.2f} s",
        ),
        (
            "  ratio wall (warm / cold)",
            f"{p1['ratio_wall']:.2f}x",
            f"{p1['ratio_wall_cold']:.2f}x cold; goal <= 1.5",
        ),
        (
            "  ratio CPU (warm / cold)",
            f"{p1['ratio_cpu']:.2f}x",
            f"{p1['ratio_cpu_cold']:.2f}x cold; goal <= 3",
        ),
        (
            "  load_spec CPU (cold / warm)",
            _s(load["cold"]),
            f"warm {_s(load['warm'])}; goal <= 3 s",
        ),
        (
            "  log level info costs",
            f"{p1['log_cost'] * 100:.1f}%",
            "of CPU vs warning; goal <= 10%",
        ),
        ("  log lines", f"{p1['log_lines']:,}", _mb(p1["log_bytes"] or 0)),
        ("  requests / pages", f"{p1['requests']} / {p1['pages']}", ""),
    ]


def _p5_rows(p5: Result, size: Result) -> list[Row]:
    shape = f"{size['users']:,} users + {size['groups']:,} groups"
    rows: list[Row] = [
        ("P5 apply onto a throttled target", shape, f"R = {p5['rate']:.0f}/s, 429 above"),
    ]
    runs = [("scimrec (pace learned from 429s)", p5)]
    if "unpaced" in p5:
        runs.append(("without learning a pace", p5["unpaced"]))
    for label, run in runs:
        rows += [
            (f"  {label}", _s(run["scimrec_s"]), f"concurrency {p5['concurrency']}"),
            ("    throughput / R", f"{run['throughput_ratio']:.2f}", "goal >= 0.9"),
            (
                "    refused (429)",
                f"{run['refused']} / {run['requests']}",
                f"{run['refused_share']:.1%}; goal <= 5%",
            ),
            ("    objects failed", str(run["failed"]), "goal 0"),
        ]
    return rows


def table(summary: Result) -> str:
    sizes = summary["sizes"]
    rows: list[Row] = []
    for part, rows_of in (
        ("p1", _p1_rows),
        ("p1fast", _p1fast_rows),
        ("p2", _p2_rows),
        ("p3", _p3_rows),
        ("p4", _p4_rows),
        ("p5", _p5_rows),
    ):
        if part in summary:
            rows += rows_of(summary[part], sizes[part])
    width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows)
    return "\n".join(f"{a:<{width}}  {b:>{value_width}}  {c}".rstrip() for a, b, c in rows)


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def _heap(figures: dict[str, int] | None) -> str:
    if not figures:
        return "-"
    return "tracemalloc: " + ", ".join(f"{k} {v:,} B" for k, v in figures.items())


def _phases(phases: dict[str, float]) -> str:
    return " ".join(f"{k}={v:.2f}" for k, v in phases.items())


def _methods(by_method: dict[str, int]) -> str:
    return "(" + " ".join(f"{k} {v}" for k, v in sorted(by_method.items())) + ")"
