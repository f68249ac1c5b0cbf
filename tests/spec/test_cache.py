"""The spec cache (reconciler/spec/cache.py): an unchanged large file is read back, not parsed
again, and gives the same Spec; a damaged or foreign entry is never trusted."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import pwd
from pathlib import Path
from typing import Any

import pytest

from reconciler.cli import main
from reconciler.errors import SpecError
from reconciler.spec import checked, verdict
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


def entry(cache: Path, people: Path, kind: str) -> Path:
    """Where the `raw` quick read or the `checked` objects of `people` are kept."""
    sha256 = hashlib.sha256(people.read_bytes()).digest()
    if kind == "raw":
        return cache / f"{SpecCache.key(sha256)}.json"
    return cache / f"{checked_name(sha256)}.bin"


def checked_name(sha256: bytes) -> str:
    """The name of the entry keeping the checked objects of a file with this digest."""
    checks = checked.code_digest()
    assert checks is not None
    return checked.key(checks, sha256)


def read_first(cache: Path, people: Path, kind: str) -> Path:
    """The entry of `kind`, made the one the next load reads: a checked entry is read
    before the raw one, so for `raw` the checked one goes."""
    if kind == "raw":
        entry(cache, people, "checked").unlink()
    return entry(cache, people, kind)


def forge(data: dict[str, object], kind: str, title: str) -> None:
    """Give the first user of an entry's data another title."""
    if kind == "raw":
        data["value"]["users"][0]["title"] = title  # type: ignore[index]
    else:
        data["users"]["attrs"][0]["title"] = title  # type: ignore[index]


def read_kept(entry: Path, kind: str, name: str) -> dict[str, Any]:
    """What an entry of `kind` holds, if it is one kept under `name`."""
    if kind == "raw":
        data: dict[str, Any] = json.loads(entry.read_text())
        assert data["key"] == name
        return data
    return checked.opened(entry.read_bytes(), name)  # type: ignore[no-any-return]


def write_kept(entry: Path, kind: str, data: dict[str, Any], name: str) -> None:
    """Write `data` as an entry of `kind` naming `name`, whole and intact."""
    if kind == "raw":
        entry.write_text(json.dumps({**data, "key": name}))
    else:
        entry.write_bytes(checked.sealed(data, name))


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    where = tmp_path / "cache"
    monkeypatch.setenv(CACHE_ENV, str(where))
    return where


def test_a_large_file_is_kept_and_read_back_the_same(tmp_path: Path, cache: Path) -> None:
    root = tmp_path / "spec"
    root.mkdir()
    people = big_spec(root)
    first = load_spec(root)
    notes = {p.name for p in cache.iterdir() if p.read_bytes().startswith(verdict._MAGIC)}
    entries = {p.name for p in cache.iterdir()} - notes
    # targets.yaml is small: parsed every time; people.yaml's read and checked objects kept,
    # and a note that the checks across files passed the tree (spec/verdict.py)
    assert entries == {entry(cache, people, kind).name for kind in ("raw", "checked")}
    assert len(notes) == 1
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
    # each version's read and checked objects, and each tree's note (spec/verdict.py)
    assert len(list(cache.iterdir())) == 6


@pytest.mark.parametrize("kind", ["raw", "checked"])
def test_a_damaged_or_foreign_entry_is_ignored_and_replaced(
    tmp_path: Path, cache: Path, kind: str
) -> None:
    root = tmp_path / "spec"
    root.mkdir()
    people = big_spec(root)
    expected = load_spec(root)
    kept = read_first(cache, people, kind)
    kept.write_text("{not json")
    assert load_spec(root) == expected
    data = read_kept(kept, kind, kept.stem)
    forge(data, kind, "Forged")
    # an entry copied from another file's name
    write_kept(read_first(cache, people, kind), kind, data, "0" * 64)
    assert load_spec(root) == expected
    assert read_kept(kept, kind, kept.stem) != data  # replaced by the user's own


def test_a_spec_error_in_a_kept_file_is_reported_exactly(tmp_path: Path, cache: Path) -> None:
    root = tmp_path / "spec"
    root.mkdir()
    people = big_spec(root, manager="nobody@example.com")
    with pytest.raises(SpecError):
        load_spec(root)  # the file's read and objects are kept, though the spec has an error
    assert len(list(cache.iterdir())) == 2
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


def test_no_home_directory_turns_the_cache_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No HOME and a uid with no passwd entry (a container under an arbitrary uid): the home
    # directory cannot be found, and every load ended as a bug (exit 3).
    def no_entry(uid: int) -> Any:
        raise KeyError(f"getpwuid(): uid not found: {uid}")

    monkeypatch.delenv(CACHE_ENV, raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv("HOME", raising=False)
    monkeypatch.setattr(pwd, "getpwuid", no_entry)
    assert cache_dir() is None
    (tmp_path / "t.yaml").write_text(TARGET + "users:\n  - userName: a@example.com\n")
    assert main(["validate", str(tmp_path)]) == 0


def test_only_the_most_recently_used_entries_are_kept(tmp_path: Path) -> None:
    where = tmp_path / "cache"
    where.mkdir(mode=0o700)
    names = [f"{n:064x}.{'bin' if n % 2 else 'json'}" for n in range(5)]
    for n, name in enumerate(names):
        entry = where / name
        entry.write_text("{}")
        os.utime(entry, (1_000_000 + n, 1_000_000 + n))
    (where / "notes.json").write_text("{}")  # not an entry's name: never removed
    (where / f"{0:064x}.txt").write_text("{}")
    with SpecCache(where) as cache:
        cache.wrote = True
        cache.prune(keep=3)
    left = [*names[2:], "notes.json", f"{0:064x}.txt"]
    assert sorted(p.name for p in where.iterdir()) == sorted(left)


def forged_entry(where: Path, people: Path, kind: str = "raw") -> Path:
    """An entry of `kind` with the right name and key for `people`, saying a user has
    another title."""
    raw = people.read_bytes()
    forged = where / entry(where, people, kind).name
    if kind == "raw":
        loaded = quick_text(raw.decode(), "people.yaml")
        assert loaded is not None
        data = _to_json(loaded, forged.stem)
    else:
        users = load_spec(people.parent, quick=False).users  # the exact read: no cache
        data = dict(checked.to_columns(users, ()))
    forge(data, kind, "Forged")
    write_kept(forged, kind, data, forged.stem)
    forged.chmod(0o600)
    return forged


def titles(root: Path) -> set[str]:
    return {str(u.attrs["title"]) for u in load_spec(root).users}


@pytest.mark.parametrize("kind", ["raw", "checked"])
def test_a_directory_others_can_write_is_never_trusted(
    tmp_path: Path, cache: Path, kind: str
) -> None:
    # Anyone who knows a file's content can compute its entry's name: an entry someone
    # else could have written would let them decide what an unchanged file means.
    root = tmp_path / "spec"
    root.mkdir()
    people = big_spec(root)
    cache.mkdir(mode=0o700)
    forged_entry(cache, people, kind)
    assert titles(root) == {"Engineer", "Forged"}  # the trust the cache gives its owner...
    kept = sorted(cache.iterdir())
    sha256 = hashlib.sha256(people.read_bytes()).digest()
    for mode in (0o777, 0o770, 0o755, 0o705):
        cache.chmod(mode)
        assert titles(root) == {"Engineer"}  # ...is never given to a shared directory
        with SpecCache(cache) as refused:
            assert refused.get(sha256, MIN_BYTES, "p") is None
            assert refused.read_raw(f"{checked_name(sha256)}.bin") is None
            assert "is not private" in refused.refused
    assert sorted(cache.iterdir()) == kept  # and nothing was written into it


@pytest.mark.parametrize("kind", ["raw", "checked"])
def test_an_entry_others_can_write_or_a_link_is_never_read(
    tmp_path: Path, cache: Path, kind: str
) -> None:
    root = tmp_path / "spec"
    root.mkdir()
    people = big_spec(root)
    cache.mkdir(mode=0o700)
    forged = forged_entry(cache, people, kind)
    forged.chmod(0o622)
    assert titles(root) == {"Engineer"}  # ignored, and replaced by the user's own
    read_first(cache, people, kind).unlink()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    forged.symlink_to(forged_entry(elsewhere, people, kind))
    assert titles(root) == {"Engineer"}
    assert not forged.is_symlink()


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


@pytest.mark.parametrize("kind", ["raw", "checked"])
def test_a_pickled_entry_runs_nothing(tmp_path: Path, cache: Path, kind: str) -> None:
    root = tmp_path / "spec"
    root.mkdir()
    people = big_spec(root)
    expected = load_spec(root)
    kept = read_first(cache, people, kind)
    marker = tmp_path / "ran"
    payload = pickle.dumps(_Marker(marker))
    pickle.loads(payload)  # noqa: S301 - proves the payload runs when unpickled
    marker.rmdir()
    kept.write_bytes(payload)
    assert load_spec(root) == expected
    assert not marker.exists()
    assert read_kept(kept, kind, kept.stem)  # replaced by an entry of the user's own


def test_a_value_json_cannot_write_is_just_not_kept(tmp_path: Path, cache: Path) -> None:
    kept = SpecCache(cache, min_bytes=0, checks=checked.code_digest())  # every file, however small
    root = tmp_path / "spec"
    root.mkdir()
    # A hexadecimal integer has no bound on its digits; its decimal form, which JSON
    # writes, is past the bound Python puts on converting integers to text.
    big = "0x" + "f" * 4000
    (root / "people.yaml").write_text(f"users:\n  - {{userName: a, custom: {{n: {big}}}}}\n")
    for _ in range(2):
        assert load_spec(root, cache=kept).users[0].custom["n"] == 16**4000 - 1
    assert not list(cache.glob("*.json"))


def test_what_a_process_ended_while_writing_left_is_removed_once_stale(tmp_path: Path) -> None:
    where = tmp_path / "cache"
    where.mkdir(mode=0o700)
    name = "a" * 64
    stale, fresh = where / f".{name}.bin.{'0' * 16}.tmp", where / f".{name}.json.{'1' * 16}.tmp"
    other = where / ".notes.tmp"  # not a name the cache writes: never touched
    for path in (stale, fresh, other):
        path.write_bytes(b"part of an entry")
        os.utime(path, (1, 1) if path is not fresh else None)
    with SpecCache(where) as cache:
        cache.keep_raw(f"{'b' * 64}.json", b"{}")  # a load that wrote prunes
        cache.prune()
    assert sorted(p.name for p in where.iterdir()) == sorted(
        [fresh.name, other.name, f"{'b' * 64}.json"]
    )


@pytest.mark.parametrize(
    "value",
    [
        "null",
        "~",
        '"\\U0001F600 x"',  # outside the BMP: json.dumps escaped it as a surrogate pair
        "Müller Ωmega",  # written as UTF-8, not escaped
        "1.5",
        "12345678901234567890123456789",  # past 64 bits
        "'plain'",
    ],
)
def test_every_value_a_quick_read_holds_is_read_back_the_same(
    tmp_path: Path, cache: Path, value: str
) -> None:
    # The quick read is written as JSON (msgspec where its text is exact, else json.dumps,
    # spec/cache.py `_encoded`): what comes back must be what the file says, value and type.
    kept = SpecCache(cache, min_bytes=0)
    text = f"users:\n  - userName: a\n    custom: {{n: {value}}}\n"
    raw = text.encode()
    sha256 = hashlib.sha256(raw).digest()
    read = quick_text(text, "people.yaml")
    assert read is not None
    kept.put(sha256, len(raw), read)
    back = kept.get(sha256, len(raw), "people.yaml")
    assert back is not None
    assert repr(back.value) == repr(read.value)  # types too
    assert back.marks == read.marks and back.texts == read.texts
    assert [type(v) for v in back.value["users"][0]["custom"].values()] == [
        type(v) for v in read.value["users"][0]["custom"].values()
    ]


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan", "1.0e+400"])
def test_a_number_json_cannot_hold_is_never_a_quick_read_to_keep(value: str) -> None:
    # JSON has no NaN or infinity (msgspec would write null): the quick read gives such a
    # file up, and the exact read refuses the value.
    assert quick_text(f"users:\n  - userName: a\n    custom: {{n: {value}}}\n", "p.yaml") is None
