"""How the benchmark drives scimrec: the CLI's plan, an apply with an injected transport, and
the pure planning step, plus per-step timing of reconciler/run.py's pipeline.

This is the only bench module that imports `reconciler`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import importlib
import io
import json
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dataset
import httpx2
import measure

from reconciler import cli, logs, run
from reconciler.core.config import Spec, Target
from reconciler.core.model import Observed, Resource
from reconciler.core.plan import Plan, make_plan
from reconciler.report import render
from reconciler.scim import paging, payload, redact
from reconciler.scim.apply.runner import Applier, ApplyResult
from reconciler.scim.sharing import Shared
from reconciler.spec.load import load_spec

# reconciler/run.py (and replan.py) call these through their module globals; wrapping them
# there times each step of `prepare` without changing what it does. Names that no longer
# exist are skipped.
STEPS = ("load_spec", "test_connection", "observe", "make_plan", "check_guards", "log_steps")
_last: dict[str, int] = {}


def instrument() -> measure.Phases:
    phases = measure.Phases()
    # The plan is made in replan.py too (again after the reads it calls for), where that
    # module exists: a tree from before it makes every plan in run.py.
    modules = [run, *filter(None, [_module("reconciler.replan")])]
    for module in modules:
        for name in STEPS:
            original = getattr(module, name, None)
            if callable(original):
                setattr(module, name, _timing(phases, name, original))
    return phases


def _module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _timing(phases: measure.Phases, name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def timed(*args: Any, **kwargs: Any) -> Any:
        with phases.step(name):
            return original(*args, **kwargs)

    return timed


def cli_plan(spec: Path, log_level: str, out: io.StringIO) -> int:
    """`scimrec plan SPEC --target bench --log-level LEVEL`, in this process; stdout into out."""
    with contextlib.redirect_stdout(out):
        return cli.main(["plan", str(spec), "--target", "bench", "--log-level", log_level])


def apply(
    spec: Path,
    log_level: str,
    transport: httpx2.BaseTransport,
    out: io.StringIO,
    phases: measure.Phases,
) -> ApplyResult:
    """What `scimrec apply SPEC --target bench --auto-approve` does (reconciler/cli.py `_apply`),
    with the benchmark's transport injected so every request pays the added latency."""
    logs.configure(log_level)
    prepared = run.prepare(spec, "bench", transport=transport)
    with phases.step("render"):
        out.write(render.plan_text(prepared.plan.to_json()))
    try:
        with phases.step("apply"):
            applier = Applier(prepared.client, prepared.target, prepared.caps, prepared.log)
            result = applier.run(prepared.plan)
    finally:
        prepared.client.close()
    out.write(render.apply_summary(result.counts()))
    return result


def no_changes_after(spec: Path) -> bool:
    """The invariant (STYLE §13): after apply, plan reports no changes."""
    logs.configure("error")
    prepared = run.prepare(spec, "bench")
    prepared.client.close()
    return not prepared.plan.has_changes and not prepared.plan.errors


def spec_input(root: Path, sizes: dataset.Sizes) -> tuple[Spec, Target]:
    """The spec as scimrec loads it from the generated YAML tree."""
    spec = load_spec(dataset.write_spec(root, sizes, "http://127.0.0.1:9/scim/v2"))
    return spec, spec.targets["bench"]


def observed_input(sizes: dataset.Sizes, percent: float) -> Observed:
    """The observed state as `observe` would hold it: pages of 500 parsed from JSON, each
    resource taken as the pager takes it (`meta` kept out, repeated values shared), with
    `percent` % of users and of groups differing from the spec."""
    shared = Shared()
    users, plain = _read([_user_on_target(i, percent) for i in range(sizes.users)], shared)
    shared.users_read(users)
    spread = dataset.members(sizes)
    bodies = [_group_on_target(j, spread[j], percent) for j in range(sizes.groups)]
    groups, plain_groups = _read(bodies, shared)
    # Each page is as the client reads it (scim/client.py): checked, and scrubbed of the
    # run's secrets; a page nothing was masked in leaves the read unmasked.
    flags = {
        "representable": plain[0] and plain_groups[0],
        "unmasked": plain[1] and plain_groups[1],
    }
    # An older reconciler/ that bench/plan_ab.py compares with may not know every flag.
    known = {field.name for field in dataclasses.fields(Observed)}
    return Observed(users, groups, **{k: v for k, v in flags.items() if k in known})


def _read(
    bodies: list[dict[str, Any]], shared: Shared
) -> tuple[tuple[Resource, ...], tuple[bool, bool]]:
    out: list[Resource] = []
    plain = unmasked = True
    for start in range(0, len(bodies), 500):
        page = json.dumps({"Resources": bodies[start : start + 500]}).encode()
        parsed, representable = payload.parse_checked(page)
        plain = plain and representable
        unmasked = unmasked and redact.scrub_json(parsed, page) is parsed
        if not isinstance(parsed, dict):
            raise TypeError("a bench page is a JSON object")
        for item in paging.listed(parsed, "a bench page"):
            found = paging.resource(item)
            if found is None:
                raise ValueError("every bench resource has an id")
            shared.take(found.body)
            out.append(found)
    return tuple(out), (plain, unmasked)


def _user_on_target(i: int, percent: float) -> dict[str, Any]:
    body = dataset.scim_user(i)
    body["meta"] = {"resourceType": "User", "version": 'W/"1"'}
    if dataset.changed(i, percent):
        body["title"] = "Changed on the target"
    return body


def _group_on_target(j: int, member_indexes: list[int], percent: float) -> dict[str, Any]:
    if dataset.changed(j, percent) and member_indexes:
        member_indexes = member_indexes[:-1]  # one membership missing on the target
    body = dataset.scim_group(j, member_indexes)
    body["meta"] = {"resourceType": "Group", "version": 'W/"1"'}
    return body


def settle() -> None:
    """Before planning, not timed: a full collection, then freeze, as run.prepare does.

    Building the inputs here leaves the collector owing a pass over them; scimrec's own
    run freezes the spec and observed state before make_plan, so planning never pays it.
    """
    gc.collect()
    gc.freeze()


class Heap:
    """Python-heap figures from tracemalloc (when enabled): bytes held after each mark, and
    the peak that make_plan adds on top of its inputs."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.figures: dict[str, int] = {}
        self._last = 0
        if enabled:
            tracemalloc.start()

    def mark(self, name: str) -> None:
        if self.enabled:
            current = tracemalloc.get_traced_memory()[0]
            self.figures[name] = current - self._last
            self._last = current

    def plan_started(self) -> None:
        if self.enabled:
            tracemalloc.reset_peak()
            self._last = tracemalloc.get_traced_memory()[0]

    def plan_done(self) -> None:
        if self.enabled:
            self.figures["make_plan_peak"] = tracemalloc.get_traced_memory()[1] - self._last
            tracemalloc.stop()


def pure_plan(spec: Spec, target: Target, observed: Observed, heap: Heap) -> Plan:
    """`make_plan` alone; call `settle()` first, outside the measurement. Any full
    collection make_plan itself triggers is part of its cost, and counted (`gc_gen2`)."""
    gen2 = gc.get_stats()[2]["collections"]
    heap.plan_started()
    plan = make_plan(spec, target, observed)
    heap.plan_done()
    _last["gen2"] = gc.get_stats()[2]["collections"] - gen2
    gc.unfreeze()
    return plan


def last_gen2_collections() -> int:
    return _last.get("gen2", 0)
