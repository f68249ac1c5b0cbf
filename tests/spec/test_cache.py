"""The spec cache (reconciler/spec/cache.py): an unchanged large file is read back, not parsed
again, and gives the same Spec; a damaged or foreign entry is never trusted."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from pathlib import Path

import pytest

from reconciler.errors import SpecError
from reconciler.spec.cache import CACHE_ENV, MIN_BYTES, SpecCache, _to_json, cache_dir
from reconciler.spec.load import load_spec
from reconciler.spec.source import quick_text

TARGET = "targets:\n  t:\n    url: https://scim.example.com/v2\n"


def big_spec(root: Path, users: int = 1200, title: str = "Engineer", manager: str = "") -> Path:
    lines = ["users:"]
    for i in range(users):
        lines += [
            f"  - userName: user{i:05d}@example.com",
            f"    externalId: 'e{i}'",
            f"    name: {{givenName: Given{i}, familyName: Family}}",
            f"    title: {title}",
            f"    emails: [{{value: user{i:05d}@example.com, type: work, primary: true}}]",
            f"    enterprise: {{department: D{i % 7}, employeeNumber: '{1000 + i}'}}",
        ]
    if manager:
        lines[-1] = lines[-1][:-1] + f", manager: {manager}}}"
    (root / "targets.yaml").write_text(TARGET)
    people = root / "people.yaml"
    people.write_text("\n".join(lines) + "\n")
    assert people.stat().st_size >= MIN_BYTES
    return people


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    where = tmp_path / "cache"
    monkeypatch.setenv(CACHE_ENV, str(where))
    return where


def test_a_large_file_is_kept_and_read_back_the_same(tmp_path: Path, cache: Path) -> None:
    root = tmp_path / "spec"
    root.mkdir()
    big_spec(root)
    first = load_spec(root)
    entries = list(cache.glob("*.json"))
    assert len(entries) == 1  # targets.yaml is small: parsed every time
    assert oct(cache.stat().st_mode & 0o777) == oct(0o700)
    again = load_spec(root)
    assert again == first == load_spec(root, quick=False)


def test_the_entry_is_what_the_quick_read_gives(tmp_path: Path, cache: Path) -> None:
    root = tmp_path / "spec"
    root.mkdir()
    people = big_spec(root)
    load_spec(root)
    raw = people.read_bytes()
    kept = SpecCache(cache).get(hashlib.sha256(raw).digest(), len(raw), "people.yaml")
    assert kept == quick_text(raw.decode(), "people.yaml")


def test_a_changed_file_is_parsed_again(tmp_path: Path, cache: Path) -> None:
    root = tmp_path / "spec"
    root.mkdir()
    big_spec(root)
    load_spec(root)
    big_spec(root, title="Manager")
    assert {u.attrs["title"] for u in load_spec(root).users} == {"Manager"}
    assert len(list(cache.glob("*.json"))) == 2


def test_a_damaged_or_foreign_entry_is_ignored_and_replaced(tmp_path: Path, cache: Path) -> None:
    root = tmp_path / "spec"
    root.mkdir()
    big_spec(root)
    expected = load_spec(root)
    (entry,) = cache.glob("*.json")
    entry.write_text("{not json")
    assert load_spec(root) == expected
    data = json.loads(entry.read_text())
    data["key"] = "0" * 64  # an entry copied from another file's name
    data["value"]["users"][0]["title"] = "Forged"
    entry.write_text(json.dumps(data))
    assert load_spec(root) == expected


def test_a_spec_error_in_a_kept_file_is_reported_exactly(tmp_path: Path, cache: Path) -> None:
    root = tmp_path / "spec"
    root.mkdir()
    people = big_spec(root, manager="nobody@example.com")
    with pytest.raises(SpecError):
        load_spec(root)  # the file's quick read is kept, though the spec has an error
    assert len(list(cache.glob("*.json"))) == 1
    with pytest.raises(SpecError) as quick:
        load_spec(root)
    with pytest.raises(SpecError) as exact:
        load_spec(root, quick=False)
    assert quick.value.issues == exact.value.issues
    (issue,) = quick.value.issues
    assert (issue.file, issue.line, issue.col) == (people.as_posix(), 7201, 58)
    assert issue.path == "users[user01199@example.com].enterprise.manager"


def test_the_cache_can_be_turned_off_and_never_breaks_a_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "spec"
    root.mkdir()
    big_spec(root)
    monkeypatch.setenv(CACHE_ENV, "")
    assert cache_dir() is None
    load_spec(root)
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    monkeypatch.setenv(CACHE_ENV, str(blocked / "cache"))
    assert load_spec(root).users  # the cache cannot be written: the load goes on


def test_where_the_cache_lives() -> None:
    assert cache_dir({CACHE_ENV: "/c"}) == Path("/c")
    assert cache_dir({"XDG_CACHE_HOME": "/x"}) == Path("/x/scimrec/spec")
    assert cache_dir({}) == Path.home() / ".cache" / "scimrec" / "spec"


def test_only_the_most_recently_used_entries_are_kept(tmp_path: Path) -> None:
    where = tmp_path / "cache"
    where.mkdir(mode=0o700)
    names = [f"{n:064x}.json" for n in range(5)]
    for n, name in enumerate(names):
        entry = where / name
        entry.write_text("{}")
        os.utime(entry, (1_000_000 + n, 1_000_000 + n))
    (where / "notes.json").write_text("{}")  # not an entry's name: never removed
    with SpecCache(where) as cache:
        cache.wrote = True
        cache.prune(keep=3)
    assert sorted(p.name for p in where.glob("*.json")) == sorted([*names[2:], "notes.json"])


def forged_entry(where: Path, people: Path) -> Path:
    """An entry with the right name and key for `people`, saying a user has another title."""
    raw = people.read_bytes()
    key = SpecCache.key(hashlib.sha256(raw).digest())
    loaded = quick_text(raw.decode(), "people.yaml")
    assert loaded is not None
    data = _to_json(loaded, key)
    data["value"]["users"][0]["title"] = "Forged"
    entry = where / f"{key}.json"
    entry.write_text(json.dumps(data))
    entry.chmod(0o600)
    return entry


def titles(root: Path) -> set[str]:
    return {str(u.attrs["title"]) for u in load_spec(root).users}


def test_a_directory_others_can_write_is_never_trusted(tmp_path: Path, cache: Path) -> None:
    # Anyone who knows a file's content can compute its entry's name: an entry someone
    # else could have written would let them decide what an unchanged file means.
    root = tmp_path / "spec"
    root.mkdir()
    people = big_spec(root)
    cache.mkdir(mode=0o700)
    forged_entry(cache, people)
    assert titles(root) == {"Engineer", "Forged"}  # the trust the cache gives its owner...
    for mode in (0o777, 0o770, 0o755, 0o705):
        cache.chmod(mode)
        assert titles(root) == {"Engineer"}  # ...is never given to a shared directory
        with SpecCache(cache) as refused:
            assert refused.get(hashlib.sha256(people.read_bytes()).digest(), MIN_BYTES, "p") is None
            assert "is not private" in refused.refused
    assert len(list(cache.glob("*.json"))) == 1  # and nothing was written into it


def test_an_entry_others_can_write_or_a_link_is_never_read(tmp_path: Path, cache: Path) -> None:
    root = tmp_path / "spec"
    root.mkdir()
    people = big_spec(root)
    cache.mkdir(mode=0o700)
    entry = forged_entry(cache, people)
    entry.chmod(0o622)
    assert titles(root) == {"Engineer"}  # ignored, and replaced by the user's own
    entry.unlink()
    elsewhere = forged_entry(tmp_path, people)
    entry.symlink_to(elsewhere)
    assert titles(root) == {"Engineer"}
    assert not entry.is_symlink()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs chown")
def test_an_entry_or_directory_owned_by_another_user_is_never_read(
    tmp_path: Path, cache: Path
) -> None:
    root = tmp_path / "spec"
    root.mkdir()
    people = big_spec(root)
    cache.mkdir(mode=0o700)
    entry = forged_entry(cache, people)
    os.chown(entry, 4242, 4242)
    assert titles(root) == {"Engineer"}
    forged_entry(cache, people)
    os.chown(cache, 4242, 4242)
    assert titles(root) == {"Engineer"}


def test_a_linked_cache_directory_is_refused(tmp_path: Path, cache: Path) -> None:
    root = tmp_path / "spec"
    root.mkdir()
    people = big_spec(root)
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    forged_entry(real, people)
    cache.symlink_to(real)
    assert titles(root) == {"Engineer"}
    with SpecCache(cache) as refused:
        assert refused.get(hashlib.sha256(people.read_bytes()).digest(), MIN_BYTES, "p") is None
        assert refused.refused.startswith(f"cannot use {cache}")


class _Marker:
    """Unpickling this would create a file: a JSON entry never runs anything."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.mkdir, (str(self.path),))


def test_a_pickled_entry_runs_nothing(tmp_path: Path, cache: Path) -> None:
    root = tmp_path / "spec"
    root.mkdir()
    big_spec(root)
    expected = load_spec(root)
    (entry,) = cache.glob("*.json")
    marker = tmp_path / "ran"
    payload = pickle.dumps(_Marker(marker))
    pickle.loads(payload)  # noqa: S301 - proves the payload runs when unpickled
    marker.rmdir()
    entry.write_bytes(payload)
    assert load_spec(root) == expected
    assert not marker.exists()
    assert json.loads(entry.read_text())["key"] == entry.stem  # replaced by a JSON entry
