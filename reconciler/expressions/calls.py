"""What a function of Entra's expressions is and what a call receives: Function, Args, Context."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.expressions.dotnet_dates import Moment
from reconciler.expressions.values import text


class SkipFlow(Exception):
    """Raised by IgnoreFlowIfNullOrEmpty: the whole mapping is dropped from the flow."""


@dataclass(frozen=True)
class Context:
    """What evaluation may use besides the source: the injected clock, GUIDs and uniqueness.

    The clock is read only when an expression asks for the time (Now(), a date format
    without a year), so an expression that never does runs without one.
    """

    clock: Callable[[], Moment]
    new_guid: Callable[[], str]
    is_unique: Callable[[str], bool] | None = None

    @property
    def now(self) -> Moment:
        return self.clock()


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


def literal_check(index: int, allowed: Callable[[Any], bool], message: str) -> Check:
    """A check that argument `index`, when written as a literal, passes `allowed`."""

    def check(args: Sequence[tuple[bool, Any]]) -> list[tuple[int, str]]:
        if index < len(args) and args[index][1] is not None and not allowed(args[index][1]):
            return [(index, message)]
        return []

    return check


def positive(value: Any) -> bool:
    return isinstance(value, int) and value >= 1
