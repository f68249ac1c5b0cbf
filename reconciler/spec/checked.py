"""The declared users and groups of a large spec file that passed every check of its own, kept
so that an unchanged file is neither parsed nor checked again.

A file's own checks (spec/objects.py: attribute names and types, states, members written as
lists of strings) read nothing but the file, so their outcome is a function of its bytes, of
scimrec's code and of the PyYAML that parsed it: the entry's key holds all three
(`code_digest`). What no file can decide alone
(duplicates across files, members and managers naming declared users, matching values,
extension aliases a target declares) is checked on every load, as before. A file declaring
targets is never kept this way: its targets are checked against the environment.

An entry holds one column per field of each kind, in the file's order, so each object's place
in the file (`users[3]`) is known again for the positions its error messages may need
(spec/positions.py). The columns are written by marshal, which reads back about twice as fast
as JSON and runs no code; a digest of them in the entry shows no byte was damaged before
marshal (not made to read damaged data) sees one. The digest has no key: it tells damage, not
a writer, and the directory is the user's alone (spec/cache.py). Each column is then checked
as the file's own checks leave it, and the objects built a column at a time.
"""

from __future__ import annotations

import functools
import hashlib
import marshal
import sys
from collections import deque
from collections.abc import Iterable, Sequence
from itertools import chain, repeat
from operator import itemgetter
from pathlib import Path
from typing import Any, TypeVar

import yaml

from reconciler.core.model import Declared, Kind, Location, State
from reconciler.spec.cache import SpecCache
from reconciler.spec.objects import NO_CUSTOM
from reconciler.spec.positions import AttrLocations, Reread
from reconciler.spec.safety import POLICIES
from reconciler.spec.source import Loaded

# Bump when the columns' layout changes; code changes are caught by code_digest, and the
# Python that reads them (marshal's format may change with it) by the key's own part.
FORMAT = "scimrec-spec-checked-2"
_MAGIC = f"{FORMAT}\0{sys.implementation.cache_tag}\0{marshal.version}\0".encode()
_MARSHAL = 4  # marshal's format with references, which keeps each shared text once
_DIGEST = 32  # the SHA-256 of the columns, after the entry's name
_HERE = Path(__file__).resolve().parent
# The code a file's own checks run: every spec module, and the attribute tables and model.
CHECK_CODE = (_HERE, _HERE.parent / "core" / "attributes.py", _HERE.parent / "core" / "model.py")
_STATES = {state.value: state for state in State}
# What a row's other fields may hold, as the checks (spec/objects.py) leave them: anything
# else is damage, read and checked again rather than trusted.
_DEPROVISION = frozenset({None, "disable", "delete"})
_POLICIES = frozenset({None, *POLICIES})
_STR = frozenset({str})
_LIST = frozenset({list})
_DICT = frozenset({dict})
_INT = frozenset({int})
_OPTIONAL_DICT: frozenset[type] = frozenset({dict, type(None)})
_OPTIONAL_LIST: frozenset[type] = frozenset({list, type(None)})
_OPTIONAL_INT: frozenset[type] = frozenset({int, type(None)})
_TEXT_OR_NONE: frozenset[type] = frozenset({str, type(None)})
_USER_FIELDS = frozenset(
    {"attrs", "state", "line", "col", "custom", "aliases", "deprovision", "previously"}
)
_GROUP_FIELDS = frozenset(
    {
        "attrs", "state", "line", "col", "members", "subgroups", "policy", "previously",
        "required", "least",
    }
)  # fmt: skip

Columns = dict[str, dict[str, list[Any]]]
_T = TypeVar("_T")


@functools.cache
def code_digest(places: tuple[Path, ...] = CHECK_CODE) -> bytes | None:
    """A digest of the source of every module a file's own checks run: any change to them
    (another version, a local edit) gives new keys, so no entry outlives its checks. None
    where that source cannot be read (an install of compiled modules only): no objects are
    then kept or read, since no key could tell one version of the checks from another."""
    digest = hashlib.sha256(_MAGIC)
    # The objects come from PyYAML's read wherever the line read gives up: another PyYAML,
    # or one without libyaml, may read the same bytes otherwise (as SpecCache.key says).
    digest.update(f"{yaml.__version__}\0{yaml.__with_libyaml__}\0".encode())
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


# Taken as the modules are imported, as spec/verdict.py's is: an entry is named after the
# code that ran, not after what the disk held at the first load.
code_digest()


def read(
    cache: SpecCache, sha256: bytes, size: int, display: str, reread: Reread
) -> tuple[list[Declared], list[Declared]] | None:
    """The objects of the file with this digest, as its clean check left them, if kept."""
    if size < cache.min_bytes or cache.checks is None:
        return None
    name = key(cache.checks, sha256)
    raw = cache.read_raw(f"{name}.bin")
    try:
        return None if raw is None else from_columns(opened(raw, name), display, reread)
    except (ValueError, TypeError, KeyError, EOFError):
        return None  # damaged: read and check the file again, and keep it anew


def keep(
    cache: SpecCache,
    sha256: bytes,
    size: int,
    loaded: Loaded,
    users: Sequence[Declared],
    groups: Sequence[Declared],
) -> bytes | None:
    """Keep the objects of a file that passed its own checks, if `keepable`; the columns
    as marshal wrote them (`payload`), for a worker to send on as well, or None where
    nothing was kept."""
    if size >= cache.min_bytes and cache.checks is not None and keepable(loaded, users, groups):
        name = key(cache.checks, sha256)
        try:
            raw = payload(users, groups)
        except ValueError:
            return None  # a value marshal cannot write: not kept
        cache.keep_raw(f"{name}.bin", seal(raw, name))
        return raw
    return None


def key(checks: bytes, sha256: bytes) -> str:
    """The name of the entry for a file with this digest, checked by the code of `checks`."""
    return SpecCache.key(hashlib.sha256(checks + sha256).digest())


def payload(users: Sequence[Declared], groups: Sequence[Declared]) -> bytes:
    """The objects' columns (`to_columns`) as marshal writes them; ValueError for a value
    it cannot write."""
    return marshal.dumps(to_columns(users, groups), _MARSHAL)


def sealed(columns: Columns, name: str) -> bytes:
    """An entry's bytes: its name, then the digest of what follows, then the columns."""
    return seal(marshal.dumps(columns, _MARSHAL), name)


def seal(payload: bytes, name: str) -> bytes:
    """`sealed`, of columns marshal has written already."""
    return _MAGIC + name.encode() + hashlib.sha256(payload).digest() + payload


def opened(raw: bytes, name: str) -> Any:
    """The columns `sealed` wrote under `name`; ValueError if the entry is under another
    name or any byte of it changed since (a digest of the rest proves neither happened
    before marshal, which is not made to read damaged data, ever sees it)."""
    head = _MAGIC + name.encode()
    view = memoryview(raw)
    start = len(head) + _DIGEST
    payload = view[start:]
    if view[: len(head)] != head or view[len(head) : start] != hashlib.sha256(payload).digest():
        raise ValueError("a damaged entry, or another file's")
    # Only the user can write an entry (spec/cache.py; whoever can write there can as well
    # edit the specs), and the digest shows it undamaged since it was written: marshal
    # builds values from it, and runs none of them.
    return marshal.loads(payload)  # noqa: S302


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


def to_columns(users: Sequence[Declared], groups: Sequence[Declared]) -> Columns:
    """The fields of each kind's objects, one list per field in the file's order. Equal
    texts are written once (marshal then writes the others as references to it), so
    reading them back makes each once: a user's name, email and key are one string."""
    texts: dict[str, str] = {}
    share = functools.partial(_shared, texts=texts)
    return {
        "users": {
            "attrs": _named([share(dict(u.attrs)) for u in users]),
            "state": [u.state.value for u in users],
            "line": [_place(u)[0] for u in users],
            "col": [_place(u)[1] for u in users],
            "custom": [share(dict(u.custom)) or None for u in users],
            "aliases": [share(list(u.extension_aliases)) for u in users],
            "deprovision": [u.deprovision for u in users],
            "previously": [share(list(u.previously)) for u in users],
        },
        "groups": {
            "attrs": [share(dict(g.attrs)) for g in groups],
            "state": [g.state.value for g in groups],
            "line": [_place(g)[0] for g in groups],
            "col": [_place(g)[1] for g in groups],
            "members": [
                None if g.members is None else [*map(sys.intern, share(list(g.members)))]
                for g in groups
            ],
            "subgroups": [share(list(g.subgroups)) for g in groups],
            "policy": [g.members_policy for g in groups],
            "previously": [share(list(g.previously)) for g in groups],
            "required": [share(list(g.required_members)) for g in groups],
            "least": [g.min_members for g in groups],
        },
    }


def _named(attrs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`attrs`, each user's key and manager interned: marshal writes them so and interns
    them as it reads them back, so every kept file's references to a user (members,
    managers) are that user's key itself, as the checks across files make them
    (spec/references.py) where they run, and where they are skipped (spec/verdict.py)."""
    for one in attrs:
        for path in ("userName", "enterprise.manager"):
            if (name := one.get(path)).__class__ is str:
                one[path] = sys.intern(name)
    return attrs


def _shared(value: Any, texts: dict[str, str]) -> Any:
    """`value` with each text the first equal one met: a copy, never the object's own."""
    if value.__class__ is str:
        return texts.setdefault(value, value)
    if value.__class__ is dict:
        return {texts.setdefault(k, k): _shared(v, texts) for k, v in value.items()}
    if value.__class__ is list:
        return [_shared(item, texts) for item in value]
    return value


def _place(obj: Declared) -> tuple[int, int]:
    at = obj.location or Location("", 1, 1)
    return at.line, at.col


def from_columns(data: Any, display: str, reread: Reread) -> tuple[list[Declared], list[Declared]]:
    """The objects an entry holds; ValueError, TypeError or KeyError if it is not what
    `to_columns` writes for a file checked clean.

    Each field is checked and set a column at a time (`_build`), by loops that run in C:
    a Declared made by its own __init__ costs more than reading and checking its row."""
    users, groups = data["users"], data["groups"]
    n = _count(users, _USER_FIELDS)
    attrs = _only(_DICT, users["attrs"])
    user_list = _build(
        Declared,
        n,
        kind=repeat(Kind.USER),
        key=_keys(attrs, "userName"),  # the name itself, as the checks leave it
        attrs=attrs,
        state=map(_STATES.__getitem__, users["state"]),
        members=repeat(None),
        location=_locations(n, display, users),
        attr_locations=_positions(n, reread, "users"),
        subgroups=repeat(()),
        custom=[c or NO_CUSTOM for c in _only(_OPTIONAL_DICT, users["custom"])],
        extension_aliases=_strings(users["aliases"]),
        deprovision=_among(_DEPROVISION, users["deprovision"]),
        members_policy=repeat(None),
        previously=_strings(users["previously"]),
        required_members=repeat(()),
        min_members=repeat(None),
    )
    n = _count(groups, _GROUP_FIELDS)
    attrs = _only(_DICT, groups["attrs"])
    members = _only(_OPTIONAL_LIST, groups["members"])
    group_list = _build(
        Declared,
        n,
        kind=repeat(Kind.GROUP),
        key=_keys(attrs, "displayName"),
        attrs=attrs,
        state=map(_STATES.__getitem__, groups["state"]),
        members=[None if m is None else tuple(_texts(m)) for m in members],
        location=_locations(n, display, groups),
        attr_locations=_positions(n, reread, "groups"),
        subgroups=_strings(groups["subgroups"]),
        custom=repeat(NO_CUSTOM),
        extension_aliases=repeat(()),
        deprovision=repeat(None),
        members_policy=_among(_POLICIES, groups["policy"]),
        previously=_strings(groups["previously"]),
        required_members=_strings(groups["required"]),
        min_members=_only(_OPTIONAL_INT, groups["least"]),
    )
    return user_list, group_list


def _count(columns: Any, fields: frozenset[str]) -> int:
    """How many objects a kind's columns hold: each column one value per object, or damage
    (the column-wise loops below stop at the shortest)."""
    if columns.__class__ is not dict or columns.keys() != fields:
        raise TypeError("a damaged entry")
    if not _LIST.issuperset(map(type, columns.values())):
        raise TypeError("a damaged entry")
    counts = set(map(len, columns.values()))
    if len(counts) != 1:
        raise ValueError("a damaged entry")
    return counts.pop()


def _only(types: frozenset[type], values: list[Any]) -> list[Any]:
    """`values` if it is a list of values of these exact types; else damage."""
    if values.__class__ is not list or not types.issuperset(map(type, values)):
        raise TypeError("a damaged entry")
    return values


def _keys(attrs: list[dict[str, Any]], name: str) -> list[str]:
    """Each object's key: its name, which the checks leave a string."""
    return _texts(list(map(itemgetter(name), attrs)))


def _texts(values: list[Any]) -> list[str]:
    return _only(_STR, values)


def _strings(column: list[Any]) -> list[tuple[str, ...]]:
    """Lists of strings as the checks leave them (names, members, aliases); else damage."""
    _texts(list(chain.from_iterable(_only(_LIST, column))))
    return list(map(tuple, column))


def _among(allowed: frozenset[str | None], column: list[Any]) -> list[Any]:
    if not allowed.issuperset(_only(_TEXT_OR_NONE, column)):
        raise ValueError("a damaged entry")
    return column


def _locations(n: int, display: str, columns: dict[str, list[Any]]) -> list[Location]:
    lines, cols = _only(_INT, columns["line"]), _only(_INT, columns["col"])
    return _build(Location, n, file=repeat(display), line=lines, col=cols)


def _positions(n: int, reread: Reread, kind: str) -> list[AttrLocations]:
    """Each object's attribute positions, found from its place (`users[3]`) when needed."""
    paths = zip(repeat(kind), range(n))
    return _build(AttrLocations, n, _file=repeat(reread), _path=paths, _found=repeat(None))


def _build(cls: type[_T], n: int, **fields: Iterable[Any]) -> list[_T]:
    """`n` objects of a class whose every field is a slot, each slot set from its column:
    what the class's own __init__ would do, without a Python call per object. Each field
    must be given, so none is left unset however the class grows."""
    if fields.keys() != set(cls.__slots__):  # type: ignore[attr-defined]
        raise RuntimeError(f"{cls.__name__} has fields {cls.__slots__} to set")  # type: ignore[attr-defined]
    made = list(map(object.__new__, repeat(cls, n)))
    for name, column in fields.items():
        deque(map(getattr(cls, name).__set__, made, column), maxlen=0)
    return made
