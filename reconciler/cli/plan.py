"""Commands that read a target and report: plan and drift."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from reconciler import logs
from reconciler.cli.base import (
    EXIT_CHANGES,
    EXIT_ERROR,
    EXIT_OK,
    FORMATS,
    cli,
    colour_option,
    colour_wanted,
    github_option,
    log_option,
    only_option,
    print_report,
    progress_option,
    specs_argument,
    target_option,
)
from reconciler.core import planfile
from reconciler.errors import UsageError
from reconciler.report import markdown, render
from reconciler.report.drift import drift_report, drift_text, has_drift
from reconciler.report.explain import explain as explain_steps
from reconciler.run import prepare
from reconciler.scim.progress import make_progress


@cli.command()
@specs_argument
@target_option
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 2 when there are changes, 0 when there are none.",
)
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="PLANFILE",
    help="Save the plan for `apply --plan PLANFILE`.",
)
@click.option(
    "--explain",
    is_flag=True,
    help="Show the five steps for each --only object, down to the HTTP requests.",
)
@only_option
@github_option
@progress_option
@colour_option
@log_option
def plan(
    specs: Path,
    target: str | None,
    fmt: str,
    detailed_exitcode: bool,
    out: Path | None,
    explain: bool,
    only: tuple[str, ...],
    github_flag: bool,
    no_progress: bool,
    no_color: bool,
    log_level: str,
) -> int:
    """Show what apply would change on the target; writes nothing to it."""
    logs.configure(log_level)
    if explain and not only:
        raise UsageError("--explain needs --only KIND:KEY (the objects to explain)")
    progress = make_progress(not no_progress)
    try:
        prepared = prepare(specs, target, only=only, progress=progress)
    finally:
        progress.close()
    prepared.client.close()
    data = prepared.plan.to_json()
    if explain:
        declared = {(u.kind, u.key): u for u in (*prepared.spec.users, *prepared.spec.groups)}
        click.echo(
            explain_steps(
                prepared.plan, declared, prepared.target, prepared.caps, prepared.observed
            )
        )
    colour = colour_wanted(no_color)
    print_report(
        data, fmt, lambda d: render.plan_text(d, colour), markdown.plan_markdown, github_flag
    )
    if out is not None:
        saved = planfile.to_json(
            prepared.plan,
            prepared.target,
            prepared.observed,
            prepared.spec.digest,
            datetime.now(UTC),
        )
        out.write_text(planfile.dumps(saved), encoding="utf-8")
        click.echo(f"Saved the plan to {out}; apply it with: scimrec apply --plan {out}", err=True)
    if prepared.plan.errors:
        return EXIT_ERROR
    if detailed_exitcode and prepared.plan.has_changes:
        return EXIT_CHANGES
    return EXIT_OK


@cli.command()
@specs_argument
@target_option
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option(
    "--fail-on-unmanaged",
    is_flag=True,
    help="Count objects on the target that no spec declares as drift (exit 2).",
)
@github_option
@progress_option
@log_option
def drift(
    specs: Path,
    target: str | None,
    fmt: str,
    fail_on_unmanaged: bool,
    github_flag: bool,
    no_progress: bool,
    log_level: str,
) -> int:
    """Audit the target: changed, missing and unmanaged objects. Read-only; exit 2 on drift.

    Unmanaged objects are drift only when apply would deprovision them (prune: owned|all)
    or with --fail-on-unmanaged.
    """
    logs.configure(log_level)
    progress = make_progress(not no_progress)
    try:
        prepared = prepare(specs, target, progress=progress)
    finally:
        progress.close()
    prepared.client.close()
    report = drift_report(prepared.plan, prepared.observed, fail_on_unmanaged=fail_on_unmanaged)
    print_report(report, fmt, drift_text, markdown.drift_markdown, github_flag)
    if prepared.plan.errors:
        return EXIT_ERROR
    return EXIT_CHANGES if has_drift(report) else EXIT_OK
