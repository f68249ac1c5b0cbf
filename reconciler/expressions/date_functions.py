"""Entra's date functions: reading, shifting, subtracting, formatting and numbering DateTimes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reconciler.expressions.calls import Args, Context, Function
from reconciler.expressions.dotnet_date_parsing import parse_with_format
from reconciler.expressions.dotnet_dates import (
    FILETIME_EPOCH,
    TICKS_PER_DAY,
    TICKS_PER_SECOND,
    Moment,
    format_moment,
)
from reconciler.expressions.values import FunctionError, integer, moment, required, text

INTERVALS = ("yyyy", "m", "d", "ww", "h", "n", "s")
_INTERVAL_TICKS = {
    "d": TICKS_PER_DAY,
    "ww": 7 * TICKS_PER_DAY,
    "h": 3600 * TICKS_PER_SECOND,
    "n": 60 * TICKS_PER_SECOND,
    "s": TICKS_PER_SECOND,
}


def _interval(value: Any) -> str:
    found = (text(value) or "").strip().lower()
    if found not in INTERVALS:
        raise FunctionError(f"interval must be one of {', '.join(INTERVALS)}, got {value!r}")
    return found


def _interval_check(args: Sequence[tuple[bool, Any]]) -> list[tuple[int, str]]:
    value = args[0][1] if args else None
    if isinstance(value, str) and value.strip().lower() not in INTERVALS:
        return [(0, f"interval must be one of {', '.join(INTERVALS)}, got {value!r}")]
    return []


def _cdate(a: Args, _: Context) -> Any:
    return moment(a[0])


def _date_add(a: Args, _: Context) -> Any:
    interval, number, when = _interval(a[0]), integer(required(a[1], "value")), moment(a[2])
    if when is None or number is None:
        return None
    if interval in ("yyyy", "m"):
        return when.add_months(number * (12 if interval == "yyyy" else 1))
    return Moment(when.ticks + number * _INTERVAL_TICKS[interval])


def _truncate(ticks: int, unit: int) -> int:
    """Whole units, rounded toward zero (VB's Fix), in exact integer arithmetic."""
    whole = abs(ticks) // unit
    return whole if ticks >= 0 else -whole


def _date_diff(a: Args, _: Context) -> Any:
    # Visual Basic's DateDiff: calendar years and months; weeks between the Sundays on or before
    # each date ("ww" is VB's WeekOfYear, which gives the doc's -493); otherwise truncated.
    interval, first, second = _interval(a[0]), moment(a[1]), moment(a[2])
    if first is None or second is None:
        return None
    (y1, m1), (y2, m2) = first.parts()[:2], second.parts()[:2]
    if interval == "yyyy":
        return y2 - y1
    if interval == "m":
        return (y2 - y1) * 12 + m2 - m1
    if interval == "ww":
        start = first.ticks - first.weekday() * TICKS_PER_DAY
        end = second.ticks - second.weekday() * TICKS_PER_DAY
        return _truncate(end - start, 7 * TICKS_PER_DAY)
    return _truncate(second.ticks - first.ticks, _INTERVAL_TICKS[interval])


def _date_from_num(a: Args, _: Context) -> Any:
    number = integer(a[0])
    return None if number is None else Moment(FILETIME_EPOCH.ticks + number)


def _format_date_time(a: Args, ctx: Context) -> Any:
    # Choice: dateTimeStyles is accepted and ignored: the default Microsoft documents
    # (RoundtripKind, AllowLeadingWhite, AllowTrailingWhite) is what this parser does.
    value = a[0]
    if value is None:
        return None
    out_format = required(a.text(3), "outputFormat")
    if isinstance(value, Moment):
        return format_moment(value, out_format)
    parsed = parse_with_format(required(text(value), "source"), a.text(2) or "", ctx.now)
    return format_moment(parsed, out_format)


def _now(_: Args, ctx: Context) -> Any:
    return ctx.now


def _num_from_date(a: Args, _: Context) -> Any:
    when = moment(a[0])
    return None if when is None else when.ticks - FILETIME_EPOCH.ticks


DATE_FUNCTIONS: tuple[Function, ...] = (
    Function("CDate", ("expression",), _cdate),
    Function("DateAdd", ("interval", "value", "dateTime"), _date_add, check=_interval_check),
    Function("DateDiff", ("interval", "date1", "date2"), _date_diff, check=_interval_check),
    Function("DateFromNum", ("value",), _date_from_num),
    Function(
        "FormatDateTime",
        ("source", "dateTimeStyles", "inputFormat", "outputFormat"),
        _format_date_time,
        optional=frozenset({"dateTimeStyles"}),
    ),
    Function("Now", (), _now),
    Function("NumFromDate", ("value",), _num_from_date),
)
