"""`scimrec init`'s starter tree: it validates, refuses to clobber files, and plans for real."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reconciler.cli.output import write_file
from reconciler.errors import UsageError
from reconciler.spec.load import load_spec
from reconciler.spec.schema import schema_text
from reconciler.spec.starter import SCHEMA_COPY, init_files, write_init

SPEC_FILES = ["targets.yaml", "people/engineering.yaml", "groups.yaml"]


def test_init_files_are_the_starter_tree() -> None:
    files = init_files()
    assert sorted(files) == sorted([*SPEC_FILES, SCHEMA_COPY])
    assert files[SCHEMA_COPY] == schema_text()
    assert "url: http://127.0.0.1:8000/scim/v2\n" in files["targets.yaml"]
    assert "url: http://127.0.0.1:8123/scim/v2\n" in init_files(8123)["targets.yaml"]


def test_init_tree_loads(tmp_path: Path) -> None:
    written = write_init(tmp_path, force=False, write=write_file)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == sorted(init_files())
    spec = load_spec(tmp_path)
    assert list(spec.targets) == ["sandbox"]
    target = spec.targets["sandbox"]
    assert (target.url, target.auth.type, target.auth.token_env) == (
        "http://127.0.0.1:8000/scim/v2",
        "bearer",
        "SANDBOX_SCIM_TOKEN",
    )
    assert [(u.key, u.present) for u in spec.users] == [
        ("ada@example.com", True),
        ("grace@example.com", True),
        ("mallory@example.com", False),
    ]
    assert spec.users[0].attrs["enterprise.manager"] == "grace@example.com"
    assert [(g.key, g.members) for g in spec.groups] == [
        ("Engineering", ("ada@example.com", "grace@example.com"))
    ]


@pytest.mark.parametrize("name", SPEC_FILES)
def test_each_file_points_editors_at_the_schema_copy(tmp_path: Path, name: str) -> None:
    write_init(tmp_path, force=False, write=write_file)
    first = (tmp_path / name).read_text(encoding="utf-8").splitlines()[0]
    found = re.fullmatch(r"# yaml-language-server: \$schema=(\S+)", first)
    assert found, first
    # yaml-language-server resolves a relative $schema against the file's own directory.
    assert (tmp_path / name).parent.joinpath(found[1]).resolve() == tmp_path / SCHEMA_COPY


def test_every_file_is_commented() -> None:
    for name in SPEC_FILES:
        comments = [line for line in init_files()[name].splitlines() if "#" in line]
        assert len(comments) >= 3, name


def test_write_init_refuses_to_overwrite(tmp_path: Path) -> None:
    write_init(tmp_path, force=False, write=write_file)
    groups = tmp_path / "groups.yaml"
    groups.write_text("groups: []\n", encoding="utf-8")
    with pytest.raises(UsageError) as caught:
        write_init(tmp_path, force=False, write=write_file)
    assert str(caught.value) == (
        f"refusing to overwrite {tmp_path / 'targets.yaml'} (and 3 more); "
        "use --force to replace the starter files"
    )
    assert groups.read_text(encoding="utf-8") == "groups: []\n"
    write_init(tmp_path, force=True, write=write_file)
    assert groups.read_text(encoding="utf-8") == init_files()["groups.yaml"]


def test_one_existing_file_stops_every_write(tmp_path: Path) -> None:
    (tmp_path / "people").mkdir()
    (tmp_path / "people" / "engineering.yaml").write_text("users: []\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"engineering\.yaml; use --force"):
        write_init(tmp_path, force=False, write=write_file)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["engineering.yaml", "people"]


def test_write_init_into_a_file(tmp_path: Path) -> None:
    (tmp_path / "specs").write_text("", encoding="utf-8")
    with pytest.raises(UsageError, match="is not a directory"):
        write_init(tmp_path / "specs", force=True, write=write_file)


def test_write_init_creates_the_directory(tmp_path: Path) -> None:
    written = write_init(tmp_path / "new" / "specs", force=False, write=write_file)
    assert all(p.is_file() for p in written)
