"""Entra's logic, flow and collection functions: conditions, fallbacks, tests, lists and GUIDs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reconciler.expressions.calls import (
    Args,
    Context,
    Function,
    SkipFlow,
    literal_check,
    positive,
)
from reconciler.expressions.values import (
    FunctionError,
    boolean,
    integer,
    is_null_or_empty,
    required,
)


def _bit_and(a: Args, _: Context) -> Any:
    left, right = integer(a[0]), integer(a[1])
    return None if left is None or right is None else left & right


def _coalesce(a: Args, _: Context) -> Any:
    # Microsoft: "the first source value that isn't NULL". Choice: "" is a value, not NULL.
    for i in range(len(a)):
        if a.present(i) and a[i] is not None and a[i] != []:
            return a[i]
    return None


def _count(a: Args, _: Context) -> Any:
    value = a[0]
    return 0 if value is None else len(value) if isinstance(value, list | tuple) else 1


def _guid(_: Args, ctx: Context) -> Any:
    return ctx.new_guid()


def _ignore_flow(a: Args, _: Context) -> Any:
    if is_null_or_empty(a[0]):
        raise SkipFlow
    return a[0]


def _iif(a: Args, _: Context) -> Any:
    # Microsoft: "If the source attribute used within the IIF function is empty or null, the
    # condition check fails." Choice: a null condition is false, so valueIfFalse is returned.
    return a[1] if boolean(a[0]) else a[2]


def _item(a: Args, _: Context) -> Any:
    value, index = a[0], integer(required(a[1], "index"))
    if index is None or index < 1:
        raise FunctionError(f"index starts at 1, got {index!r}")
    items = [] if value is None else list(value) if isinstance(value, list | tuple) else [value]
    return items[index - 1] if index <= len(items) else None


def _not(a: Args, _: Context) -> Any:
    # Microsoft: "If source value is True, returns False. Otherwise, returns True."
    return (a.text(0) or "").strip().lower() != "true"


def _remove_duplicates(a: Args, _: Context) -> Any:
    value = a[0]
    if not isinstance(value, list | tuple):
        return value
    unique: list[Any] = []
    for item in value:
        if item not in unique:
            unique.append(item)
    return unique


def _select_unique(a: Args, ctx: Context) -> Any:
    # Without a uniqueness oracle (scimrec has no directory to ask at plan time unless the caller
    # passes `is_unique`), the first non-empty candidate is the answer.
    tried: list[str] = []
    for i in range(len(a)):
        candidate = a.text(i)
        if candidate:
            if ctx.is_unique is None or ctx.is_unique(candidate):
                return candidate
            tried.append(candidate)
    if tried:
        raise FunctionError(f"every candidate is already taken: {', '.join(tried)}")
    return None


def _switch(a: Args, _: Context) -> Any:
    # Case-sensitive, as Microsoft notes. A missing source matches the key "" (Microsoft's own
    # advice: "use a literal empty string as one of the key values").
    source = a.text(0) or ""
    for i in range(2, len(a) - 1, 2):
        if (a.text(i) or "") == source:
            return a[i + 1]
    return a[1]


def _switch_check(args: Sequence[tuple[bool, Any]]) -> list[tuple[int, str]]:
    if len(args) % 2:
        return [(-1, "Switch takes source, defaultValue, then key/value pairs: an even count")]
    return []


LOGIC_FUNCTIONS: tuple[Function, ...] = (
    Function("BitAnd", ("value1", "value2"), _bit_and),
    Function("CBool", ("expression",), lambda a, _: boolean(a[0])),
    Function("Coalesce", ("source",), _coalesce, variadic=True),
    Function("Count", ("attribute",), _count),
    Function("Guid", (), _guid),
    Function("IgnoreFlowIfNullOrEmpty", ("expression",), _ignore_flow),
    Function("IIF", ("condition", "valueIfTrue", "valueIfFalse"), _iif),
    Function("IsNull", ("expression",), lambda a, _: a[0] is None),
    Function("IsNullOrEmpty", ("expression",), lambda a, _: is_null_or_empty(a[0])),
    Function("IsPresent", ("expression",), lambda a, _: not is_null_or_empty(a[0])),
    # Choice: "can be evaluated to a string type" means the value is a string ("" included).
    Function("IsString", ("expression",), lambda a, _: isinstance(a[0], str)),
    Function(
        "Item",
        ("attribute", "index"),
        _item,
        check=literal_check(1, positive, "index starts at 1 (Microsoft: don't use 0)"),
    ),
    Function("Not", ("source",), _not),
    Function("RemoveDuplicates", ("attribute",), _remove_duplicates),
    Function(
        "SelectUniqueValue",
        ("uniqueValueRule", "uniqueValueRule"),
        _select_unique,
        variadic=True,
    ),
    Function(
        "Switch",
        ("source", "defaultValue", "key", "value"),
        _switch,
        optional=frozenset({"defaultValue"}),
        variadic=True,
        check=_switch_check,
    ),
)
