"""Remembers the quick read of large spec files by their content, so an unchanged file is not
parsed again: reading its JSON back is about thirty times faster than parsing its YAML.

An entry is keyed by the SHA-256 digest of the file's bytes together with this reader's format
and PyYAML's version, so a changed file, or a reader that would read it differently, never
finds an old entry. The same directory keeps the checked objects of large files
(spec/checked.py) under keys that also hold scimrec's code; the checks across files run on
every load. A quick read is kept as JSON, checked objects as spec/checked.py writes them
(marshal, behind a digest); reading either runs no code. The directory is
`$SCIMREC_CACHE_DIR`, else `$XDG_CACHE_HOME/scimrec/spec`, else `~/.cache/scimrec/spec`;
`SCIMREC_CACHE_DIR=` (empty) turns the cache off, and so does having no home directory.

Whoever can write an entry decides what an unchanged file means (the key is only a digest
of content that others may know), so the cache is used only where no one else can write:
a directory, not a symlink, owned by the user with no access for group or others, and
entries owned by the user and writable by no one else. Anything else turns the cache off
for the load, which then parses every file. Every access goes through one descriptor of
the directory checked once, so the directory cannot be swapped for another mid-load.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import stat
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec
import yaml

from reconciler.core.model import Location
from reconciler.spec.source import Loaded, quick_text
from reconciler.spec.text import Text

CACHE_ENV = "SCIMREC_CACHE_DIR"
# Bump when quick_text's output changes meaning: old entries are then never read.
FORMAT = "scimrec-spec-read-1"
# Smaller files parse in a few milliseconds: not worth a file of their own.
MIN_BYTES = 256 * 1024
# A spec tree of 100,000 users is about twenty such files; old versions beyond this go.
MAX_ENTRIES = 256
# An entry's name: what SpecCache.key gives, with the suffix of its form (JSON, or the
# checked objects' own: spec/checked.py), and nothing else is ever read or removed.
_ENTRY = re.compile(r"[0-9a-f]{64}\.(?:json|bin)")
# An entry being written (`keep_raw`); one a process ended in the middle of stays behind.
_PARTIAL = re.compile(r"\.[0-9a-f]{64}\.(?:json|bin)\.[0-9a-f]{16}\.tmp")
# A partial entry this old is no load's any more (writing one takes well under a second).
PARTIAL_SECONDS = 600
# Owner checks and directory-relative opens need POSIX; elsewhere the cache stays off.
SUPPORTED = (
    hasattr(os, "geteuid")
    and hasattr(os, "O_NOFOLLOW")
    and hasattr(os, "O_DIRECTORY")
    and {os.open, os.stat, os.utime, os.rename, os.unlink} <= os.supports_dir_fd
    and os.listdir in os.supports_fd
)
_PRIVATE = 0o077  # any access for group or others
_SHARED_WRITE = 0o022  # write access for group or others


def cache_dir(environ: Mapping[str, str] = os.environ) -> Path | None:
    """Where entries live, or None when the cache is turned off."""
    if not SUPPORTED:
        return None
    configured = environ.get(CACHE_ENV)
    if configured is not None:
        return Path(configured) if configured else None
    base = environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            home = Path.home()
        except RuntimeError:
            # No HOME and no passwd entry for the uid (a container run under an arbitrary
            # uid, `env -i`): the cache is an optimisation, so it is off, never a crash.
            return None
        base = str(home / ".cache")
    return Path(base) / "scimrec" / "spec"


def _owned(info: os.stat_result, forbidden: int) -> bool:
    return info.st_uid == os.geteuid() and not info.st_mode & forbidden


class SpecCache:
    """The cache for one load (a context manager): `get` and `put` by a file's digest."""

    def __init__(
        self, where: Path | None, *, min_bytes: int = MIN_BYTES, checks: bytes | None = None
    ) -> None:
        self.where = where
        # Files smaller than this are parsed every time (tests keep every file).
        self.min_bytes = min_bytes
        # A digest of the code that checks a file's own objects (spec/checked.py
        # `code_digest`); None: no checked objects are kept or read, only parses.
        self.checks = checks
        self.wrote = False
        # Why the cache is off for this load, when `where` was set but cannot be trusted.
        self.refused = ""
        self._fd: int | None = None
        self._opened = False

    def _dir(self) -> int | None:
        """A descriptor of the cache directory, made on first use; None if it is not private."""
        if self._opened:
            return self._fd
        self._opened = True
        if self.where is None:
            return None
        try:
            # Only the last component is made here with 0700; any parents are the user's
            # usual cache directories.
            with contextlib.suppress(FileExistsError):
                self.where.mkdir(parents=True, mode=0o700)
            fd = os.open(self.where, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError as exc:
            self.refused = f"cannot use {self.where}: {exc.strerror or exc}"
            return None
        info = os.fstat(fd)
        if not _owned(info, _PRIVATE):
            os.close(fd)
            self.refused = (
                f"{self.where} is not private (owner uid {info.st_uid}, mode "
                f"{stat.S_IMODE(info.st_mode):o}): it must be the user's own, mode 0700"
            )
            return None
        self._fd = fd
        return fd

    def __enter__(self) -> SpecCache:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._opened = False  # the next load looks at the directory afresh

    @staticmethod
    def key(sha256: bytes) -> str:
        """The entry's name: the file's SHA-256 digest, with what reads it."""
        reader = f"{FORMAT}\0{yaml.__version__}\0{yaml.__with_libyaml__}\0".encode()
        return hashlib.sha256(reader + sha256).hexdigest()

    def quick_read(self, sha256: bytes, text: Text, display: str) -> Loaded | None:
        """A file's quick read (source.quick_text): the one kept by an earlier load, else
        made now and kept; None where the quick read gives up (the exact read then runs)."""
        read = self.get(sha256, len(text.raw), display)
        if read is None:
            read = quick_text(text.text, display)
            if read is not None:
                self.put(sha256, len(text.raw), read)
        return read

    def get(self, sha256: bytes, size: int, display: str) -> Loaded | None:
        """The quick read of a file of `size` bytes with this digest, if one was kept intact."""
        if size < self.min_bytes:
            return None
        key = self.key(sha256)
        data = self.read_entry(key)
        try:
            return None if data is None else _from_json(data, key, display)
        except (ValueError, TypeError, KeyError):
            return None  # damaged: parse again, and write it anew

    def put(self, sha256: bytes, size: int, loaded: Loaded) -> None:
        """Keep a quick read for next time; a cache that cannot be written is just skipped."""
        if size >= self.min_bytes:
            key = self.key(sha256)
            self.write_entry(key, _to_json(loaded, key))

    def read_entry(self, key: str) -> Any:
        """The JSON value kept under `key` (which the value must name again, so an entry
        copied under another name is refused), or None if there is none to trust."""
        raw = self.read_raw(f"{key}.json")
        try:
            data = None if raw is None else json.loads(raw)
        except ValueError:
            return None  # damaged: parse again, and write it anew
        if not isinstance(data, dict) or data.get("key") != key:
            return None
        return data

    def write_entry(self, key: str, data: dict[str, Any]) -> None:
        """Keep `data` (which names `key`) under `key`; an unwritable cache is just skipped."""
        raw = _encoded(data)
        if raw is not None:
            self.keep_raw(f"{key}.json", raw)

    def read_raw(self, name: str) -> bytes | None:
        """The bytes of the entry `name` (an entry's name: `_ENTRY`), if the user's own and
        written by no one else; None if there is none to trust. Its content is the
        reader's to check."""
        if (fd := self._dir()) is None or not _ENTRY.fullmatch(name):
            return None
        try:
            handle = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=fd)
        except OSError:
            return None  # missing (or a symlink): parse again, and write it anew
        try:
            with os.fdopen(handle, "rb") as entry:
                info = os.fstat(entry.fileno())
                if not stat.S_ISREG(info.st_mode) or not _owned(info, _SHARED_WRITE):
                    return None  # written by someone else: never read
                raw = entry.read()
        except OSError:
            return None  # unreadable: parse again, and write it anew
        with contextlib.suppress(OSError):
            os.utime(name, dir_fd=fd, follow_symlinks=False)  # recently used entries stay
        return raw

    def trusted(self) -> bool:
        """Whether entries are read and written at all (the directory is set and private)."""
        return self._dir() is not None

    def has(self, name: str) -> bool:
        """Whether an entry `name` is there (not whether it can be trusted: `read_raw` says)."""
        if (fd := self._dir()) is None or not _ENTRY.fullmatch(name):
            return False
        try:
            os.stat(name, dir_fd=fd, follow_symlinks=False)
        except OSError:
            return False
        return True

    def keep_raw(self, name: str, raw: bytes) -> None:
        """Keep `raw` as the entry `name`; an unwritable cache is just skipped."""
        if (fd := self._dir()) is None or not _ENTRY.fullmatch(name):
            return
        temporary = f".{name}.{secrets.token_hex(8)}.tmp"
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
            handle = os.open(temporary, flags, 0o600, dir_fd=fd)
            with os.fdopen(handle, "wb") as out:
                out.write(raw)
            # POSIX rename replaces the old entry atomically (os.replace, the same call,
            # is not listed in os.supports_dir_fd).
            os.rename(temporary, name, src_dir_fd=fd, dst_dir_fd=fd)
            self.wrote = True
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(temporary, dir_fd=fd)

    def prune(self, keep: int = MAX_ENTRIES) -> None:
        """Keep the `keep` most recently used entries (once per load that wrote any), and
        remove what a process ended while writing left behind."""
        if not self.wrote or (fd := self._dir()) is None:
            return
        with contextlib.suppress(OSError):
            listed = os.listdir(fd)  # noqa: PTH208 - a directory descriptor, which pathlib cannot list
            stale = time.time() - PARTIAL_SECONDS
            for partial in filter(_PARTIAL.fullmatch, listed):
                with contextlib.suppress(OSError):
                    info = os.stat(partial, dir_fd=fd, follow_symlinks=False)
                    if info.st_mtime < stale:
                        os.unlink(partial, dir_fd=fd)
            names = [name for name in listed if _ENTRY.fullmatch(name)]
            used = {
                name: os.stat(name, dir_fd=fd, follow_symlinks=False).st_mtime for name in names
            }
            for old in sorted(names, key=used.__getitem__)[: max(0, len(names) - keep)]:
                os.unlink(old, dir_fd=fd)


def _encoded(data: dict[str, Any]) -> bytes | None:
    """`data` as JSON that `json.loads` reads back equal, or None where JSON cannot hold it
    (an integer of over 4,300 digits): not kept.

    msgspec writes a 5,000-user file's quick read in about a fifth of the time `json.dumps`
    takes (14 against 77 ms; 1.3 s of a cold 100,000-user load). But it writes a float JSON
    has no number for (infinity, NaN: YAML's `.inf`) as `null`, and refuses a lone
    surrogate, which `json.dumps` writes as the escape `json.loads` reads back. So any
    text holding `null` (a float, or just a None), and anything msgspec refuses, is
    written by `json.dumps` as before."""
    try:
        raw = msgspec.json.encode(data)
    except (ValueError, TypeError, OverflowError, UnicodeEncodeError):
        raw = None
    if raw is None or b"null" in raw:
        try:
            raw = json.dumps(data, separators=(",", ":")).encode()
        except ValueError:
            return None
    return raw


def _to_json(loaded: Loaded, key: str) -> dict[str, Any]:
    return {
        "key": key,
        "value": loaded.value,
        "marks": [[list(path), at.line, at.col] for path, at in loaded.marks.items()],
        "texts": [[list(path), at.line, at.col] for path, at in loaded.texts.items()],
    }


def _from_json(data: dict[str, Any], key: str, display: str) -> Loaded:
    if data["key"] != key:
        raise ValueError("an entry under another key")

    def places(rows: list[list[Any]]) -> dict[tuple[str | int, ...], Location]:
        return {tuple(path): Location(display, int(line), int(col)) for path, line, col in rows}

    return Loaded(display, data["value"], places(data["marks"]), places(data["texts"]))
