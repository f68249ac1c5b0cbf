"""Renders a plan or a drift report, from its JSON form, as one GitHub pull-request comment."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.core.urls import shown_url
from reconciler.errors import printable
from reconciler.report import render
from reconciler.report.drift import UNMANAGED_NOT_CHECKED
from reconciler.report.render import (
    after_text,
    for_display,
    headline,
    member_text,
    scheduled_lines,
    value_text,
)
from reconciler.scim.redact import scrub

# GitHub rejects comment bodies over 65,536 characters; the margin leaves room for a
# workflow that adds a footer (a link to the run) before posting.
BUDGET = 65_000
# Prose outside the diff is capped by count, length and in total, so the diff always keeps
# most of the budget however many errors or deprovisions a plan has.
PROSE_BUDGET = 25_000
LIST_CAP = 30
REMOVALS_SHOWN = 5  # members named per group in the destructive list; the diff has all
CALLOUT_CAP = 10
TEXT_CAP = 300
LINE_CAP = 400
SNAP = 40
SYMBOL = {"create": "+", "update": "~", "disable": "-", "delete": "-"}
DESTRUCTIVE = ("disable", "delete")
OMITTED = "… {n:,} lines omitted (the full {what}) …"
WHERE = {
    "plan": "plan is in the job log / plan artifact",
    "drift": "report is in the job log",
}


def plan_markdown(plan: Mapping[str, Any], budget: int = BUDGET) -> str:
    """The comment for one plan: summary, alerts, destructive changes, then the diff, in at
    most `budget` characters (less than BUDGET when it is one section of several)."""
    plan = for_display(plan)
    room = budget * PROSE_BUDGET // BUDGET
    target = plan["target"]
    summary = plan["summary"]
    changes: Sequence[Mapping[str, Any]] = plan.get("changes", [])
    errors: Sequence[Mapping[str, Any]] = plan.get("errors", [])
    guards: Sequence[str] = plan.get("guards", [])
    out = [_marker("plan", target["name"]), _heading("plan", target), ""]
    if not changes and not errors and not guards:
        out += [render.no_changes(plan, f"{summary['noop']:,}"), ""]
        notes = [prose(n) for n in plan.get("notes", [])]
        notes += [prose(line) for line in scheduled_lines(plan.get("scheduled_deletes", []))]
        _add_callout(out, "NOTE", notes, prose=room)
        return "\n".join(out).rstrip("\n") + "\n"
    out += [f"**{summary_line(summary)}**", ""]
    alerts = [f"**Guard:** {prose(g)}" for g in guards]
    alerts += [f"**Guard passed:** {prose(g)}" for g in plan.get("guards_passed", [])]
    alerts += [_error_item(e) for e in errors]
    _add_callout(out, "CAUTION", alerts, prose=room)
    # Everything that takes access away, however produced: deprovisions, and members
    # removed from groups (one item per group, naming who loses the membership).
    items = [_destructive_item(c) for c in changes if c["action"] in DESTRUCTIVE]
    items += [_removal_item(c) for c in changes if (c.get("members") or {}).get("remove")]
    if items:
        count = _plural(len(items), "destructive change")
        _add_callout(out, "WARNING", items, f"**{count}:**", LIST_CAP, room)
    notes = [prose(n) for n in plan.get("notes", [])]
    notes += [prose(line) for line in scheduled_lines(plan.get("scheduled_deletes", []))]
    _add_callout(out, "NOTE", notes, prose=room)
    if not changes:
        return "\n".join(out).rstrip("\n") + "\n"
    lines: list[str] = []
    starts: list[bool] = []
    for change in changes:
        block = change_lines(change)
        lines += block
        starts += [True] + [False] * (len(block) - 1)
    title = f"Full plan: {_plural(len(changes), 'change')}"
    return _finish(out, title, [], lines, starts, "plan", budget)


def drift_markdown(report: Mapping[str, Any], budget: int = BUDGET) -> str:
    """The comment for one drift report: summary, errors, what apply would deprovision and
    notes, then every drifted object as a diff. It says what the text report says: never
    "matches" with objects in error, or with undeclared objects left unseen (lookup mode)."""
    report = for_display(report)
    room = budget * PROSE_BUDGET // BUDGET
    target = report["target"]
    summary = report["summary"]
    out = [_marker("drift", target["name"]), _heading("drift report", target), ""]
    changed: Sequence[Mapping[str, Any]] = report.get("changed", [])
    missing: Sequence[Mapping[str, Any]] = report.get("missing", [])
    unmanaged: Sequence[Mapping[str, Any]] = report.get("unmanaged", [])
    errors: Sequence[Mapping[str, Any]] = report.get("errors", [])
    seen_all = report.get("unmanaged_checked", True)
    notes = [prose(n) for n in report.get("notes", [])]
    if not seen_all:
        notes.append(prose(UNMANAGED_NOT_CHECKED))
    if not changed and not missing and not unmanaged and not errors:
        checked = f"{summary['checked']:,} objects checked"
        if seen_all:
            out.append(f"No drift. The target matches the spec ({checked}).")
        else:
            out.append(f"No drift among the declared objects ({checked}).")
        out.append("")
        _add_callout(out, "NOTE", notes, prose=room)
        return "\n".join(out).rstrip("\n") + "\n"
    out += [f"**{drift_summary_line(summary, seen_all)}**", ""]
    _add_callout(out, "CAUTION", [_error_item(e) for e in errors], prose=room)
    # Drift apply would resolve by taking access away: said outside the folded diff.
    items = [_destructive_item(c) for c in changed if c.get("action") in DESTRUCTIVE]
    if items:
        count = _plural(len(items), "deprovision")
        _add_callout(out, "WARNING", items, f"**{count} apply would make:**", LIST_CAP, room)
    _add_callout(out, "NOTE", notes, prose=room)
    if not changed and not missing and not unmanaged:
        return "\n".join(out).rstrip("\n") + "\n"
    lines: list[str] = []
    starts: list[bool] = []
    for item in changed:
        action = item.get("action", "update")
        label = "changed" if action == "update" else action
        block = change_lines({**item, "action": action}, label=label)
        lines += block
        starts += [True] + [False] * (len(block) - 1)
    for item in missing:
        lines.append(_line(f"- missing {item['kind']} {item['key']} (declared, not on the target)"))
    for item in unmanaged:
        name = item.get("name") or "(no name)"
        lines.append(_line(f"+ unmanaged {item['kind']} {name} (id {item['id']}, not declared)"))
    starts += [True] * (len(missing) + len(unmanaged))
    legend = [
        "`~` differs (target → spec) · `-` declared but missing on the target · "
        "`+` on the target but not declared"
        + (" · `- delete`, `- disable`: what apply would deprovision" if items else ""),
        "",
    ]
    title = f"Drift: {_plural(len(changed) + len(missing) + len(unmanaged), 'object')}"
    return _finish(out, title, legend, lines, starts, "drift", budget)


def summary_line(summary: Mapping[str, int]) -> str:
    line = (
        f"{summary['create']:,} to create · {summary['update']:,} to update · "
        f"{summary['disable']:,} to disable · {summary['delete']:,} to delete"
    )
    if summary.get("error"):
        line += f" · {_plural(summary['error'], 'error')}"
    return line


def drift_summary_line(summary: Mapping[str, int], unmanaged_checked: bool = True) -> str:
    unmanaged = (
        f"{summary['unmanaged']:,} unmanaged" if unmanaged_checked else "unmanaged not checked"
    )
    line = (
        f"{summary['changed']:,} changed · {summary['missing']:,} missing · "
        f"{unmanaged} · {summary['checked']:,} checked"
    )
    if summary.get("error"):
        line += f" · {_plural(summary['error'], 'error')}"
    return line


def change_lines(change: Mapping[str, Any], label: str | None = None) -> list[str]:
    """One change as diff lines; the first character drives GitHub's diff colouring."""
    action = change["action"]
    sym = SYMBOL[action]
    where = render.where(change)
    head = f"{label} {change['kind']} {change['key']}" if label else headline(change)
    lines = [f"{sym} {head}{where}"]
    attrs: Sequence[Mapping[str, Any]] = change.get("attributes", [])
    width = max((len(a["path"]) for a in attrs), default=0)
    for attr in attrs:
        path = attr["path"].ljust(width)
        if action == "create":
            lines.append(f"{sym}     {path}  {after_text(attr)}")
        else:
            before = value_text(attr["path"], attr["before"])
            lines.append(f"{sym}     {path}  {before} → {after_text(attr)}")
    members = change.get("members") or {}
    for member in members.get("add", []):
        lines.append(f"+     {member_text(member)}")
    for member in members.get("remove", []):
        lines.append(f"-     {member_text(member, removed=True)}")
    return [_line(line) for line in lines]


def _finish(
    out: list[str],
    title: str,
    legend: list[str],
    lines: list[str],
    starts: list[bool],
    what: str,
    budget: int,
) -> str:
    """Closes the comment with the diff in `<details>`, cutting its middle to fit the budget."""
    runs = re.findall(r"`+", "\n".join(lines))
    fence = "`" * max(3, 1 + max((len(r) for r in runs), default=0))
    closing = [fence, "", "</details>"]
    cut = f"<details><summary>{title} (middle omitted, see the job log)</summary>"
    opening = ["", *legend, f"{fence}diff"]
    # Measured with the longer summary tag, so the count holds either way.
    room = budget - len("\n".join([*out, cut, *opening, *closing])) - 2
    kept, omitted = _fit(lines, starts, room, WHERE[what])
    summary = cut if omitted else f"<details><summary>{title}</summary>"
    return "\n".join([*out, summary, *opening, *kept, *closing]) + "\n"


def _fit(lines: list[str], starts: list[bool], room: int, where: str) -> tuple[list[str], int]:
    """Keeps the head and tail of the diff within `room` characters, dropping the middle.

    Cuts snap to the start of a change where one is near, so no change is shown half.
    """
    if sum(len(line) + 1 for line in lines) <= room:
        return lines, 0
    note = OMITTED.format(n=len(lines), what=where)
    half = max(0, (room - len(note) - 1) // 2)
    head, used = 0, 0
    while head < len(lines) and used + len(lines[head]) + 1 <= half:
        used += len(lines[head]) + 1
        head += 1
    tail, used = len(lines), 0
    while tail > head and used + len(lines[tail - 1]) + 1 <= half:
        used += len(lines[tail - 1]) + 1
        tail -= 1
    # Snap only when a change starts within SNAP lines; a giant change is cut mid-way.
    head = next((i for i in range(head, max(0, head - SNAP), -1) if starts[i]), head)
    tail = next((i for i in range(tail, min(len(lines), tail + SNAP)) if starts[i]), tail)
    return [*lines[:head], OMITTED.format(n=tail - head, what=where), *lines[tail:]], tail - head


def _add_callout(
    out: list[str],
    kind: str,
    items: Sequence[str],
    title: str | None = None,
    cap: int = CALLOUT_CAP,
    prose: int = PROSE_BUDGET,
) -> None:
    """Appends a GitHub alert block (`> [!CAUTION]`) listing as many of `items` as fit."""
    if not items:
        return
    lines = [f"> [!{kind}]"] + ([f"> {title}"] if title else [])
    used = sum(len(line) + 1 for line in [*out, *lines])
    shown = 0
    for item in items[:cap]:
        # Past the prose budget the rest goes unlisted, so the diff keeps most of the budget.
        if used + len(item) + 5 > prose:
            break
        lines.append(f"> - {item}")
        used += len(item) + 5
        shown += 1
    if shown < len(items):
        lines.append(f"> - … and {len(items) - shown:,} more (see the job log)")
    out += [*lines, ""]


def _error_item(error: Mapping[str, Any]) -> str:
    step = f" ({prose(error['step'])})" if error.get("step") else ""
    return f"**Error** in {error['kind']} {_code(error['key'])}{step}: {prose(error['message'])}"


def _destructive_item(change: Mapping[str, Any]) -> str:
    where = render.where(change, code=_code)
    source = change.get("source")
    reason = f" · {prose(change['reason'])}" if change.get("reason") else ""
    at = f" · {_code(str(source['file']) + ':' + str(source['line']))}" if source else ""
    return f"**{change['action']}** {change['kind']} {_code(change['key'])}{where}{reason}{at}"


def _removal_item(change: Mapping[str, Any]) -> str:
    removed = change["members"]["remove"]
    names = [
        ("group " if m.get("type") == "Group" else "") + _code(m.get("key") or m.get("id") or "?")
        for m in removed[:REMOVALS_SHOWN]
    ]  # a nested group says so: a user and a group may share a name
    more = f" and {len(removed) - REMOVALS_SHOWN:,} more" if len(removed) > REMOVALS_SHOWN else ""
    who = ", ".join(names) + more
    return f"**remove {_plural(len(removed), 'member')}** from group {_code(change['key'])}: {who}"


def _marker(what: str, name: str) -> str:
    # The workflow finds its own comment by this exact line; the name is reduced to
    # characters that cannot end an HTML comment.
    return f"<!-- scimrec:{what} target={re.sub(r'[^A-Za-z0-9._-]', '_', name)} -->"


def _heading(what: str, target: Mapping[str, Any]) -> str:
    return f"### scimrec {what} for {_code(target['name'])} ({_code(shown_url(target['url']))})"


def _code(value: Any) -> str:
    """Inline code that stays inline code whatever backticks the text holds."""
    text = printable(_clip(" ".join(str(value).split()), TEXT_CAP))
    ticks = "`" * (1 + max((len(r) for r in re.findall(r"`+", text)), default=0))
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def prose(value: Any) -> str:
    """Text from the plan as inert Markdown: one line, no HTML, no emphasis or links, no
    mention, issue reference or autolink, control characters shown as escapes."""
    text = html.escape(printable(_clip(" ".join(str(value).split()), TEXT_CAP)), quote=False)
    return _unlinked(re.sub(r"([\\`*_\[\]~|])", r"\\\1", text))


# GitHub links what it finds in the rendered text, past any backslash: @user and @org/team
# (a ping), #123, GH-123 and owner/repo#123 (a cross-reference), scheme:// and www. (a
# link). A zero-width joiner after the character that starts each breaks the token and
# shows nothing; an address (alice@example.com) has a word before its @ and stays as is.
_LIVE = re.compile(r"(?<!\w)@(?=\w)|#(?=\w)|\b(?:GH|www)(?=[-.]\w)|:(?=//)", re.IGNORECASE)


def _unlinked(text: str) -> str:
    return _LIVE.sub(lambda m: m[0] + "\u200d", text)


def _line(text: str) -> str:
    """One diff line, however long or multi-line the keys in it: colouring is per line."""
    return printable(_clip(text.replace("\r", " ").replace("\n", " "), LINE_CAP))


def _clip(text: str, cap: int) -> str:
    # Scrubbed before it is shortened or escaped: either would hide a secret from the scrub
    # every output gets at the end.
    text = scrub(text)
    return text if len(text) <= cap else text[: cap - 1] + "…"


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"
