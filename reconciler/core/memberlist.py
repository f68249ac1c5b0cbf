"""A group's member list that is known, from the moment it was read, to hold only plain
entries: objects with a non-empty string `value`, no `$ref`, a `type` that is absent or
"User", and no other name but `display`.

Nearly every group of a large target is so, and three steps ask it of every entry (the
shape check, the check for members the listing cannot explain, and the membership diff).
Asked where the entries lie together in memory, just parsed, it costs a few C passes;
asked later, of entries shared across the read (scim/sharing.py), each pass over 392,772
entries costs 0.15 to 0.25 s in reads from all over the heap. So it is asked once, as the
page is read, and the answer travels with the list.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import repeat
from typing import Annotated, Any, Literal, NoReturn, cast

import msgspec

from reconciler.core.model import Json

_DICT = frozenset({dict})


class PlainMembers(list[Json]):
    """A member list whose every entry is plain, and their values in order. A tuple, not a
    set: 8 bytes a member (a frozenset took 60, 237 B a user), and a set made of it when
    asked costs 0.09 s for 392,772 members, against 0.18 s read from the entries.

    It never changes: each method that would change a list raises, so `values` cannot go
    stale (list's own methods called on it, `list.append(members, x)`, would still change
    it; nothing does, and the entries are never changed in place either: sharing.py). A
    copy is a plain list (the PUT body built from a read copies it, then edits it), which
    every reader takes the long way.
    """

    __slots__ = ("values",)

    def __init__(self, entries: Iterable[Json], values: tuple[str, ...]) -> None:
        super().__init__(entries)
        self.values = values

    def _frozen(self, *_args: object, **_kwargs: object) -> NoReturn:
        raise TypeError("a member list read from the target is not changed in place")

    append = extend = insert = remove = pop = clear = sort = reverse = _frozen
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _frozen

    def __copy__(self) -> list[Json]:
        return list(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> list[Json]:
        from copy import deepcopy

        return [deepcopy(entry, memo) for entry in self]


def plain(members: list[Any]) -> bool:
    """Whether every entry of `members` is plain (see the module), in passes in C over the
    list. An entry that is no dict (exactly: what JSON gives) is not plain."""
    return plain_values(members) is not None


class _Plain(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """A plain entry, as msgspec checks one: an id, a `type` absent or "User", perhaps a
    `display`, and no other name (no `$ref`, nor a `Type` in another case, which read as
    absent would make a nested group a user: scim/sharing.py respells such entries)."""

    value: Annotated[str, msgspec.Meta(min_length=1)]
    type: Literal["User"] | None = None
    display: Any = None


_PLAIN_LIST = list[_Plain]


def plain_values(members: list[Any]) -> list[str] | None:
    """The entries' values, in order, where every entry of `members` is plain; else None.
    The values are read once here for the reader that goes on with them (scim/sharing.py).

    Decided by msgspec in one pass in C over the entries: 50 ms a 500-group page (98,000
    members) where six passes of `map` took 60 ms, and did not see what else an entry
    names."""
    if not _DICT.issuperset(map(type, members)):
        return None  # exactly what JSON gives: a mapping of another kind is not plain
    try:
        msgspec.convert(members, _PLAIN_LIST)
    except Exception:  # noqa: BLE001 - any refusal (a name holding a lone surrogate
        # raises UnicodeEncodeError) only means an entry is not plain
        return None
    return cast(list[str], [*map(dict.get, members, repeat("value"))])


def read_plain(entries: list[Any]) -> PlainMembers:
    """`entries`, found plain, with their values in order (the strings the entries hold)."""
    values = tuple(map(dict.get, entries, repeat("value")))
    return PlainMembers(entries, cast(tuple[str, ...], values))  # each a str: `plain`
