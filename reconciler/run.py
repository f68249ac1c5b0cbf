"""Wires the five steps together for one target: the only place that runs them in order."""

from __future__ import annotations

import dataclasses
import gc
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import structlog

from reconciler import logs
from reconciler.core import collector, plancheck, planfile
from reconciler.core.config import Spec, Target
from reconciler.core.guards import Allowances, check_guards
from reconciler.core.model import Capabilities, Kind, Observed
from reconciler.core.plan import Plan, PlanOptions, make_plan
from reconciler.errors import ScimrecError, SpecError, UsageError
from reconciler.replan import plan_with_reads, read_as_planned, with_write_only
from reconciler.report.steps import log_steps
from reconciler.scim import content_type, limiter, pacer
from reconciler.scim.auth import register_named
from reconciler.scim.client import ScimClient
from reconciler.scim.connection import test_connection
from reconciler.scim.extensions import check_extensions
from reconciler.scim.lookup import Wanted, refuse_without_listing
from reconciler.scim.observe import observe
from reconciler.scim.progress import Progress
from reconciler.scim.retries import RetryPolicy
from reconciler.spec.load import load_spec

# How many targets `--target A --target B` / `--all-targets` read at the same time.
MAX_PARALLEL_TARGETS = 4


@dataclass(frozen=True)
class Prepared:
    spec: Spec
    target: Target
    client: ScimClient
    caps: Capabilities
    observed: Observed
    plan: Plan
    log: Any
    # The run's clock: what the plan's mappings and times of disabling read, and what a
    # saved plan records as its creation time (apply --plan checks the two agree).
    now: datetime | None = None


def pick_target(spec: Spec, name: str | None) -> Target:
    if name is None:
        if len(spec.targets) == 1:
            return next(iter(spec.targets.values()))
        known = ", ".join(sorted(spec.targets)) or "none"
        raise UsageError(f"choose a target with --target (defined: {known})")
    if name not in spec.targets and not spec.targets:
        raise UsageError(
            f"no target named '{name}': the spec defines no targets (add a `targets:` "
            "mapping to one of its files; `scimrec init` writes an example)"
        )
    if name not in spec.targets:
        known = ", ".join(sorted(spec.targets))
        raise UsageError(f"no target named '{name}' in the spec (defined: {known})")
    return spec.targets[name]


def bounded(target: Target, run_timeout: float | None) -> Target:
    """The target with the run's deadline that `--run-timeout` sets, if it sets one."""
    if run_timeout is None:
        return target
    return dataclasses.replace(target, run_timeout_seconds=run_timeout)


def parse_only(spec: Spec, selectors: tuple[str, ...]) -> frozenset[tuple[Kind, str]] | None:
    """Resolve `--only user:KEY` selectors to declared keys (user keys are case-insensitive)."""
    if not selectors:
        return None
    users = {u.key.casefold(): u.key for u in spec.users}
    groups = {g.key.casefold(): g.key for g in spec.groups}
    chosen: set[tuple[Kind, str]] = set()
    for selector in selectors:
        kind, sep, key = selector.partition(":")
        if not sep or kind not in ("user", "group") or not key:
            raise UsageError(f"--only expects user:KEY or group:KEY, got '{selector}'")
        table = users if kind == "user" else groups
        if key.casefold() not in table:
            raise UsageError(f"--only {selector}: no such {kind} is declared in the spec")
        chosen.add((Kind(kind), table[key.casefold()]))
    return frozenset(chosen)


def prepare(
    specs: Path,
    target_name: str | None,
    *,
    only: tuple[str, ...] = (),
    allow: Allowances | None = None,
    transport: httpx2.BaseTransport | None = None,
    progress: Progress | None = None,
    run_timeout: float | None = None,
    retry: RetryPolicy | None = None,
) -> Prepared:
    """Steps 1-5 up to a plan: load the spec, test the connection, read, scope, match, plan."""
    spec = read_spec(specs)
    target = bounded(pick_target(spec, target_name), run_timeout)
    selection = parse_only(spec, only)
    return _prepare_target(spec, target, selection, allow, transport, progress, retry)


def read_spec(specs: Path) -> Spec:
    """The spec, with the secrets of every target it names registered for redaction first:
    a secret pasted into it by mistake is masked in its errors, and in the output of every
    target, before any target's credentials are read."""
    try:
        spec = load_spec(specs)
    except SpecError as exc:
        register_named(exc.secret_envs)
        raise
    register_named(name for t in spec.targets.values() for name in t.auth.secret_envs)
    return spec


def pick_targets(spec: Spec, names: tuple[str, ...], every: bool) -> list[Target]:
    """The targets `--target A --target B` or `--all-targets` name, checked before any I/O."""
    if every:
        if not spec.targets:
            raise UsageError("--all-targets: the spec defines no target")
        return [spec.targets[name] for name in sorted(spec.targets)]
    return [pick_target(spec, name) for name in dict.fromkeys(names)]


def prepare_each(
    specs: Path,
    names: tuple[str, ...],
    *,
    every: bool = False,
    only: tuple[str, ...] = (),
    transport: httpx2.BaseTransport | None = None,
    progress: Progress | None = None,
    run_timeout: float | None = None,
) -> dict[str, Prepared | ScimrecError]:
    """Steps 1-5 on several targets at once, each on its own; one that fails (unreachable,
    refused credentials) is reported by its error and never stops the others."""
    spec = read_spec(specs)
    targets = [bounded(t, run_timeout) for t in pick_targets(spec, names, every)]
    selection = parse_only(spec, only)
    shown = progress or Progress()

    def one(target: Target) -> Prepared | ScimrecError:
        try:
            return _prepare_target(
                spec, target, selection, None, transport, _Labelled(shown, target.name)
            )
        except ScimrecError as exc:
            return exc

    # Threads, since each target mostly waits on its network; every target's client keeps
    # its own concurrency and rate limits, so this bounds only how many read at once.
    with ThreadPoolExecutor(min(len(targets), MAX_PARALLEL_TARGETS) or 1) as pool:
        results = list(pool.map(one, targets))
    return {target.name: result for target, result in zip(targets, results, strict=True)}


class _Labelled(Progress):
    """Progress of one of several targets read at once: each bar names its target."""

    def __init__(self, inner: Progress, name: str) -> None:
        self._inner, self._name = inner, name

    def reading(self, what: str, done: int, total: int | None) -> None:
        self._inner.reading(f"{self._name} {what}", done, total)


def _prepare_target(
    spec: Spec,
    target: Target,
    selection: frozenset[tuple[Kind, str]] | None,
    allow: Allowances | None,
    transport: httpx2.BaseTransport | None,
    progress: Progress | None,
    retry: RetryPolicy | None = None,
) -> Prepared:
    log = logs.start_run(target.name)
    log.info(
        "spec loaded",
        step="import",
        outcome="ok",
        files=len(spec.files),
        users=len(spec.users),
        groups=len(spec.groups),
    )
    # The clock and GUIDs mappings may read come from here, the edge, not from the core.
    now = datetime.now(UTC)
    options = PlanOptions(only=selection, now=now, new_guid=lambda: str(uuid.uuid4()))
    wanted = Wanted.later(spec, target, options.now, options.new_guid)  # for lookup mode

    # Reading the target builds as large a tree without cycles as the spec: the same pause.
    with collector.paused():
        connected = connect(
            target, transport=transport, log=log, progress=progress, retry=retry, wanted=wanted
        )
    refuse_without_listing(target, connected.observed)
    checked = check_extensions(connected.client, target, spec, log)
    observed = with_write_only(connected.observed, checked.write_only)
    if checked.notes:  # the plan shows them with the read's own notes
        observed = dataclasses.replace(observed, notes=(*observed.notes, *checked.notes))
    # Made again after the reads it calls for (replan.py).
    observed, plan = plan_with_reads(connected.client, spec, target, observed, options, log)
    plan = _guarded(plan, target, observed, allow, log)
    with collector.paused():  # its counts and sets hold no cycles either
        log_steps(plan, spec, log)
    # The spec, the observed state and the plan live for the whole run: out of the
    # collector's reach, no full collection while applying walks them again.
    gc.freeze()
    caps = observed.capabilities
    return Prepared(spec, target, connected.client, caps, observed, plan, log, now)


def prepare_saved(
    plan_path: Path,
    text: str,
    specs: Path,
    target_name: str | None,
    *,
    key: bytes | None,
    max_age: timedelta,
    allow: Allowances | None = None,
    transport: httpx2.BaseTransport | None = None,
    progress: Progress | None = None,
    run_timeout: float | None = None,
) -> Prepared:
    """A saved plan made ready to apply with the spec's target, or refused (plancheck.py).

    Nothing is sent to any target until the file's digest, its age and its agreement with
    the spec are checked: a plan edited to point elsewhere never opens a connection.
    """
    saved = planfile.parse(text, str(plan_path), key)
    if target_name is not None and target_name != saved.target:
        raise ScimrecError(
            f"refusing to apply: {plan_path} was made for target '{saved.target}', "
            f"not '{target_name}'"
        )
    now = datetime.now(UTC)
    future = plancheck.from_the_future(saved, now)
    if future:
        raise _refusal(plan_path, [future])
    old = plancheck.too_old(saved, now, max_age)
    if old:
        raise _stale([old])
    spec = read_spec(specs)
    if saved.spec_digest != spec.digest:  # main moved on, say: plan again
        raise _stale(["the spec changed since the plan was made"])
    target = pick_target(spec, saved.target)
    differ = plancheck.setting_differences(saved, target)
    if differ:  # the same spec cannot give other settings: the file was edited
        raise _refusal(
            plan_path,
            [
                f"the settings of target '{target.name}' differ between the plan and the spec "
                f"({', '.join(differ)})"
            ],
        )
    target = bounded(target, run_timeout)
    log = logs.start_run(target.name)
    # The target is read as a fresh plan reads it (lookup mode included), so a planned
    # create that now exists is found, and a short read now looks before creating.
    wanted = Wanted.later(spec, target, saved.created_at, lambda: str(uuid.uuid4()))
    connected = connect(target, transport=transport, log=log, progress=progress, wanted=wanted)
    try:
        refuse_without_listing(target, connected.observed)
        # The plan made now reads the saved plan's own time as its clock, the one its
        # mappings read: what they computed from Now() (a pre-hire's `active`) is computed
        # again and compared, and only the GUIDs Guid() draws differ (plancheck.unreviewed).
        options = PlanOptions(now=saved.created_at, new_guid=lambda: str(uuid.uuid4()))
        # Read as the plan's own read was: the attributes /Schemas marks write-only (the
        # file holds their values masked), the groups whose nested groups a plan made now
        # manages (only where the listing may leave them out), the members of the groups
        # the saved plan takes away, the users it writes unlisted attributes to.
        checked = check_extensions(connected.client, target, spec, log)
        observed = with_write_only(connected.observed, checked.write_only)
        observed = read_as_planned(
            connected.client, spec, target, observed, options, saved.plan, log
        )
        stale = plancheck.stale_reasons(saved, observed, target)
        if stale:
            raise _stale(stale)
        fresh = make_plan(spec, target, observed, options)
        saved = dataclasses.replace(saved, plan=plancheck.unmasked(saved.plan, fresh))
        problems = plancheck.protection_problems(saved.plan.changes, target, observed)
        problems += plancheck.unreviewed(saved.plan, fresh, target, saved.created_at)
        if not saved.signed:
            # An HMAC says no change was taken out: what a plan made now holds besides
            # (a part left out with --only, drift since) is simply not applied.
            problems += plancheck.left_out(saved.plan, fresh)
        if problems:
            raise _refusal(plan_path, problems)
    except BaseException:
        connected.client.close()
        raise
    # The guards of the spec, with this run's overrides, on exactly the changes that run;
    # and the requirements, which no override lifts.
    required = plancheck.requirements(saved.plan, fresh, observed, target)
    complete = saved.plan.complete_read and observed.complete
    # The fresh read's matches: what apply knows of each object as the target holds it now.
    plan = dataclasses.replace(
        saved.plan,
        requirements=required,
        complete_read=complete,
        matches=fresh.matches,
        read=observed,
    )
    plan = _guarded(plan, target, observed, allow, log)
    return Prepared(spec, target, connected.client, observed.capabilities, observed, plan, log)


def _guarded(
    plan: Plan, target: Target, observed: Observed, allow: Allowances | None, log: Any
) -> Plan:
    """The plan with its guards checked; a guard an allowance lets pass is logged at
    warning, as the plan's output shows it: an allowance left set in the environment
    would otherwise lift the guards on every run without a trace."""
    plan = check_guards(plan, target, observed, allow)
    for reason in plan.guards_passed:
        log.warning("guard passed by an allowance", step="action", detail=reason)
    return plan


def _stale(reasons: list[str]) -> ScimrecError:
    """The plan no longer fits the spec or the target: not an edit, so plan again."""
    more = f" (and {len(reasons) - 1} more)" if len(reasons) > 1 else ""
    return ScimrecError(
        f"refusing to apply a stale plan: {reasons[0]}{more}; nothing was written. Make a new plan."
    )


def _refusal(plan_path: Path, problems: list[str]) -> ScimrecError:
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return ScimrecError(
        f"refusing to apply {plan_path}: {problems[0]}{more}; nothing was written. Make a new plan."
    )


@dataclass(frozen=True)
class Connected:
    client: ScimClient
    caps: Capabilities
    observed: Observed
    log: Any


def connect(
    target: Target,
    *,
    transport: httpx2.BaseTransport | None = None,
    log: Any = None,
    user_filter: str | None = None,
    progress: Progress | None = None,
    run_timeout: float | None = None,
    retry: RetryPolicy | None = None,
    wanted: Callable[[], Wanted] | None = None,
) -> Connected:
    """Steps 1 and 2 on the target side: test the connection, then read users and groups."""
    log = log if log is not None else logs.start_run(target.name)
    client = ScimClient.for_target(bounded(target, run_timeout), transport=transport, retry=retry)
    client.limiter.on_change = limiter.logged(log)
    client.pacer.on_change = pacer.logged(log)
    client.body_type.on_change = content_type.logged(log)
    try:
        # The step every event belongs to, the retry library's included.
        structlog.contextvars.bind_contextvars(step="test_connection")
        caps = test_connection(client, target, log)
        structlog.contextvars.bind_contextvars(step="import")
        observed = observe(client, target, caps, log, user_filter, progress, wanted)
    except BaseException:
        client.close()
        raise
    return Connected(client, observed.capabilities, observed, log)  # as the import learned
