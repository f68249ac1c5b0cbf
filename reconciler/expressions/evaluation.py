"""Evaluating a parsed expression for one source object, with the clock and GUIDs injected."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import Any

from reconciler.expressions.calls import Args, Context, SkipFlow
from reconciler.expressions.dotnet_dates import Clock, Moment, Rejected
from reconciler.expressions.functions import FUNCTIONS
from reconciler.expressions.syntax import (
    Attribute,
    Compare,
    Expr,
    ExpressionError,
    Literal,
    Omitted,
)
from reconciler.expressions.values import compare, export

__all__ = ["SKIP", "attribute_value", "evaluate", "source_keys"]


class Skip(enum.Enum):
    SKIP = "SKIP"

    def __repr__(self) -> str:
        return "SKIP"


# IgnoreFlowIfNullOrEmpty found nothing: the mapping is dropped from the flow, the target
# attribute is neither written nor compared.
SKIP = Skip.SKIP


def attribute_value(source: Mapping[str, Any], name: str) -> Any:
    """The value of `[name]`: the key as written, else a walk of dotted parts; None if absent."""
    if name in source:
        return source[name]
    value: Any = source
    for part in name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def source_keys(name: str) -> tuple[str, ...]:
    """The source attributes `[name]` may read, as `attribute_value` looks it up: the key as
    written, and for a dotted name the one its walk starts from (`[groups.value]` looks
    inside `groups`)."""
    first = name.split(".", 1)[0]
    return (name,) if first == name else (name, first)


def evaluate(
    expr: Expr,
    source: Mapping[str, Any],
    now: Clock,
    new_guid: Callable[[], str],
    is_unique: Callable[[str], bool] | None = None,
) -> Any:
    """The expression's value for one source object, or SKIP (IgnoreFlowIfNullOrEmpty).

    `source` maps attribute names to str, bool, int, list (multi-valued) or None (missing).
    `now` is the clock Now() reads (a `datetime`; naive means UTC), `new_guid` what Guid()
    returns, `is_unique` what SelectUniqueValue asks (None: the first non-empty candidate wins).
    A date result is written as Microsoft documents it: "M/d/yyyy h:mm:ss tt", in UTC.
    """
    ctx = Context(lambda: Moment.from_clock(now), new_guid, is_unique)
    try:
        return export(_eval(expr, source, ctx))
    except SkipFlow:
        return SKIP


def _eval(expr: Expr, source: Mapping[str, Any], ctx: Context) -> Any:
    if isinstance(expr, Literal):
        return expr.value
    if isinstance(expr, Attribute):
        return attribute_value(source, expr.name)
    if isinstance(expr, Omitted):
        return None
    if isinstance(expr, Compare):
        left, right = _eval(expr.left, source, ctx), _eval(expr.right, source, ctx)
        try:
            return compare(expr.op, left, right)
        except Rejected as exc:
            raise ExpressionError(f"{expr.op}: {exc}", expr.offset) from None
    thunks = [None if isinstance(arg, Omitted) else _thunk(arg, source, ctx) for arg in expr.args]
    try:
        return FUNCTIONS[expr.name].impl(Args(thunks), ctx)
    except Rejected as exc:
        raise ExpressionError(f"{expr.name}: {exc}", expr.offset) from None


def _thunk(arg: Expr, source: Mapping[str, Any], ctx: Context) -> Callable[[], Any]:
    return lambda: _eval(arg, source, ctx)
