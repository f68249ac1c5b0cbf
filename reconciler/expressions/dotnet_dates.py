""".NET's DateTime as Entra's date functions see it: UTC ticks, the calendar, and format strings.

Entra's provisioning service runs on .NET in UTC. A DateTime here is ticks on a proleptic
Gregorian calendar (no `datetime`, no clock: the caller passes `now`), written with .NET's custom
date and time format strings under the invariant culture.
"""

from __future__ import annotations

from dataclasses import dataclass
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


def days_in_month(year: int, month: int) -> int:
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
        nd = min(d, days_in_month(ny, nmo + 1))
        within = self.ticks % TICKS_PER_DAY
        return Moment(_days_from_civil(ny, nmo + 1, nd) * TICKS_PER_DAY + within)

    def __str__(self) -> str:
        return format_moment(self, DEFAULT_DATE_FORMAT)


FILETIME_EPOCH = Moment.of(1601, 1, 1)  # Active Directory's dates count 100 ns from here

# -- .NET custom date and time format strings (invariant culture) ---------------------------------

_SPECIFIERS = "yMdhHmsfFtzK"


def format_tokens(fmt: str) -> list[tuple[str, str]]:
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
    for kind, text in format_tokens(fmt):
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
