"""GitHub Actions output: workflow-command annotations, the step summary, and when to use them."""

# No `from __future__ import annotations` here: it would clash with `annotations()` below.
import contextlib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path, PurePath
from typing import Any

from reconciler.errors import SpecIssue
from reconciler.report import render
from reconciler.scim.redact import scrub

DESTRUCTIVE = ("disable", "delete")


def github_mode(flag: bool, environ: Mapping[str, str]) -> bool:
    """`--github`, or running inside GitHub Actions (the runner sets GITHUB_ACTIONS=true)."""
    return flag or environ.get("GITHUB_ACTIONS") == "true"


def annotations(
    issues: Iterable[SpecIssue] = (),
    plan: Mapping[str, Any] | None = None,
    workspace: str | None = None,
) -> list[str]:
    """Workflow commands, one per line, that pin each problem to its spec file and line.

    An `::error` per spec validation issue, and a `::warning` per destructive change
    (disable or delete) in `plan` that knows where it was declared. Paths are made relative
    to `workspace` (GITHUB_WORKSPACE), since GitHub only attaches annotations to
    repository-relative paths. The runner reads these from stdout and stderr alike, so
    callers print them to stderr and keep stdout for the plan.
    """
    lines: list[str] = []
    for issue in issues:
        title = f"Invalid spec: {issue.path}" if issue.path else "Invalid spec"
        props = {
            "file": _relative(issue.file, workspace),
            "line": str(issue.line),
            "col": str(issue.col),
            "title": title,
        }
        lines.append(_command("error", props, issue.message))
    if plan is not None:
        target = plan["target"]["name"]
        for change in plan.get("changes", []):
            source = change.get("source")
            if change["action"] not in DESTRUCTIVE or not source:
                continue
            action, kind, key = change["action"], change["kind"], change["key"]
            where = render.where(change)
            message = (
                f"scimrec will {action} {kind} {key}{where} on target {target}: {change['reason']}"
            )
            props = {
                "file": _relative(source["file"], workspace),
                "line": str(source["line"]),
                "title": f"{action.capitalize()} {kind} {key}",
            }
            lines.append(_command("warning", props, message))
    return lines


def append_step_summary(
    markdown: str, environ: Mapping[str, str], append: Callable[[Path, str], None]
) -> bool:
    """Appends `markdown` to the job's step summary with `append` (the command line's one
    way to write a file); False when there is none to append to."""
    path = environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return False
    text = markdown if markdown.endswith("\n") else markdown + "\n"
    # Append, never overwrite: other steps of the same job may have written to it already.
    append(Path(path), text)
    return True


def escape_data(text: str) -> str:
    # The runner decodes exactly these, in this order (actions/toolkit `escapeData`). Scrubbed
    # first: an escaped secret would no longer be recognised.
    return scrub(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    # `:` and `,` delimit properties, so inside one they must be escaped too (`escapeProperty`).
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _command(name: str, props: Mapping[str, str], message: str) -> str:
    rendered = ",".join(f"{key}={escape_property(value)}" for key, value in props.items())
    return f"::{name} {rendered}::{escape_data(message)}"


def _relative(file: str, workspace: str | None) -> str:
    path = PurePath(file)
    if workspace and path.is_absolute():
        # Outside the repository GitHub cannot attach it to a line; keep it rather than lose it.
        with contextlib.suppress(ValueError):
            path = path.relative_to(workspace)
    return path.as_posix()
