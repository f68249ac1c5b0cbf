"""The quick read (source.quick_text) against the exact one (source.load_text): the same values,
the same Spec, and the same issues with the same file:line:col, on every spec the tests know."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.core.model import Location
from reconciler.errors import SpecError, SpecIssue
from reconciler.spec.load import load_spec
from reconciler.spec.source import load_text, quick_text
from tests.spec.test_bad_specs import CORPUS, GOOD_TARGET
from tests.spec.test_load import INVALID, VALID_TREE, Files, write_tree

ROOT = Path(__file__).resolve().parents[2]
TARGET = GOOD_TARGET.format(url="https://scim.example.com/v2")

# Valid files that use more of YAML than the generated specs: quoting, flow style, anchors
# and aliases, comments, numbers the YAML 1.1 way, dates, nulls, multi-line strings.
TRICKY: list[tuple[str, str]] = [
    (
        "anchors",
        "users:\n  - &base {userName: a@x.io, title: Eng, enterprise: {department: R&D}}\n"
        "  - {userName: b@x.io, title: Eng, enterprise: {department: R&D}}\n"
        "groups:\n  - displayName: G\n    members: &m [a@x.io]\n  - displayName: H\n"
        "    members: *m\n",
    ),
    (
        "quoting",
        "# people\nusers:\n  - userName: 'a@x.io'   # a comment\n"
        '    displayName: "A \\u00e9"\n    title: >\n      folded\n      text\n'
        "    nickName: |\n      literal\n    externalId: '012'\n"
        "    active: yes\n    emails: [{value: a@x.io, primary: on}]\n",
    ),
    (
        "scalars",
        "version: 1\nusers:\n  - userName: c@x.io\n    externalId: 2001-02-03\n"
        "    title: ~\n    displayName: null\n    custom: {n: 012, f: 1.5e3, x: 0x1F, l: [1, a]}\n",
    ),
    ("empty", ""),
    ("comments-only", "# nothing\n"),
    ("empty-lists", "users: []\ngroups: []\n"),
    ("nested-groups", "groups:\n  - displayName: A\n    groups: [B]\n  - displayName: B\n"),
]


def files_of(tree: Files) -> list[tuple[str, str]]:
    return [(name, c) for name, c in tree.items() if isinstance(c, str)]


def texts() -> list[tuple[str, str]]:
    found = [(f"tricky-{n}", t) for n, t in TRICKY]
    found += [(f"corpus-{n}", c) for n, c in CORPUS if isinstance(c, str)]
    found += [(f"valid-{n}", c) for n, c in files_of(VALID_TREE)]
    for case, tree, _ in INVALID:
        found += [(f"invalid-{case}-{n}", c) for n, c in files_of(tree)]
    for path in sorted((ROOT / "specs").rglob("*.yaml")):
        found.append((f"specs-{path.name}", path.read_text(encoding="utf-8")))
    return found


@pytest.mark.parametrize(("name", "text"), texts(), ids=[n for n, _ in texts()])
def test_quick_read_gives_the_exact_value_or_leaves_it_to_the_exact_read(
    name: str, text: str
) -> None:
    quick = quick_text(text, "f.yaml")
    exact, issues = load_text(text, "f.yaml")
    if quick is None:
        return
    assert not issues, "the quick read accepted a file the exact read reports"
    assert exact is not None
    assert quick.value == exact.value
    assert repr(quick.value) == repr(exact.value)  # types too: 1 is not True, '1' is not 1
    for path, where in quick.marks.items():
        assert exact.marks[path] == where, path
    assert quick.texts == exact.texts
    for kind in ("users", "groups"):
        for index, _ in enumerate(exact.value.get(kind) or []):
            assert quick.loc((kind, index)) == exact.loc((kind, index))


def test_the_generated_and_example_specs_are_read_quickly() -> None:
    assert quick_text(dict(TRICKY)["anchors"], "f.yaml") is not None
    for path in sorted((ROOT / "specs").rglob("*.yaml")):
        assert quick_text(path.read_text(encoding="utf-8"), "f.yaml") is not None, path


def outcome(root: Path, quick: bool) -> object:
    try:
        return load_spec(root, quick=quick)
    except SpecError as exc:
        return exc.issues


def trees() -> list[tuple[str, Files]]:
    found: list[tuple[str, Files]] = [("valid", VALID_TREE)]
    found += [(f"invalid-{case}", tree) for case, tree, _ in INVALID]
    found += [(f"corpus-{n}", {"a-target.yaml": TARGET, "bad.yaml": c}) for n, c in CORPUS]
    found += [(f"tricky-{n}", {"a.yaml": TARGET, "b.yaml": t}) for n, t in TRICKY]
    return found


@pytest.mark.parametrize(("name", "tree"), trees(), ids=[n for n, _ in trees()])
def test_quick_and_exact_loads_agree(tmp_path: Path, name: str, tree: Files) -> None:
    write_tree(tmp_path, tree)
    quick, exact = outcome(tmp_path, True), outcome(tmp_path, False)
    assert quick == exact
    if isinstance(exact, list):
        assert [str(i) for i in quick] == [str(i) for i in exact]  # type: ignore[attr-defined]


def test_the_example_specs_load_the_same_both_ways() -> None:
    assert load_spec(ROOT / "specs") == load_spec(ROOT / "specs", quick=False)


def test_an_error_found_across_files_points_at_the_attribute(tmp_path: Path) -> None:
    """Cross-file checks run after the quick read: their positions come from a re-read."""
    (tmp_path / "a.yaml").write_text(
        "users:\n  - userName: a@x.io\n    title: T\n    enterprise:\n      manager: nobody@x.io\n"
    )
    with pytest.raises(SpecError) as info:
        load_spec(tmp_path)
    where = (tmp_path / "a.yaml").as_posix()
    assert info.value.issues == [
        SpecIssue(
            where,
            5,
            7,
            "users[a@x.io].enterprise.manager",
            "manager 'nobody@x.io' is not a declared user",
        )
    ]


def test_positions_of_a_file_changed_since_are_not_guessed(tmp_path: Path) -> None:
    spec = tmp_path / "a.yaml"
    spec.write_text("users:\n  - userName: a@x.io\n    title: T\n")
    user = load_spec(tmp_path).users[0]
    spec.write_text("users:\n\n\n  - userName: a@x.io\n    title: T\n")
    assert user.location == Location(spec.as_posix(), 2, 5)
    assert dict(user.attr_locations) == {}
    assert user.attr_locations.get("title", user.location) == user.location


def test_quick_read_holds_repeated_keys_and_short_values_once() -> None:
    """A large spec's memory is mostly its objects' keys and repeated values: the quick read
    holds each key once for the process and each short value once per file, while a long
    value (a name no other object shares) is not looked up at all."""
    long_title = "Principal Engineer of Very Long Titles, Platform"
    text = "users:\n" + "".join(
        f"  - userName: u{i}@x.io\n    title: {long_title}\n"
        f"    emails: [{{value: u{i}@x.io, type: work}}]\n"
        "    enterprise: {department: Research}\n"
        for i in range(2)
    )
    read = quick_text(text, "people.yaml")
    assert read is not None and isinstance(read.value, dict)
    first, second = read.value["users"]
    assert first == load_text(text, "people.yaml")[0].value["users"][0]  # type: ignore[union-attr]
    for a, b in zip(first, second, strict=True):
        assert a is b  # the same key object
    assert first["enterprise"]["department"] is second["enterprise"]["department"]
    assert first["emails"][0]["type"] is second["emails"][0]["type"]
    assert next(iter(first["emails"][0])) is next(iter(second["emails"][0]))
    assert first["title"] == second["title"] and first["title"] is not second["title"]


def test_a_target_file_read_again_exactly_reports_its_references_once(tmp_path: Path) -> None:
    # The quick read of a file with an issue is undone, the file read again exactly: the
    # names its targets assign were kept from the first read too, and each unknown one
    # was reported twice.
    (tmp_path / "targets.yaml").write_text(
        "targets:\n  t:\n    url: https://scim.example.com/v2\n"
        "    auth: {type: bearer, token_env: T_TOKEN}\n"
        "    page_size: 0\n    assign: {groups: [Nope]}\n"
    )
    (tmp_path / "users.yaml").write_text("users:\n  - userName: a@x.io\n")
    quick, exact = outcome(tmp_path, True), outcome(tmp_path, False)
    assert isinstance(exact, list)
    assert [str(i) for i in quick] == [str(i) for i in exact]  # type: ignore[attr-defined]
    assert sum("'Nope'" in str(i) for i in exact) == 1
