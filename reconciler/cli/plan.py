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
    all_targets_option,
    cli,
    colour_option,
    colour_wanted,
    github_option,
    json_out_option,
    log_option,
    only_option,
    plan_key,
    print_report,
    progress_option,
    run_timeout_option,
    specs_argument,
    targets_option,
    transport,
    worst,
)
from reconciler.cli.output import write_file
from reconciler.cli.progress import make_progress
from reconciler.core import planfile
from reconciler.core.model import Json
from reconciler.errors import ScimrecError, UsageError
from reconciler.report import combined, markdown, render
from reconciler.report.drift import drift_report, drift_text, has_drift
from reconciler.report.explain import explain as explain_steps
from reconciler.run import Prepared, prepare, prepare_each

# `--out` with several targets: one plan file each, named after its target.
TARGET_FIELD = "{target}"


def _several(targets: tuple[str, ...], all_targets: bool) -> bool:
    """The multi-target report (report/combined.py) is asked for by the flags alone, never
    by what the spec holds, so a script sees one shape whatever the spec defines."""
    if all_targets and targets:
        raise UsageError("give either --target NAME ... or --all-targets, not both")
    return all_targets or len(set(targets)) > 1


@cli.command()
@specs_argument
@targets_option
@all_targets_option
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
    help="Save the plan for `apply --plan PLANFILE` (several targets: put {target} in it).",
)
@click.option(
    "--explain",
    is_flag=True,
    help="Show the five steps for each --only object, down to the HTTP requests.",
)
@only_option
@json_out_option
@github_option
@progress_option
@colour_option
@run_timeout_option
@log_option
def plan(
    specs: Path,
    targets: tuple[str, ...],
    all_targets: bool,
    fmt: str,
    detailed_exitcode: bool,
    out: Path | None,
    explain: bool,
    only: tuple[str, ...],
    json_out: Path | None,
    github_flag: bool,
    no_progress: bool,
    no_color: bool,
    run_timeout: float | None,
    log_level: str | None,
) -> int:
    """Show what apply would change on the target(s); writes nothing to them."""
    logs.configure(log_level)
    if explain and not only:
        raise UsageError("--explain needs --only KIND:KEY (the objects to explain)")
    colour = colour_wanted(no_color)
    if _several(targets, all_targets):
        if explain:
            raise UsageError("--explain works on one target; choose it with --target")
        if out is not None and TARGET_FIELD not in str(out):
            raise UsageError(
                f"--out with several targets needs {TARGET_FIELD} in the file name "
                f"(one plan file per target), e.g. --out plans/{TARGET_FIELD}.plan"
            )
        return _plan_each(
            specs,
            targets,
            all_targets,
            fmt,
            detailed_exitcode,
            out,
            only,
            github_flag,
            colour,
            no_progress,
            json_out,
            run_timeout,
        )
    target = targets[0] if targets else None
    progress = make_progress(not no_progress)
    try:
        prepared = prepare(
            specs,
            target,
            only=only,
            progress=progress,
            transport=transport(),
            run_timeout=run_timeout,
        )
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
    print_report(
        data,
        fmt,
        lambda d: render.plan_text(d, colour),
        markdown.plan_markdown,
        github_flag,
        json_out,
    )
    if out is not None:
        _save(prepared, out)
    return _plan_exit(prepared, detailed_exitcode)


def _plan_each(
    specs: Path,
    targets: tuple[str, ...],
    all_targets: bool,
    fmt: str,
    detailed_exitcode: bool,
    out: Path | None,
    only: tuple[str, ...],
    github_flag: bool,
    colour: bool,
    no_progress: bool,
    json_out: Path | None,
    run_timeout: float | None,
) -> int:
    """`plan` on several targets at once: one combined report, the worst exit code."""
    progress = make_progress(not no_progress)
    try:
        results = prepare_each(
            specs,
            targets,
            every=all_targets,
            only=only,
            progress=progress,
            transport=transport(),
            run_timeout=run_timeout,
        )
    finally:
        progress.close()
    sections: dict[str, dict[str, Json] | str] = {}
    codes = []
    for name, result in results.items():
        if isinstance(result, ScimrecError):
            sections[name] = str(result)
            codes.append(EXIT_ERROR)
            continue
        result.client.close()
        sections[name] = result.plan.to_json()
        codes.append(_plan_exit(result, detailed_exitcode))
    data = combined.combine("plan", sections)
    text_of = lambda d: combined.combined_text(d, colour)  # noqa: E731 - fits on one line
    print_report(data, fmt, text_of, None, github_flag, json_out)
    for name, result in results.items():
        if out is not None and not isinstance(result, ScimrecError):
            _save(result, Path(str(out).replace(TARGET_FIELD, name)))
    return worst(codes)


def _save(prepared: Prepared, out: Path) -> None:
    saved = planfile.to_json(
        prepared.plan,
        prepared.target,
        prepared.observed,
        prepared.spec.digest,
        prepared.now or datetime.now(UTC),
        plan_key(),
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    write_file(out, planfile.dumps(saved))
    click.echo(f"Saved the plan to {out}; apply it with: scimrec apply --plan {out}", err=True)


def _plan_exit(prepared: Prepared, detailed_exitcode: bool) -> int:
    if prepared.plan.errors:
        return EXIT_ERROR
    if detailed_exitcode and prepared.plan.has_changes:
        return EXIT_CHANGES
    return EXIT_OK


@cli.command()
@specs_argument
@targets_option
@all_targets_option
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option(
    "--fail-on-unmanaged",
    is_flag=True,
    help="Count objects on the target that no spec declares as drift (exit 2).",
)
@json_out_option
@github_option
@progress_option
@run_timeout_option
@log_option
def drift(
    specs: Path,
    targets: tuple[str, ...],
    all_targets: bool,
    fmt: str,
    fail_on_unmanaged: bool,
    json_out: Path | None,
    github_flag: bool,
    no_progress: bool,
    run_timeout: float | None,
    log_level: str | None,
) -> int:
    """Audit the target: changed, missing and unmanaged objects. Read-only; exit 2 on drift.

    Unmanaged objects are drift only when apply would deprovision them (prune: owned|all)
    or with --fail-on-unmanaged.
    """
    logs.configure(log_level)
    several = _several(targets, all_targets)
    progress = make_progress(not no_progress)
    try:
        if several:
            results = prepare_each(
                specs,
                targets,
                every=all_targets,
                progress=progress,
                transport=transport(),
                run_timeout=run_timeout,
            )
        else:
            chosen = targets[0] if targets else None
            results = {
                "": prepare(
                    specs, chosen, progress=progress, transport=transport(), run_timeout=run_timeout
                )
            }
    finally:
        progress.close()
    sections: dict[str, dict[str, Json] | str] = {}
    codes = []
    for name, result in results.items():
        if isinstance(result, ScimrecError):
            sections[name] = str(result)
            codes.append(EXIT_ERROR)
            continue
        result.client.close()
        report = drift_report(result.plan, result.observed, fail_on_unmanaged=fail_on_unmanaged)
        sections[name] = report
        if result.plan.errors:
            codes.append(EXIT_ERROR)
        else:
            codes.append(EXIT_CHANGES if has_drift(report) else EXIT_OK)
    if several:
        data = combined.combine("drift", sections)
        print_report(data, fmt, None, None, github_flag, json_out)
    else:  # one target: its report exactly as before, `format_version` 1 unchanged
        print_report(report, fmt, drift_text, markdown.drift_markdown, github_flag, json_out)
    return worst(codes)
