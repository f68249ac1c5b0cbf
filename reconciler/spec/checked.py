"""The declared users and groups of a large spec file that passed every check of its own, kept
so that an unchanged file is neither parsed nor checked again.

A file's own checks (spec/objects.py: attribute names and types, states, members written as
lists of strings) read nothing but the file, so their outcome is a function of its bytes and
of scimrec's code: the entry's key holds both (`code_digest`). What no file can decide alone
(duplicates across files, members and managers naming declared users, matching values,
extension aliases a target declares) is checked on every load, as before. A file declaring
targets is never kept this way: its targets are checked against the environment.

An entry holds one row per object, in the file's order, so each object's place in the file
(`users[3]`) is known again for the positions its error messages may need (spec/positions.py).
Reading rows back builds each Declared directly, about a third of the cost of checking it.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reconciler.core.model import Declared, Kind, Location, State
from reconciler.spec.cache import SpecCache
from reconciler.spec.objects import NO_CUSTOM
from reconciler.spec.positions import AttrLocations, Reread
from reconciler.spec.safety import POLICIES
from reconciler.spec.source import Loaded

# Bump when a row's layout changes; code changes are caught by code_digest.
FORMAT = "scimrec-spec-checked-1"
_HERE = Path(__file__).resolve().parent
# The code a file's own checks run: every spec module, and the attribute tables and model.
CHECK_CODE = (_HERE, _HERE.parent / "core" / "attributes.py", _HERE.parent / "core" / "model.py")
_STATES = {state.value: state for state in State}
# What a row's other fields may hold, as the checks (spec/objects.py) leave them: anything
# else is damage, read and checked again rather than trusted.
_DEPROVISION = (None, "disable", "delete")
_POLICIES = (None, *POLICIES)
_STR = frozenset({str})

Row = list[Any]


@functools.cache
def code_digest(places: tuple[Path, ...] = CHECK_CODE) -> bytes | None:
    """A digest of the source of every module a file's own checks run: any change to them
    (another version, a local edit) gives new keys, so no entry outlives its checks. None
    where that source cannot be read (an install of compiled modules only): no objects are
    then kept or read, since no key could tell one version of the checks from another."""
    digest = hashlib.sha256(FORMAT.encode())
    files = []
    for place in places:
        found = sorted(place.glob("*.py")) if place.is_dir() else [place]
        if not found:
            return None
        files += found
    try:
        for path in files:
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    except OSError:
        return None
    return digest.digest()


def read(
    cache: SpecCache, sha256: bytes, size: int, display: str, reread: Reread
) -> tuple[list[Declared], list[Declared]] | None:
    """The objects of the file with this digest, as its clean check left them, if kept."""
    if size < cache.min_bytes or cache.checks is None:
        return None
    data = cache.read_entry(key(cache.checks, sha256))
    try:
        return None if data is None else from_rows(data, display, reread)
    except (ValueError, TypeError, KeyError):
        return None  # damaged: read and check the file again, and keep it anew


def keep(
    cache: SpecCache,
    sha256: bytes,
    size: int,
    loaded: Loaded,
    users: Sequence[Declared],
    groups: Sequence[Declared],
) -> None:
    """Keep the objects of a file that passed its own checks, if `keepable`."""
    if size >= cache.min_bytes and cache.checks is not None and keepable(loaded, users, groups):
        name = key(cache.checks, sha256)
        cache.write_entry(name, {"key": name, **to_rows(users, groups)})


def key(checks: bytes, sha256: bytes) -> str:
    """The name of the entry for a file with this digest, checked by the code of `checks`."""
    return SpecCache.key(hashlib.sha256(checks + sha256).digest())


def keepable(loaded: Loaded, users: Sequence[Declared], groups: Sequence[Declared]) -> bool:
    """A file checked clean whose objects map one to one onto its `users:` and `groups:`
    items (so each one's place is known from its row), and that declares no target."""
    doc = loaded.value
    return (
        isinstance(doc, dict)
        and "targets" not in doc
        and len(doc.get("users") or ()) == len(users)
        and len(doc.get("groups") or ()) == len(groups)
    )


def to_rows(users: Sequence[Declared], groups: Sequence[Declared]) -> dict[str, list[Row]]:
    return {
        "users": [
            [
                u.key,
                dict(u.attrs),
                u.state.value,
                *_place(u),
                dict(u.custom) or None,
                list(u.extension_aliases),
                u.deprovision,
                list(u.previously),
            ]
            for u in users
        ],
        "groups": [
            [
                g.key,
                dict(g.attrs),
                g.state.value,
                *_place(g),
                None if g.members is None else list(g.members),
                list(g.subgroups),
                g.members_policy,
                list(g.previously),
                list(g.required_members),
                g.min_members,
            ]
            for g in groups
        ],
    }


def _place(obj: Declared) -> tuple[int, int]:
    at = obj.location or Location("", 1, 1)
    return at.line, at.col


def from_rows(
    data: dict[str, list[Row]], display: str, reread: Reread
) -> tuple[list[Declared], list[Declared]]:
    """The objects an entry holds; ValueError, TypeError or KeyError if it is damaged."""
    users = []
    for index, (
        key,
        attrs,
        state,
        line,
        col,
        custom,
        aliases,
        deprovision,
        previously,
    ) in enumerate(data["users"]):
        _check(key, attrs, "userName", line, col)
        if not (custom is None or custom.__class__ is dict) or deprovision not in _DEPROVISION:
            raise TypeError("a damaged row")
        users.append(
            Declared(
                kind=Kind.USER,
                key=attrs["userName"],  # equal to the row's key, and held by attrs anyway
                attrs=attrs,
                state=_STATES[state],
                location=Location(display, line, col),
                attr_locations=AttrLocations(reread, ("users", index)),
                custom=custom or NO_CUSTOM,
                extension_aliases=_strings(aliases),
                deprovision=deprovision,
                previously=_strings(previously),
            )
        )
    groups = []
    for index, row in enumerate(data["groups"]):
        key, attrs, state, line, col, members, subgroups, policy, previously, required, least = row
        _check(key, attrs, "displayName", line, col)
        if policy not in _POLICIES or not (least is None or least.__class__ is int):
            raise TypeError("a damaged row")
        groups.append(
            Declared(
                kind=Kind.GROUP,
                key=attrs["displayName"],  # as for users
                attrs=attrs,
                state=_STATES[state],
                members=None if members is None else _strings(members),
                location=Location(display, line, col),
                attr_locations=AttrLocations(reread, ("groups", index)),
                subgroups=_strings(subgroups),
                members_policy=policy,
                previously=_strings(previously),
                required_members=_strings(required),
                min_members=least,
            )
        )
    return users, groups


def _check(key: object, attrs: object, name: str, line: object, col: object) -> None:
    """A row's key is its object's name, and its place two integers; else it is damaged."""
    if (
        key.__class__ is not str
        or attrs.__class__ is not dict
        or attrs.get(name) != key
        or line.__class__ is not int
        or col.__class__ is not int
    ):
        raise TypeError("a damaged row")


def _strings(value: object) -> tuple[str, ...]:
    """A list of strings as the checks leave it (names, members, aliases); else damage."""
    if value.__class__ is not list or not _STR.issuperset(map(type, value)):
        raise TypeError("a damaged row")
    return tuple(value)
