"""Remembers the quick read of large spec files by their content, so an unchanged file is not
parsed again: reading its JSON back is about thirty times faster than parsing its YAML.

An entry is keyed by the SHA-256 digest of the file's bytes together with this reader's format
and PyYAML's version, so a changed file, or a reader that would read it differently, never
finds an old entry; the checks of the spec still run on every load. Entries are JSON (no
code runs when one is read), written atomically into a directory only the user can read.
The directory is `$SCIMREC_CACHE_DIR`, else `$XDG_CACHE_HOME/scimrec/spec`, else
`~/.cache/scimrec/spec`; `SCIMREC_CACHE_DIR=` (empty) turns the cache off.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from reconciler.core.model import Location
from reconciler.spec.source import Loaded

CACHE_ENV = "SCIMREC_CACHE_DIR"
# Bump when quick_text's output changes meaning: old entries are then never read.
FORMAT = "scimrec-spec-read-1"
# Smaller files parse in a few milliseconds: not worth a file of their own.
MIN_BYTES = 256 * 1024
# A spec tree of 100,000 users is about twenty such files; old versions beyond this go.
MAX_ENTRIES = 256


def cache_dir(environ: Mapping[str, str] = os.environ) -> Path | None:
    """Where entries live, or None when the cache is turned off."""
    configured = environ.get(CACHE_ENV)
    if configured is not None:
        return Path(configured) if configured else None
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "scimrec" / "spec"


class SpecCache:
    def __init__(self, where: Path | None) -> None:
        self.where = where
        self.wrote = False

    @staticmethod
    def key(sha256: bytes) -> str:
        """The entry's name: the file's SHA-256 digest, with what reads it."""
        reader = f"{FORMAT}\0{yaml.__version__}\0{yaml.__with_libyaml__}\0".encode()
        return hashlib.sha256(reader + sha256).hexdigest()

    def get(self, sha256: bytes, size: int, display: str) -> Loaded | None:
        """The quick read of a file of `size` bytes with this digest, if one was kept intact."""
        if self.where is None or size < MIN_BYTES:
            return None
        key = self.key(sha256)
        entry = self.where / f"{key}.json"
        try:
            data = json.loads(entry.read_bytes())
            loaded = _from_json(data, key, display)
        except (OSError, ValueError, TypeError, KeyError):
            return None  # missing, unreadable or damaged: parse again, and write it anew
        with contextlib.suppress(OSError):
            os.utime(entry)  # recently used entries are the ones kept
        return loaded

    def put(self, sha256: bytes, size: int, loaded: Loaded) -> None:
        """Keep a quick read for next time; a cache that cannot be written is just skipped."""
        if self.where is None or size < MIN_BYTES:
            return
        key = self.key(sha256)
        try:
            self.where.mkdir(parents=True, exist_ok=True, mode=0o700)
            text = json.dumps(_to_json(loaded, key), separators=(",", ":"))
            handle, temporary = tempfile.mkstemp(dir=self.where, suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
            Path(temporary).replace(self.where / f"{key}.json")
            self.wrote = True
        except OSError:
            return

    def prune(self, keep: int = MAX_ENTRIES) -> None:
        """Keep the `keep` most recently used entries (once per load that wrote any)."""
        if self.where is None or not self.wrote:
            return
        with contextlib.suppress(OSError):
            entries = sorted(self.where.glob("*.json"), key=lambda p: p.stat().st_mtime)
            for old in entries[: max(0, len(entries) - keep)]:
                old.unlink(missing_ok=True)


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
