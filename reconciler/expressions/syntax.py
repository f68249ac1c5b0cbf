"""The syntax tree of Entra's mapping expressions, and the error that points into their text."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypeAlias

from reconciler.errors import ScimrecError

__all__ = [
    "Attribute",
    "Call",
    "Compare",
    "Expr",
    "ExpressionError",
    "Literal",
    "Omitted",
    "caret",
    "line_col",
    "references",
    "walk",
]


class ExpressionError(ScimrecError):
    """A syntax error, an unknown function, a wrong argument count, or a failed evaluation.

    `offset` is the 0-based character position in the expression text it is about.
    """

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


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


def walk(expr: Expr) -> Iterator[Expr]:
    """The expression and every expression inside it, outermost first."""
    yield expr
    if isinstance(expr, Call):
        for arg in expr.args:
            yield from walk(arg)
    elif isinstance(expr, Compare):
        yield from walk(expr.left)
        yield from walk(expr.right)


def references(expr: Expr) -> set[str]:
    """The attribute names the expression reads, as written between the brackets."""
    return {node.name for node in walk(expr) if isinstance(node, Attribute)}


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
