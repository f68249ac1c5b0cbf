"""Reading text as a .NET DateTime: CDate's accepted forms and DateTime.ParseExact's formats."""

from __future__ import annotations

import re
from collections.abc import Sequence

from reconciler.expressions.dotnet_dates import (
    DAYS,
    MONTHS,
    Moment,
    Rejected,
    days_in_month,
    format_tokens,
)

_NUMERIC_PATTERN = {1: r"(\d{1,2})", 2: r"(\d{2})"}


def _parse_pattern(kind: str, n: int) -> str:
    if kind == "lit":
        return ""
    if kind == "y":
        return r"(\d{1,2})" if n == 1 else r"(\d{2})" if n == 2 else rf"(\d{{{max(n, 4)}}})"
    if kind in "Md" and n >= 3:
        names = MONTHS if kind == "M" else DAYS
        return "(" + "|".join(x[:3] if n == 3 else x for x in names) + ")"
    if kind in "MdhHms":
        return _NUMERIC_PATTERN[min(n, 2)]
    if kind == "f":
        return rf"(\d{{{n}}})"
    if kind == "F":
        return rf"(\d{{0,{n}}})"
    if kind == "t":
        return "([AP])" if n == 1 else "(AM|PM)"
    if kind == "z":
        return r"([+-]\d{2}:\d{2})" if n >= 3 else r"([+-]\d{1,2})"
    return r"(Z|[+-]\d{2}:\d{2})?"  # K


def parse_with_format(text: str, fmt: str, now: Moment) -> Moment:
    """DateTime.ParseExact(text, fmt, InvariantCulture) with leading/trailing white allowed."""
    tokens = [t for t in format_tokens(fmt) if t[0] != "lit" or t[1]]
    pattern = "".join(re.escape(t) if k == "lit" else _parse_pattern(k, len(t)) for k, t in tokens)
    found = re.fullmatch(r"\s*" + pattern + r"\s*", text, flags=re.IGNORECASE)
    if not found:
        raise Rejected(f"{text!r} does not match the input format {fmt!r}")
    # Choice: like .NET, parts the format lacks come from today's date (the injected clock).
    y, mo, d, *_ = now.parts()
    h = mi = s = frac = offset = 0
    pm: bool | None = None
    groups = iter(found.groups())
    for kind, tok in tokens:
        if kind == "lit":
            continue
        value = next(groups) or ""
        if kind == "y":
            y = int(value) if len(tok) > 2 else (2000 if int(value) < 30 else 1900) + int(value)
        elif kind == "M":
            mo = int(value) if len(tok) < 3 else _name_index(MONTHS, value) + 1
        elif kind == "d" and len(tok) < 3:
            d = int(value)
        elif kind in "hH":
            h = int(value)
        elif kind in "ms":
            mi, s = (int(value), s) if kind == "m" else (mi, int(value))
        elif kind in "fF":
            frac = int((value + "0000000")[:7])
        elif kind == "t":
            pm = value.upper().startswith("P")
        elif kind in "zK" and value not in ("", "Z", "z"):
            sign = -1 if value[0] == "-" else 1
            hours, _, minutes = value[1:].partition(":")
            offset = sign * (int(hours) * 60 + int(minutes or 0))
    if pm is not None and h <= 12:
        h = h % 12 + (12 if pm else 0)
    return _checked(text, y, mo, d, h, mi, s, frac, offset)


def _name_index(names: Sequence[str], value: str) -> int:
    low = value.lower()
    return next(i for i, n in enumerate(names) if n.lower().startswith(low[:3]))


def _checked(
    text: str, y: int, mo: int, d: int, h: int, mi: int, s: int, frac: int = 0, offset: int = 0
) -> Moment:
    if not (1 <= mo <= 12 and 1 <= d <= days_in_month(y, mo) and h < 24 and mi < 60 and s < 60):
        raise Rejected(f"{text!r} is not a valid date and time")
    return Moment.of(y, mo, d, h, mi, s, frac, offset)


_ISO = re.compile(
    r"\s*(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?\s*",
    re.IGNORECASE,
)
_US = re.compile(
    r"\s*(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*(AM|PM)?)?\s*",
    re.IGNORECASE,
)


def parse_date(text: str) -> Moment:
    """CDate's parsing: ISO 8601 (with or without time and offset) or M/d/yyyy h:mm:ss tt.

    Choice: a value without an offset is UTC (Entra's servers run in UTC); .NET's other
    culture-dependent forms are not guessed at. An offset is converted to UTC, as the doc's
    CDate examples show ("2021-06-30+08:00" is "6/29/2021 4:00:00 PM").
    """
    if found := _ISO.fullmatch(text):
        y, mo, d, h, mi, s, frac, zone = found.groups()
        offset = 0
        if zone and zone.upper() != "Z":
            digits = zone[1:].replace(":", "")
            offset = (-1 if zone[0] == "-" else 1) * (int(digits[:2]) * 60 + int(digits[2:]))
        ticks = int((frac or "").ljust(7, "0"))
        return _checked(
            text, int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0), ticks, offset
        )
    if found := _US.fullmatch(text):
        mo, d, y, h, mi, s, ampm = found.groups()
        hour = int(h or 0)
        if ampm:
            hour = hour % 12 + (12 if ampm.upper() == "PM" else 0)
        return _checked(text, int(y), int(mo), int(d), hour, int(mi or 0), int(s or 0))
    raise Rejected(
        f"cannot read {text!r} as a date; use ISO 8601 (2021-06-30T08:00:00+08:00) "
        "or FormatDateTime to convert it first"
    )
