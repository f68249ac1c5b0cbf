"""What the GitHub Action (action.yml) publishes: its step outputs and its comment bodies.

Run by the action with the Python of scimrec's own virtualenv:
    python -m reconciler.report.action outputs COMMAND EXIT_CODE STDOUT JSON   (key=value)
    python -m reconciler.report.action apply-report STDOUT TARGETS EXIT_CODE STDERR
    python -m reconciler.report.action comment-body REPORT COMMAND TARGETS RUN_URL
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

# Apply's summary (render.apply_summary), a whole line. The plan printed before it names
# accounts as the target spells them, so a userName may read like a summary; but a name
# is never a line of its own (indented, newlines escaped), and the summary is the last
# line apply prints: the last whole line that matches is apply's own.
APPLIED = re.compile(
    r"^Apply (?:complete|finished with failures|finished with objects in error): (\d+) "
    r"created, (\d+) updated, (\d+) disabled, (\d+) deleted, (\d+) failed"
    r"(?:; (\d+) in error, not applied)?\.$",
    re.MULTILINE,
)
COUNTS = ("create", "update", "disable", "delete")


def outputs(command: str, code: str, stdout: str, report: dict[str, Any] | None) -> list[str]:
    """The action's outputs: whether anything changes or drifted, and the summary counts."""
    counts = dict.fromkeys((*COUNTS, "errors"), 0)
    changed = code == "2"
    if command in ("plan", "show") and report is not None:
        summary = report["summary"]
        counts.update({key: int(summary.get(key, 0)) for key in COUNTS})
        counts["errors"] = int(summary.get("error", 0))
        changed = changed or any(counts[key] for key in COUNTS)
    elif command == "drift" and report is not None:
        changed = report.get("drifted") is True
    elif command == "apply" and (found := _summary(stdout)):
        *done, failed, in_error = (int(n or 0) for n in found.groups())
        counts.update(zip(COUNTS, done, strict=True))
        # Like a plan's: objects in error, which apply leaves alone, with failed writes.
        counts["errors"] = failed + in_error
        changed = any(counts[key] for key in COUNTS)
    lines = [f"has-changes={'true' if changed else 'false'}"]
    lines += [f"{key}={value}" for key, value in counts.items()]
    if command == "targets" and code == "0":
        lines.append(f"targets={json.dumps(json.loads(stdout), separators=(',', ':'))}")
    return lines


def _summary(stdout: str) -> re.Match[str] | None:
    """Apply's own summary line: the last whole line that reads as one."""
    found = list(APPLIED.finditer(stdout))
    return found[-1] if found else None


def marker(command: str, targets: str) -> str:
    """The hidden first line scimrec itself writes for these targets (report/markdown.py)."""
    kind = "plan" if command == "show" else command
    names = targets.split()
    # The action's show always makes the combined report (the gathered plans of a matrix).
    if len(names) != 1 or names == ["all"] or command == "show":
        return f"<!-- scimrec:{kind} targets -->"
    return f"<!-- scimrec:{kind} target={re.sub(r'[^A-Za-z0-9._-]', '_', names[0])} -->"


def fenced(text: str) -> str:
    """`text` in a code block whose fence no run of backticks inside it can close."""
    fence = "`" * max(3, 1 + max((len(r) for r in re.findall(r"`+", text)), default=0))
    return f"{fence}text\n{text.rstrip()}\n{fence}"


def apply_report(stdout: str, targets: str, code: str, error: str = "") -> str:
    """An apply's output for the step summary and the pull request, under its own marker;
    `error` is scimrec's `Error:` line (a refused plan prints nothing else)."""
    # `apply --plan FILE` names no target: the plan it prints does (`Target "NAME" (URL)`).
    named = targets or " ".join(re.findall(r'^Target "(.+)" \(', stdout, flags=re.M)[:1])
    names = named.split() or ["(unknown)"]
    outcome = "applied" if code == "0" else f"failed (exit {code})"
    heading = f"### scimrec apply for `{'`, `'.join(names)}`: {outcome}"
    shown = stdout if not error else f"{stdout.rstrip()}\n{error}".lstrip("\n")
    return f"{marker('apply', named)}\n{heading}\n\n{fenced(shown)}\n"


def comment_body(report: str, command: str, targets: str, run_url: str) -> str:
    """The report as the comment, or, when there is none, a comment that says it failed,
    so an old plan never stays up looking current."""
    footer = f"\n<sub>[Job log]({run_url})</sub>\n"
    if report.startswith("<!-- scimrec:"):
        return report.rstrip("\n") + "\n" + footer
    kind = "plan" if command == "show" else command
    return (
        f"{marker(command, targets)}\n### scimrec {kind} failed\n\n"
        "It made no report; the job log says why." + "\n" + footer
    )


def _json_file(path: Path) -> Any:
    """The JSON report, or None when the command failed before writing a whole one."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def main(argv: list[str]) -> int:
    what, *args = argv
    if what == "outputs":
        command, code, stdout, report = args
        data = _json_file(Path(report))
        text = Path(stdout).read_text(encoding="utf-8")
        print("\n".join(outputs(command, code, text, data if isinstance(data, dict) else None)))
    elif what == "apply-report":
        stdout, targets, code, stderr = args
        errors = [
            line
            for line in Path(stderr).read_text(encoding="utf-8").splitlines()
            if line.startswith("Error: ")
        ]
        text = Path(stdout).read_text(encoding="utf-8")
        print(apply_report(text, targets, code, errors[-1] if errors else ""), end="")
    elif what == "comment-body":
        report, command, targets, run_url = args
        text = Path(report).read_text(encoding="utf-8")
        print(comment_body(text, command, targets, run_url), end="")
    else:
        print(f"unknown helper {what!r}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
