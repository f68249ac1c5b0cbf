"""Positions a quick read did not keep, found again by the exact read when a message needs one.

A 100,000-user spec has over a million attributes; keeping the line and column of each
costs more time and memory than the rest of the spec, and only an error message ever reads
one. A declared object read quickly gets `AttrLocations` instead: a mapping that reads its
file again the exact way (source.py) the first time it is asked, and holds only that
answer afterwards.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from reconciler.core.model import Location
from reconciler.spec.source import Loaded, PathKey, load_file

# Given a file's exact read and the path of one declared object in it, that object's
# attribute positions (spec/objects.py runs its own rules again to name them).
Locate = Callable[[Loaded, PathKey], Mapping[str, Location]]


class Reread:
    """One spec file, read again exactly the first time a position inside it is needed.

    `sha256` is the digest of the content that was read quickly: a file changed since then
    gives no positions (each message then points at the object itself), never wrong ones.
    """

    def __init__(self, path: Path, display: str, sha256: bytes, locate: Locate) -> None:
        self.path = path
        self.display = display
        self.sha256 = sha256
        self.locate = locate
        self._loaded: Loaded | None = None
        self._tried = False

    def loaded(self) -> Loaded | None:
        if not self._tried:
            self._tried = True
            try:
                same = hashlib.sha256(self.path.read_bytes()).digest() == self.sha256
            except OSError:
                same = False
            if same:
                self._loaded, _ = load_file(self.path, self.display)
        return self._loaded


class AttrLocations(Mapping[str, Location]):
    """Where each attribute of one declared object is written, computed on first use."""

    __slots__ = ("_file", "_found", "_path")

    def __init__(self, file: Reread, path: PathKey) -> None:
        self._file = file
        self._path = path
        self._found: Mapping[str, Location] | None = None

    def _positions(self) -> Mapping[str, Location]:
        if self._found is None:
            loaded = self._file.loaded()
            self._found = {} if loaded is None else self._file.locate(loaded, self._path)
        return self._found

    def __getitem__(self, key: str) -> Location:
        return self._positions()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._positions())

    def __len__(self) -> int:
        return len(self._positions())

    def __repr__(self) -> str:
        return repr(dict(self._positions()))
