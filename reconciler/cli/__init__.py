"""The command line (DESIGN §3): commands, output streams, and the one place for exit codes."""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any

import click
import httpx2
import structlog

from reconciler import logs

# Importing the command modules registers their commands on the group.
from reconciler.cli import apply, plan, show, targets  # noqa: F401
from reconciler.cli.base import (
    EXIT_BUG,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TERMINATED,
    Runtime,
    cli,
)
from reconciler.cli.output import echo_command, redacted_streams
from reconciler.cli.terminate import sigterm_as_interrupt
from reconciler.report import github
from reconciler.scim.proxies import register_proxies

__all__ = ["cli", "main"]
from reconciler.errors import ScimrecError, SpecError


def _name_environment_variables(group: click.Group) -> None:
    """Every option can also come from SCIMREC_<COMMAND>_<OPTION>, named after the flag
    (`plan --format` → SCIMREC_PLAN_FORMAT), and `--help` shows the name. Named here once,
    since click's own automatic names follow the Python parameter (`fmt`), not the flag.
    Secrets are never options: they come only from the variables the spec names."""
    for command_name, command in group.commands.items():
        for param in command.params:
            if isinstance(param, click.Option) and param.envvar is None:
                flag = max(param.opts, key=len).lstrip("-").upper().replace("-", "_")
                param.envvar = f"SCIMREC_{command_name.upper()}_{flag}"
                param.show_envvar = True


_name_environment_variables(cli)


def main(argv: list[str] | None = None, *, transport: httpx2.BaseTransport | None = None) -> int:
    """Run the CLI and map every outcome to an exit code (DESIGN §3); never a traceback.

    Everything it writes, to the streams or to files, crosses one redaction step (output.py).
    `transport` replaces the network for every target the command talks to (tests only).
    """
    with redacted_streams(), sigterm_as_interrupt() as received:
        code = _run(argv, transport)
    # Stopped by SIGTERM, handled as Ctrl-C: 128 + 15, as a shell reports it, so a job that
    # was cancelled is told from one a person interrupted.
    return EXIT_TERMINATED if code == EXIT_INTERRUPTED and received.terminated else code


def _run(argv: list[str] | None, transport: httpx2.BaseTransport | None) -> int:
    # Commands without --log-level still log (a bug's traceback, at debug): warnings and up.
    logs.configure("warning")
    # No run context survives from an earlier command run in the same process.
    structlog.contextvars.clear_contextvars()
    # A proxy's credentials go out with every request: masked from the first line out.
    register_proxies()
    try:
        result: Any = cli.main(
            args=argv, prog_name="scimrec", standalone_mode=False, obj=Runtime(transport)
        )
    except SpecError as exc:
        for issue in exc.issues:
            click.echo(str(issue), err=True)
        if github.github_mode("--github" in (argv or sys.argv), os.environ):
            workspace = os.environ.get("GITHUB_WORKSPACE")
            for line in github.annotations(issues=exc.issues, workspace=workspace):
                echo_command(line)
        count = len(exc.issues)
        click.echo(f"Error: {count} problem{'s' if count != 1 else ''} in the spec.", err=True)
        return EXIT_ERROR
    except ScimrecError as exc:
        click.echo(f"Error: {exc}", err=True)
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
        structlog.get_logger().debug("traceback", traceback=traceback.format_exc())
        message = " ".join(str(exc).split())
        # Only a command that has --log-level can show the traceback; never advise an option
        # the command lacks.
        hint = (
            " Run with --log-level debug to see the traceback."
            if _has_log_level(argv if argv is not None else sys.argv[1:])
            else ""
        )
        click.echo(
            f"Internal error (a bug in scimrec): {type(exc).__name__}: {message}.{hint}",
            err=True,
        )
        return EXIT_BUG
    return result if isinstance(result, int) else EXIT_OK


def _has_log_level(argv: list[str]) -> bool:
    command = next((cli.commands.get(a) for a in argv if a in cli.commands), None)
    return command is not None and any(p.name == "log_level" for p in command.params)
