"""The apply command: a fresh plan or a saved one, guarded, then performed."""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

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
    plan_key,
    progress_option,
    read_plan_file,
    run_timeout_option,
    target_option,
    transport,
)
from reconciler.cli.output import append_file
from reconciler.cli.progress import make_progress
from reconciler.core import planfile
from reconciler.core.config import Target
from reconciler.core.guards import Allowances
from reconciler.core.model import Capabilities
from reconciler.core.plan import Plan
from reconciler.errors import ScimrecError, UsageError, printable
from reconciler.report import render
from reconciler.run import prepare, prepare_saved
from reconciler.scim.apply.runner import Applier
from reconciler.scim.audit import AuditLog
from reconciler.scim.client import ScimClient
from reconciler.scim.progress import Progress


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
    help="Apply exactly this saved plan (with SPECS), or refuse if it is stale or was edited.",
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
@click.option(
    "--audit-log",
    "audit_path",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE",
    help="Append one JSON line per write to FILE: what it changed, and how it ended.",
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
    audit_path: Path | None,
    only: tuple[str, ...],
    no_progress: bool,
    no_color: bool,
    run_timeout: float | None,
    log_level: str | None,
) -> int:
    """Make the target match the spec: performs exactly the planned changes."""
    logs.configure(log_level)
    audit = _open_audit(audit_path)
    display = _Display(make_progress(not no_progress), colour_wanted(no_color), auto_approve, audit)
    allow = _allowances(allow_deletes, allow_member_removals)
    try:
        if plan_path is not None:
            if only:
                # Unsigned, a saved plan must hold all that a plan made at apply time holds
                # (plancheck.left_out); signed or not, it is applied whole or not at all.
                raise UsageError(
                    "--only cannot narrow a saved plan; apply SPECS with --only and "
                    "--auto-approve instead"
                )
            max_age = planfile.parse_duration(max_plan_age)
            return _apply_saved(plan_path, specs, target, max_age, allow, display, run_timeout)
        if specs is None:
            raise UsageError("apply needs SPECS, or --plan PLANFILE")
        prepared = prepare(
            specs,
            target,
            only=only,
            allow=allow,
            progress=display.progress,
            transport=transport(),
            run_timeout=run_timeout,
        )
        return _apply(
            prepared.plan, prepared.client, prepared.target, prepared.caps, prepared.log, display
        )
    finally:
        display.progress.close()


def _allowances(deletes: int, member_removals: int) -> Allowances:
    """The overrides, each named by where it came from, for the guards they let pass to
    say so: a flag is for one run, but an environment variable left set in a job lifts
    the guards on every run it is set for."""
    ctx = click.get_current_context()

    def source(name: str) -> str:
        if ctx.get_parameter_source(name) is not ParameterSource.ENVIRONMENT:
            return ""
        (param,) = (p for p in ctx.command.params if p.name == name)
        return f"the environment variable {param.envvar}={ctx.params[name]}"

    return Allowances(
        deletes, member_removals, source("allow_deletes"), source("allow_member_removals")
    )


def _open_audit(path: Path | None) -> AuditLog | None:
    """Tried before anything is read or written, so a wrong path costs nothing."""
    if path is None:
        return None
    try:
        append_file(path, "")
    except OSError as exc:
        raise UsageError(f"cannot open the audit log {path}: {exc.strerror}") from None
    return AuditLog(lambda text: append_file(path, text))


@dataclass(frozen=True)
class _Display:
    progress: Progress
    colour: bool
    auto_approve: bool
    audit: AuditLog | None = None


def _apply_saved(
    path: Path,
    specs: Path | None,
    target: str | None,
    max_age: timedelta,
    allow: Allowances,
    display: _Display,
    run_timeout: float | None,
) -> int:
    if specs is None:
        raise UsageError(
            "apply --plan needs the spec tree too: scimrec apply --plan PLANFILE SPECS "
            "(the target's URL, credentials, guards and protected come from the spec)"
        )
    prepared = prepare_saved(
        path,
        read_plan_file(path),
        specs,
        target,
        key=plan_key(),
        max_age=max_age,
        allow=allow,
        transport=transport(),
        progress=display.progress,
        run_timeout=run_timeout,
    )
    # Like `terraform apply PLANFILE`: the saved plan was the review, so no prompt.
    approved = dataclasses.replace(display, auto_approve=True)
    return _apply(
        prepared.plan, prepared.client, prepared.target, prepared.caps, prepared.log, approved
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
        result = Applier(client, target, caps, log, display.progress, display.audit).run(plan)
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
        # The key as the plan above showed it (a look-alike quoted and escaped).
        key, message = render.visible(outcome.key), printable(outcome.message)
        click.echo(f"Failed: {outcome.kind.value} {key}: {message}")
    if result.not_kept:
        stamp = target.disabled_at if target.delete_after is not None else None
        click.echo(render.not_kept_warning(result.not_kept, stamp))
    if result.unshown:
        click.echo(render.unshown_warning(result.unshown, result.shows_active))
    click.echo(render.apply_summary(result.counts(), in_error=len(plan.errors)))
    if result.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_ERROR if result.failed or plan.errors or result.timed_out else EXIT_OK
