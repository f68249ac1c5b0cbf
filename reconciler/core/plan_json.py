"""Reading a plan's JSON form back (a saved plan file), strictly: the inverse of Plan.to_json.

A plan file is data that travels between jobs and may be edited or damaged, so every field
is checked for its type and vocabulary, and unknown fields are refused; whatever is wrong
is reported as `Malformed` with the JSON path to it (`plan.changes[3].action: ...`), never
as a crash.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from reconciler.core.changes import PHASES, Action, Change, Member, ObjectError
from reconciler.core.depth import MAX_DEPTH, deeper_than
from reconciler.core.diff import AttrChange
from reconciler.core.lifecycle import Scheduled
from reconciler.core.model import Json, Kind, Location
from reconciler.core.plan import FORMAT_VERSION, Plan

T = TypeVar("T")
_CHANGE_KEYS = frozenset(
    {
        "kind",
        "key",
        "action",
        "reason",
        "target_id",
        "matched_on",
        "version",
        "attributes",
        "scope",
        "rename",
    }
)
_PLAN_KEYS = frozenset(
    {
        "format_version",
        "target",
        "summary",
        "changes",
        "errors",
        "guards",
        "notes",
        "complete_read",
        "out_of_scope",
        "scheduled_deletes",
    }
)
ACTIONS = tuple(a.value for a in Action if a is not Action.NOOP)
KINDS = tuple(k.value for k in Kind)


class Malformed(ValueError):
    """A plan file field that is missing, of the wrong type, or not in the vocabulary."""


def plan_from_json(data: Json, where: str = "plan") -> Plan:
    """Rebuild a Plan from its JSON form; Malformed names the first field that is wrong."""
    optional_keys = {"out_of_scope", "scheduled_deletes"}
    plan = mapping(data, where, required=_PLAN_KEYS - optional_keys, allowed=_PLAN_KEYS)
    if plan["format_version"] != FORMAT_VERSION:
        raise Malformed(
            f"{where}.format_version: expected {FORMAT_VERSION}, got {plan['format_version']!r}"
        )
    target = mapping(plan["target"], f"{where}.target", required={"name", "url"})
    summary = mapping(plan["summary"], f"{where}.summary")
    noop = summary.get("noop", 0)
    if isinstance(noop, bool) or not isinstance(noop, int) or noop < 0:
        raise Malformed(f"{where}.summary.noop: expected a count, got {noop!r}")
    return Plan(
        target=text(target["name"], f"{where}.target.name"),
        url=text(target["url"], f"{where}.target.url"),
        changes=items(plan["changes"], f"{where}.changes", change),
        errors=items(plan["errors"], f"{where}.errors", error),
        noop=noop,
        notes=items(plan["notes"], f"{where}.notes", text),
        guards=items(plan["guards"], f"{where}.guards", text),
        complete_read=flag(plan["complete_read"], f"{where}.complete_read"),
        out_of_scope=_outside(plan, where, "user"),
        out_of_scope_groups=_outside(plan, where, "group"),
        scheduled=items(plan.get("scheduled_deletes", []), f"{where}.scheduled_deletes", scheduled),
    )


def scheduled(data: Json, where: str) -> Scheduled:
    """A disabled account `delete_after` will delete, and when."""
    keys = {"kind", "key", "target_id", "disabled_at", "delete_on"}
    item = mapping(data, where, required=keys, allowed=keys)
    choice(item["kind"], f"{where}.kind", ("user",))
    return Scheduled(
        text(item["key"], f"{where}.key"),
        text(item["target_id"], f"{where}.target_id"),
        text(item["disabled_at"], f"{where}.disabled_at"),
        text(item["delete_on"], f"{where}.delete_on"),
    )


def _outside(plan: Mapping[str, Json], where: str, kind: str) -> tuple[tuple[str, str, str], ...]:
    entries = items(plan.get("out_of_scope", []), f"{where}.out_of_scope", outside)
    return tuple((key, reason, outcome) for of, key, reason, outcome in entries if of == kind)


def change(data: Json, where: str) -> Change:
    item = mapping(data, where, required={"kind", "key", "action"})
    kind = Kind(choice(item["kind"], f"{where}.kind", KINDS))
    allowed = _CHANGE_KEYS | {"source"} | ({"members"} if kind is Kind.GROUP else set())
    unknown = sorted(set(item) - allowed)
    if unknown:
        raise Malformed(f"{where}: unknown field {unknown[0]!r}")
    members = mapping(item.get("members", {}), f"{where}.members", allowed={"add", "remove"})
    action = Action(choice(item["action"], f"{where}.action", ACTIONS))
    if (kind, action) not in PHASES:  # a group has no `active`: it is never disabled
        raise Malformed(f"{where}.action: a {kind.value} is never {action.value}d")
    return Change(
        kind=kind,
        key=text(item["key"], f"{where}.key"),
        action=action,
        reason=text(item.get("reason", ""), f"{where}.reason"),
        target_id=optional(item.get("target_id"), f"{where}.target_id"),
        matched_on=optional(item.get("matched_on"), f"{where}.matched_on"),
        version=optional(item.get("version"), f"{where}.version"),
        attributes=items(item.get("attributes", []), f"{where}.attributes", attribute),
        members_add=items(members.get("add", []), f"{where}.members.add", member),
        members_remove=items(members.get("remove", []), f"{where}.members.remove", member),
        location=source(item["source"], f"{where}.source") if "source" in item else None,
        scope=optional(item.get("scope"), f"{where}.scope"),
        renamed_from=rename(item["rename"], item["key"], f"{where}.rename")
        if "rename" in item
        else None,
    )


def rename(data: Json, key: Json, where: str) -> str:
    """A rename's former name; its new name is the change's key."""
    item = mapping(data, where, required={"from", "to"}, allowed={"from", "to"})
    if item["to"] != key:
        raise Malformed(
            f"{where}.to: expected the change's key {short(key)}, got {short(item['to'])}"
        )
    return text(item["from"], f"{where}.from")


def outside(data: Json, where: str) -> tuple[str, str, str, str]:
    """An object out of scope: (kind, key, reason, what happens to it)."""
    item = mapping(data, where, required={"kind", "key", "reason", "outcome"})
    mapping(item, where, allowed={"kind", "key", "reason", "outcome"})
    return (
        choice(item["kind"], f"{where}.kind", KINDS),
        text(item["key"], f"{where}.key"),
        text(item["reason"], f"{where}.reason"),
        text(item["outcome"], f"{where}.outcome"),
    )


def attribute(data: Json, where: str) -> AttrChange:
    item = mapping(data, where, required={"path"}, allowed={"path", "before", "after", "ref"})
    return AttrChange(
        text(item["path"], f"{where}.path"),
        value(item.get("before"), f"{where}.before"),
        value(item.get("after"), f"{where}.after"),
        optional(item.get("ref"), f"{where}.ref"),
    )


def value(data: Json, where: str) -> Json:
    """An attribute's value, nested no deeper than a target's answer may be: no plan holds
    a deeper one, and every renderer walks it a call a level (past about 350 levels,
    `show` would crash)."""
    if deeper_than(data, MAX_DEPTH):
        raise Malformed(f"{where}: nested deeper than {MAX_DEPTH} levels")
    return data


def member(data: Json, where: str) -> Member:
    item = mapping(data, where, allowed={"key", "id", "type"})
    kind = choice(item.get("type", "User"), f"{where}.type", ("User", "Group"))
    key, rid = optional(item.get("key"), f"{where}.key"), optional(item.get("id"), f"{where}.id")
    if key is None and rid is None:
        raise Malformed(f"{where}: a member needs a key or an id")
    return Member(key, rid, kind)


def error(data: Json, where: str) -> ObjectError:
    item = mapping(data, where, required={"kind", "key", "step", "message"})
    return ObjectError(
        Kind(choice(item["kind"], f"{where}.kind", KINDS)),
        text(item["key"], f"{where}.key"),
        text(item["step"], f"{where}.step"),
        text(item["message"], f"{where}.message"),
    )


def source(data: Json, where: str) -> Location:
    item = mapping(data, where, required={"file", "line", "col"}, allowed={"file", "line", "col"})
    return Location(
        text(item["file"], f"{where}.file"),
        count(item["line"], f"{where}.line"),
        count(item["col"], f"{where}.col"),
    )


# -- the readers of single values --------------------------------------------------------


def mapping(
    data: Json,
    where: str,
    *,
    required: set[str] | frozenset[str] = frozenset(),
    allowed: set[str] | frozenset[str] | None = None,
) -> Mapping[str, Json]:
    if not isinstance(data, dict):
        raise Malformed(f"{where}: expected an object, got {kind_of(data)}")
    missing = sorted(required - set(data))
    if missing:
        raise Malformed(f"{where}: missing '{missing[0]}'")
    if allowed is not None:
        unknown = sorted(set(data) - set(allowed))
        if unknown:
            raise Malformed(f"{where}: unknown field {unknown[0]!r}")
    return data


def items(data: Json, where: str, read: Callable[[Json, str], T]) -> tuple[T, ...]:
    if not isinstance(data, list):
        raise Malformed(f"{where}: expected a list, got {kind_of(data)}")
    return tuple(read(item, f"{where}[{index}]") for index, item in enumerate(data))


def text(data: Json, where: str) -> str:
    if not isinstance(data, str):
        raise Malformed(f"{where}: expected a string, got {kind_of(data)}")
    return data


def optional(data: Json, where: str) -> str | None:
    return None if data is None else text(data, where)


def choice(data: Json, where: str, choices: Sequence[str]) -> str:
    if data not in choices:
        raise Malformed(f"{where}: expected one of {', '.join(choices)}, got {short(data)}")
    return str(data)


def flag(data: Json, where: str) -> bool:
    if not isinstance(data, bool):
        raise Malformed(f"{where}: expected true or false, got {kind_of(data)}")
    return data


def count(data: Json, where: str) -> int:
    if isinstance(data, bool) or not isinstance(data, int) or data < 0:
        raise Malformed(f"{where}: expected a whole number, got {short(data)}")
    return data


def kind_of(data: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "true or false"}
    if data is None:
        return "null"
    return names.get(type(data), "a number")


def short(data: Any) -> str:
    shown = repr(data)
    return shown if len(shown) <= 40 else shown[:37] + "..."
