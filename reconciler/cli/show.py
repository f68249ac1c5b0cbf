"""The show command: saved plans rendered as `plan` prints them, without reading any target."""

from __future__ import annotations

from pathlib import Path

import click

from reconciler import logs
from reconciler.cli.base import (
    EXIT_ERROR,
    EXIT_OK,
    FORMATS,
    cli,
    colour_option,
    colour_wanted,
    github_option,
    json_out_option,
    log_option,
    plan_key,
    print_report,
    read_plan_file,
)
from reconciler.core import planfile
from reconciler.core.model import Json
from reconciler.errors import UsageError
from reconciler.report import combined, markdown, render

NO_PLAN = "no plan file for this target (its plan failed or was not made; see its log)"


@cli.command()
@click.argument("planfiles", nargs=-1, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option(
    "--target",
    "-t",
    "targets",
    multiple=True,
    metavar="NAME",
    help="A target the plans must cover (repeatable); one without a plan file is reported.",
)
@click.option(
    "--combined",
    "as_combined",
    is_flag=True,
    help="One report with a section per target, even for a single plan file.",
)
@json_out_option
@github_option
@colour_option
@log_option
def show(
    planfiles: tuple[Path, ...],
    fmt: str,
    targets: tuple[str, ...],
    as_combined: bool,
    json_out: Path | None,
    github_flag: bool,
    no_color: bool,
    log_level: str | None,
) -> int:
    """Render saved plans (`plan --out`) as plan prints them; several make one report."""
    logs.configure(log_level)
    saved: dict[str, tuple[Path, planfile.SavedPlan]] = {}
    expected = list(dict.fromkeys(targets))
    if not planfiles and not expected:
        raise UsageError("show needs PLANFILE (or --target for each plan expected)")
    key = plan_key()
    for path in planfiles:
        # The same checks as `apply --plan` reads it with: what show renders is what it runs.
        loaded = planfile.parse(read_plan_file(path), str(path), key)
        name = loaded.target
        if name in saved:
            raise UsageError(f"{saved[name][0]} and {path} are both plans for target '{name}'")
        if expected and name not in expected:
            raise UsageError(f"{path} is a plan for target '{name}', not for {', '.join(expected)}")
        saved[name] = (path, loaded)
        click.echo(
            f"{path}: the plan for target '{name}', made {loaded.created_at.isoformat()}",
            err=True,
        )
    colour = colour_wanted(no_color)
    # Without any plan file (every plan job failed), the report still says so per target.
    if not (as_combined or len(planfiles) != 1 or len(expected) > 1):
        [(_, only)] = saved.values()
        data = only.plan.to_json()
        text_of = lambda d: render.plan_text(d, colour)  # noqa: E731 - fits on one line
        print_report(data, fmt, text_of, markdown.plan_markdown, github_flag, json_out)
        return EXIT_OK
    sections: dict[str, dict[str, Json] | str] = {
        name: saved[name][1].plan.to_json() if name in saved else NO_PLAN
        for name in expected or saved
    }
    report = combined.combine("plan", sections)
    text_of = lambda d: combined.combined_text(d, colour)  # noqa: E731 - fits on one line
    print_report(report, fmt, text_of, None, github_flag, json_out)
    return EXIT_ERROR if NO_PLAN in sections.values() else EXIT_OK
