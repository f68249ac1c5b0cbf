"""What the repository tracks speaks of the project only: no symlink (a link names a place
on the machine it was made on; checked out elsewhere, it points at nothing, or in place
of a virtualenv, at someone else's) and no absolute path of a machine's home or work
directories in any tracked text file."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Absolute paths of the kind a machine gives its users' and jobs' directories (not macOS's
# /Users/NAME: every SCIM URL has /Users/ID).
LOCAL_PATH = re.compile(rb"(?<![\w.-])/(?:home/[a-z_][\w-]*|root|work)/")


def tracked() -> list[tuple[str, str]]:
    """(mode, path) of every tracked file; the test needs a checkout with its history."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    out = subprocess.run(
        ["git", "ls-files", "-s", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    rows = [entry.split(maxsplit=3) for entry in out.split("\0") if entry]
    return [(mode, path) for mode, _, _, path in rows]


def test_no_tracked_symlink() -> None:
    assert [path for mode, path in tracked() if mode == "120000"] == []


def test_no_local_machine_path_in_tracked_text() -> None:
    found = []
    for _, path in tracked():
        data = (ROOT / path).read_bytes() if (ROOT / path).is_file() else b""
        if b"\0" not in data[:8192] and LOCAL_PATH.search(data):
            found.append(path)
    assert found == []


def test_the_pattern_finds_what_it_is_for() -> None:
    # Spelt in two parts, so this file holds no such path itself.
    assert LOCAL_PATH.search(b"see /" + b"work/main/.venv here")
    assert LOCAL_PATH.search(b"'/" + b"home/alice/x'")
    # A URL's or a relative path's folder of that name is no machine's directory.
    assert not LOCAL_PATH.search(b"/".join([b"https://example.com", b"work", b"items"]))
    assert not LOCAL_PATH.search(b"/".join([b"src", b"work", b"x"]))
    assert not LOCAL_PATH.search(b"https://example.com/scim/v2/Users/alice")
