"""Shared machinery of the spec checks: where an issue is, and checks of plain values."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

from reconciler.core.config import Target
from reconciler.core.model import Declared, Json, Location
from reconciler.errors import SpecIssue
from reconciler.spec.positions import AttrLocations, Reread
from reconciler.spec.source import Loaded, PathKey, dotted


class CheckBase:
    """Collects issues; every rule module's class builds on it."""

    def __init__(self) -> None:
        self.issues: list[SpecIssue] = []
        self.targets: dict[str, Target] = {}
        self.users: list[Declared] = []
        self.groups: list[Declared] = []
        self._src: Loaded | None = None
        # Set while checking a file read quickly (source.quick_text): attribute positions are
        # then found again only if a message needs one (spec/positions.py).
        self._reread: Reread | None = None

    # -- helpers ---------------------------------------------------------------

    def error(self, path: PathKey, message: str, loc: Location | None = None) -> None:
        where = loc if loc is not None else self.loc(path)
        self.issues.append(SpecIssue(where.file, where.line, where.col, dotted(path), message))

    def loc(self, path: PathKey) -> Location:
        if self._src is None:
            return Location("<spec>", 1, 1)
        return self._src.loc(path)

    def at(self, locs: dict[str, Location], attr: str, path: PathKey) -> None:
        """Note where `attr` is written, unless the file was read quickly."""
        if self._reread is None:
            locs[attr] = self.loc(path)

    def positions(self, locs: dict[str, Location], path: PathKey) -> Mapping[str, Location]:
        """The attribute positions of the object at `path`: as noted, or found on demand."""
        if self._reread is None:
            return locs
        return AttrLocations(self._reread, path)

    def unknown(self, path: PathKey, key: str, allowed: Iterable[str], what: str) -> None:
        close = difflib.get_close_matches(key, list(allowed), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        self.error((*path, key), f"unknown {what} '{key}'{hint}")

    def string(self, path: PathKey, value: Json, *, nullable: bool = True) -> bool:
        if value is None and nullable:
            return True
        if not isinstance(value, str):
            self.error(path, f"expected a string, got {type_name(value)}")
            return False
        return True

    def integer(self, path: PathKey, value: Json, low: int, high: int) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.error(path, f"expected an integer from {low} to {high}, got {value!r}")
            return None
        return value

    def choice(self, path: PathKey, value: Json, choices: tuple[str, ...]) -> str | None:
        if value not in choices:
            self.error(path, f"expected one of {', '.join(choices)}, got {value!r}")
            return None
        return str(value)


def type_name(value: Json) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
