"""Renders a plan from its JSON form, so text and JSON can never disagree."""

from __future__ import annotations

import functools
import json
import unicodedata
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

from reconciler.core.masking import MASK, mask_attribute
from reconciler.core.model import Kind
from reconciler.core.not_kept import not_kept_fixes
from reconciler.core.urls import shown_url
from reconciler.errors import printable  # notes, errors, guards: free text
from reconciler.scim.redact import scrub

SYMBOL = {"create": "+", "update": "~", "disable": "-", "delete": "-"}
# ANSI SGR codes (ECMA-48); the CLI decides whether colour is wanted (TTY, NO_COLOR). The
# output streams (cli/output.py) let through these and the reset, and no other escape.
COLOURS = {"+": "32", "~": "33", "-": "31", "!": "1;31", "summary": "1"}
MAX_VALUE = 120
# Unicode categories a reader cannot see: controls, formats (zero-width, bidi), separators.
_INVISIBLE = frozenset({"Cc", "Cf", "Zl", "Zp"})
_NAMES = frozenset({"key", "id", "target_id", "name"})
# Scripts whose letters pass for one another (UTS #39's confusables: Cyrillic U+0430 for Latin
# "a", Greek U+03BF for "o"): a name mixing two of them is a look-alike until shown escaped.
_CONFUSABLE = frozenset({"LATIN", "CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE", "COPTIC"})


def hidden(text: str) -> bool:
    """Whether a string holds what a reader cannot see: surrounding whitespace, control or
    format characters (zero-width, bidi), or characters Unicode NFKC would change (a
    decomposed accent, a full-width letter): what makes two names look the same."""
    if text.isascii():
        return text != text.strip() or not text.isprintable()
    return (
        text != text.strip()
        or unicodedata.normalize("NFKC", text) != text
        or any(unicodedata.category(c) in _INVISIBLE for c in text)
        or len({_script(c) for c in text} & _CONFUSABLE) > 1
    )


@functools.lru_cache(maxsize=4096)
def _script(char: str) -> str:
    """A letter's script as its Unicode name starts ("CYRILLIC SMALL LETTER A"); the
    standard library has no script property, and for the scripts above the name says it."""
    if not char.isalpha():
        return ""
    return unicodedata.name(char, "").partition(" ")[0]


def visible(text: str) -> str:
    """A name as a reader can tell it apart: as is, or quoted with what is hidden escaped
    (`"jose\\u0301@example.com"`, `"dave@example.com "`)."""
    return json.dumps(text, ensure_ascii=True) if hidden(text) else text


def for_display(data: Any) -> Any:
    """A plan's or drift report's JSON form with every name (`key`, `id`) made visible;
    values are made visible by value_text. Renderers start here; the JSON output does not."""
    if isinstance(data, dict):
        return {
            k: (visible(v) if k in _NAMES and isinstance(v, str) else for_display(v))
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [for_display(v) for v in data]
    return data


def _has_hidden(value: Any) -> bool:
    if isinstance(value, str):
        return hidden(value)
    if isinstance(value, dict):
        return any(_has_hidden(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_hidden(v) for v in value)
    return False


def value_text(path: str, value: Any, write_only: AbstractSet[str] = frozenset()) -> str:
    # A write-only attribute's value, or one the plan's JSON form holds masked already.
    if value == MASK or mask_attribute(path, value, write_only) is not value:
        return MASK
    # A value holding an invisible difference shows it escaped, so a create line and a
    # delete line that differ only there never look identical. Scrubbed before it is
    # shortened: a secret cut in two would no longer be recognised.
    text = scrub(json.dumps(value, ensure_ascii=_has_hidden(value), sort_keys=True))
    if len(text) > MAX_VALUE:
        text = text[: MAX_VALUE - 15] + f"… ({len(text)} chars)"
    return text


def summary_line(summary: Mapping[str, int]) -> str:
    return (
        f"Plan: {summary['create']} to create, {summary['update']} to update, "
        f"{summary['disable']} to disable, {summary['delete']} to delete."
    )


def after_text(attr: Mapping[str, Any]) -> str:
    """An attribute's new value; a reference shows the key it names and its target id."""
    if attr.get("ref") is not None:
        known = (
            f" (id {attr['after']})" if attr.get("after") is not None else " (created in this run)"
        )
        return f"{attr['ref']}{known}"
    return value_text(attr["path"], attr["after"])


def member_text(member: Mapping[str, Any], *, removed: bool = False) -> str:
    """`member KEY`, `member group KEY`; a removed member also shows its target id."""
    kind = "group " if member.get("type") == "Group" else ""
    if not removed:
        return f"member {kind}{member['key'] or member['id']}"
    return f"member {kind}{member['key'] or '(unknown user)'} (id {member['id']})"


def headline(change: Mapping[str, Any]) -> str:
    """`update user KEY`, or `rename user OLD → NEW` when the change renames it; with why the
    object is on the target, where that is assignment."""
    rename = change.get("rename")
    if rename and change["action"] == "update":
        text = f"rename {change['kind']} {visible(rename['from'])} → {change['key']}"
    else:
        text = f"{change['action']} {change['kind']} {change['key']}"
        if rename:
            text += f" (renamed from {visible(rename['from'])})"
    if change.get("scope"):
        text += f" [{change['scope']}]"
    return text


def no_changes(plan: Mapping[str, Any], checked: str) -> str:
    """The line of a plan without changes. After a read that was not complete (lookup
    mode, a listing cut short) what it did not show was not compared, and changes it
    would call for may be withheld (the notes say which): not "the target matches"."""
    if plan.get("complete_read", True):
        return f"No changes. The target matches the spec ({checked} objects checked)."
    return (
        f"No changes. The target matches the spec as far as it was read ({checked} objects "
        "checked); the read was not complete: see the notes."
    )


def where(change: Mapping[str, Any], sep: str = " ", code: Any = str) -> str:
    """The object's id after its name, unless its key already ends with it (undeclared
    objects that share a name are keyed by name and id: core/prune.py)."""
    rid = change.get("target_id")
    if not rid or str(change.get("key", "")).endswith(f"(id {rid})"):
        return ""
    return f"{sep}(id {code(rid)})"


def change_lines(change: Mapping[str, Any]) -> list[str]:
    action = change["action"]
    where_ = where(change, "  ")
    lines = [f"  {SYMBOL[action]} {headline(change)}{where_}"]
    attrs = change.get("attributes", [])
    width = max((len(a["path"]) for a in attrs), default=0)
    for attr in attrs:
        label = attr["path"].ljust(width)
        if action == "create":
            lines.append(f"      {label}  {after_text(attr)}")
        else:
            before = value_text(attr["path"], attr["before"])
            lines.append(f"      {label}  {before} → {after_text(attr)}")
    members = change.get("members") or {}
    for member in members.get("add", []):
        lines.append(f"      + {member_text(member)}")
    for member in members.get("remove", []):
        lines.append(f"      - {member_text(member, removed=True)}")
    return lines


def paint(text: str, key: str, colour: bool) -> str:
    return f"\x1b[{COLOURS[key]}m{text}\x1b[0m" if colour else text


def _paint_line(line: str, colour: bool) -> str:
    """Colour a change's header by its symbol, and member lines by theirs."""
    stripped = line.lstrip()
    if not colour or not stripped:
        return line
    if stripped.startswith(("Error:", "Guard:", "Guard passed:")):
        return paint(line, "!", colour)
    if (
        line.startswith("  ")
        and stripped[0] in "+~-"
        and (not line.startswith("      ") or stripped.startswith(("+ member", "- member")))
    ):
        return paint(line, stripped[0], colour)
    return line


def plan_text(plan: Mapping[str, Any], colour: bool = False) -> str:
    plan = for_display(plan)
    target = plan["target"]
    out = [f'Target "{target["name"]}" ({shown_url(target["url"])})', ""]
    for note in plan.get("notes", []):
        out.append(f"Note: {printable(note)}")
    for change in plan["changes"]:
        out.extend(change_lines(change))
    if plan["changes"]:
        out.append("")
    for error in plan.get("errors", []):
        message = printable(error["message"])
        out.append(f"Error: {error['kind']} {error['key']}: {error['step']}: {message}")
    for guard in plan.get("guards", []):
        out.append(f"Guard: {printable(guard)}")
    for guard in plan.get("guards_passed", []):
        out.append(f"Guard passed: {printable(guard)}")
    outside = plan.get("out_of_scope", [])
    for entry in outside[:10]:
        kind = entry.get("kind", "user")
        out.append(f"Out of scope: {kind} {entry['key']} ({entry['outcome']}): {entry['reason']}")
    if len(outside) > 10:
        out.append(f"Out of scope: and {len(outside) - 10} more")
    out += scheduled_lines(plan.get("scheduled_deletes", []))
    summary = plan["summary"]
    if not plan["changes"] and not plan.get("errors"):
        out.append(no_changes(plan, f"{summary['noop']}"))
    else:
        line = summary_line(summary)
        if summary.get("error"):
            line = f"{line[:-1]}; {summary['error']} in error."
        out.append(paint(line, "summary", colour))
    return "\n".join(_paint_line(line, colour) for line in out) + "\n"


def scheduled_lines(scheduled: list[Mapping[str, Any]], cap: int = 10) -> list[str]:
    """When each disabled account will be deleted (`delete_after`)."""
    out = [
        f"Scheduled: {e['kind']} {e['key']} (id {e['target_id']}) disabled {e['disabled_at']}, "
        f"deleted on or after {e['delete_on']}"
        for e in scheduled[:cap]
    ]
    if len(scheduled) > cap:
        out.append(f"Scheduled: and {len(scheduled) - cap} more")
    return out


def plan_json(plan: Mapping[str, Any]) -> str:
    return json.dumps(plan, indent=2, ensure_ascii=False) + "\n"


def apply_summary(counts: Mapping[str, int], in_error: int = 0) -> str:
    """Apply's last line, the one CI logs and notifications quote: "complete" only when
    every planned change was made and no declared object was in error (an object in
    error has no change, so it is counted here, not among the failed writes)."""
    if counts["failed"]:
        head = "Apply finished with failures"
    elif in_error:
        head = "Apply finished with objects in error"
    else:
        head = "Apply complete"
    left = f"; {in_error} in error, not applied" if in_error else ""
    return (
        f"{head}: {counts['create']} created, {counts['update']} updated, "
        f"{counts['disable']} disabled, {counts['delete']} deleted, {counts['failed']} failed"
        f"{left}."
    )


def unshown_warning(keys: Sequence[str], shows_active: bool) -> str:
    """Users disabled that the target shows with no `active` at all: the next plan reads
    them as before and disables them again, each one counted by the guards. The fix
    depends on whether the target shows `active` when it is true (core/inactive.py)."""
    fix = (
        "This target shows `active` only when it is true: declare quirks: {inactive: absent} "
        "on it, so a user shown without it reads as disabled."
        if shows_active
        else "This target shows no `active` on any user read, so a disable cannot be read "
        "back: set deprovision: delete for it, or, if it leaves `active` out of disabled "
        "users only, declare quirks: {inactive: absent}."
    )
    return (
        "Warning: disabled, but shown without `active`, so the next plan would disable them "
        f"again: user {', user '.join(keys)}\n{fix}"
    )


def not_kept_warning(
    not_kept: Sequence[tuple[Kind, str, Sequence[str]]], stamp: str | None = None
) -> str:
    """What the target answered success for but did not keep, and how to stop managing it
    (`stamp`: where the target records the time of disabling, if `delete_after` reads it)."""
    lines = ["Warning: the target did not keep what it was sent, so the next plan would propose"
             " it again:"]  # fmt: skip
    paths: list[str] = []
    for kind, key, dropped in not_kept:
        lines.append(f"  {kind.value} {visible(key)}: not kept by the target: {', '.join(dropped)}")
        if kind is Kind.USER:
            paths += [p for p in dropped if p not in paths]
    single = " (or map a single-valued one to {constant: null})"
    for fix in not_kept_fixes(paths, stamp):
        said = (
            f"stop managing them on this target with {fix}{single}"
            if fix.startswith("quirks:")
            else fix
        )
        lines.append(f"{said[0].upper()}{said[1:]}.")
    # not_kept leaves out user attributes only: suggested for a group's, it would stop
    # managing the users' attributes of that name (externalId, which matching may use).
    if any(kind is Kind.GROUP for kind, _, _ in not_kept):
        lines.append(
            "A group's attributes are not covered by quirks: not_kept (users only): run plan "
            "to see whether the target holds them, and stop declaring those it does not keep."
        )
    return "\n".join(lines)
