"""The checks across files remembered for a tree they passed (reconciler/spec/verdict.py):
skipped only for that very tree, read by that very code, and the Spec the same as when
they run; never remembered for a tree they fault or change."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from reconciler.core.config import Spec
from reconciler.errors import SpecError
from reconciler.spec import checked, load, verdict
from reconciler.spec.cache import SpecCache
from reconciler.spec.load import load_spec

TARGET = "targets:\n  t:\n    url: https://scim.example.com/v2\n"


def people(count: int, start: int = 0, manager: str = "user00000@example.com") -> str:
    lines = ["users:"]
    for i in range(start, start + count):
        lines += [
            f"  - userName: user{i:05d}@example.com",
            f"    name: {{givenName: Given{i}, familyName: Family}}",
        ]
        if i:
            lines.append(f"    enterprise: {{manager: {manager}}}")
    return "\n".join(lines) + "\n"


def groups(count: int) -> str:
    lines = ["groups:", "  - displayName: Staff", "    members:"]
    lines += [f"      - user{i:05d}@example.com" for i in range(count)]
    return "\n".join(lines) + "\n"


def tree(root: Path) -> Path:
    root.mkdir()
    (root / "targets.yaml").write_text(TARGET)
    (root / "a.yaml").write_text(people(40))
    (root / "b.yaml").write_text(people(40, start=40))
    (root / "groups.yaml").write_text(groups(80))
    return root


class Counted:
    """Counts the runs of the checks across files."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.runs = 0
        real = load._Checker.cross_checks

        def counted(checker: load._Checker) -> None:
            self.runs += 1
            real(checker)

        monkeypatch.setattr(load._Checker, "cross_checks", counted)


@pytest.fixture
def cache(tmp_path: Path) -> SpecCache:
    # Every file kept, however small, as large files are.
    return SpecCache(tmp_path / "cache", min_bytes=0, checks=checked.code_digest())


def loads(root: Path, cache: SpecCache, times: int = 2) -> list[Spec]:
    return [load_spec(root, cache=cache) for _ in range(times)]


def test_a_tree_they_passed_is_not_checked_again_and_loads_the_same(
    tmp_path: Path, cache: SpecCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tree(tmp_path / "spec")
    counted = Counted(monkeypatch)
    first, second, third = loads(root, cache, 3)
    assert counted.runs == 1
    exact = load_spec(root, quick=False)
    assert first == second == third == exact
    assert counted.runs == 2  # the exact read runs them always


@pytest.mark.parametrize("change", ["a byte", "a file added", "a file renamed", "a file gone"])
def test_any_change_to_the_tree_checks_it_again(
    tmp_path: Path, cache: SpecCache, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    root = tree(tmp_path / "spec")
    loads(root, cache)
    counted = Counted(monkeypatch)
    if change == "a byte":
        text = (root / "b.yaml").read_text()
        (root / "b.yaml").write_text(text.replace("Given41", "Given4l"))
    elif change == "a file added":
        (root / "c.yaml").write_text(people(2, start=80))
    elif change == "a file renamed":
        (root / "b.yaml").rename(root / "c.yaml")
    else:
        (root / "groups.yaml").unlink()
    again = load_spec(root, cache=cache)
    assert counted.runs == 1
    assert again == load_spec(root, quick=False)


FAULTS = {
    # Each file clean on its own (so its objects are kept), the tree not; some of these
    # leave every object as read, so only the issue itself may keep a note from being kept.
    "a user declared twice": ("d.yaml", people(1, start=39), "duplicate user"),
    "a manager no file declares": (
        "c.yaml",
        people(1, start=80, manager="nobody@example.com"),
        "is not a declared user",
    ),
    "a member no file declares": (
        "groups.yaml",
        groups(80) + "      - ghost@example.com\n",
        "member 'ghost@example.com' is not a declared user",
    ),
    "an extension no target declares": (
        "c.yaml",
        "users:\n  - userName: x@example.com\n    acme: {badge: '7'}\n",
        "unknown user attribute 'acme'",
    ),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_fault_across_files_is_reported_on_every_load(
    tmp_path: Path, cache: SpecCache, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    root = tree(tmp_path / "spec")
    name, text, message = FAULTS[fault]
    (root / name).write_text(text)
    counted = Counted(monkeypatch)
    for _ in range(3):
        with pytest.raises(SpecError) as caught:
            load_spec(root, cache=cache)
        assert message in "\n".join(map(str, caught.value.issues))
    assert counted.runs == 3


def test_the_code_s_digest_covers_every_module_and_the_readers_versions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "reconciler"
    (source / "spec").mkdir(parents=True)
    (source / "a.py").write_text("A = 1\n")
    (source / "spec" / "b.py").write_text("B = 1\n")
    digest = verdict.code_digest.__wrapped__  # uncached
    first = digest(source)
    (source / "spec" / "b.py").write_text("B = 2\n")
    second = digest(source)
    (source / "c.py").write_text("")
    third = digest(source)
    monkeypatch.setattr(yaml, "__version__", "0.0")
    fourth = digest(source)
    assert len({first, second, third, fourth}) == 4
    assert digest(tmp_path / "nothing") is None


def test_a_tree_whose_references_the_checks_resolve_is_checked_every_time(
    tmp_path: Path, cache: SpecCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A manager written in another case is resolved to the user's key by the checks: the
    # tree is valid, but its objects as read are not what the checks leave, so nothing is
    # noted and they run on every load.
    root = tree(tmp_path / "spec")
    (root / "b.yaml").write_text(people(40, start=40, manager="USER00000@example.com"))
    counted = Counted(monkeypatch)
    specs = loads(root, cache, 3)
    assert counted.runs == 3
    assert specs[0] == specs[2] == load_spec(root, quick=False)
    managers = {u.attrs.get("enterprise.manager") for u in specs[2].users if u.key >= "user00040"}
    assert managers == {"user00000@example.com"}


@pytest.mark.parametrize("written", ["as the keys", "another way"])
def test_a_target_s_assigned_and_role_names_are_resolved_on_every_load_that_needs_it(
    tmp_path: Path, cache: SpecCache, monkeypatch: pytest.MonkeyPatch, written: str
) -> None:
    # The checks across files also resolve the group and user names a target's `assign:`
    # and `roles:` give to the declared keys (spec/assignment.py): a tree they resolve
    # one in is never noted, or a later load would keep `staff` where the group is
    # `Staff`, assign nothing, and take the users' roles away.
    root = tree(tmp_path / "spec")  # its groups.yaml declares Staff
    group, member = ("Staff", "user00001@example.com")
    if written == "another way":
        group, member = ("staff", "USER00001@example.com")
    (root / "targets.yaml").write_text(
        TARGET
        + f"    assign: {{groups: ['{group}']}}\n"
        + f"    roles:\n      admin: {{groups: ['{group}'], required_members: ['{member}']}}\n"
    )
    counted = Counted(monkeypatch)
    specs = loads(root, cache, 3)
    assert counted.runs == (3 if written == "another way" else 1)
    exact = load_spec(root, quick=False)
    assert specs[0] == specs[1] == specs[2] == exact
    target = specs[2].targets["t"]
    assert target.assign_groups == ("Staff",)
    (admin,) = target.roles
    assert admin.groups == ("Staff",)
    assert admin.required_members == ("user00001@example.com",)


def test_other_code_never_takes_the_note(
    tmp_path: Path, cache: SpecCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tree(tmp_path / "spec")
    loads(root, cache)
    counted = Counted(monkeypatch)
    monkeypatch.setattr(verdict, "code_digest", lambda: b"another version of scimrec")
    load_spec(root, cache=cache)
    assert counted.runs == 1
    monkeypatch.setattr(verdict, "code_digest", lambda: None)  # source that cannot be read
    loads(root, cache)
    assert counted.runs == 3


def test_a_note_under_another_name_or_damaged_is_refused(
    tmp_path: Path, cache: SpecCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tree(tmp_path / "spec")
    loads(root, cache)
    assert cache.where is not None
    notes = [p for p in cache.where.iterdir() if p.read_bytes().startswith(verdict._MAGIC)]
    assert len(notes) == 1
    (note,) = notes
    # The tree changes; the old note is copied under the new tree's name.
    (root / "b.yaml").write_text(people(40, start=40).replace("Given41", "Given4l"))
    counted = Counted(monkeypatch)
    load_spec(root, cache=cache)
    assert counted.runs == 1
    fresh = [p for p in cache.where.iterdir() if p.read_bytes().startswith(verdict._MAGIC)]
    (new,) = [p for p in fresh if p != note]
    new.write_bytes(note.read_bytes())
    load_spec(root, cache=cache)
    assert counted.runs == 2
    new.write_bytes(b"")
    load_spec(root, cache=cache)
    assert counted.runs == 3


def test_a_kept_file_s_references_are_the_user_s_own_key(tmp_path: Path, cache: SpecCache) -> None:
    # Skipped, the checks do not make each member and manager the very string of its
    # user's key (spec/references.py); keys and references are kept interned instead, so
    # a load reading them back shares them all the same (memory, and look-ups by identity).
    root = tree(tmp_path / "spec")
    spec = loads(root, cache)[1]
    keys = {u.key: u.key for u in spec.users}
    (staff,) = spec.groups
    assert staff.members and all(keys[m] is m for m in staff.members)
    managers = [
        u.attrs["enterprise.manager"] for u in spec.users if u.key != "user00000@example.com"
    ]
    assert managers and all(keys[str(m)] is m for m in managers)


_DIGESTS_AFTER_AN_EDIT = """
import sys
from pathlib import Path
from reconciler.spec import checked, verdict  # the digests are taken here
root = Path(verdict.__file__).parent
(root / "load.py").write_text((root / "load.py").read_text() + "# a stricter check\\n")
print(verdict.code_digest().hex(), checked.code_digest().hex())
"""


def test_the_code_s_digests_name_the_code_that_was_imported(tmp_path: Path) -> None:
    # Source changed on disk after the modules were imported (an upgrade under a running
    # process) must not name what the old code decides: the digests are those it was
    # imported from, not those of the disk at the first load.
    copy = tmp_path / "copy"
    source = Path(verdict.__file__).parents[1]
    shutil.copytree(source, copy / "reconciler", ignore=shutil.ignore_patterns("*.pyc"))
    before = verdict.code_digest.__wrapped__(copy / "reconciler")
    assert before is not None
    expected = [before.hex(), _checked_digest(copy)]
    env = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", _DIGESTS_AFTER_AN_EDIT], env=env, cwd=tmp_path,
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert done.stdout.split() == expected


def _checked_digest(copy: Path) -> str:
    """checked.code_digest of the copy as it was, the attribute tables and model its own."""
    core = copy / "reconciler" / "core"
    places = (copy / "reconciler" / "spec", core / "attributes.py", core / "model.py")
    digest = checked.code_digest.__wrapped__(places)
    assert digest is not None
    return digest.hex()
