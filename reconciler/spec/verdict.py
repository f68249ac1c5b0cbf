"""The checks across files (load.py `cross_checks`), remembered for a tree they passed.

Their outcome depends on nothing but the spec files, their paths and bytes, and the code
that reads and checks them. A warm load of 100,000 users read every file's checked objects
back (spec/checked.py) in about 0.4 s, then ran these checks in about 0.5 s: on every run
of an unchanged tree, to the same outcome. So where they find nothing and change nothing
(every reference, a target's `assign:` and `roles:` names too, already written as its
object's key: nothing to resolve), an entry named by the tree's digest and by a digest of
scimrec's whole source, of the Python and of the PyYAML that read it says so; a later load
of that very tree, by that very code, skips them.

Everything else runs them as before: another byte in any file, a file added, removed or
renamed, any change to scimrec's source or another Python or PyYAML, a tree whose checks
found an issue or resolved a reference written another way, a load without a trusted
cache (spec/cache.py says who may write one), and the exact read.

An entry holds only its own name, so one copied under another name is refused; the cache
directory's owner checks (spec/cache.py) keep anyone else from writing one.
"""

from __future__ import annotations

import functools
import hashlib
import sys
import unicodedata
from pathlib import Path

import yaml

from reconciler.spec.cache import SpecCache

_MAGIC = b"scimrec-spec-verdict-1\0"
# The package's own directory: every module the load runs, and more (any change of scimrec
# at all gives new names, which costs one run of the checks).
SOURCE = Path(__file__).resolve().parent.parent


@functools.cache
def code_digest(root: Path = SOURCE) -> bytes | None:
    """A digest of every module under `root`, with the versions that read a spec the same
    way (Python's, whose Unicode tables fold keys; PyYAML's); None where the source cannot
    be read (an install of compiled modules only): nothing is then kept or read."""
    digest = hashlib.sha256(_MAGIC)
    versions = (sys.version, unicodedata.unidata_version, yaml.__version__)
    digest.update("\0".join((*versions, str(yaml.__with_libyaml__))).encode() + b"\0")
    try:
        files = sorted(root.rglob("*.py"))
        for path in files:
            name = path.relative_to(root).as_posix().encode()
            digest.update(name + b"\0" + path.read_bytes() + b"\0")
    except OSError:
        return None
    return digest.digest() if files else None


# Taken as the modules are imported (about 5 ms), not at the first load: the source on disk
# could change in between (an upgrade under a running process), and a verdict named after
# the new code would then have been reached by the old.
code_digest()


def _name(tree: str) -> str | None:
    code = code_digest()
    if code is None:
        return None
    return SpecCache.key(hashlib.sha256(_MAGIC + code + tree.encode()).digest())


def passed(cache: SpecCache, tree: str) -> bool:
    """Whether the checks across files passed this tree (its `Spec.digest`), changing
    nothing, in a load by this code."""
    name = _name(tree)
    return name is not None and cache.read_raw(f"{name}.bin") == _MAGIC + name.encode()


def keep(cache: SpecCache, tree: str) -> None:
    """Note that the checks across files passed this tree and changed nothing."""
    name = _name(tree)
    if name is not None:
        cache.keep_raw(f"{name}.bin", _MAGIC + name.encode())
