"""One report for several targets (`--target A --target B`, `--all-targets`, `show` of several
plan files): a section per target in text, markdown and JSON, with totals.

The JSON form keeps `format_version: 1` and replaces the one-target report's `target` with
`targets`, so a reader tells the two apart by that key:

    {"format_version": 1, "report": "plan" | "drift",
     "targets": {NAME: <that target's one-target report> | {"error": MESSAGE}, ...},
     "summary": {<the targets' summary counts added up>, "targets": N, "failed": N},
     "drifted": true | false}                                    (drift reports only)

Targets appear in the order they were given (`--all-targets`: sorted by name).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from reconciler.core.model import Json
from reconciler.report import markdown, render
from reconciler.report.drift import drift_text

FORMAT_VERSION = 1
COUNTS = {
    "plan": ("create", "update", "disable", "delete", "noop", "error"),
    "drift": ("checked", "in_sync", "changed", "missing", "unmanaged", "error"),
}


def combine(report: str, sections: Mapping[str, Mapping[str, Json] | str]) -> dict[str, Json]:
    """The multi-target JSON from each target's report, or its error message (a str)."""
    targets: dict[str, Json] = {}
    summary = dict.fromkeys(COUNTS[report], 0)
    failed = 0
    for name, section in sections.items():
        if isinstance(section, str):
            targets[name] = {"error": section}
            failed += 1
            continue
        targets[name] = dict(section)
        counts: Any = section["summary"]
        for key in summary:
            summary[key] += int(counts.get(key, 0))
    data: dict[str, Json] = {
        "format_version": FORMAT_VERSION,
        "report": report,
        "targets": targets,
        "summary": {**summary, "targets": len(sections), "failed": failed},
    }
    if report == "drift":
        data["drifted"] = any(
            isinstance(s, Mapping) and s.get("drifted") is True for s in sections.values()
        )
    return data


def is_combined(data: Mapping[str, Any]) -> bool:
    return "targets" in data and "target" not in data


def combined_text(data: Mapping[str, Any], colour: bool = False) -> str:
    """Each target's report as `plan` or `drift` prints it, then one line of totals."""
    parts: list[str] = []
    for name, section in data["targets"].items():
        if "error" in section:
            parts.append(f'Target "{name}": Error: {section["error"]}\n')
        elif data["report"] == "plan":
            parts.append(render.plan_text(section, colour))
        else:
            parts.append(drift_text(section))
    return "\n".join(parts) + "\n" + _totals(data) + "\n"


def _totals(data: Mapping[str, Any]) -> str:
    s = data["summary"]
    failed = f"; {s['failed']} failed" if s["failed"] else ""
    where = f"{s['targets']} target{'s' if s['targets'] != 1 else ''}{failed}"
    if data["report"] == "plan":
        errors = f", {s['error']} in error" if s["error"] else ""
        return (
            f"All targets ({where}): {s['create']} to create, {s['update']} to update, "
            f"{s['disable']} to disable, {s['delete']} to delete{errors}."
        )
    return (
        f"All targets ({where}): {s['changed']} changed, {s['missing']} missing, "
        f"{s['unmanaged']} unmanaged; {s['in_sync']} in sync of {s['checked']} checked."
    )


def combined_markdown(data: Mapping[str, Any]) -> str:
    """One comment for every target: a table of counts, then each target's section.

    The sections share GitHub's comment budget, so a large plan for one target cannot push
    the others out; each keeps its own head-and-tail cut.
    """
    report = data["report"]
    names = list(data["targets"])
    what = "plan" if report == "plan" else "drift report"
    out = [
        f"<!-- scimrec:{report} targets -->",
        f"## scimrec {what} for {len(names)} target{'s' if len(names) != 1 else ''}",
        "",
        *_table(data),
        "",
    ]
    room = (markdown.BUDGET - len("\n".join(out)) - 100) // max(1, len(names))
    for name, section in data["targets"].items():
        if "error" in section:
            out += [
                f"### scimrec {what} for {_code(name)} failed",
                "",
                f"> [!CAUTION]\n> {markdown.prose(section['error'])}",
                "",
            ]
            continue
        body = (
            markdown.plan_markdown(section, room)
            if report == "plan"
            else markdown.drift_markdown(section, room)
        )
        # Each section drops its own marker line: the comment is found by the one above.
        out += [body.split("\n", 1)[1].rstrip("\n"), ""]
    return "\n".join(out).rstrip("\n") + "\n"


def _table(data: Mapping[str, Any]) -> list[str]:
    columns = (
        ("create", "update", "disable", "delete", "error")
        if data["report"] == "plan"
        else ("changed", "missing", "unmanaged", "in_sync", "error")
    )
    rows = [
        "| target | " + " | ".join(c.replace("_", " ") for c in columns) + " |",
        "|---|" + "---:|" * len(columns),
    ]
    for name, section in data["targets"].items():
        if "error" in section:
            cells = ["failed", *([""] * (len(columns) - 1))]
        else:
            cells = [f"{section['summary'].get(c, 0):,}" for c in columns]
        rows.append(f"| {_code(name)} | " + " | ".join(cells) + " |")
    return rows


def _code(name: str) -> str:
    # Target names are spec keys; keep a stray backtick or pipe from breaking the table.
    return "`" + re.sub(r"[`|\n]", "_", name) + "`"
