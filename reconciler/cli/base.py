"""The command group, the options commands share, and how reports are printed."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import httpx2

from reconciler import __version__, logs
from reconciler.cli.output import append_file, echo_command, write_file
from reconciler.core.planfile import parse_duration
from reconciler.errors import UsageError
from reconciler.report import combined, github, render
from reconciler.scim.auth import from_env
from reconciler.scim.local_files import FileTooLarge, NotRegularFile, read_regular_file

EXIT_OK, EXIT_ERROR, EXIT_CHANGES, EXIT_BUG, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
EXIT_TERMINATED = 143  # interrupted by SIGTERM (cli/terminate.py)

specs_argument = click.argument(
    "specs", type=click.Path(path_type=Path, exists=False, file_okay=True, dir_okay=True)
)


def _one_target(ctx: click.Context, _param: click.Parameter, value: tuple[str, ...]) -> str | None:
    """A command that works on one target refuses several, instead of silently taking one."""
    names = list(dict.fromkeys(value))
    if len(names) <= 1:
        return names[0] if names else None
    command = ctx.info_name or "this command"
    # Terraform applies one workspace at a time, and so does scimrec: each target's apply
    # is reviewed, guarded and approved on its own (one GitHub environment per target).
    why = (
        "; each target's apply is reviewed, guarded and approved on its own"
        if command == "apply"
        else ""
    )
    raise UsageError(
        f"{command} works on one target at a time (got: {', '.join(names)}){why}; "
        "run it once per target"
    )


# Repeatable only to refuse a repeat: click would otherwise keep the last one silently.
target_option = click.option(
    "--target",
    "-t",
    "target",
    metavar="NAME",
    multiple=True,
    callback=_one_target,
    help="Target to use.",
)
targets_option = click.option(
    "--target",
    "-t",
    "targets",
    metavar="NAME",
    multiple=True,
    help="Target to use; repeat it to run several targets at once, in one report.",
)
all_targets_option = click.option(
    "--all-targets", is_flag=True, help="Run every target the spec defines, at once."
)
only_option = click.option(
    "--only",
    multiple=True,
    metavar="KIND:KEY",
    help=(
        "Restrict to one object, e.g. user:alice@example.com (repeatable); what it needs "
        "that is not on the target yet (its manager, members) is planned too."
    ),
)
_log_level = click.option(
    "--log-level",
    type=click.Choice(logs.LEVELS),
    default=None,
    help=(
        "Lowest level of the logs written to stderr [default: warning on a terminal, where "
        "the plan is what matters; info to a file or a pipe, where the logs are the record]."
    ),
)
_log_format = click.option(
    "--log-format",
    type=click.Choice(logs.FORMATS),
    default=None,
    expose_value=False,
    # Recorded for logs.configure, which each command calls with its --log-level.
    callback=lambda _ctx, _param, value: logs.choose_format(value),
    help="Logs as JSON lines or as readable lines [default: json unless stderr is a terminal].",
)


def log_option(command: Any) -> Any:
    """--log-level and --log-format, on every command that logs."""
    return _log_level(_log_format(command))


@dataclass(frozen=True)
class Runtime:
    """What `main` hands every command: the HTTP transport (None: the network).

    Tests inject a fault-injecting transport here instead of patching anything.
    """

    transport: httpx2.BaseTransport | None = None


def transport() -> httpx2.BaseTransport | None:
    """The transport the running command must use to reach targets."""
    runtime = click.get_current_context().find_object(Runtime)
    return runtime.transport if runtime is not None else None


class Duration(click.ParamType[float]):
    """`90s`, `30m`, `12h`, `2d`, as seconds."""

    name = "duration"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, float):
            return value
        try:
            seconds = parse_duration(str(value)).total_seconds()
        except UsageError as exc:
            self.fail(str(exc), param, ctx)
        if seconds <= 0:
            self.fail(f"expected a duration longer than zero, got '{value}'", param, ctx)
        return seconds


# The key that makes a plan file's digest an HMAC (a secret: from the environment or a file).
PLAN_KEY_ENV = "SCIMREC_PLAN_KEY"
# A plan of 100,000 changes is about 100 MB; far past that is a mistake or an attack.
MAX_PLAN_FILE_BYTES = 512 * 1024 * 1024


def plan_key() -> bytes | None:
    """SCIMREC_PLAN_KEY (or the file SCIMREC_PLAN_KEY_FILE names), or None when unset."""
    if not os.environ.get(PLAN_KEY_ENV) and not os.environ.get(f"{PLAN_KEY_ENV}_FILE"):
        return None
    return from_env(PLAN_KEY_ENV, "the plan key", "(any)").encode()


def read_plan_file(path: Path) -> str:
    """The text of a saved plan, read as a secret's *_FILE is (scim/local_files.py): a
    path wired wrongly in CI (a FIFO, /dev/zero) is refused at once, never waited on or
    read whole."""
    try:
        raw = read_regular_file(path, MAX_PLAN_FILE_BYTES)
    except NotRegularFile:
        raise UsageError(
            f"{path} is no regular file (a FIFO, a device, a directory): not a plan file"
        ) from None
    except FileTooLarge:
        raise UsageError(f"{path} is larger than any plan file scimrec writes: refused") from None
    except OSError as exc:
        raise UsageError(f"cannot read plan file {path}: {exc.strerror}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not a scimrec plan file (not UTF-8 text)") from None


run_timeout_option = click.option(
    "--run-timeout",
    "run_timeout",
    type=Duration(),
    default=None,
    metavar="DURATION",
    help="End the run after this long, e.g. 30m or 2h (overrides run_timeout_seconds).",
)

FORMATS = ["text", "json", "markdown"]
progress_option = click.option(
    "--no-progress", is_flag=True, help="Never show the progress display (shown on terminals)."
)
colour_option = click.option(
    "--no-color", "no_color", is_flag=True, help="Plain text even on a terminal (or set NO_COLOR)."
)


def colour_wanted(no_color: bool) -> bool:
    """Colour only on a terminal, never with NO_COLOR set (https://no-color.org)."""
    return not no_color and "NO_COLOR" not in os.environ and sys.stdout.isatty()


github_option = click.option(
    "--github",
    "github_flag",
    is_flag=True,
    help="Also write the step summary and annotations (default inside GitHub Actions).",
)


json_out_option = click.option(
    "--json-out",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE",
    help="Also write the JSON form of the report to FILE, whatever --format prints.",
)


def print_report(
    data: Any,
    fmt: str,
    text: Any,
    as_markdown: Any,
    github_flag: bool,
    json_out: Path | None = None,
) -> None:
    """Print a plan or drift report in `fmt`; in GitHub mode, also summarise and annotate.

    A report of several targets (report/combined.py) is rendered as one, section by section.
    """
    if combined.is_combined(data):
        text, as_markdown = combined.combined_text, combined.combined_markdown
    rendered = {"json": render.plan_json, "markdown": as_markdown}.get(fmt, text)(data)
    click.echo(rendered, nl=False)
    if json_out is not None:
        # For a workflow that shows one form and reads counts from the other, in one run.
        write_file(json_out, render.plan_json(data))
    if github.github_mode(github_flag, os.environ):
        github.append_step_summary(as_markdown(data), os.environ, append_file)
        if fmt != "text":  # the job log keeps the full text even when a comment is cut
            click.echo(text(data), err=True, nl=False)
        workspace = os.environ.get("GITHUB_WORKSPACE")
        sections = data["targets"].values() if combined.is_combined(data) else [data]
        for section in sections:
            plan_like = section if isinstance(section.get("changes"), list) else None
            for line in github.annotations(plan=plan_like, workspace=workspace):
                echo_command(line)


def worst(codes: Any) -> int:
    """The exit code of several targets: an error beats changes, which beat success."""
    ranked = sorted(codes, key=lambda code: {EXIT_OK: 0, EXIT_CHANGES: 1}.get(code, 2))
    return ranked[-1] if ranked else EXIT_OK


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="scimrec")
def cli() -> None:
    """Keep SCIM 2.0 targets in line with users and groups declared in YAML."""
