"""The .NET behaviours Entra's expressions rely on, rebuilt in pure Python.

Entra's provisioning service runs on .NET in UTC, so its date functions, format strings, regular
expressions and case mapping behave like .NET's. This module re-creates just those: DateTime as
ticks with a proleptic Gregorian calendar (no `datetime`, no clock: the caller passes `now`),
custom date and time format strings under the invariant culture, .NET regex syntax and
substitutions on Python's `re`, and one-character-to-one-character case mapping.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol


class Rejected(ValueError):
    """A value .NET would reject too: an unreadable date, a bad pattern."""


# -- dates: .NET ticks (100 ns since 0001-01-01T00:00:00Z), always UTC ----------------------------

TICKS_PER_SECOND = 10_000_000
TICKS_PER_DAY = 86_400 * TICKS_PER_SECOND
_EPOCH_1970_DAYS = 719_162  # days from 0001-01-01 to 1970-01-01
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
DEFAULT_DATE_FORMAT = "M/d/yyyy h:mm:ss tt"  # what Microsoft documents for CDate, DateAdd, Now


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 0001-01-01 in the proleptic Gregorian calendar (H. Hinnant's algorithm)."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468 + _EPOCH_1970_DAYS


def _civil_from_days(days: int) -> tuple[int, int, int]:
    z = days - _EPOCH_1970_DAYS + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + (3 if mp < 10 else -9)
    return yoe + era * 400 + (month <= 2), month, day


def _days_in_month(year: int, month: int) -> int:
    if month == 12:
        return 31
    return _days_from_civil(year, month + 1, 1) - _days_from_civil(year, month, 1)


class Offset(Protocol):
    def total_seconds(self) -> float: ...


class Clock(Protocol):
    """What `evaluate` reads from its `now` argument; a `datetime.datetime` is one."""

    @property
    def year(self) -> int: ...
    @property
    def month(self) -> int: ...
    @property
    def day(self) -> int: ...
    @property
    def hour(self) -> int: ...
    @property
    def minute(self) -> int: ...
    @property
    def second(self) -> int: ...
    @property
    def microsecond(self) -> int: ...
    def utcoffset(self) -> Offset | None: ...


@dataclass(frozen=True, order=True)
class Moment:
    """A UTC instant: the DateTime that CDate, Now, DateAdd and DateFromNum return."""

    ticks: int

    @classmethod
    def of(
        cls,
        y: int,
        mo: int,
        d: int,
        h: int = 0,
        mi: int = 0,
        s: int = 0,
        frac: int = 0,
        offset_minutes: int = 0,
    ) -> Moment:
        seconds = h * 3600 + mi * 60 + s - offset_minutes * 60
        return cls(_days_from_civil(y, mo, d) * TICKS_PER_DAY + seconds * TICKS_PER_SECOND + frac)

    @classmethod
    def from_clock(cls, now: Clock) -> Moment:
        # Choice: a naive `now` is taken as UTC, as Entra's Now() is.
        offset = now.utcoffset()
        minutes = 0 if offset is None else int(offset.total_seconds()) // 60
        frac = now.microsecond * 10
        return cls.of(now.year, now.month, now.day, now.hour, now.minute, now.second, frac, minutes)

    def parts(self) -> tuple[int, int, int, int, int, int, int]:
        """(year, month, day, hour, minute, second, ticks within the second)."""
        days, rest = divmod(self.ticks, TICKS_PER_DAY)
        secs, frac = divmod(rest, TICKS_PER_SECOND)
        y, mo, d = _civil_from_days(days)
        return y, mo, d, secs // 3600, secs // 60 % 60, secs % 60, frac

    def weekday(self) -> int:
        """0 = Sunday, as .NET's DayOfWeek."""
        return (self.ticks // TICKS_PER_DAY + 1) % 7  # 0001-01-01 was a Monday

    def add_months(self, months: int) -> Moment:
        # Visual Basic's DateAdd("m"/"yyyy"): the day is clamped to the target month's length.
        y, mo, d, *_ = self.parts()
        index = y * 12 + (mo - 1) + months
        ny, nmo = divmod(index, 12)
        nd = min(d, _days_in_month(ny, nmo + 1))
        within = self.ticks % TICKS_PER_DAY
        return Moment(_days_from_civil(ny, nmo + 1, nd) * TICKS_PER_DAY + within)

    def __str__(self) -> str:
        return format_moment(self, DEFAULT_DATE_FORMAT)


FILETIME_EPOCH = Moment.of(1601, 1, 1)  # Active Directory's dates count 100 ns from here

# -- .NET custom date and time format strings (invariant culture) ---------------------------------

_SPECIFIERS = "yMdhHmsfFtzK"


def _format_tokens(fmt: str) -> list[tuple[str, str]]:
    """Split a .NET custom format into (kind, text): kind 'lit' or a run of one specifier."""
    tokens: list[tuple[str, str]] = []
    i = 0
    while i < len(fmt):
        c = fmt[i]
        if c in "'\"":
            end = fmt.find(c, i + 1)
            end = len(fmt) if end < 0 else end
            tokens.append(("lit", fmt[i + 1 : end]))
            i = end + 1
        elif c == "\\" and i + 1 < len(fmt):
            tokens.append(("lit", fmt[i + 1]))
            i += 2
        elif c == "%" and i + 1 < len(fmt) and fmt[i + 1] in _SPECIFIERS:
            tokens.append((fmt[i + 1], fmt[i + 1]))
            i += 2
        elif c in _SPECIFIERS:
            j = i
            while j < len(fmt) and fmt[j] == c:
                j += 1
            tokens.append((c, fmt[i:j]))
            i = j
        else:  # ':' and '/' are the invariant culture's separators, so literal too
            tokens.append(("lit", c))
            i += 1
    return tokens


def format_moment(moment: Moment, fmt: str) -> str:
    y, mo, d, h, mi, s, frac = moment.parts()
    out: list[str] = []
    for kind, text in _format_tokens(fmt):
        n = len(text)
        if kind == "lit":
            out.append(text)
        elif kind == "y":
            out.append(f"{y % 100}" if n == 1 else f"{y % 100:02d}" if n == 2 else f"{y:0{n}d}")
        elif kind == "M":
            out.append(MONTHS[mo - 1][:3] if n == 3 else MONTHS[mo - 1] if n > 3 else f"{mo:0{n}d}")
        elif kind == "d":
            day_name = DAYS[moment.weekday()]
            out.append(day_name[:3] if n == 3 else day_name if n > 3 else f"{d:0{n}d}")
        elif kind in "hH":
            hour = h if kind == "H" else (h % 12 or 12)
            out.append(f"{hour:0{min(n, 2)}d}")
        elif kind in "ms":
            out.append(f"{mi if kind == 'm' else s:0{min(n, 2)}d}")
        elif kind in "fF":
            digits = f"{frac:07d}"[: min(n, 7)]
            out.append(digits if kind == "f" else digits.rstrip("0"))
        elif kind == "t":
            out.append(("AM" if h < 12 else "PM")[:n])
        elif kind == "z":
            # Choice: Entra's servers run in UTC, so a parsed offset was already converted.
            out.append("+0" if n == 1 else "+00" if n == 2 else "+00:00")
        else:  # K
            out.append("Z")
    return "".join(out)


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
    tokens = [t for t in _format_tokens(fmt) if t[0] != "lit" or t[1]]
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
    if not (1 <= mo <= 12 and 1 <= d <= _days_in_month(y, mo) and h < 24 and mi < 60 and s < 60):
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


# -- case mapping: .NET maps one character to one character (so 'ß' stays 'ß' in upper case) -----


def _turkic(culture: str | None) -> bool:
    return bool(culture) and str(culture).lower().split("-")[0] in ("tr", "az")


def to_upper(s: str, culture: str | None = None) -> str:
    if _turkic(culture):
        s = s.replace("i", "İ")
    return "".join(c.upper() if len(c.upper()) == 1 else c for c in s)


def to_lower(s: str, culture: str | None = None) -> str:
    if _turkic(culture):
        s = s.replace("I", "\u0131").replace("İ", "i")  # dotless i
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in s)


# The character classes .NET's TextInfo.ToTitleCase treats as word separators (Microsoft's PCase).
_SEPARATOR_CATEGORIES = frozenset(
    {"Zs", "Zl", "Zp", "Cc", "Cf", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So"}
)


def proper_case(s: str, separators: str | None = None, culture: str | None = None) -> str:
    out: list[str] = []
    at_start = True
    for c in s:
        if separators is not None:
            is_separator = c in separators
        else:
            is_separator = unicodedata.category(c) in _SEPARATOR_CATEGORIES
        if is_separator:
            out.append(c)
            at_start = True
        else:
            out.append(to_upper(c, culture) if at_start else to_lower(c, culture))
            at_start = False
    return "".join(out)


# -- regular expressions: .NET syntax on Python's `re` --------------------------------------------


@lru_cache(maxsize=256)
def dotnet_regex(pattern: str) -> re.Pattern[str]:
    """Compile a .NET regular expression: `(?<name>…)`, `(?'name'…)`, `\\k<name>`, `\\z` included.

    Raises re.error for a pattern Python cannot take (e.g. .NET balancing groups).
    """
    out: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            named = re.match(r"\\k(?:<(\w+)>|'(\w+)')", pattern[i:])
            if named and not in_class:
                out.append(f"(?P={named.group(1) or named.group(2)})")
                i += named.end()
                continue
            # .NET's \z is Python's \Z; .NET's \Z also allows one final newline.
            ends = {"z": r"\Z", "Z": r"(?=\n?\Z)"}
            nxt = pattern[i + 1]
            out.append(ends[nxt] if nxt in ends and not in_class else pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            if pattern[i + 1 : i + 2] == "]":  # a literal ']' first in a class
                out.append("[]")
                i += 2
                continue
        elif c == "(":
            group = re.match(r"\(\?(?:<([A-Za-z_]\w*)>|'([A-Za-z_]\w*)')", pattern[i:])
            if group:
                out.append(f"(?P<{group.group(1) or group.group(2)}>")
                i += group.end()
                continue
        out.append(c)
        i += 1
    return re.compile("".join(out))


def expand_substitutions(replacement: str, found: re.Match[str]) -> str:
    """.NET's Regex.Replace substitutions: $1, ${name}, $$, $&, $`, $', $+, $_."""
    out: list[str] = []
    i = 0
    while i < len(replacement):
        c = replacement[i]
        nxt = replacement[i + 1 : i + 2]
        if c != "$" or not nxt:
            out.append(c)
            i += 1
            continue
        whole = found.string
        simple = {
            "$": "$",
            "&": found.group(0),
            "`": whole[: found.start()],
            "'": whole[found.end() :],
            "_": whole,
        }
        if nxt in simple:
            out.append(simple[nxt])
            i += 2
            continue
        if nxt == "+":
            out.append(found.group(found.lastindex) or "" if found.lastindex else "")
            i += 2
            continue
        ref = re.match(r"\$(?:\{(\w+)\}|(\d+))", replacement[i:])
        if ref:
            key: str | int = ref.group(1) if ref.group(1) is not None else int(ref.group(2))
            if isinstance(key, str) and key.isdigit():
                key = int(key)
            try:
                out.append(found.group(key) or "")
            except IndexError:
                out.append(ref.group(0))  # .NET leaves an unknown group reference as written
            i += ref.end()
            continue
        out.append(c)
        i += 1
    return "".join(out)
