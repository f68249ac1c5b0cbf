"""The values of Entra's expressions: how functions convert, compare and export them, and fail.

Conversions follow .NET and Visual Basic (ToString, CInt, CBool, CDate) because Entra runs on
.NET; `FunctionError` is what a function raises for a value it cannot work with.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from reconciler.expressions.dotnet_date_parsing import parse_date
from reconciler.expressions.dotnet_dates import Moment, Rejected


class FunctionError(Rejected):
    """A function got a value it cannot work with; the evaluator adds the position."""


def _kind(value: Any) -> str:
    if isinstance(value, list | tuple):
        return f"a multi-valued attribute with {len(value)} values"
    if isinstance(value, Mapping):
        return "a complex attribute"
    return type(value).__name__


def text(value: Any) -> str | None:
    """A value as a string, the way .NET's ToString would write it; None stays None."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "True" if value else "False"  # .NET's Boolean.ToString
    if isinstance(value, int | Moment):
        return str(value)
    if isinstance(value, list | tuple) and len(value) <= 1:
        return text(value[0]) if value else None
    raise FunctionError(f"expects a single value, got {_kind(value)}")


def integer(value: Any) -> int | None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, str):
        stripped = value.strip()
        if re.fullmatch(r"[+-]?\d+", stripped):
            return int(stripped)
        if re.fullmatch(r"&[Hh][0-9A-Fa-f]+", stripped):
            return int(stripped[2:], 16)
    raise FunctionError(f"expects a whole number, got {value!r}")


def boolean(value: Any) -> bool:
    """CBool: True for a non-zero number or "True"; None (a missing attribute) is False."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, list | tuple) and len(value) == 1:
        return boolean(value[0])
    if isinstance(value, str):
        low = value.strip().lower()
        if low in ("true", "false"):
            return low == "true"
        if re.fullmatch(r"[+-]?\d+", low):
            return int(low) != 0
    raise FunctionError(f"cannot convert {value!r} to a Boolean")


def moment(value: Any) -> Moment | None:
    if value is None or isinstance(value, Moment):
        return value
    if isinstance(value, str):
        return parse_date(value)
    raise FunctionError(f"expects a date, got {value!r}")


def is_null_or_empty(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, list | tuple) and not value)


def required(value: Any, what: str) -> Any:
    if value is None:
        raise FunctionError(f"{what} has no value")
    return value


def compare(op: str, left: Any, right: Any) -> bool:
    """The comparison operators Microsoft allows in IIF's condition: = <> > >= < <=.

    Choice: a comparison with a missing value is false whichever the operator (Microsoft: "If
    the source attribute used within the IIF function is empty or null, the condition check
    fails"). Two whole numbers, or a number and a numeric string, compare as numbers; two dates
    as dates; anything else as strings, ordinal and case-sensitive.
    """
    if left is None or right is None:
        return False
    a: Any
    b: Any
    if isinstance(left, Moment) or isinstance(right, Moment):
        a, b = moment(left), moment(right)
    elif (
        _numberish(left)
        and _numberish(right)
        and not (isinstance(left, str) and isinstance(right, str))
    ):
        a, b = integer(left), integer(right)
    else:
        a, b = text(left), text(right)
    results = {"=": a == b, "<>": a != b, ">": a > b, ">=": a >= b, "<": a < b, "<=": a <= b}
    return bool(results[op])


def _numberish(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (
        isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value) is not None
    )


def export(value: Any) -> Any:
    """A result as the mapping writes it: a DateTime becomes Microsoft's M/d/yyyy h:mm:ss tt."""
    if isinstance(value, Moment):
        return str(value)
    if isinstance(value, list | tuple):
        return [export(v) for v in value]
    return value
