"""Which files of a directory are spec files: the rule `spec_files` applies, in one place.

Every `*.yaml` / `*.yml` file under the root is a spec file, except under what is clearly not
a spec: a directory or file whose name starts with a dot (`.git`, `.github`, `.venv`, an
editor's settings), `node_modules`, and Python virtual environments (a directory holding
`pyvenv.cfg`). So `scimrec plan .` at a repository root does not read its CI workflows.

What the walk cannot read is refused, never passed over: a spec file left unread declares
nobody, and under `prune` every user it declared would be disabled or deleted. So a YAML
entry that is no regular file (a FIFO, a device, a dangling or looping symlink), a symlink
of any name that leads nowhere, a symlinked directory, a directory that cannot be listed
and a path that is not UTF-8 each give an issue naming the path.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from reconciler.errors import SpecIssue

SPEC_SUFFIXES = (".yaml", ".yml")
SKIPPED_NAMES = frozenset({"node_modules"})
# What a spec entry that cannot be read would do if skipped: said in each refusal.
_LEFT_OUT = "refused (left unread, its users would count as undeclared)"
# A symlinked directory is refused, not followed: out of the tree it is what a file link
# out of it is (outside_the_tree), and inside it only repeats files read under their own
# names, or loops. Following it is never needed to read a tree that holds its own files.
_LINKED_DIRECTORY = (
    f"is a symlinked directory: {_LEFT_OUT}; replace the link with the directory itself, "
    "or start its name with a dot to skip it"
)
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def spec_paths(root: Path) -> tuple[list[Path], list[SpecIssue]]:
    """The spec files under the directory `root`, in no particular order, and an issue for
    each entry that may hold spec files but cannot be read.

    Skipped directories are pruned, not walked: a `node_modules` can hold many thousand files.
    """
    found: list[Path] = []
    issues: list[SpecIssue] = []

    def unlisted(exc: OSError) -> None:
        issues.append(_issue(Path(exc.filename), f"cannot be listed ({exc.strerror}): {_LEFT_OUT}"))

    for folder, dirs, files in os.walk(root, onerror=unlisted):
        here = Path(folder)
        if "pyvenv.cfg" in files and here != root:
            dirs[:] = []
            continue
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in SKIPPED_NAMES]
        for name in dirs:
            # os.walk lists a link to a directory here, and never descends into it.
            path = here / name
            if _is_link(path) and not _is_venv(path):
                issues.append(_issue(path, _LINKED_DIRECTORY))
        for name in files:
            path = here / name
            if name.startswith("."):
                continue
            why = _why_not(root, path, spec_named=path.suffix in SPEC_SUFFIXES)
            if why is not None:
                issues.append(_issue(path, why))
            elif path.suffix in SPEC_SUFFIXES:
                found.append(path)
    return found, issues


def _why_not(root: Path, path: Path, *, spec_named: bool) -> str | None:
    """Why the entry `path` cannot be read as a spec file; for an entry named otherwise, only
    why a link there leads nowhere (it may have been a directory of spec files). None when
    nothing is wrong."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        if not spec_named and not _is_link(path):
            return None
        if exc.errno == errno.ENOENT and _is_link(path):
            return f"is a dangling symlink: {_LEFT_OUT}"
        if exc.errno == errno.ELOOP:
            return f"is a symlink loop: {_LEFT_OUT}"
        return f"cannot be read ({exc.strerror}): {_LEFT_OUT}"
    if not spec_named:
        return None
    for kind, name in _KINDS:
        if kind(mode):
            return f"is {name}, not a regular file: {_LEFT_OUT}"
    if not os.access(path, os.R_OK):
        # Told here, with the rest of the tree's refusals, not only once they are fixed.
        return f"cannot be read (permission denied): {_LEFT_OUT}"
    if not _utf8(path.relative_to(root).as_posix()):
        # Every message, the digest and the cache name a file by its path as text.
        return f"its name is not UTF-8: {_LEFT_OUT}; rename it"
    return None


def _is_link(path: Path) -> bool:
    try:
        return stat.S_ISLNK(path.lstat().st_mode)
    except OSError:
        return False


def _is_venv(path: Path) -> bool:
    """Whether the directory `path` is a Python virtual environment (skipped, linked or not)."""
    try:
        return stat.S_ISREG((path / "pyvenv.cfg").stat().st_mode)
    except OSError:
        return False


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _issue(path: Path, message: str) -> SpecIssue:
    # A name that is no UTF-8 holds lone surrogates, which no output can write: its bytes
    # that are not are shown as escapes (`caf\xe9.yaml`).
    shown = os.fsencode(path).decode("utf-8", "backslashreplace")
    return SpecIssue(shown, 1, 1, "", message)


def outside_the_tree(root: Path, files: list[Path]) -> list[SpecIssue]:
    """Files that resolve outside the spec tree, through a symlink or `..`: never read.

    A spec tree comes from a pull request; a link in it to `/proc/self/environ` or a
    secrets file would otherwise be read, and quoted back in an error message. The tree is
    SPECS itself, or the directory holding SPECS when it names one file.
    """
    tree = (root if root.is_dir() else root.parent).resolve()
    issues = []
    for path in files:
        resolved = path.resolve()
        if not resolved.is_relative_to(tree):
            message = (
                f"resolves to {resolved.as_posix()}, outside the spec tree "
                f"{tree.as_posix()}: refused (spec files are read only inside their tree)"
            )
            issues.append(SpecIssue(path.as_posix(), 1, 1, "", message))
    return issues
