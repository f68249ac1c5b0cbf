"""Which files of a directory are spec files: the rule `spec_files` applies, in one place.

Every `*.yaml` / `*.yml` file under the root is a spec file, except under what is clearly not
a spec: a directory or file whose name starts with a dot (`.git`, `.github`, `.venv`, an
editor's settings), `node_modules`, and Python virtual environments (a directory holding
`pyvenv.cfg`). So `scimrec plan .` at a repository root does not read its CI workflows.
"""

from __future__ import annotations

import os
from pathlib import Path

from reconciler.errors import SpecIssue

SPEC_SUFFIXES = (".yaml", ".yml")
SKIPPED_NAMES = frozenset({"node_modules"})


def spec_paths(root: Path) -> list[Path]:
    """The spec files under the directory `root`, in no particular order.

    Skipped directories are pruned, not walked: a `node_modules` can hold many thousand files.
    Like `Path.rglob`, the walk does not descend into symlinked directories.
    """
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        if "pyvenv.cfg" in files and Path(folder) != root:
            dirs[:] = []
            continue
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in SKIPPED_NAMES]
        for name in files:
            path = Path(folder) / name
            if path.suffix in SPEC_SUFFIXES and not name.startswith(".") and path.is_file():
                found.append(path)
    return found


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
