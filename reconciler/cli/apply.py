"""The apply command: a fresh plan or a saved one, guarded, then performed."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from reconciler import logs
from reconciler.cli.base import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    cli,
    colour_option,
    colour_wanted,
    log_option,
    only_option,
    progress_option,
    run_timeout_option,
    target_option,
    transport,
)
from reconciler.core import planfile
from reconciler.core.config import Target
from reconciler.core.guards import Allowances
from reconciler.core.model import Capabilities
from reconciler.core.plan import Plan
from reconciler.errors import ScimrecError, UsageError
from reconciler.report import render
from reconciler.run import connect, pick_target, prepare
from reconciler.scim.apply.runner import Applier
from reconciler.scim.client import ScimClient
from reconciler.scim.progress import Progress, make_progress
from reconciler.spec.load import load_spec


@cli.command()
@click.argument(
    "specs",
    required=False,
    type=click.Path(path_type=Path, exists=False, file_okay=True, dir_okay=True),
)
@target_option
@click.option(
    "--plan",
    "plan_path",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="PLANFILE",
    help="Apply exactly this saved plan, or refuse if stale.",
)
@click.option(
    "--max-plan-age",
    default="24h",
    show_default=True,
    metavar="DURATION",
    help="Refuse a saved plan older than this (e.g. 30m, 12h, 2d).",
)
@click.option("--auto-approve", is_flag=True, help="Apply without asking for confirmation.")
@click.option(
    "--allow-deletes",
    type=click.IntRange(min=0),
    default=0,
    metavar="N",
    help="Allow up to N deprovisions (deletes and disables) past the guards, this run only.",
)
@click.option(
    "--allow-member-removals",
    type=click.IntRange(min=0),
    default=0,
    metavar="N",
    help="Allow up to N group member removals past the guards, this run only.",
)
@only_option
@progress_option
@colour_option
@run_timeout_option
@log_option
def apply(
    specs: Path | None,
    target: str | None,
    plan_path: Path | None,
    max_plan_age: str,
    auto_approve: bool,
    allow_deletes: int,
    allow_member_removals: int,
    only: tuple[str, ...],
    no_progress: bool,
    no_color: bool,
    run_timeout: float | None,
    log_level: str,
) -> int:
    """Make the target match the spec: performs exactly the planned changes."""
    logs.configure(log_level)
    display = _Display(make_progress(not no_progress), colour_wanted(no_color), auto_approve)
    try:
        if plan_path is not None:
            if only:
                raise UsageError("--only cannot narrow a saved plan; make a new plan with --only")
            max_age = planfile.parse_duration(max_plan_age)
            return _apply_saved(plan_path, specs, target, max_age, display, run_timeout)
        if specs is None:
            raise UsageError("apply needs SPECS, or --plan PLANFILE")
        prepared = prepare(
            specs,
            target,
            only=only,
            allow=Allowances(allow_deletes, allow_member_removals),
            progress=display.progress,
            transport=transport(),
            run_timeout=run_timeout,
        )
        return _apply(
            prepared.plan, prepared.client, prepared.target, prepared.caps, prepared.log, display
        )
    finally:
        display.progress.close()


@dataclass(frozen=True)
class _Display:
    progress: Progress
    colour: bool
    auto_approve: bool


def _apply_saved(
    path: Path,
    specs: Path | None,
    target: str | None,
    max_age: timedelta,
    display: _Display,
    run_timeout: float | None,
) -> int:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read plan file {path}: {exc.strerror}") from None
    saved = planfile.parse(text, str(path))
    if target is not None and target != saved.target.name:
        raise ScimrecError(
            f"refusing to apply: {path} was made for target '{saved.target.name}', not '{target}'"
        )
    if specs is not None:
        spec_target = pick_target(load_spec(specs), saved.target.name)
        if spec_target.url != saved.target.url:
            raise ScimrecError(
                f"refusing to apply: {path} was made against {saved.target.url}, but the spec's "
                f"target '{saved.target.name}' is now {spec_target.url}"
            )
    connected = connect(
        saved.target, progress=display.progress, transport=transport(), run_timeout=run_timeout
    )
    reasons = planfile.stale_reasons(saved, connected.observed, datetime.now(UTC), max_age)
    if reasons:
        connected.client.close()
        more = f" (and {len(reasons) - 1} more)" if len(reasons) > 1 else ""
        raise ScimrecError(
            f"refusing to apply a stale plan: {reasons[0]}{more}; nothing was written. "
            "Make a new plan."
        )
    return _apply(
        saved.plan, connected.client, saved.target, connected.caps, connected.log, display
    )


def _apply(
    plan: Plan,
    client: ScimClient,
    target: Target,
    caps: Capabilities,
    log: Any,
    display: _Display,
) -> int:
    click.echo(render.plan_text(plan.to_json(), display.colour), nl=False)
    try:
        if plan.guards:
            raise ScimrecError(f"refusing to apply: {plan.guards[0]}; nothing was written")
        if not plan.has_changes:
            return EXIT_ERROR if plan.errors else EXIT_OK
        if not display.auto_approve:
            if not sys.stdin.isatty():
                raise ScimrecError("apply needs --auto-approve when not run from a terminal")
            if not click.confirm("Apply these changes?", default=False):
                click.echo("Apply cancelled; nothing was changed.")
                return EXIT_ERROR
        result = Applier(client, target, caps, log, display.progress).run(plan)
    finally:
        client.close()
    click.echo("")
    if result.interrupted:
        click.echo(
            f"Interrupted: stopped after the requests in flight; {result.not_attempted} "
            "planned change(s) not attempted. Run apply again to finish."
        )
    elif result.timed_out:
        click.echo(
            f"Stopped at the run's deadline (run_timeout_seconds, or --run-timeout); "
            f"{result.not_attempted} planned change(s) not attempted. Run apply again to finish."
        )
    for outcome in result.failed:
        click.echo(f"Failed: {outcome.kind.value} {outcome.key}: {outcome.message}")
    click.echo(render.apply_summary(result.counts()))
    if result.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_ERROR if result.failed or plan.errors or result.timed_out else EXIT_OK
