"""Entra ID's attribute-mapping expressions: parse, check and evaluate them, purely.

Syntax (Microsoft's "Reference for writing expressions for attribute mappings"): function calls
`Name(arg, …)` with case-sensitive names, `[attribute]` references (names may contain dots:
`[enterprise.department]`), `"string"` constants in which `\\"` and `\\\\` stand for `"` and
`\\`, and arguments left empty (`Replace([mail], "@contoso.com", , , "", , )`). Microsoft's
examples also use whole numbers (`Left([x], 3)`, `DateAdd("d", -10, …)`), VB hex numbers
(`BitAnd(&HF, &HF7)`), InStr's bare `vbTextCompare`/`vbBinaryCompare`, and one comparison
(`=`, `<>`, `>`, `>=`, `<`, `<=`) as an argument (`IIF([country]="USA", …)`); so does this parser.

Evaluation is pure: the clock (`now`) and the GUID source are injected, and SelectUniqueValue
asks an optional injected `is_unique`. The function semantics live in `reconciler.functions`.
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

from reconciler.errors import ScimrecError
from reconciler.expressions.dotnet import Clock, Moment, Rejected
from reconciler.expressions.functions import (
    CONSTANTS,
    FUNCTIONS,
    UNSUPPORTED,
    Args,
    Context,
    SkipFlow,
    compare,
    export,
)

__all__ = [
    "SKIP",
    "Attribute",
    "Call",
    "Compare",
    "Expr",
    "ExpressionError",
    "Literal",
    "Omitted",
    "attribute_value",
    "caret",
    "evaluate",
    "line_col",
    "parse",
    "references",
]


class ExpressionError(ScimrecError):
    """A syntax error, an unknown function, a wrong argument count, or a failed evaluation.

    `offset` is the 0-based character position in the expression text it is about.
    """

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


class Skip(enum.Enum):
    SKIP = "SKIP"

    def __repr__(self) -> str:
        return "SKIP"


# IgnoreFlowIfNullOrEmpty found nothing: the mapping is dropped from the flow, the target
# attribute is neither written nor compared.
SKIP = Skip.SKIP


# -- the syntax tree ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    """A "string" constant, a whole number, or a named constant such as vbTextCompare."""

    value: str | int
    offset: int


@dataclass(frozen=True)
class Attribute:
    """`[name]`: the source attribute of that name, exactly as written between the brackets."""

    name: str
    offset: int


@dataclass(frozen=True)
class Omitted:
    """An argument left empty, as in `Switch([Active], , "1", "True")`."""

    offset: int


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Expr, ...]
    offset: int


@dataclass(frozen=True)
class Compare:
    op: str
    left: Expr
    right: Expr
    offset: int  # of the operator


Expr: TypeAlias = Literal | Attribute | Omitted | Call | Compare

_OPERATORS = ("<>", "<=", ">=", "=", "<", ">")  # two-character operators first


# -- parsing --------------------------------------------------------------------------------------


def parse(text: str) -> Expr:
    """Parse and check an expression; raise ExpressionError with the offset of the problem."""
    expr = _Parser(text).parse()
    _check_nesting(expr)
    return expr


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def parse(self) -> Expr:
        self.skip_space()
        if self.pos == len(self.text):
            raise ExpressionError("the expression is empty", 0)
        expr = self.comparison()
        self.skip_space()
        if self.pos < len(self.text):
            raise ExpressionError(f"unexpected {self.describe()} after the expression", self.pos)
        return expr

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def describe(self) -> str:
        return "end of expression" if self.pos >= len(self.text) else repr(self.text[self.pos])

    def comparison(self) -> Expr:
        left = self.operand()
        self.skip_space()
        for op in _OPERATORS:
            if self.text.startswith(op, self.pos):
                at = self.pos
                self.pos += len(op)
                self.skip_space()
                return Compare(op, left, self.operand(), at)
        return left

    def operand(self) -> Expr:
        self.skip_space()
        start = self.pos
        c = self.text[start] if start < len(self.text) else ""
        nxt = self.text[start + 1 : start + 2]
        if c == '"':
            return Literal(self.string(), start)
        if c == "[":
            return self.attribute()
        if c.isdigit() or (c == "-" and nxt.isdigit()):
            self.pos += 1
            while self.pos < len(self.text) and self.text[self.pos].isdigit():
                self.pos += 1
            return Literal(int(self.text[start : self.pos]), start)
        if c == "&" and nxt in ("H", "h"):
            self.pos += 2
            while self.pos < len(self.text) and self.text[self.pos] in "0123456789abcdefABCDEF":
                self.pos += 1
            if self.pos == start + 2:
                raise ExpressionError("expected hexadecimal digits after &H", self.pos)
            return Literal(int(self.text[start + 2 : self.pos], 16), start)
        if c.isalpha() or c == "_":
            return self.name()
        raise ExpressionError(
            f'expected a function call, an [attribute], a "string" or a number, '
            f"found {self.describe()}",
            start,
        )

    def string(self) -> str:
        start = self.pos
        self.pos += 1
        out: list[str] = []
        while self.pos < len(self.text):
            c = self.text[self.pos]
            if c == '"':
                self.pos += 1
                return "".join(out)
            if c == "\\" and self.text[self.pos + 1 : self.pos + 2] in ('"', "\\"):
                out.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            # Choice: a backslash before any other character is kept as written, so regular
            # expressions pasted without doubling (\d) still mean what they say.
            out.append(c)
            self.pos += 1
        raise ExpressionError('this string has no closing "', start)

    def attribute(self) -> Attribute:
        start = self.pos
        end = self.text.find("]", start + 1)
        if end < 0 or any(c in self.text[start + 1 : end] for c in '["\n'):
            raise ExpressionError("this [attribute] has no closing ]", start)
        name = self.text[start + 1 : end].strip()
        if not name:
            raise ExpressionError("empty attribute name []", start)
        self.pos = end + 1
        return Attribute(name, start)

    def name(self) -> Expr:
        start = self.pos
        while self.pos < len(self.text) and (
            self.text[self.pos].isalnum() or self.text[self.pos] == "_"
        ):
            self.pos += 1
        name = self.text[start : self.pos]
        self.skip_space()
        if self.pos < len(self.text) and self.text[self.pos] == "(":
            return self.call(name, start)
        if name in CONSTANTS:
            return Literal(CONSTANTS[name], start)
        raise ExpressionError(
            f"{name!r} is neither a function call ({name}(…)), an attribute ([{name}]) "
            f'nor a string ("{name}")',
            start,
        )

    def call(self, name: str, start: int) -> Call:
        _known(name, start)
        self.pos += 1  # the "("
        args: list[Expr] = []
        self.skip_space()
        if self.pos < len(self.text) and self.text[self.pos] == ")":
            self.pos += 1
        else:
            while True:
                self.skip_space()
                if self.pos < len(self.text) and self.text[self.pos] in ",)":
                    args.append(Omitted(self.pos))
                else:
                    args.append(self.comparison())
                self.skip_space()
                if self.pos >= len(self.text):
                    raise ExpressionError(f"{name}( is never closed: missing )", self.pos)
                if self.text[self.pos] == ")":
                    self.pos += 1
                    break
                if self.text[self.pos] != ",":
                    raise ExpressionError(
                        f"expected , or ) in the arguments of {name}, found {self.describe()}",
                        self.pos,
                    )
                self.pos += 1
        call = Call(name, tuple(args), start)
        _check_call(call)
        return call


def _known(name: str, offset: int) -> None:
    if name in FUNCTIONS:
        return
    if name in UNSUPPORTED:
        raise ExpressionError(f"{name}: {UNSUPPORTED[name]}", offset)
    by_case = {known.lower(): known for known in FUNCTIONS}
    if name.lower() in by_case:
        raise ExpressionError(
            f"unknown function {name!r}: function names are case-sensitive, "
            f"write {by_case[name.lower()]!r}",
            offset,
        )
    close = difflib.get_close_matches(name, list(FUNCTIONS), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ExpressionError(f"unknown function {name!r}{hint}", offset)


def _check_call(call: Call) -> None:
    fn = FUNCTIONS[call.name]
    count, low, high = len(call.args), fn.min_args, fn.max_args
    if count < low or (high is not None and count > high):
        if high is None:
            wanted = f"at least {low}"
        elif low == high:
            wanted = f"exactly {low}"
        else:
            wanted = f"{low} to {high}"
        plural = "" if wanted.endswith(" 1") else "s"
        signature = f"{fn.name}({', '.join(fn.params)}{', …' if fn.variadic else ''})"
        raise ExpressionError(
            f"{call.name} takes {wanted} argument{plural}, got {count}: {signature}", call.offset
        )
    for i, arg in enumerate(call.args):
        if isinstance(arg, Omitted) and fn.param(i) not in fn.optional:
            raise ExpressionError(
                f"{call.name}: argument {i + 1} ({fn.param(i)}) cannot be left empty", arg.offset
            )
    if fn.check is not None:
        shape = [
            (not isinstance(arg, Omitted), arg.value if isinstance(arg, Literal) else None)
            for arg in call.args
        ]
        for index, message in fn.check(shape):
            offset = call.args[index].offset if index >= 0 else call.offset
            prefix = "" if message.startswith(f"{call.name}:") else f"{call.name}: "
            raise ExpressionError(prefix + message, offset)


def _check_nesting(expr: Expr) -> None:
    # Microsoft: SelectUniqueValue "must be at the top-level and can't be nested".
    for node in _walk(expr):
        if isinstance(node, Call) and node.name == "SelectUniqueValue" and node is not expr:
            raise ExpressionError(
                "SelectUniqueValue must be the outermost function: it cannot be nested",
                node.offset,
            )


def _walk(expr: Expr) -> Iterator[Expr]:
    yield expr
    if isinstance(expr, Call):
        for arg in expr.args:
            yield from _walk(arg)
    elif isinstance(expr, Compare):
        yield from _walk(expr.left)
        yield from _walk(expr.right)


def references(expr: Expr) -> set[str]:
    """The attribute names the expression reads, as written between the brackets."""
    return {node.name for node in _walk(expr) if isinstance(node, Attribute)}


# -- error display --------------------------------------------------------------------------------


def line_col(text: str, offset: int) -> tuple[int, int]:
    """The 1-based (line, column) of `offset` in a possibly multi-line expression."""
    before = text[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1


def caret(text: str, offset: int) -> str:
    """Two lines: the expression's line holding `offset`, and a ^ under that character."""
    line_no, col = line_col(text, offset)
    line = text.split("\n")[line_no - 1]
    # Tabs stay tabs, so the caret lines up however wide the terminal draws them.
    pad = "".join(c if c == "\t" else " " for c in line[: col - 1])
    return f"{line}\n{pad}^"


# -- evaluation -----------------------------------------------------------------------------------


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
    ctx = Context(Moment.from_clock(now), new_guid, is_unique)
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
