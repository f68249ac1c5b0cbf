"""The tree is the architecture (DESIGN §7): layers hold, no import cycles, small modules.

Every import in the package is read from the source (module level, function level and
`TYPE_CHECKING` blocks alike), so a layer cannot be crossed by hiding an import.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "reconciler"
MAX_LINES = 400

# What each part may import from the package, besides itself (DESIGN §7: cli → run →
# report/doctor → scim/spec → core → expressions; errors at the bottom).
ALLOWED: dict[str, frozenset[str]] = {
    "errors": frozenset(),
    "expressions": frozenset({"errors"}),
    "core": frozenset({"expressions", "errors"}),
    "spec": frozenset({"core", "expressions", "errors"}),
    "scim": frozenset({"core", "expressions", "errors"}),
    "logs": frozenset({"scim", "core", "expressions", "errors"}),
    "report": frozenset({"scim", "core", "expressions", "errors"}),
    "doctor": frozenset({"scim", "spec", "report", "core", "expressions", "errors", "logs"}),
    # The reads between two plans: the wire and the planning core, wired by run alone.
    "replan": frozenset({"scim", "core", "expressions", "errors"}),
    "run": frozenset(
        {"replan", "doctor", "report", "scim", "spec", "core", "expressions", "errors", "logs"}
    ),
    "cli": frozenset(
        {"run", "doctor", "report", "scim", "spec", "core", "expressions", "errors", "logs"}
    ),
    "__main__": frozenset({"cli"}),
}
# The pure parts: no HTTP, no command line, no clock, no randomness, no environment.
PURE = ("core", "expressions")
IMPURE_MODULES = frozenset(
    {
        *("httpx2", "httpx", "click", "structlog", "rich", "stamina"),
        *("time", "random", "uuid", "socket", "subprocess", "os", "pathlib", "threading"),
    }
)
CLOCK_CALLS = frozenset({"now", "utcnow", "today", "time", "monotonic", "perf_counter"})


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield name, path


def part(module: str) -> str:
    """The part of the tree a module belongs to: `reconciler.core.match` → `core`."""
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 else ""


def imports(module: str, path: Path) -> set[str]:
    """Every module of the package this module imports, as dotted names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
    known = {name for name, _ in modules()}
    # `from reconciler.core import match` names a module; `from x import Name` does not.
    return {name for name in found if name in known and name != module}


def graph() -> dict[str, set[str]]:
    return {name: imports(name, path) for name, path in modules()}


def third_party(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = {
        a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    }
    found |= {
        (n.module or "").split(".")[0]
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom) and not n.level
    }
    return found


def clock_calls(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        n.func.attr
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and n.func.attr in CLOCK_CALLS
    } | {
        n.func.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "open"
    }


def test_every_module_belongs_to_a_part_with_rules() -> None:
    stray = sorted(name for name, _ in modules() if part(name) and part(name) not in ALLOWED)
    assert stray == []


def test_layers_hold() -> None:
    crossings = sorted(
        f"{name} imports {dep}"
        for name, deps in graph().items()
        for dep in deps
        if part(name)
        and part(dep)
        and part(dep) != part(name)
        and part(dep) not in ALLOWED[part(name)]
    )
    assert crossings == []


def test_nothing_imports_the_command_line() -> None:
    users = sorted(
        f"{name} imports {dep}"
        for name, deps in graph().items()
        for dep in deps
        if part(dep) == "cli" and part(name) not in ("cli", "__main__")
    )
    assert users == []


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as the list of modules around it, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(edges.get(node, ())):
            if state.get(dep) == 1:
                return [*stack[stack.index(dep) :], dep]
            if dep not in state and (cycle := visit(dep)) is not None:
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)) is not None:
            return cycle
    return None


def test_no_import_cycles() -> None:
    # Package __init__ files hold docstrings only; an edge into a package is to its modules.
    assert find_cycle(graph()) is None


def test_the_cycle_finder_finds_cycles() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("pure", PURE)
def test_pure_parts_do_no_io_and_read_no_clock(pure: str) -> None:
    offences = {
        str(path.relative_to(PACKAGE.parent)): sorted(
            (third_party(path) & IMPURE_MODULES) | clock_calls(path)
        )
        for name, path in modules()
        if part(name) == pure
    }
    assert {k: v for k, v in offences.items() if v} == {}


def test_the_checks_see_the_edges() -> None:
    # If the readers missed these, every assertion above would pass vacuously.
    client = PACKAGE / "scim" / "client.py"
    assert "httpx2" in third_party(client)
    assert "time" in third_party(client)
    assert "perf_counter" in clock_calls(client)
    assert any(part(dep) == "core" for dep in graph()["reconciler.scim.client"])


def test_modules_stay_small() -> None:
    big = {
        str(path.relative_to(PACKAGE.parent)): n
        for _, path in modules()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert big == {}


@pytest.mark.parametrize(
    ("step", "where"),
    [
        ("test_connection", "scim/connection.py"),
        ("import", "scim/observe.py"),
        ("scope", "core/scope.py"),
        ("match", "core/match.py"),
        ("action", "core/action.py"),
    ],
)
def test_each_step_has_its_module(step: str, where: str) -> None:
    source = (PACKAGE / where).read_text(encoding="utf-8")
    assert f"`{step}`" in source.split('"""')[1], f"{where}'s docstring names step `{step}`"


def test_importing_the_core_loads_neither_httpx2_nor_click() -> None:
    pure = [name for name, _ in modules() if part(name) in PURE]
    code = (
        "import sys\n"
        + "".join(f"import {name}\n" for name in pure)
        + "print(sorted(m for m in sys.modules if m.split('.')[0] in ('httpx2', 'click')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout == "[]\n"
