"""Commands around targets and specs: validate, targets, import, doctor, schema, init, sandbox."""

from __future__ import annotations

import contextlib
import errno
import json
import os
from pathlib import Path

import click

from reconciler import logs
from reconciler.cli.base import (
    EXIT_ERROR,
    EXIT_OK,
    cli,
    github_option,
    log_option,
    progress_option,
    run_timeout_option,
    specs_argument,
    target_option,
    transport,
)
from reconciler.cli.output import write_file
from reconciler.cli.progress import make_progress
from reconciler.doctor.attribute_probes import declared_samples
from reconciler.doctor.importer import import_documents
from reconciler.doctor.report import report_text
from reconciler.doctor.run import default_name, run_doctor
from reconciler.errors import ScimrecError, UsageError
from reconciler.report import render
from reconciler.run import bounded, connect, pick_target, read_spec
from reconciler.scim.client import ScimClient
from reconciler.spec.schema import schema_text
from reconciler.spec.starter import write_init

ENV_FIELDS = ("token_env", "username_env", "password_env", "client_id_env", "client_secret_env")


@cli.command()
@specs_argument
@github_option
def validate(specs: Path, github_flag: bool) -> int:
    """Check a spec tree offline; every problem is reported as FILE:LINE:COL."""
    spec = read_spec(specs)
    click.echo(
        f"Valid: {len(spec.files)} file(s), {len(spec.users)} user(s), "
        f"{len(spec.groups)} group(s), {len(spec.targets)} target(s)."
    )
    return EXIT_OK


@cli.command(name="targets")
@specs_argument
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def targets_command(specs: Path, fmt: str) -> int:
    """List the spec's targets; --format json feeds a GitHub Actions matrix (fromJSON)."""
    spec = read_spec(specs)
    listed = [
        {
            "name": target.name,
            "url": target.url,
            "auth": target.auth.type,
            # The names of the variables its credentials come from, never their values.
            "env": [
                getattr(target.auth, field) for field in ENV_FIELDS if getattr(target.auth, field)
            ],
        }
        for target in sorted(spec.targets.values(), key=lambda t: t.name)
    ]
    if fmt == "json":
        click.echo(json.dumps(listed))
        return EXIT_OK
    for item in listed:
        env = f" from {', '.join(item['env'])}" if item["env"] else ""
        click.echo(f"{item['name']}  {item['url']}  ({item['auth']}{env})")
    return EXIT_OK


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
@click.option("--force", is_flag=True, help="Write into DIR even if it is not empty.")
@progress_option
@run_timeout_option
@log_option
def import_(
    specs: Path,
    target: str | None,
    out: Path,
    scim_filter: str | None,
    adopt: bool,
    force: bool,
    no_progress: bool,
    run_timeout: float | None,
    log_level: str | None,
) -> int:
    """Write the target's users and groups as spec YAML (plan then shows No changes)."""
    logs.configure(log_level)
    chosen = pick_target(read_spec(specs), target)
    if out.resolve().is_relative_to(specs.resolve()):
        raise UsageError(
            f"--out {out} is inside {specs}: the imported users would be declared twice"
        )
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is not a directory")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise UsageError(
            f"refusing to write into {out}: it is not empty; use --force to replace the "
            "imported files in it"
        )
    progress = make_progress(not no_progress)
    try:
        connected = connect(
            chosen,
            user_filter=scim_filter,
            progress=progress,
            transport=transport(),
            run_timeout=run_timeout,
        )
    finally:
        progress.close()
    connected.client.close()
    imported = import_documents(connected.observed, chosen, adopt=adopt)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in imported.files.items():
        write_file(out / name, text)
    for note in imported.notes:
        click.echo(f"Note: {note}", err=True)
    click.echo(
        f"Imported {imported.users} user(s) and {imported.groups} group(s) from target "
        f"'{chosen.name}' into {out}/ ({', '.join(sorted(imported.files))})."
    )
    if not adopt:
        click.echo(
            f"{out}/ defines no target, so it cannot be planned on its own: move its files "
            f"into {specs}/ (which defines target '{chosen.name}'), or import again with "
            f"--adopt to write {out}/targets.yaml."
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
@run_timeout_option
@log_option
def doctor(
    specs: Path,
    target: str | None,
    write_probe: bool,
    fmt: str,
    run_timeout: float | None,
    log_level: str | None,
) -> int:
    """Probe the target's SCIM capabilities and quirks, and what scimrec does about each."""
    logs.configure(log_level)
    spec = read_spec(specs)
    chosen = bounded(pick_target(spec, target), run_timeout)
    logs.start_run(chosen.name)  # its events (a retry's) say which target and run
    samples = declared_samples(spec, chosen) if write_probe else {}
    client = ScimClient.for_target(chosen, transport=transport())
    try:
        report = run_doctor(
            client, chosen, write_probe=write_probe, new_name=default_name, samples=samples
        )
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
    "directory", required=False, default="specs", type=click.Path(path_type=Path, file_okay=False)
)
@click.option("--force", is_flag=True, help="Replace the starter files if they exist.")
def init(directory: Path, force: bool) -> int:
    """Write a small commented example spec tree into DIRECTORY (default: specs): a sandbox
    target, three users, a group. Specs live in their own folder, apart from CI files."""
    for path in write_init(directory, force=force, write=write_file):
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
    from reconciler.scim.sandbox import INSTALL_HINT, Sandbox, missing_stack

    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ScimrecError("the sandbox only listens on loopback addresses")
    token = os.environ.get(token_env) or None
    try:
        server = Sandbox(host, port, token)
    except ModuleNotFoundError as exc:
        if not missing_stack(exc):
            raise
        raise ScimrecError(
            f"the sandbox needs the optional scim2-server package ({exc.name} is missing); "
            f"install it with: {INSTALL_HINT}"
        ) from None
    except OSError as exc:
        raise ScimrecError(_cannot_listen(host, port, exc)) from None
    auth = f"bearer token from {token_env}" if token else "no authentication"
    click.echo(f"Serving a SCIM 2.0 sandbox at {server.url} ({auth}); Ctrl-C stops it.")
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how the sandbox stops
        server.serve_forever()
    return EXIT_OK


def _cannot_listen(host: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (
            f"cannot serve the sandbox on {host}:{port}: the port is already in use (another "
            "sandbox, or another program); stop it, or choose another port with --port N"
        )
    if exc.errno == errno.EACCES:
        return (
            f"cannot serve the sandbox on {host}:{port}: not allowed to listen on that port; "
            "choose another with --port N (1024 or above)"
        )
    return f"cannot serve the sandbox on {host}:{port}: {exc.strerror or exc}"
