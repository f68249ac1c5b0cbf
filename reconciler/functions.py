"""The function table of Entra's mapping expressions: each function's parameters and semantics.

Semantics follow Microsoft's "Reference for writing expressions for attribute mappings in
Microsoft Entra ID" (learn.microsoft.com/entra/identity/app-provisioning/
functions-for-customizing-application-data). Where that page is silent or ambiguous, the choice
made here is written next to the code as `Choice:`. Entra runs on .NET and its functions are
"reminiscent of VBA", so unclear corners follow .NET / Visual Basic behaviour on a UTC server.

This module is pure: no clock (the evaluator passes `now` in), no randomness (GUIDs are injected),
and no `datetime` either: dates are `Moment`s, .NET ticks in UTC, with the calendar done here.
"""

from __future__ import annotations

import base64
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

# -- errors and control flow ----------------------------------------------------------------------


class FunctionError(Exception):
    """A function got a value it cannot work with; the evaluator adds the position."""


class SkipFlow(Exception):  # noqa: N818 - it is a signal, not an error
    """Raised by IgnoreFlowIfNullOrEmpty: the whole mapping is dropped from the flow."""


# -- dates: .NET ticks (100 ns since 0001-01-01T00:00:00Z), always UTC ----------------------------

TICKS_PER_SECOND = 10_000_000
TICKS_PER_DAY = 86_400 * TICKS_PER_SECOND
_EPOCH_1970_DAYS = 719_162  # days from 0001-01-01 to 1970-01-01
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")  # fmt: skip
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
    def of(cls, y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0, frac: int = 0,
           offset_minutes: int = 0) -> Moment:  # fmt: skip
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
        raise FunctionError(f"{text!r} does not match the input format {fmt!r}")
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


def _checked(text: str, y: int, mo: int, d: int, h: int, mi: int, s: int, frac: int = 0,
             offset: int = 0) -> Moment:  # fmt: skip
    if not (1 <= mo <= 12 and 1 <= d <= _days_in_month(y, mo) and h < 24 and mi < 60 and s < 60):
        raise FunctionError(f"{text!r} is not a valid date and time")
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
        parts = [int(x or 0) for x in (y, mo, d, h, mi, s)]
        return _checked(text, *parts, int((frac or "").ljust(7, "0")), offset)
    if found := _US.fullmatch(text):
        mo, d, y, h, mi, s, ampm = found.groups()
        hour = int(h or 0)
        if ampm:
            hour = hour % 12 + (12 if ampm.upper() == "PM" else 0)
        return _checked(text, int(y), int(mo), int(d), hour, int(mi or 0), int(s or 0))
    raise FunctionError(
        f"cannot read {text!r} as a date; use ISO 8601 (2021-06-30T08:00:00+08:00) "
        "or FormatDateTime to convert it first"
    )


# -- value conversions ----------------------------------------------------------------------------


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


def _required(value: Any, what: str) -> Any:
    if value is None:
        raise FunctionError(f"{what} has no value")
    return value


# -- case mapping: .NET maps one character to one character (so 'ß' stays 'ß' in upper case) -----


def _turkic(culture: str | None) -> bool:
    return bool(culture) and str(culture).lower().split("-")[0] in ("tr", "az")


def to_upper(s: str, culture: str | None = None) -> str:
    if _turkic(culture):
        s = s.replace("i", "İ")
    return "".join(c.upper() if len(c.upper()) == 1 else c for c in s)


def to_lower(s: str, culture: str | None = None) -> str:
    if _turkic(culture):
        s = s.replace("I", "ı").replace("İ", "i")
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


# -- NormalizeDiacritics --------------------------------------------------------------------------

# Letters that are not a base letter plus combining marks, with Microsoft's table's replacement.
_LIGATURES = {"æ": "ae", "Æ": "AE", "ø": "oe", "Ø": "OE", "œ": "oe", "Œ": "OE", "ß": "ss",
              "ł": "l", "Ł": "L", "ı": "i", "đ": "d", "Đ": "D"}  # fmt: skip
_COMBINING_DIACRITICS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def normalize_diacritics(s: str) -> str:
    # Choice: beyond the doc's table, any Latin letter + combining diacritic loses the diacritic
    # (so Vietnamese "ệ" is "e"); marks of other scripts (Devanagari, kana) are left alone.
    decomposed = _COMBINING_DIACRITICS.sub("", unicodedata.normalize("NFD", s))
    return unicodedata.normalize("NFC", "".join(_LIGATURES.get(c, c) for c in decomposed))


# -- regular expressions: .NET syntax on Python's `re` --------------------------------------------


@lru_cache(maxsize=256)
def dotnet_regex(pattern: str) -> re.Pattern[str]:
    """Compile a .NET regular expression: `(?<name>…)`, `(?'name'…)` and `\\k<name>` included.

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
            out.append(pattern[i : i + 2])
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
        simple = {"$": "$", "&": found.group(0), "`": whole[: found.start()],
                  "'": whole[found.end() :], "_": whole}  # fmt: skip
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


def compile_pattern(pattern: str) -> re.Pattern[str]:
    try:
        return dotnet_regex(pattern)
    except re.error as exc:
        raise FunctionError(f"invalid regular expression {pattern!r}: {exc}") from None


# -- the functions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    """What evaluation may use besides the source: the injected clock, GUIDs and uniqueness."""

    now: Moment
    new_guid: Callable[[], str]
    is_unique: Callable[[str], bool] | None = None


class Args:
    """A call's arguments, evaluated lazily (IIF and Switch evaluate only the branch taken)."""

    def __init__(self, thunks: Sequence[Callable[[], Any] | None]) -> None:
        self._thunks = thunks
        self._values: dict[int, Any] = {}

    def __len__(self) -> int:
        return len(self._thunks)

    def present(self, i: int) -> bool:
        """Whether argument i was written (not left empty or left out)."""
        return i < len(self._thunks) and self._thunks[i] is not None

    def __getitem__(self, i: int) -> Any:
        if i not in self._values:
            thunk = self._thunks[i] if i < len(self._thunks) else None
            self._values[i] = None if thunk is None else thunk()
        return self._values[i]

    def text(self, i: int) -> str | None:
        return text(self[i])


Impl = Callable[[Args, Context], Any]


@dataclass(frozen=True)
class Function:
    name: str
    params: tuple[str, ...]
    impl: Impl
    optional: frozenset[str] = frozenset()
    variadic: bool = False  # the last parameter repeats
    # Parse-time check of the argument shape: (present?, literal value or None) per argument;
    # returns (argument index or -1 for the call, message) for each problem.
    check: Callable[[Sequence[tuple[bool, Any]]], list[tuple[int, str]]] | None = None

    @property
    def min_args(self) -> int:
        required = [i for i, p in enumerate(self.params) if p not in self.optional]
        return required[-1] + 1 if required else 0

    @property
    def max_args(self) -> int | None:
        return None if self.variadic else len(self.params)

    def param(self, i: int) -> str:
        return self.params[min(i, len(self.params) - 1)]


def _append(a: Args, _: Context) -> Any:
    # Choice: like VB's `&`, a missing side counts as ""; both missing stays missing.
    source, suffix = a.text(0), a.text(1)
    return None if source is None and suffix is None else (source or "") + (suffix or "")


def _bit_and(a: Args, _: Context) -> Any:
    left, right = integer(a[0]), integer(a[1])
    return None if left is None or right is None else left & right


def _cdate(a: Args, _: Context) -> Any:
    return moment(a[0])


def _coalesce(a: Args, _: Context) -> Any:
    # Microsoft: "the first source value that isn't NULL". Choice: "" is a value, not NULL.
    for i in range(len(a)):
        if a.present(i) and a[i] is not None and a[i] != []:
            return a[i]
    return None


def _base64(a: Args, _: Context) -> Any:
    s = a.text(0)  # "a Unicode base64 string": .NET's Unicode is UTF-16 little-endian
    return None if s is None else base64.b64encode(s.encode("utf-16-le")).decode("ascii")


def _utf8_hex(a: Args, _: Context) -> Any:
    s = a.text(0)
    return None if s is None else s.encode("utf-8").hex().upper()


def _count(a: Args, _: Context) -> Any:
    value = a[0]
    return 0 if value is None else len(value) if isinstance(value, list | tuple) else 1


INTERVALS = ("yyyy", "m", "d", "ww", "h", "n", "s")
_INTERVAL_TICKS = {"d": TICKS_PER_DAY, "ww": 7 * TICKS_PER_DAY, "h": 3600 * TICKS_PER_SECOND,
                   "n": 60 * TICKS_PER_SECOND, "s": TICKS_PER_SECOND}  # fmt: skip


def _interval(value: Any) -> str:
    found = (text(value) or "").strip().lower()
    if found not in INTERVALS:
        raise FunctionError(f"interval must be one of {', '.join(INTERVALS)}, got {value!r}")
    return found


def _date_add(a: Args, _: Context) -> Any:
    interval, number, when = _interval(a[0]), integer(_required(a[1], "value")), moment(a[2])
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
    y1, m1, *_ = first.parts()
    y2, m2, *_ = second.parts()
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
    out_format = _required(a.text(3), "outputFormat")
    if isinstance(value, Moment):
        return format_moment(value, out_format)
    parsed = parse_with_format(_required(text(value), "source"), a.text(2) or "", ctx.now)
    return format_moment(parsed, out_format)


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


def _compare_type(value: Any) -> int:
    if isinstance(value, str) and value.strip().lower() in ("vbbinarycompare", "vbtextcompare"):
        return 1 if value.strip().lower() == "vbtextcompare" else 0
    found = integer(value)
    if found not in (0, 1):
        raise FunctionError("compareType must be vbBinaryCompare or vbTextCompare")
    return found


def _instr(a: Args, _: Context) -> Any:
    # Visual Basic's InStr: 1-based position, 0 when not found or the string is empty.
    haystack, needle = a.text(0) or "", a.text(1) or ""
    start = integer(a[2]) if a.present(2) else 1
    if start is None or start < 1:
        raise FunctionError(f"start must be 1 or more, got {a[2]!r}")
    if a.present(3) and _compare_type(a[3]) == 1:
        haystack, needle = to_lower(haystack), to_lower(needle)
    if start > len(haystack) or not haystack:
        return 0
    return haystack.find(needle, start - 1) + 1


def _item(a: Args, _: Context) -> Any:
    value, index = a[0], integer(_required(a[1], "index"))
    if index is None or index < 1:
        raise FunctionError(f"index starts at 1, got {index!r}")
    items = [] if value is None else list(value) if isinstance(value, list | tuple) else [value]
    return items[index - 1] if index <= len(items) else None


def _join(a: Args, _: Context) -> Any:
    # Microsoft's example Join(", ", "", [surname], [givenName]) gives "Doe, John": empty and
    # missing sources are skipped. Choice: nothing left to join is NULL, not "".
    parts: list[str] = []
    for i in range(1, len(a)):
        value = a[i]
        for item in value if isinstance(value, list | tuple) else [value]:
            s = text(item)
            if s:
                parts.append(s)
    return (a.text(0) or "").join(parts) if parts else None


def _left(a: Args, _: Context) -> Any:
    s, n = a.text(0) or "", integer(_required(a[1], "NumChars")) or 0
    return s if n < 0 else s[:n]


def _mid(a: Args, _: Context) -> Any:
    s = a.text(0) or ""
    start, length = integer(_required(a[1], "start")), integer(_required(a[2], "length"))
    if start is None or start < 1 or length is None or length < 0:
        raise FunctionError(f"start must be 1 or more and length 0 or more, got {start}, {length}")
    return s[start - 1 : start - 1 + length]


def _on_text(transform: Callable[[str, Args], str]) -> Impl:
    """A function of one string that keeps NULL as NULL."""

    def impl(a: Args, _: Context) -> Any:
        s = a.text(0)
        return None if s is None else transform(s, a)

    return impl


def _not(a: Args, _: Context) -> Any:
    # Microsoft: "If source value is True, returns False. Otherwise, returns True."
    return (a.text(0) or "").strip().lower() != "true"


def _now(_: Args, ctx: Context) -> Any:
    return ctx.now


def _num_from_date(a: Args, _: Context) -> Any:
    when = moment(a[0])
    return None if when is None else when.ticks - FILETIME_EPOCH.ticks


def _remove_duplicates(a: Args, _: Context) -> Any:
    value = a[0]
    if not isinstance(value, list | tuple):
        return value
    unique: list[Any] = []
    for item in value:
        if item not in unique:
            unique.append(item)
    return unique


# Replace(source, oldValue, regexPattern, regexGroupName, replacementValue,
#         replacementAttributeName, template): which arguments are given picks the behaviour.
_OLD, _PATTERN, _GROUP, _VALUE, _ATTRIBUTE, _TEMPLATE = range(1, 7)


def replace_form(present: Sequence[bool]) -> str:
    """The documented behaviour the given arguments select, or raise FunctionError."""
    has = {i: i < len(present) and present[i] for i in range(1, 7)}
    if has[_OLD] == has[_PATTERN]:
        raise FunctionError("give either oldValue or regexPattern (argument 2 or 3), not both")
    if has[_OLD]:
        if has[_GROUP] or has[_ATTRIBUTE] or has[_VALUE] == has[_TEMPLATE]:
            raise FunctionError("with oldValue, give either replacementValue or template")
        return "value" if has[_VALUE] else "template"
    if has[_TEMPLATE]:
        raise FunctionError("template goes with oldValue, not with regexPattern")
    if not has[_GROUP]:
        if not has[_VALUE] or has[_ATTRIBUTE]:
            raise FunctionError("with regexPattern alone, give replacementValue")
        return "regex"
    if has[_VALUE] == has[_ATTRIBUTE]:
        raise FunctionError(
            "with regexPattern and regexGroupName, give either replacementValue "
            "or replacementAttributeName"
        )
    return "group" if has[_VALUE] else "fallback"


def _replace(a: Args, _: Context) -> Any:
    form = replace_form([a.present(i) for i in range(len(a))])
    source = a.text(0)
    if form == "fallback":
        if source:
            return source
        other = a.text(_ATTRIBUTE)
        found = None if other is None else compile_pattern(a.text(_PATTERN) or "").search(other)
        return None if found is None else _group(found, a.text(_GROUP) or "")
    if source is None:
        return None
    if form == "value":
        old = a.text(_OLD) or ""
        return source.replace(old, a.text(_VALUE) or "") if old else source
    if form == "template":
        return (a.text(_TEMPLATE) or "").replace(a.text(_OLD) or "", source)
    pattern = compile_pattern(a.text(_PATTERN) or "")
    replacement = a.text(_VALUE) or ""
    if form == "regex":
        return pattern.sub(lambda m: expand_substitutions(replacement, m), source)
    # "group": each match's regexGroupName part is replaced by replacementValue, taken literally.
    name = a.text(_GROUP) or ""
    out, last = [], 0
    for found in pattern.finditer(source):
        _group(found, name)
        start, end = found.span(name)
        if start >= 0:
            out.append(source[last:start] + replacement)
            last = end
    return "".join(out) + source[last:]


def _group(found: re.Match[str], name: str) -> str | None:
    try:
        return found.group(name)
    except IndexError:
        raise FunctionError(f"the regular expression has no group named {name!r}") from None


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


def _split(a: Args, _: Context) -> Any:
    s, delimiter = a.text(0), a.text(1)
    if not delimiter:
        raise FunctionError("delimiter must not be empty")
    # Choice: items are trimmed, as in Microsoft's sample ("PermissionSetOne, PermissionSetTwo"
    # gives ["PermissionSetOne", "PermissionSetTwo"]).
    return None if s is None else [part.strip() for part in s.split(delimiter)]


def _switch(a: Args, _: Context) -> Any:
    # Case-sensitive, as Microsoft notes. A missing source matches the key "" (Microsoft's own
    # advice: "use a literal empty string as one of the key values").
    source = a.text(0) or ""
    for i in range(2, len(a) - 1, 2):
        if (a.text(i) or "") == source:
            return a[i + 1]
    return a[1]


def _word(a: Args, _: Context) -> Any:
    s, number = a.text(0) or "", integer(_required(a[1], "WordNumber"))
    delimiters = a.text(2) or ""
    # Choice: runs of delimiters separate words; empty words are not counted.
    words = [w for w in re.split("[" + re.escape(delimiters) + "]", s) if w] if delimiters else [s]
    return words[number - 1] if number is not None and 1 <= number <= len(words) else ""


def _literal_check(index: int, allowed: Callable[[Any], bool], message: str) -> Any:
    def check(args: Sequence[tuple[bool, Any]]) -> list[tuple[int, str]]:
        if index < len(args) and args[index][1] is not None and not allowed(args[index][1]):
            return [(index, message)]
        return []

    return check


def _replace_check(args: Sequence[tuple[bool, Any]]) -> list[tuple[int, str]]:
    try:
        form = replace_form([present for present, _ in args])
    except FunctionError as exc:
        return [(-1, f"Replace: {exc}")]
    pattern = args[_PATTERN][1] if len(args) > _PATTERN else None
    if isinstance(pattern, str):
        try:
            compiled = dotnet_regex(pattern)
        except re.error as exc:
            return [(_PATTERN, f"invalid regular expression: {exc}")]
        group = args[_GROUP][1] if len(args) > _GROUP else None
        if form in ("group", "fallback") and isinstance(group, str):
            if group not in compiled.groupindex:
                return [(_GROUP, f"the regular expression has no group named {group!r}")]
    return []


def _switch_check(args: Sequence[tuple[bool, Any]]) -> list[tuple[int, str]]:
    if len(args) % 2:
        return [(-1, "Switch takes source, defaultValue, then key/value pairs: an even count")]
    return []


def _interval_check(args: Sequence[tuple[bool, Any]]) -> list[tuple[int, str]]:
    value = args[0][1] if args else None
    if isinstance(value, str) and value.strip().lower() not in INTERVALS:
        return [(0, f"interval must be one of {', '.join(INTERVALS)}, got {value!r}")]
    return []


def _positive(value: Any) -> bool:
    return isinstance(value, int) and value >= 1


_ONE = ("source",)
_CASE = ("source", "culture")

FUNCTIONS: Mapping[str, Function] = {
    f.name: f
    for f in (
        Function("Append", ("source", "suffix"), _append),
        Function("BitAnd", ("value1", "value2"), _bit_and),
        Function("CBool", ("expression",), lambda a, _: boolean(a[0])),
        Function("CDate", ("expression",), _cdate),
        Function("Coalesce", ("source",), _coalesce, variadic=True),
        Function("ConvertToBase64", _ONE, _base64),
        Function("ConvertToUTF8Hex", _ONE, _utf8_hex),
        Function("Count", ("attribute",), _count),
        Function("CStr", ("value",), lambda a, _: a.text(0)),
        Function("DateAdd", ("interval", "value", "dateTime"), _date_add, check=_interval_check),
        Function("DateDiff", ("interval", "date1", "date2"), _date_diff, check=_interval_check),
        Function("DateFromNum", ("value",), _date_from_num),
        Function(
            "FormatDateTime",
            ("source", "dateTimeStyles", "inputFormat", "outputFormat"),
            _format_date_time,
            optional=frozenset({"dateTimeStyles"}),
        ),
        Function("Guid", (), _guid),
        Function("IgnoreFlowIfNullOrEmpty", ("expression",), _ignore_flow),
        Function("IIF", ("condition", "valueIfTrue", "valueIfFalse"), _iif),
        Function(
            "InStr",
            ("value1", "value2", "start", "compareType"),
            _instr,
            optional=frozenset({"start", "compareType"}),
            check=_literal_check(2, _positive, "start must be 1 or more"),
        ),
        Function("IsNull", ("expression",), lambda a, _: a[0] is None),
        Function("IsNullOrEmpty", ("expression",), lambda a, _: is_null_or_empty(a[0])),
        Function("IsPresent", ("expression",), lambda a, _: not is_null_or_empty(a[0])),
        # Choice: "can be evaluated to a string type" means the value is a string ("" included).
        Function("IsString", ("expression",), lambda a, _: isinstance(a[0], str)),
        Function(
            "Item",
            ("attribute", "index"),
            _item,
            check=_literal_check(1, _positive, "index starts at 1 (Microsoft: don't use 0)"),
        ),
        Function("Join", ("separator", "source"), _join, variadic=True),
        Function("Left", ("String", "NumChars"), _left),
        Function(
            "Mid",
            ("source", "start", "length"),
            _mid,
            check=_literal_check(1, _positive, "start must be 1 or more (the first character)"),
        ),
        Function("NormalizeDiacritics", _ONE, _on_text(lambda s, _: normalize_diacritics(s))),
        Function("Not", ("source",), _not),
        Function("Now", (), _now),
        Function("NumFromDate", ("value",), _num_from_date),
        Function(
            "PCase",
            ("source", "wordSeparators"),
            _on_text(lambda s, a: proper_case(s, a.text(1) if a.present(1) else None)),
            optional=frozenset({"wordSeparators"}),
        ),
        Function("RemoveDuplicates", ("attribute",), _remove_duplicates),
        Function(
            "Replace",
            ("source", "oldValue", "regexPattern", "regexGroupName", "replacementValue",
             "replacementAttributeName", "template"),  # fmt: skip
            _replace,
            optional=frozenset(
                {"oldValue", "regexPattern", "regexGroupName", "replacementValue",
                 "replacementAttributeName", "template"}  # fmt: skip
            ),
            check=_replace_check,
        ),
        Function("SelectUniqueValue", ("uniqueValueRule", "uniqueValueRule"), _select_unique,
                 variadic=True),  # fmt: skip
        Function("Split", ("source", "delimiter"), _split),
        Function("StripSpaces", _ONE, _on_text(lambda s, _: s.replace(" ", ""))),
        Function(
            "Switch",
            ("source", "defaultValue", "key", "value"),
            _switch,
            optional=frozenset({"defaultValue"}),
            variadic=True,
            check=_switch_check,
        ),
        Function("ToLower", _CASE, _on_text(lambda s, a: to_lower(s, a.text(1))),
                 optional=frozenset({"culture"})),  # fmt: skip
        # Choice: ToTitle is not in Microsoft's current list (PCase is); it is PCase with the
        # default separators, taking a culture like ToLower and ToUpper.
        Function("ToTitle", _CASE, _on_text(lambda s, a: proper_case(s, None, a.text(1))),
                 optional=frozenset({"culture"})),  # fmt: skip
        Function("ToUpper", _CASE, _on_text(lambda s, a: to_upper(s, a.text(1))),
                 optional=frozenset({"culture"})),  # fmt: skip
        Function("Word", ("String", "WordNumber", "delimiters"), _word),
    )
}

# Entra functions scimrec knows of but cannot offer, with the reason and what to do instead.
_APP_ROLES = (
    "app role assignments do not exist in scimrec's source: users and groups come from YAML, "
    "not from an Entra application; declare the value (for example `roles:`) on the user instead"
)
UNSUPPORTED: Mapping[str, str] = {
    "SingleAppRoleAssignment": _APP_ROLES,
    "AppRoleAssignmentsComplex": _APP_ROLES,
    "RandomString": (
        "RandomString is not supported: a plan must be repeatable, and a random value would "
        "change on every run; declare the value in the spec instead"
    ),
    "Redact": (
        "Redact is not supported: scimrec masks write-only attributes such as password "
        "everywhere by itself; map the attribute without Redact"
    ),
}

# The bare names Microsoft uses as constants (InStr's compareType).
CONSTANTS: Mapping[str, int] = {"vbBinaryCompare": 0, "vbTextCompare": 1}


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
    elif _numberish(left) and _numberish(right) and not (
        isinstance(left, str) and isinstance(right, str)
    ):
        a, b = integer(left), integer(right)
    else:
        a, b = text(left), text(right)
    results = {"=": a == b, "<>": a != b, ">": a > b, ">=": a >= b, "<": a < b, "<=": a <= b}
    return results[op]


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
