"""The command line (DESIGN §3): commands, output streams, and the one place for exit codes."""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
import structlog

from reconciler import __version__, github, logs, markdown, planfile, render
from reconciler.apply import Applier
from reconciler.doctor import default_name, report_text, run_doctor
from reconciler.drift import drift_report, drift_text, has_drift
from reconciler.errors import ScimrecError, SpecError, UsageError
from reconciler.explain import explain as explain_steps
from reconciler.importer import import_documents
from reconciler.init import write_init
from reconciler.model import Capabilities, Target
from reconciler.plan import Plan
from reconciler.progress import Progress, make_progress
from reconciler.redact import scrub
from reconciler.run import connect, pick_target, prepare
from reconciler.schema import schema_text
from reconciler.scim import ScimClient
from reconciler.spec import load_spec

EXIT_OK, EXIT_ERROR, EXIT_CHANGES, EXIT_BUG, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

specs_argument = click.argument(
    "specs", type=click.Path(path_type=Path, exists=False, file_okay=True, dir_okay=True)
)
target_option = click.option("--target", "-t", "target", metavar="NAME", help="Target to use.")
only_option = click.option(
    "--only",
    multiple=True,
    metavar="KIND:KEY",
    help="Restrict to one object, e.g. user:alice@example.com (repeatable).",
)
log_option = click.option(
    "--log-level",
    type=click.Choice(logs.LEVELS),
    default="info",
    show_default=True,
    help="Lowest level of the logs written to stderr.",
)


FORMATS = ["text", "json", "markdown"]
progress_option = click.option(
    "--no-progress", is_flag=True, help="Never show the progress display (shown on terminals)."
)
colour_option = click.option(
    "--no-color", "no_color", is_flag=True, help="Plain text even on a terminal (or set NO_COLOR)."
)


def _colour(no_color: bool) -> bool:
    """Colour only on a terminal, never with NO_COLOR set (https://no-color.org)."""
    return not no_color and "NO_COLOR" not in os.environ and sys.stdout.isatty()


github_option = click.option(
    "--github",
    "github_flag",
    is_flag=True,
    help="Also write the step summary and annotations (default inside GitHub Actions).",
)


def _report(data: Any, fmt: str, text: Any, as_markdown: Any, github_flag: bool) -> None:
    """Print a plan or drift report in `fmt`; in GitHub mode, also summarise and annotate."""
    rendered = {"json": render.plan_json, "markdown": as_markdown}.get(fmt, text)(data)
    click.echo(rendered, nl=False)
    if github.github_mode(github_flag, os.environ):
        github.append_step_summary(as_markdown(data), os.environ)
        if fmt != "text":  # the job log keeps the full text even when a comment is cut
            click.echo(text(data), err=True, nl=False)
        workspace = os.environ.get("GITHUB_WORKSPACE")
        plan_like = data if "changes" in data and isinstance(data["changes"], list) else None
        for line in github.annotations(plan=plan_like, workspace=workspace):
            click.echo(line, err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="scimrec")
def cli() -> None:
    """Keep SCIM 2.0 targets in line with users and groups declared in YAML."""


@cli.command()
@specs_argument
@github_option
def validate(specs: Path, github_flag: bool) -> int:
    """Check a spec tree offline; every problem is reported as FILE:LINE:COL."""
    spec = load_spec(specs)
    click.echo(
        f"Valid: {len(spec.files)} file(s), {len(spec.users)} user(s), "
        f"{len(spec.groups)} group(s), {len(spec.targets)} target(s)."
    )
    return EXIT_OK


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
    colour = _colour(no_color)
    _report(data, fmt, lambda d: render.plan_text(d, colour), markdown.plan_markdown, github_flag)
    if out is not None:
        saved = planfile.to_json(
            prepared.plan,
            prepared.target,
            prepared.observed,
            prepared.spec.digest,
            datetime.now(UTC),
        )
        planfile.write(out, saved)
        click.echo(f"Saved the plan to {out}; apply it with: scimrec apply --plan {out}", err=True)
    if prepared.plan.errors:
        return EXIT_ERROR
    if detailed_exitcode and prepared.plan.has_changes:
        return EXIT_CHANGES
    return EXIT_OK


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
    help="Allow up to N deprovisions of a kind past the guards, for this run only.",
)
@only_option
@progress_option
@colour_option
@log_option
def apply(
    specs: Path | None,
    target: str | None,
    plan_path: Path | None,
    max_plan_age: str,
    auto_approve: bool,
    allow_deletes: int,
    only: tuple[str, ...],
    no_progress: bool,
    no_color: bool,
    log_level: str,
) -> int:
    """Make the target match the spec: performs exactly the planned changes."""
    logs.configure(log_level)
    display = _Display(make_progress(not no_progress), _colour(no_color), auto_approve)
    try:
        if plan_path is not None:
            if only:
                raise UsageError("--only cannot narrow a saved plan; make a new plan with --only")
            max_age = planfile.parse_duration(max_plan_age)
            return _apply_saved(plan_path, specs, target, max_age, display)
        if specs is None:
            raise UsageError("apply needs SPECS, or --plan PLANFILE")
        prepared = prepare(
            specs, target, only=only, allow_deletes=allow_deletes, progress=display.progress
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
    path: Path, specs: Path | None, target: str | None, max_age: timedelta, display: _Display
) -> int:
    saved = planfile.load(path)
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
    connected = connect(saved.target, progress=display.progress)
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
    for outcome in result.failed:
        click.echo(scrub(f"Failed: {outcome.kind.value} {outcome.key}: {outcome.message}"))
    click.echo(render.apply_summary(result.counts()))
    if result.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_ERROR if result.failed or plan.errors else EXIT_OK


@cli.command()
@specs_argument
@target_option
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@github_option
@progress_option
@log_option
def drift(
    specs: Path,
    target: str | None,
    fmt: str,
    github_flag: bool,
    no_progress: bool,
    log_level: str,
) -> int:
    """Audit the target: changed, missing and unmanaged objects. Read-only; exit 2 on drift."""
    logs.configure(log_level)
    progress = make_progress(not no_progress)
    try:
        prepared = prepare(specs, target, progress=progress)
    finally:
        progress.close()
    prepared.client.close()
    report = drift_report(prepared.plan, prepared.observed)
    _report(report, fmt, drift_text, markdown.drift_markdown, github_flag)
    if prepared.plan.errors:
        return EXIT_ERROR
    return EXIT_CHANGES if has_drift(report) else EXIT_OK


@cli.command(name="import")
@specs_argument
@target_option
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    metavar="DIR",
    help="Directory to write users.yaml and groups.yaml into.",
)
@click.option(
    "--filter",
    "scim_filter",
    metavar="FILTER",
    help="A SCIM filter for the users to import, e.g. 'userName sw \"a\"'.",
)
@click.option(
    "--adopt",
    is_flag=True,
    help="Also write targets.yaml, so DIR is a complete spec tree to commit.",
)
@progress_option
@log_option
def import_(
    specs: Path,
    target: str | None,
    out: Path,
    scim_filter: str | None,
    adopt: bool,
    no_progress: bool,
    log_level: str,
) -> int:
    """Write the target's users and groups as spec YAML (plan then shows No changes)."""
    logs.configure(log_level)
    chosen = pick_target(load_spec(specs), target)
    if out.resolve().is_relative_to(specs.resolve()):
        raise UsageError(
            f"--out {out} is inside {specs}: the imported users would be declared twice"
        )
    progress = make_progress(not no_progress)
    try:
        connected = connect(chosen, user_filter=scim_filter, progress=progress)
    finally:
        progress.close()
    connected.client.close()
    imported = import_documents(connected.observed, chosen, adopt=adopt)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in imported.files.items():
        (out / name).write_text(text, encoding="utf-8")
    for note in imported.notes:
        click.echo(f"Note: {note}", err=True)
    click.echo(
        f"Imported {imported.users} user(s) and {imported.groups} group(s) from target "
        f"'{chosen.name}' into {out}/ ({', '.join(sorted(imported.files))})."
    )
    return EXIT_OK


@cli.command()
@specs_argument
@target_option
@click.option(
    "--write-probe",
    is_flag=True,
    help="Also probe writes with a temporary user and group, removed afterwards.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@log_option
def doctor(specs: Path, target: str | None, write_probe: bool, fmt: str, log_level: str) -> int:
    """Probe the target's SCIM capabilities and quirks, and what scimrec does about each."""
    logs.configure(log_level)
    chosen = pick_target(load_spec(specs), target)
    client = ScimClient.for_target(chosen)
    try:
        report = run_doctor(client, chosen, write_probe=write_probe, new_name=default_name)
    finally:
        client.close()
    click.echo(
        render.plan_json(report.to_json()) if fmt == "json" else report_text(report), nl=False
    )
    return EXIT_ERROR if report.failed else EXIT_OK


@cli.command(name="schema")
def schema_command() -> int:
    """Print the JSON Schema of spec files, for editors (yaml-language-server)."""
    click.echo(schema_text(), nl=False)
    return EXIT_OK


@cli.command()
@click.argument(
    "directory", required=False, default=".", type=click.Path(path_type=Path, file_okay=False)
)
@click.option("--force", is_flag=True, help="Replace the starter files if they exist.")
def init(directory: Path, force: bool) -> int:
    """Write a small commented example spec tree: a sandbox target, three users, a group."""
    for path in write_init(directory, force=force):
        click.echo(f"Wrote {path}")
    click.echo(
        f"Next: export SANDBOX_SCIM_TOKEN=choose-a-token; scimrec sandbox & "
        f"scimrec plan {directory} --target sandbox"
    )
    return EXIT_OK


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address to bind.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--token-env",
    default="SANDBOX_SCIM_TOKEN",
    show_default=True,
    metavar="NAME",
    help="Require the bearer token held in this environment variable, if set.",
)
def sandbox(host: str, port: int, token_env: str) -> int:
    """Run a local in-memory SCIM 2.0 target to try scimrec on (Ctrl-C stops it)."""
    from reconciler.sandbox import Sandbox

    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ScimrecError("the sandbox only listens on loopback addresses")
    token = os.environ.get(token_env) or None
    server = Sandbox(host, port, token)
    auth = f"bearer token from {token_env}" if token else "no authentication"
    click.echo(f"Serving a SCIM 2.0 sandbox at {server.url} ({auth}); Ctrl-C stops it.")
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how the sandbox stops
        server.serve_forever()
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and map every outcome to an exit code (DESIGN §3); never a traceback."""
    try:
        result: Any = cli.main(args=argv, prog_name="scimrec", standalone_mode=False)
    except SpecError as exc:
        for issue in exc.issues:
            click.echo(scrub(str(issue)), err=True)
        if github.github_mode("--github" in (argv or sys.argv), os.environ):
            workspace = os.environ.get("GITHUB_WORKSPACE")
            for line in github.annotations(issues=exc.issues, workspace=workspace):
                click.echo(scrub(line), err=True)
        count = len(exc.issues)
        click.echo(f"Error: {count} problem{'s' if count != 1 else ''} in the spec.", err=True)
        return EXIT_ERROR
    except ScimrecError as exc:
        click.echo(f"Error: {scrub(str(exc))}", err=True)
        return EXIT_ERROR
    except click.exceptions.Abort:
        click.echo("Interrupted.", err=True)
        return EXIT_INTERRUPTED
    except click.ClickException as exc:
        exc.show()
        return EXIT_ERROR
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - a bug: say so, keep the traceback out of the way
        structlog.get_logger().debug("traceback", traceback=scrub(traceback.format_exc()))
        message = scrub(" ".join(str(exc).split()))
        click.echo(
            f"Internal error (a bug in scimrec): {type(exc).__name__}: {message}. "
            "Run with --log-level debug to see the traceback.",
            err=True,
        )
        return EXIT_BUG
    return result if isinstance(result, int) else EXIT_OK
