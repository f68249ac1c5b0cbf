"""The function table of Entra's mapping expressions: each function's parameters and semantics.

Semantics follow Microsoft's "Reference for writing expressions for attribute mappings in
Microsoft Entra ID" (learn.microsoft.com/entra/identity/app-provisioning/
functions-for-customizing-application-data). Where that page is silent or ambiguous, the choice
made here is written next to the code as `Choice:`. Entra runs on .NET and its functions are
"reminiscent of VBA", so unclear corners follow .NET / Visual Basic behaviour on a UTC server
(rebuilt in `reconciler.dotnet`). Pure: the clock, GUIDs and uniqueness checks are injected.
"""

from __future__ import annotations

import base64
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.expressions.dotnet import (
    FILETIME_EPOCH,
    TICKS_PER_DAY,
    TICKS_PER_SECOND,
    Moment,
    Rejected,
    dotnet_regex,
    expand_substitutions,
    format_moment,
    parse_date,
    parse_with_format,
    proper_case,
    to_lower,
    to_upper,
)

# -- errors and control flow ----------------------------------------------------------------------


class FunctionError(Rejected):
    """A function got a value it cannot work with; the evaluator adds the position."""


class SkipFlow(Exception):
    """Raised by IgnoreFlowIfNullOrEmpty: the whole mapping is dropped from the flow."""


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


# -- NormalizeDiacritics --------------------------------------------------------------------------

# Letters that are not a base letter plus combining marks, with Microsoft's table's replacement
# (U+0131 is the dotless i).
_LIGATURES = {
    "æ": "ae",
    "Æ": "AE",
    "ø": "oe",
    "Ø": "OE",
    "œ": "oe",
    "Œ": "OE",
    "ß": "ss",
    "ł": "l",
    "Ł": "L",
    "\u0131": "i",
    "đ": "d",
    "Đ": "D",
}
# The combining diacritical mark blocks (U+0300.., U+1AB0.., U+1DC0.., U+20D0.., U+FE20..).
_COMBINING_DIACRITICS = re.compile(
    "[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]"
)


def normalize_diacritics(s: str) -> str:
    # Choice: beyond the doc's table, any Latin letter + combining diacritic loses the diacritic
    # (so Vietnamese "ệ" is "e"); marks of other scripts (Devanagari, kana) are left alone.
    decomposed = _COMBINING_DIACRITICS.sub("", unicodedata.normalize("NFD", s))
    return unicodedata.normalize("NFC", "".join(_LIGATURES.get(c, c) for c in decomposed))


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
# A parse-time check of a call's shape: per argument (written?, its literal value or None);
# returns (argument index, or -1 for the whole call; message) per problem.
Check = Callable[[Sequence[tuple[bool, Any]]], list[tuple[int, str]]]


@dataclass(frozen=True)
class Function:
    name: str
    params: tuple[str, ...]
    impl: Impl
    optional: frozenset[str] = frozenset()
    variadic: bool = False  # the last parameter repeats
    check: Check | None = None

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
    if has[_OLD] and has[_PATTERN]:
        raise FunctionError("give either oldValue or regexPattern (argument 2 or 3), not both")
    if not has[_OLD] and not has[_PATTERN]:
        raise FunctionError("give oldValue or regexPattern (argument 2 or 3)")
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


def _literal_check(index: int, allowed: Callable[[Any], bool], message: str) -> Check:
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
        if (
            form in ("group", "fallback")
            and isinstance(group, str)
            and group not in compiled.groupindex
        ):
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
_REPLACE = (
    "source",
    "oldValue",
    "regexPattern",
    "regexGroupName",
    "replacementValue",
    "replacementAttributeName",
    "template",
)

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
        Function("Replace", _REPLACE, _replace, frozenset(_REPLACE[1:]), check=_replace_check),
        Function(
            "SelectUniqueValue",
            ("uniqueValueRule", "uniqueValueRule"),
            _select_unique,
            variadic=True,
        ),
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
        Function(
            "ToLower",
            _CASE,
            _on_text(lambda s, a: to_lower(s, a.text(1))),
            optional=frozenset({"culture"}),
        ),
        # Choice: ToTitle is not in Microsoft's current list (PCase is); it is PCase with the
        # default separators, taking a culture like ToLower and ToUpper.
        Function(
            "ToTitle",
            _CASE,
            _on_text(lambda s, a: proper_case(s, None, a.text(1))),
            optional=frozenset({"culture"}),
        ),
        Function(
            "ToUpper",
            _CASE,
            _on_text(lambda s, a: to_upper(s, a.text(1))),
            optional=frozenset({"culture"}),
        ),
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
