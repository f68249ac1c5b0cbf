"""The command line (DESIGN §3): commands, output streams, and the one place for exit codes."""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from pathlib import Path
from typing import Any

import click
import structlog

from reconciler import __version__, logs, render
from reconciler.apply import Applier
from reconciler.errors import ScimrecError, SpecError
from reconciler.redact import scrub
from reconciler.run import prepare
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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="scimrec")
def cli() -> None:
    """Keep SCIM 2.0 targets in line with users and groups declared in YAML."""


@cli.command()
@specs_argument
def validate(specs: Path) -> int:
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
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 2 when there are changes, 0 when there are none.",
)
@only_option
@log_option
def plan(
    specs: Path,
    target: str | None,
    fmt: str,
    detailed_exitcode: bool,
    only: tuple[str, ...],
    log_level: str,
) -> int:
    """Show what apply would change on the target; writes nothing."""
    logs.configure(log_level)
    prepared = prepare(specs, target, only=only)
    prepared.client.close()
    data = prepared.plan.to_json()
    click.echo(render.plan_json(data) if fmt == "json" else render.plan_text(data), nl=False)
    if prepared.plan.errors:
        return EXIT_ERROR
    if detailed_exitcode and prepared.plan.has_changes:
        return EXIT_CHANGES
    return EXIT_OK


@cli.command()
@specs_argument
@target_option
@click.option("--auto-approve", is_flag=True, help="Apply without asking for confirmation.")
@click.option(
    "--allow-deletes",
    type=click.IntRange(min=0),
    default=0,
    metavar="N",
    help="Allow up to N deprovisions of a kind past the guards, for this run only.",
)
@only_option
@log_option
def apply(
    specs: Path,
    target: str | None,
    auto_approve: bool,
    allow_deletes: int,
    only: tuple[str, ...],
    log_level: str,
) -> int:
    """Make the target match the spec: performs exactly the planned changes."""
    logs.configure(log_level)
    prepared = prepare(specs, target, only=only, allow_deletes=allow_deletes)
    plan_data = prepared.plan.to_json()
    click.echo(render.plan_text(plan_data), nl=False)
    if prepared.plan.guards:
        prepared.client.close()
        raise ScimrecError(f"refusing to apply: {prepared.plan.guards[0]}")
    if not prepared.plan.has_changes:
        prepared.client.close()
        return EXIT_ERROR if prepared.plan.errors else EXIT_OK
    if not auto_approve:
        if not sys.stdin.isatty():
            prepared.client.close()
            raise ScimrecError("apply needs --auto-approve when not run from a terminal")
        if not click.confirm("Apply these changes?", default=False):
            prepared.client.close()
            click.echo("Apply cancelled; nothing was changed.")
            return EXIT_ERROR
    applier = Applier(prepared.client, prepared.target, prepared.caps, prepared.log)
    try:
        result = applier.run(prepared.plan)
    finally:
        prepared.client.close()
    click.echo("")
    for outcome in result.failed:
        click.echo(f"Failed: {outcome.kind.value} {outcome.key}: {outcome.message}")
    click.echo(render.apply_summary(result.counts()))
    return EXIT_ERROR if result.failed or prepared.plan.errors else EXIT_OK


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
