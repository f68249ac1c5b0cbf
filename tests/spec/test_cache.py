"""The spec cache (reconciler/spec/cache.py): an unchanged large file is read back, not parsed
again, and gives the same Spec; a damaged or foreign entry is never trusted."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from reconciler.errors import SpecError
from reconciler.spec.cache import CACHE_ENV, MIN_BYTES, SpecCache, cache_dir
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
    cache = SpecCache(tmp_path)
    for n in range(5):
        entry = tmp_path / f"{n}.json"
        entry.write_text("{}")
        os.utime(entry, (1_000_000 + n, 1_000_000 + n))
    cache.wrote = True
    cache.prune(keep=3)
    assert sorted(p.name for p in tmp_path.glob("*.json")) == ["2.json", "3.json", "4.json"]
