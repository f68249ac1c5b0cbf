"""Parsing Entra's mapping expressions into a syntax tree, checking each call as it is read.

Syntax (Microsoft's "Reference for writing expressions for attribute mappings"): function calls
`Name(arg, …)` with case-sensitive names, `[attribute]` references (names may contain dots:
`[enterprise.department]`), `"string"` constants in which `\\"` and `\\\\` stand for `"` and
`\\`, and arguments left empty (`Replace([mail], "@contoso.com", , , "", , )`). Microsoft's
examples also use whole numbers (`Left([x], 3)`, `DateAdd("d", -10, …)`), VB hex numbers
(`BitAnd(&HF, &HF7)`), InStr's bare `vbTextCompare`/`vbBinaryCompare`, and one comparison
(`=`, `<>`, `>`, `>=`, `<`, `<=`) as an argument (`IIF([country]="USA", …)`); so does this parser.

The tree is in `syntax`, evaluation in `evaluation`, the function semantics in `functions`.
"""

from __future__ import annotations

import difflib

from reconciler.expressions.functions import CONSTANTS, FUNCTIONS, UNSUPPORTED
from reconciler.expressions.syntax import (
    Attribute,
    Call,
    Compare,
    Expr,
    ExpressionError,
    Literal,
    Omitted,
    walk,
)

__all__ = ["parse"]

_OPERATORS = ("<>", "<=", ">=", "=", "<", ">")  # two-character operators first
# Calls inside one another, at most. Parsing, checking and evaluating each recurse once per
# level: unbounded, a few hundred levels (a generated spec) ended in RecursionError, exit 3.
# The deepest expressions in Microsoft's examples nest under ten; a transliteration table written
# as one Replace() per letter nests about seventy.
MAX_NESTING = 120


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
        self.depth = 0  # calls open around the one being read

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
        if _digit(c) or (c == "-" and _digit(nxt)):
            self.pos += 1
            while self.pos < len(self.text) and _digit(self.text[self.pos]):
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
        if self.depth == MAX_NESTING:
            raise ExpressionError(
                f"expression nested too deeply: more than {MAX_NESTING} function calls "
                "inside one another",
                start,
            )
        self.depth += 1
        try:
            return self.arguments(name, start)
        finally:
            self.depth -= 1

    def arguments(self, name: str, start: int) -> Call:
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


def _digit(c: str) -> bool:
    """An ASCII digit: str.isdigit also takes "²" and other digits int() refuses, or reads
    as numbers no expression engine writes them in."""
    return c.isascii() and c.isdigit()


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
    for node in walk(expr):
        if isinstance(node, Call) and node.name == "SelectUniqueValue" and node is not expr:
            raise ExpressionError(
                "SelectUniqueValue must be the outermost function: it cannot be nested",
                node.offset,
            )
