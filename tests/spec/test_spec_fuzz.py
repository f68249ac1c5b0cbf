"""Whatever a spec holds, `validate` and planning end in a result or in located errors, never
a crash: generated edits of the example specs (a value of another type or shape, a key
removed, an unknown key, odd text in an expression), through the CLI and the pure core.

The corpus in test_bad_specs.py holds the cases someone thought of; this tries the
neighbourhood of a real spec, where a refusal must still name its file and line."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.cli import main
from reconciler.core.model import Capabilities, Observed
from reconciler.core.plan import make_plan
from reconciler.errors import SpecError
from reconciler.spec.cache import SpecCache
from reconciler.spec.load import load_spec

SPECS = Path(__file__).resolve().parents[2] / "specs"
LOCATED = re.compile(r"^\S+\.ya?ml:\d+:\d+: ", re.MULTILINE)

Path_ = tuple[str | int, ...]

# Text a spec author (or a careless export) could put anywhere: expression syntax, empty
# and blank strings, look-alikes, control and invisible characters, long text.
TEXT = st.text(max_size=8) | st.sampled_from(
    [
        "",
        " ",
        "[mail]",
        "Join(",
        "ToLower([userName]",
        "Switch([title], , )",
        "IIF([active], 1)",
        "@",
        "a@example.com",
        "ALICE@EXAMPLE.COM",
        "alice@example.com\u200b",
        "\u202eevil",
        "x" * 300,
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "enterprise.manager",
        "${SECRET}",
        "~",
        "null",
        "yes",
    ]
)
LEAF = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT
)
VALUE = st.recursive(
    LEAF,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)


def _documents() -> dict[str, Any]:
    return {
        path.relative_to(SPECS).as_posix(): yaml.safe_load(path.read_text())
        for path in sorted(SPECS.rglob("*.yaml"))
    }


BASE = _documents()


def _paths(value: Any, here: Path_ = ()) -> Iterator[Path_]:
    """Every mapping entry and list item, by path from its document's root."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*here, key)
            yield from _paths(item, (*here, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*here, index)
            yield from _paths(item, (*here, index))


PATHS = sorted(((name, path) for name, doc in BASE.items() for path in _paths(doc)), key=repr)


@st.composite
def edited(draw: st.DrawFn) -> dict[str, Any]:
    """The example specs with one to three edits."""
    docs = yaml.safe_load(yaml.safe_dump(BASE))  # a deep copy
    for _ in range(draw(st.integers(1, 3))):
        name, path = draw(st.sampled_from(PATHS))
        parent: Any = docs[name]
        try:
            for step in path[:-1]:
                parent = parent[step]
            last = path[-1]
            current = parent[last]  # an earlier edit may have removed it
        except (KeyError, IndexError, TypeError):
            continue
        if isinstance(parent, str):
            continue  # an earlier edit made it a text, which an index reads but cannot change
        how = draw(st.sampled_from(["replace", "remove", "unknown_key", "wrap", "copy"]))
        if how == "replace":
            parent[last] = draw(VALUE)
        elif how == "remove":
            del parent[last]
        elif how == "unknown_key" and isinstance(current, dict):
            current[draw(TEXT)] = draw(VALUE)
        elif how == "wrap":
            parent[last] = [current]
        elif how == "copy" and isinstance(parent, list):
            parent.append(yaml.safe_load(yaml.safe_dump(current)))
    out: dict[str, Any] = docs
    return out


def _write(root: Path, docs: dict[str, Any]) -> None:
    for name, doc in docs.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(docs=edited())
def test_validate_ends_in_a_result_or_located_errors(
    docs: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    with tempfile.TemporaryDirectory() as work:
        root = Path(work)
        _write(root, docs)
        code = main(["validate", str(root)])
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        assert code in (0, 1), err
        if code == 1:
            assert err.rstrip().splitlines()[-1].startswith("Error: "), err
            assert LOCATED.search(err), err
            assert _issues(root, quick=True) == _issues(root, quick=False)
            return
        # The quick read (positions kept only where a valid spec needs them) gives what
        # the exact one does.
        spec = load_spec(root, cache=SpecCache(None))
        assert load_spec(root, quick=False, cache=SpecCache(None)) == spec
        # A spec validate accepts plans on every target it declares, against a target
        # that holds nothing: an object may be in error, but planning must not fail.
        for target in spec.targets.values():
            empty = Observed(users=(), groups=(), capabilities=Capabilities(), complete=True)
            plan = make_plan(spec, target, empty)
            assert plan.target == target.name


def _issues(root: Path, *, quick: bool) -> list[str]:
    with pytest.raises(SpecError) as info:
        load_spec(root, quick=quick, cache=SpecCache(None))
    return [str(issue) for issue in info.value.issues]


def test_the_examples_themselves_validate(tmp_path: Path) -> None:
    """The base of the edits is a valid spec: otherwise every edit above is refused for
    the same reason and the test tries nothing."""
    _write(tmp_path, BASE)
    try:
        spec = load_spec(tmp_path)
    except SpecError as exc:  # pragma: no cover - a failure message, not a branch
        pytest.fail(f"the examples do not validate: {exc}")
    assert spec.users and spec.groups and spec.targets
    assert len(PATHS) > 100
