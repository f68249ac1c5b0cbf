"""Checked objects kept by the spec cache (reconciler/spec/checked.py): a load that reads them
gives what the exact read gives, on every spec the tests know, and an entry never outlives
the code that checked it."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.core.config import Spec
from reconciler.errors import SpecError, SpecIssue
from reconciler.spec import checked
from reconciler.spec.cache import SpecCache
from reconciler.spec.load import load_spec
from reconciler.spec.objects import exact_positions
from reconciler.spec.positions import Reread
from tests.spec.test_load import Files, write_tree
from tests.spec.test_quick_read import trees

# Every field a declared object can have, in files without targets (the kept ones).
RICH: Files = {
    "targets.yaml": (
        "targets:\n  t:\n    url: https://scim.example.com/v2\n"
        "    extensions: {acme: 'urn:acme:2.0:User'}\n"
    ),
    "people.yaml": (
        "users:\n"
        "  - userName: a@x.io\n"
        "    custom: {mail: A@X.io, tags: [x, 1], n: 1.5}\n"
        "    acme: {costCode: C1}\n"
        "    deprovision: delete\n"
        "    previously: [old-a@x.io]\n"
        "    emails: [{value: a@x.io, primary: true}]\n"
        "    name: null\n"
        "  - {userName: b@x.io, state: absent, active: false, enterprise: {manager: null}}\n"
        "  - {userName: c@x.io, enterprise: {manager: A@x.io}, title: ~}\n"
        "groups:\n"
        "  - {displayName: All, groups: [Eng], members_policy: additive}\n"
        "  - displayName: Eng\n"
        "    members: [a@x.io, C@x.io]\n"
        "    previously: [Engineering]\n"
        "    required_members: [a@x.io]\n"
        "    min_members: 1\n"
        "  - {displayName: Gone, state: absent}\n"
        "  - {displayName: Open}\n"
    ),
}


@pytest.fixture
def kept(tmp_path: Path) -> Path:
    """Where a private cache keeps every file, however small (`load`)."""
    return tmp_path / "cache"


def load(root: Path, where: Path, checks: bytes | None = checked.code_digest()) -> Spec:
    """A quick load through the cache at `where`, keeping every file, whatever its size."""
    return load_spec(root, cache=SpecCache(where, min_bytes=0, checks=checks))


def outcome(root: Path, where: Path | None) -> Spec | list[SpecIssue]:
    """The loaded spec or its issues: through the cache at `where`, or the exact read."""
    try:
        return load_spec(root, quick=False) if where is None else load(root, where)
    except SpecError as exc:
        return exc.issues


def checked_entries(where: Path, root: Path) -> set[str]:
    """The names of `root`'s files whose checked objects `where` keeps."""
    found = set()
    for path in root.rglob("*.y*ml"):
        name = entry_name(path)
        if (where / name).exists():
            found.add(path.relative_to(root).as_posix())
    return found


def entry_name(path: Path) -> str:
    """The name of the entry keeping the checked objects of the file at `path`."""
    digest = checked.code_digest()
    assert digest is not None
    return f"{checked.key(digest, hashlib.sha256(path.read_bytes()).digest())}.bin"


@pytest.mark.parametrize(("name", "tree"), trees(), ids=[n for n, _ in trees()])
def test_loads_from_checked_objects_agree_with_the_exact_read(
    tmp_path: Path, kept: Path, name: str, tree: Files
) -> None:
    root = tmp_path / "spec"
    write_tree(root, tree)
    exact = outcome(root, None)
    first, again = outcome(root, kept), outcome(root, kept)
    assert first == again == exact
    if isinstance(exact, list) and isinstance(again, list):  # the same file:line:col too
        assert [str(i) for i in again] == [str(i) for i in exact]


def test_every_field_comes_back_and_no_object_is_checked_again(tmp_path: Path, kept: Path) -> None:
    root = tmp_path / "spec"
    write_tree(root, RICH)
    first = load(root, kept)
    assert checked_entries(kept, root) == {"people.yaml"}  # targets.yaml declares targets
    again = load(root, kept)
    assert again == first == load_spec(root, quick=False)
    for old, new in zip((*first.users, *first.groups), (*again.users, *again.groups), strict=True):
        assert (old.location, dict(old.attr_locations)) == (new.location, dict(new.attr_locations))
    assert dict(again.users[0].custom) == {"mail": "A@X.io", "tags": ["x", 1], "n": 1.5}
    assert again.groups[1].min_members == 1
    # The objects come from the entry, not from the file read and checked again: a title
    # changed in the entry alone is what the next load gives.
    entry = kept / entry_name(root / "people.yaml")
    data = checked.opened(entry.read_bytes(), entry.stem)
    data["users"]["attrs"][0]["title"] = "From the entry"
    entry.write_bytes(checked.sealed(data, entry.stem))
    assert load(root, kept).users[0].attrs["title"] == "From the entry"


def test_a_file_with_its_own_issue_is_never_kept_checked(tmp_path: Path, kept: Path) -> None:
    root = tmp_path / "spec"
    write_tree(root, {**RICH, "more.yaml": "users:\n  - {userName: d@x.io, titel: T}\n"})
    for _ in range(2):
        assert isinstance(outcome(root, kept), list)
    assert checked_entries(kept, root) == {"people.yaml"}


def test_an_entry_never_outlives_the_code_that_checked_it(tmp_path: Path) -> None:
    spec_code = Path(checked.__file__).parent
    copy = tmp_path / "spec"
    shutil.copytree(spec_code, copy, ignore=shutil.ignore_patterns("__pycache__"))
    places = (copy, spec_code.parent / "core" / "attributes.py")
    before = checked.code_digest(places)
    objects = copy / "objects.py"
    objects.write_text(objects.read_text() + "# a change to a check\n")
    checked.code_digest.cache_clear()  # the digest is kept per process: the code changed
    after = checked.code_digest(places)
    assert before is not None and after is not None
    assert checked.key(before, b"file") != checked.key(after, b"file")
    assert checked.key(before, b"file") != checked.key(before, b"other file")
    assert checked.key(before, b"file") != SpecCache.key(b"file")  # never a quick read's name


def test_an_entry_never_outlives_the_yaml_reader_that_parsed_its_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The objects come from PyYAML's read of the file wherever the line read gives up, so
    # another PyYAML, or one built without libyaml, must not find them: a quick read is
    # keyed so too (SpecCache.key).
    places = (Path(checked.__file__).parent,)
    before = checked.code_digest.__wrapped__(places)
    monkeypatch.setattr(yaml, "__version__", "0.0")
    assert checked.code_digest.__wrapped__(places) != before
    monkeypatch.undo()
    monkeypatch.setattr(yaml, "__with_libyaml__", not yaml.__with_libyaml__)
    assert checked.code_digest.__wrapped__(places) != before


# Damage to one object's field, at (kind, field, row): a value marshal can write, in an
# entry whose digest is right, but one no clean check of the file could have given.
DAMAGE = [
    ("users", "attrs", 0, {"title": "T"}),  # no userName: no key
    ("users", "attrs", 0, {"userName": 5}),  # a key that is no name
    ("users", "attrs", 0, ["userName"]),
    ("users", "state", 0, "gone"),
    ("users", "state", 0, ["present"]),
    ("users", "line", 0, "2"),  # a line
    ("users", "col", 0, True),
    ("users", "custom", 0, [1]),  # custom
    ("users", "aliases", 0, "acme"),  # extension aliases
    ("users", "aliases", 0, ("acme",)),
    ("users", "deprovision", 0, 5),  # deprovision
    ("users", "deprovision", 0, "archive"),
    ("users", "deprovision", 0, ["delete"]),
    ("users", "previously", 0, {"old": 1}),  # previously
    ("users", "previously", 0, [b"old"]),
    ("groups", "attrs", 1, {"externalId": "e"}),  # no displayName: no key
    ("groups", "members", 1, [5]),  # members
    ("groups", "members", 1, "ab"),
    ("groups", "subgroups", 0, [1]),  # subgroups
    ("groups", "policy", 0, ["additive"]),  # members_policy
    ("groups", "policy", 0, "all"),
    ("groups", "required", 1, [None]),  # required_members
    ("groups", "least", 1, "1"),  # min_members
    ("groups", "least", 1, False),
]


@pytest.mark.parametrize(("kind", "field", "row", "value"), DAMAGE)
def test_a_value_no_check_could_have_written_is_damage(
    tmp_path: Path, kept: Path, kind: str, field: str, row: int, value: object
) -> None:
    def change(data: dict[str, Any]) -> None:
        data[kind][field][row] = value

    assert loaded_after(tmp_path, kept, change) == load_spec(tmp_path / "spec", quick=False)


# Damage to the columns as a whole: each kind's must be the fields `to_columns` writes, one
# value per object in each, or none of them is read.
SHAPES = {
    "a column short": lambda d: d["users"]["line"].pop(),
    "a column long": lambda d: d["groups"]["least"].append(None),
    "a column missing": lambda d: d["users"].pop("custom"),
    "a column more": lambda d: d["groups"].update(custom=[None] * 4),
    "a column not a list": lambda d: d["users"].update(line=(1, 1, 1)),
    "a kind missing": lambda d: d.pop("groups"),
    "a kind not columns": lambda d: d.update(users=[]),
}


@pytest.mark.parametrize("change", SHAPES.values(), ids=SHAPES.keys())
def test_columns_of_another_shape_are_damage(
    tmp_path: Path, kept: Path, change: Callable[[dict[str, Any]], object]
) -> None:
    assert loaded_after(tmp_path, kept, change) == load_spec(tmp_path / "spec", quick=False)


def loaded_after(tmp_path: Path, kept: Path, change: Callable[[dict[str, Any]], object]) -> Spec:
    """The load after RICH's entry is changed by `change` and sealed again, proving the
    load read and checked the file again: the entry written anew is the first one."""
    root = tmp_path / "spec"
    write_tree(root, RICH)
    load(root, kept)
    entry = kept / entry_name(root / "people.yaml")
    clean = entry.read_bytes()
    data = checked.opened(clean, entry.stem)
    change(data)
    entry.write_bytes(checked.sealed(data, entry.stem))
    people = root / "people.yaml"
    raw = people.read_bytes()
    reread = Reread(people, people.as_posix(), hashlib.sha256(raw).digest(), exact_positions)
    with SpecCache(kept, min_bytes=0, checks=checked.code_digest()) as cache:
        sha256 = hashlib.sha256(raw).digest()
        assert checked.read(cache, sha256, len(raw), people.as_posix(), reread) is None
    spec = load(root, kept)
    # read and checked again, as for any damage, and kept anew
    assert checked.opened(entry.read_bytes(), entry.stem) == checked.opened(clean, entry.stem)
    return spec


def test_any_byte_changed_in_an_entry_is_damage(tmp_path: Path, kept: Path) -> None:
    """The digest the entry holds of its columns is checked before marshal reads them: a
    byte changed anywhere, or an entry cut short, is read and checked again."""
    root = tmp_path / "spec"
    write_tree(root, RICH)
    expected = load(root, kept)
    entry = kept / entry_name(root / "people.yaml")
    clean = entry.read_bytes()
    assert checked.opened(clean, entry.stem)
    damaged = [clean[:cut] for cut in (0, 10, len(clean) // 2, len(clean) - 1)]
    for at in range(len(clean)):
        flipped = bytearray(clean)
        flipped[at] ^= 1 << (at % 8)
        damaged.append(bytes(flipped))
    for raw in damaged:
        with pytest.raises(ValueError, match="a damaged entry"):
            checked.opened(raw, entry.stem)
    for raw in damaged[:: max(1, len(damaged) // 40)]:
        entry.write_bytes(raw)
        again = load(root, kept)
        assert again == expected
        # replaced by the file's own
        assert checked.opened(entry.read_bytes(), entry.stem) == checked.opened(clean, entry.stem)
    with pytest.raises(ValueError, match="a damaged entry"):
        checked.opened(clean, "0" * 64)  # kept under another file's name


@pytest.mark.parametrize("missing", ["a module", "a package"])
def test_without_the_checking_code_to_read_no_objects_are_kept(
    tmp_path: Path, kept: Path, missing: str
) -> None:
    """Installed without its sources (only compiled modules), scimrec cannot tell one version
    of its checks from another: it loads as without checked entries, and keeps none."""
    spec_code = Path(checked.__file__).parent
    sourceless = tmp_path / "sourceless"
    sourceless.mkdir()
    if missing == "a module":
        places = (spec_code, spec_code.parent / "core" / "no-such-module.py")
    else:
        places = (sourceless, spec_code.parent / "core" / "attributes.py")
    checks = checked.code_digest(places)
    assert checks is None
    root = tmp_path / "spec"
    write_tree(root, RICH)
    for _ in range(2):
        assert load(root, kept, checks) == load_spec(root, quick=False)
    assert {p.suffix for p in kept.iterdir()} == {".json"}  # each file's quick read only
    assert len(list(kept.iterdir())) == 2


SHARED_KEYS: Files = {
    "people.yaml": (
        "users:\n"
        "  - userName: ann@example.com\n"
        "    enterprise: {manager: ben@example.com}\n"
        "  - userName: ben@example.com\n"
        "groups:\n"
        "  - displayName: Staff\n"
        "    members: [ann@example.com, ben@example.com]\n"
    )
}


@pytest.mark.parametrize("how", ["exact", "quick", "checked entry"])
def test_members_and_managers_hold_each_users_own_key(tmp_path: Path, how: str) -> None:
    """Written as the key, a member or a manager is the key's own string: a 100,000-user
    spec holds each once, not once per group and report."""
    root = tmp_path / "spec"
    write_tree(root, SHARED_KEYS)
    if how == "exact":
        spec = load_spec(root, quick=False)
    else:
        spec = load(root, tmp_path / "cache")
        if how == "checked entry":
            spec = load(root, tmp_path / "cache")
    ann, ben = spec.users
    (staff,) = spec.groups
    assert staff.members == ("ann@example.com", "ben@example.com")
    assert staff.members[0] is ann.key and staff.members[1] is ben.key
    assert ann.attrs["enterprise.manager"] is ben.key
    assert ann.key is ann.attrs["userName"] and staff.key is staff.attrs["displayName"]


def test_a_kept_file_changed_to_bytes_not_utf8_is_reported_as_before(
    tmp_path: Path, kept: Path
) -> None:
    """A file whose objects are kept is not decoded again (its bytes were, when kept); any
    other bytes are, and a file that is not UTF-8 is reported where it was."""
    root = tmp_path / "spec"
    write_tree(root, RICH)
    first = load(root, kept)
    assert load(root, kept) == first  # from the kept objects: the same digest too
    people = root / "people.yaml"
    people.write_bytes(people.read_bytes().replace(b"a@x.io", b"a@x.\xff", 1))
    assert outcome(root, kept) == outcome(root, None)
    issues = outcome(root, kept)
    assert isinstance(issues, list)
    assert [str(i) for i in issues] == [f"{people.as_posix()}:2:19: file is not valid UTF-8"]
