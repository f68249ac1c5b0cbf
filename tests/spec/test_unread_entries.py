"""An entry of the spec tree that cannot be read is refused, naming it, never passed over: a
file left unread declares nobody, and under `prune: all` apply would disable every user it
declared (spec/tree.py)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from reconciler.cli import main
from reconciler.errors import SpecError
from reconciler.spec.load import load_spec
from reconciler.spec.text import read_raw
from tests.fakescim import BASE_URL, FakeScim

PEOPLE = "users:\n  - userName: a@example.com\n"
LEFT_OUT = "refused (left unread, its users would count as undeclared)"
LINKED_DIRECTORY = (
    f"is a symlinked directory: {LEFT_OUT}; replace the link with the directory itself, "
    "or start its name with a dot to skip it"
)


def _dangling(specs: Path) -> str:
    (specs / "people.yaml").symlink_to(specs / "generated" / "people.yaml")
    return f"people.yaml:1:1: is a dangling symlink: {LEFT_OUT}"


def _loop(specs: Path) -> str:
    (specs / "people.yml").symlink_to("people.yml")
    return f"people.yml:1:1: is a symlink loop: {LEFT_OUT}"


def _fifo(specs: Path) -> str:
    os.mkfifo(specs / "people.yaml")
    return f"people.yaml:1:1: is a FIFO, not a regular file: {LEFT_OUT}"


def _socket(specs: Path) -> str:
    with socket.socket(socket.AF_UNIX) as bound:
        bound.bind(str(specs / "people.yaml"))
    return f"people.yaml:1:1: is a socket, not a regular file: {LEFT_OUT}"


def _device(specs: Path) -> str:
    (specs / "people.yaml").symlink_to(os.devnull)
    return f"people.yaml:1:1: is a character device, not a regular file: {LEFT_OUT}"


def _directory_out_of_the_tree(specs: Path) -> str:
    shared = specs.parent / "shared"
    shared.mkdir()
    (shared / "people.yaml").write_text(PEOPLE, encoding="utf-8")
    (specs / "people").symlink_to(shared)
    return f"people:1:1: {LINKED_DIRECTORY}"


def _directory_in_the_tree(specs: Path) -> str:
    (specs / "teams" / "ops").mkdir(parents=True)
    (specs / "teams" / "ops" / "people.yaml").write_text(PEOPLE, encoding="utf-8")
    (specs / "ops").symlink_to("teams/ops")
    return f"ops:1:1: {LINKED_DIRECTORY}"


def _link_to_nowhere_of_any_name(specs: Path) -> str:
    (specs / "people").symlink_to("generated")  # a directory, before a step that did not run
    return f"people:1:1: is a dangling symlink: {LEFT_OUT}"


def _name_not_utf8(specs: Path) -> str:
    # Unpacked from a Latin-1 archive, say: the name reaches Python as a lone surrogate.
    (specs / os.fsdecode(b"caf\xe9.yaml")).write_text(PEOPLE, encoding="utf-8")
    return f"caf\\xe9.yaml:1:1: its name is not UTF-8: {LEFT_OUT}; rename it"


ENTRIES: list[tuple[str, Callable[[Path], str]]] = [
    ("dangling-symlink", _dangling),
    ("symlink-loop", _loop),
    ("fifo", _fifo),
    ("socket", _socket),
    ("device", _device),
    ("symlinked-directory-out-of-the-tree", _directory_out_of_the_tree),
    ("symlinked-directory-in-the-tree", _directory_in_the_tree),
    ("link-to-nowhere-of-any-name", _link_to_nowhere_of_any_name),
    ("name-not-utf8", _name_not_utf8),
]


def tree(root: Path) -> Path:
    specs = root / "specs"
    specs.mkdir()
    (specs / "groups.yaml").write_text("groups: []\n", encoding="utf-8")
    return specs


@pytest.mark.parametrize(("entry", "make"), ENTRIES, ids=[e for e, _ in ENTRIES])
def test_an_entry_that_cannot_be_read_is_refused_naming_it(
    tmp_path: Path, entry: str, make: Callable[[Path], str]
) -> None:
    specs = tree(tmp_path)
    expected = make(specs)
    with pytest.raises(SpecError) as info:
        load_spec(specs, quick=False)
    assert str(info.value) == f"{specs.as_posix()}/{expected}", entry


def test_every_such_entry_is_refused_at_once(tmp_path: Path) -> None:
    specs = tree(tmp_path)
    for make in (_dangling, _loop, _directory_in_the_tree, _link_to_nowhere_of_any_name):
        make(specs)
    os.mkfifo(specs / "teams" / "more.yaml")
    with pytest.raises(SpecError) as info:
        load_spec(specs)
    assert [i.file.removeprefix(f"{specs.as_posix()}/") for i in info.value.issues] == [
        "ops",
        "people",
        "people.yaml",
        "people.yml",
        "teams/more.yaml",
    ]


def test_what_was_read_before_is_still_read(tmp_path: Path) -> None:
    specs = tree(tmp_path)
    (specs / "people.yaml").write_text(PEOPLE, encoding="utf-8")
    (specs / ".old.yaml").symlink_to("nowhere")  # a dot: skipped, as it always was
    (specs / ".shared").symlink_to(tmp_path)  # likewise
    (specs / "README").symlink_to("people.yaml")  # a link named otherwise, that leads somewhere
    (specs / "sub").mkdir()
    os.mkfifo(specs / "sub" / "pipe")  # not named as a spec file: no spec file
    (tmp_path / "venv").mkdir()
    (tmp_path / "venv" / "pyvenv.cfg").write_text("home = /usr/bin\n", encoding="utf-8")
    (tmp_path / "venv" / "junk.yaml").write_text("not: [a spec\n", encoding="utf-8")
    (specs / "venv").symlink_to(tmp_path / "venv")  # a linked virtual environment: skipped
    assert [u.key for u in load_spec(specs).users] == ["a@example.com"]


def test_a_file_that_fails_as_it_is_read_is_an_issue(tmp_path: Path) -> None:
    # Between the walk and the read, an entry can change: the read itself refuses too.
    raw, issues = read_raw(tmp_path, "people.yaml")
    assert raw is None
    assert [str(i) for i in issues] == ["people.yaml:1:1: cannot read file: Is a directory"]


def _without_dac_override() -> list[str] | None:
    """The command prefix that runs a process unable to read what its mode forbids (root
    reads anything, unless it gives up that capability); None where there is none."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search", "--"]


def test_a_file_and_a_directory_without_permission_are_refused(tmp_path: Path) -> None:
    prefix = _without_dac_override()
    if prefix is None:
        pytest.skip("root, and no setpriv to give up reading everything")
    specs = tree(tmp_path)
    (specs / "people.yaml").write_text(PEOPLE, encoding="utf-8")
    (specs / "people.yaml").chmod(0)
    (specs / "locked").mkdir()
    (specs / "locked").chmod(0)
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    try:
        done = subprocess.run(
            [*prefix, sys.executable, "-m", "reconciler", "validate", str(specs)],
            capture_output=True,
            text=True,
            check=False,
            env=env,
        )
    finally:
        (specs / "locked").chmod(0o700)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.splitlines() == [
        f"{specs.as_posix()}/locked:1:1: cannot be listed (Permission denied): {LEFT_OUT}",
        f"{specs.as_posix()}/people.yaml:1:1: cannot be read (permission denied): {LEFT_OUT}",
        "Error: 2 problems in the spec.",
    ]


@pytest.mark.parametrize("make", [_dangling, _directory_out_of_the_tree], ids=["file", "dir"])
def test_apply_under_prune_all_sends_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    make: Callable[[Path], str],
) -> None:
    monkeypatch.setenv("T_TOKEN", "tok-abcdefghijklmnop")
    fake = FakeScim(token="tok-abcdefghijklmnop")
    fake.add_user("a@example.com", active=True)
    specs = tree(tmp_path)
    auth = {"type": "bearer", "token_env": "T_TOKEN"}
    target = {"url": BASE_URL, "auth": auth, "prune": "all"}
    doc = {"version": 1, "targets": {"t": target}}
    (specs / "targets.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    expected = make(specs)
    argv = ["apply", str(specs), "--target", "t", "--auto-approve", "--log-level", "error"]
    code = main(argv, transport=fake.transport)
    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert err.splitlines() == [f"{specs.as_posix()}/{expected}", "Error: 1 problem in the spec."]
    assert fake.requests == []
