"""One object for each value a large read repeats, so 100,000 users hold one copy of it.

A listing parsed from JSON holds a fresh string or object for every value, even where the
same value comes back on every resource: each user's `schemas`, each report's manager, and
above all each group's member entries, where every user appears once per group, its id
the same text as the user's own. Sharing those takes 40% off what the observed state holds
(bench/README.md, P3).

Sharing is safe because the observed state is read, never written: every write builds its
own body (scim/writes.py copies the current resource before it changes it), and
tests/e2e/test_shared_reads.py holds every value read unchanged through a plan and an
apply. Only entries and lists whose every part is a string are shared: a string equals
only a string, where `true` would equal `1`; and only entries with their keys in the same
order, where dict equality alone would hand a body another's order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from itertools import repeat
from typing import Any, cast

from reconciler.core import spelling
from reconciler.core.memberlist import PlainMembers, plain_values, read_plain
from reconciler.core.model import ENTERPRISE_URN, Resource

_STR = frozenset({str})
# How many distinct `schemas` lists a read keeps one copy of (a listing has one or two).
_LISTS = 8
# How many key orders of the entries kept a read follows (a target writes one or two:
# members, managers); past it every entry's order is compared on its own.
_ORDERS = 8


class Shared:
    """The values seen so far in one read of a target: users first, then groups, so each
    member entry's id is the very string of its user's id.

    It runs once per resource and once per member, so each step is one dictionary look-up
    or one comparison: about 6.5 microseconds of CPU per user with four memberships."""

    def __init__(self) -> None:
        # By id: the user's own id string, until the first entry of strings with that
        # value is met; then that entry, whose value is that string. An entry equal to it
        # holds exactly the same strings: a string equals only a string.
        self._known: dict[str, str | dict[str, str]] = {}
        self._types: dict[str, str] = {}
        self._lists: list[list[str]] = []
        # The key order of every entry in `_known`, up to _ORDERS of them (then None).
        self._orders: set[tuple[str, ...]] | None = set()

    def users_read(self, users: Iterable[Resource]) -> None:
        """The users' own id strings, which group member entries will hold."""
        self._known |= {user.id: user.id for user in users}

    def take(self, body: Mapping[str, Any]) -> None:
        """Replace, in a freshly parsed resource body, each repeated value by its first copy."""
        if not isinstance(body, dict):
            return
        schemas = body.get("schemas")
        if schemas.__class__ is list:
            body["schemas"] = self._list(schemas)
        members = body.get("members")
        if members.__class__ is list or members.__class__ is PlainMembers:
            body["members"] = self._members(members)
        extension = body.get(ENTERPRISE_URN)
        if extension.__class__ is dict and (manager := extension.get("manager")) is not None:
            extension["manager"] = self._entry(manager)

    def _members(self, members: list[Any]) -> list[Any]:
        """A group's member entries, each the first equal one seen; a PlainMembers where
        every entry is plain, asked before they are swapped for entries that lie all over
        the heap (core/memberlist.py)."""
        values = plain_values(members)
        if values is None and _odd_entries(members):
            # Names in another case than the RFC's (`Type`, `VALUE`), in this group alone
            # (scim/messages.py looks in the first): respelled before anything reads them.
            members = cast(list[Any], spelling.respelled(members, spelling.MEMBER))
            values = plain_values(members)
        out = self._shared(members, values)
        # The values read from the entries as shared: the users' own id strings. Those of
        # the page's entries would keep every parsed copy alive (365 B a user).
        return read_plain(out) if values is not None else out

    def _shared(self, members: list[Any], values: list[str] | None = None) -> list[Any]:
        """`_members`, each entry the first equal one seen. Most were met in an
        earlier group: they are found and compared by C loops (`map`, list equality), with
        no Python code per member; only the others go through `_entry`. `values`: the
        entries' values where already read."""
        lookup: Callable[[Any], Any] = self._known.get
        try:
            read = [*map(dict.get, members, repeat("value"))] if values is None else values
            known = [*map(lookup, read)]
        except TypeError:  # a member that is no object, or an id that is no string
            return [self._entry(member) for member in members]
        # `known` is None or a string where no entry was found: neither equals a member.
        # Equal dicts may differ in key order, which must stay as the target sent it.
        if known == members and self._ordered_alike(members):
            return known
        return [
            found if found == member and [*found] == [*member] else self._entry(member)
            for found, member in zip(known, members, strict=True)
        ]

    def _ordered_alike(self, members: list[Any]) -> bool:
        """Whether each of `members`, each equal to the entry kept for its value, also has
        that entry's key order: so where every member has one order and no entry kept has
        its keys in another. One pass building a tuple a member, where comparing each pair
        took two."""
        orders = set(map(tuple, members))
        if not orders:
            return True
        if len(orders) > 1 or self._orders is None:
            return False
        (order,) = orders
        keys = set(order)
        return all(
            kept == order or len(kept) != len(order) or set(kept) != keys for kept in self._orders
        )

    def _entry(self, entry: Any) -> Any:
        """A member or manager entry of strings: the first one equal to it, its id the
        user's own string. Any other value is kept as it came."""
        if entry.__class__ is not dict or (value := entry.get("value")).__class__ is not str:
            return entry
        known = self._known.get(value)
        if known.__class__ is dict and known == entry and [*known] == [*entry]:
            return known
        if not _STR.issuperset(map(type, entry.values())):
            return entry
        if known.__class__ is str:
            entry["value"] = known
        kind = entry.get("type")
        if kind is not None:
            entry["type"] = self._types.setdefault(kind, kind)
        if known.__class__ is not dict:
            self._known[value] = entry
            self._kept_order(entry)
        return entry

    def _kept_order(self, entry: dict[str, str]) -> None:
        if self._orders is not None:
            self._orders.add(tuple(entry))
            if len(self._orders) > _ORDERS:
                self._orders = None

    def _list(self, items: list[Any]) -> list[Any]:
        for known in self._lists:
            if known == items:
                return known
        for item in items:
            if item.__class__ is not str:
                return items
        if len(self._lists) < _LISTS:
            self._lists.append(items)
        return items


def _odd_entries(members: list[Any]) -> bool:
    """Whether a member entry holds a name in another case than the RFC's: asked of each
    distinct order of names, in C (one or two in a group)."""
    entries = [m for m in members if m.__class__ is dict]
    names: set[str] = set().union(*set(map(tuple, entries)))
    return spelling.odd_names(names, spelling.MEMBER)
