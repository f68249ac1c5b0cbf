"""Entra's Replace: seven parameters, where the arguments written select one of five behaviours."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reconciler.expressions.calls import Args, Context, Function
from reconciler.expressions.dotnet_regex import (
    MATCH_TIMEOUT_SECONDS,
    Match,
    MatchTimedOut,
    Pattern,
    PatternError,
    dotnet_regex,
    expand_substitutions,
    struck_out,
    timed_out,
)
from reconciler.expressions.values import FunctionError

# Replace(source, oldValue, regexPattern, regexGroupName, replacementValue,
#         replacementAttributeName, template): which arguments are given picks the behaviour.
_PARAMS = (
    "source",
    "oldValue",
    "regexPattern",
    "regexGroupName",
    "replacementValue",
    "replacementAttributeName",
    "template",
)
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


def compile_pattern(pattern: str) -> Pattern:
    try:
        return dotnet_regex(pattern)
    except PatternError as exc:
        raise FunctionError(f"invalid regular expression {pattern!r}: {exc}") from None


def _replace(a: Args, _: Context) -> Any:
    pattern = a.text(_PATTERN) or ""
    if pattern and struck_out(pattern):
        raise FunctionError(str(MatchTimedOut(pattern)))
    try:
        return _replaced(a)
    except TimeoutError:  # each match below runs within .NET's kind of match timeout
        timed_out(pattern)
        raise FunctionError(str(MatchTimedOut(pattern))) from None


def _replaced(a: Args) -> Any:
    form = replace_form([a.present(i) for i in range(len(a))])
    source = a.text(0)
    if form == "fallback":
        if source:
            return source
        other = a.text(_ATTRIBUTE)
        found = (
            None
            if other is None
            else compile_pattern(a.text(_PATTERN) or "").search(
                other, timeout=MATCH_TIMEOUT_SECONDS
            )
        )
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
        return pattern.sub(
            lambda m: expand_substitutions(replacement, m), source, timeout=MATCH_TIMEOUT_SECONDS
        )
    # "group": each match's regexGroupName part is replaced by replacementValue, taken literally.
    name = a.text(_GROUP) or ""
    out, last = [], 0
    for found in pattern.finditer(source, timeout=MATCH_TIMEOUT_SECONDS):
        _group(found, name)
        start, end = found.span(name)
        if start >= 0:
            out.append(source[last:start] + replacement)
            last = end
    return "".join(out) + source[last:]


def _group(found: Match, name: str) -> str | None:
    try:
        return found.group(name)
    except IndexError:
        raise FunctionError(f"the regular expression has no group named {name!r}") from None


def _replace_check(args: Sequence[tuple[bool, Any]]) -> list[tuple[int, str]]:
    try:
        form = replace_form([present for present, _ in args])
    except FunctionError as exc:
        return [(-1, f"Replace: {exc}")]
    pattern = args[_PATTERN][1] if len(args) > _PATTERN else None
    if isinstance(pattern, str):
        try:
            compiled = dotnet_regex(pattern)
        except PatternError as exc:
            return [(_PATTERN, f"invalid regular expression: {exc}")]
        group = args[_GROUP][1] if len(args) > _GROUP else None
        if (
            form in ("group", "fallback")
            and isinstance(group, str)
            and group not in compiled.groupindex
        ):
            return [(_GROUP, f"the regular expression has no group named {group!r}")]
    return []


REPLACE = Function("Replace", _PARAMS, _replace, frozenset(_PARAMS[1:]), check=_replace_check)
