"""Packaging as a dependency reviewer reads it: licence, extras, version, typing, hooks, and
the lock the GitHub Action installs from."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

import reconciler
from reconciler.cli import main

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]


def names(requirements: list[str]) -> set[str]:
    return {r.split("[")[0].split(">")[0].split("<")[0].split("=")[0].strip() for r in requirements}


def test_licence_is_an_spdx_expression_with_the_full_text() -> None:
    assert PROJECT["license"] == "Apache-2.0"  # the table form is deprecated (PEP 639)
    assert PROJECT["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text
    assert "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
    # setuptools reads the SPDX string from 77 on; older ones reject it.
    assert "setuptools>=77" in PYPROJECT["build-system"]["requires"]
    assert not [c for c in PROJECT["classifiers"] if c.startswith("License ::")]


def test_no_unused_dependency_and_the_sandbox_is_an_extra() -> None:
    runtime = names(PROJECT["dependencies"])
    assert "deepdiff" not in runtime  # the SCIM-aware diff in core/diff.py does the job
    assert "scim2-server" not in runtime
    extras = PROJECT["optional-dependencies"]
    assert names(extras["sandbox"]) == {"scim2-server"}
    assert "scimrec[sandbox]" in extras["dev"]  # the tests start the sandbox


def test_every_runtime_dependency_is_imported_somewhere() -> None:
    imported = {
        "pyyaml": "yaml",
        "httpx2": "httpx2",
        "idna": "idna",
        "click": "click",
        "structlog": "structlog",
        "stamina": "stamina",
        "rich": "rich",
        "regex": "regex",
        "hyperscan": "hyperscan",
        "msgspec": "msgspec",
    }
    assert names(PROJECT["dependencies"]) == set(imported)
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "reconciler").rglob("*.py"))
    for module in imported.values():
        assert f"import {module}" in source or f"from {module}" in source, module


def test_one_source_for_the_version() -> None:
    assert "version" not in PROJECT
    assert PROJECT["dynamic"] == ["version"]
    attr = PYPROJECT["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    assert attr == "reconciler.__version__"
    assert importlib.metadata.version("scimrec") == reconciler.__version__


def test_typed_and_described() -> None:
    assert (ROOT / "reconciler" / "py.typed").exists()
    assert "py.typed" in PYPROJECT["tool"]["setuptools"]["package-data"]["reconciler"]
    assert "Typing :: Typed" in PROJECT["classifiers"]
    for python in ("3.11", "3.12", "3.13"):
        assert f"Programming Language :: Python :: {python}" in PROJECT["classifiers"]
    assert set(PROJECT["urls"]) >= {"Homepage", "Source", "Issues"}


def test_pre_commit_hook_runs_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert hook["id"] == "scimrec-validate"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is False  # validate reads the whole tree, across files
    program, *args = hook["entry"].split()
    assert program == "scimrec"
    # Run as pre-commit would, from a repository whose specs live in specs/.
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "users.yaml").write_text("users:\n  - userName: a@example.com\n")
    monkeypatch.chdir(tmp_path)
    assert main([*args, *hook["args"]]) == 0
    assert capsys.readouterr().out.startswith("Valid: 1 file(s), 1 user(s)")
    (tmp_path / "specs" / "users.yaml").write_text("users:\n  - userName: [oops]\n")
    assert main([*args, *hook["args"]]) == 1


# The GitHub Action's lock: the commit the action is pinned to pins every file it installs.
LOCK = ROOT / "requirements" / "action.lock"
INSTALL = next(
    step["run"]
    for step in yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))["runs"]["steps"]
    if step.get("name") == "Install scimrec"
)


def locked() -> dict[str, tuple[Version, set[str], int]]:
    """Each locked package: its version, what asked for it (uv's `# via`), its hashes."""
    found: dict[str, tuple[Version, set[str], int]] = {}
    name = ""
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        pinned = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", line)
        if pinned:
            name = canonicalize_name(pinned[1])
            assert name not in found, f"{name} locked twice"
            found[name] = (Version(pinned[2]), set(), 0)
            continue
        if not name or not line.startswith("    "):
            assert not line.strip() or line.startswith("#"), f"unexpected lock line: {line}"
            continue
        version, via, hashes = found[name]
        text = line.strip()
        if text.startswith("--hash=sha256:"):
            found[name] = (version, via, hashes + 1)
        elif text.startswith("#"):
            via.add(text.removeprefix("#").strip().removeprefix("via").strip())
    return found


def test_the_action_lock_holds_pyproject_s_dependencies_within_their_ranges() -> None:
    lock = locked()
    for asked_by, requirements in (
        ("scimrec (pyproject.toml)", PROJECT["dependencies"]),
        # The build backend too: the action builds scimrec without fetching anything.
        ("-r requirements/action-build.in", PYPROJECT["build-system"]["requires"]),
    ):
        wanted = {canonicalize_name(Requirement(r).name): Requirement(r) for r in requirements}
        # Added to pyproject.toml but not locked, or dropped but still locked: `make lock`.
        assert {name for name, (_, via, _) in lock.items() if asked_by in via} == set(wanted)
        for name, requirement in wanted.items():
            version = lock[name][0]
            assert requirement.specifier.contains(version, prereleases=True), (name, version)


def test_every_locked_package_is_an_exact_version_with_hashes() -> None:
    text = LOCK.read_text(encoding="utf-8")
    # Which tool made it, and how: the command `make lock` runs.
    assert text.startswith("# This file was autogenerated by uv via the following command:\n")
    command = text.splitlines()[1]
    for option in ("--universal", "--generate-hashes", "--only-binary :all:"):
        assert option in command
    for name, (_, _, hashes) in locked().items():
        assert hashes, f"{name} has no hash"
    # A lock that adds an index, a URL or an editable would pin nothing.
    assert not re.search(r"^\s*(-e|--index-url|--extra-index-url|--find-links|\S+ @ )", text, re.M)


def test_the_action_installs_the_lock_and_then_scimrec_alone() -> None:
    lines = [shlex.split(line, comments=True) for line in INSTALL.replace("\\\n", " ").splitlines()]
    pip = [words[3:] for words in lines if words[1:3] == ["-m", "pip"]]
    assert [words[0] for words in pip] == ["install", "install", "check"]
    the_lock, scimrec = set(pip[0]), set(pip[1])
    assert the_lock >= {"--require-hashes", "--only-binary", ":all:", "-r"}
    assert pip[0][pip[0].index("-r") + 1] == "$GITHUB_ACTION_PATH/requirements/action.lock"
    # scimrec alone: no dependency, no build backend, nothing from an index.
    assert scimrec >= {"--no-index", "--no-deps", "--no-build-isolation", "$GITHUB_ACTION_PATH"}
    # A new lock (or way of installing) is a new virtualenv, not the cached one.
    steps = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))["runs"]["steps"]
    [venv] = [step["run"] for step in steps if step.get("id") == "venv"]
    assert "find action.yml pyproject.toml requirements reconciler -type f" in venv


def test_the_action_s_install_step_in_a_fresh_venv(tmp_path: Path) -> None:
    """The step as the runner runs it, on a copy of the action's files: from the lock alone."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # One locked wheel fetched the same way tells an offline machine from a broken step.
    click = f"click=={locked()['click'][0]}"
    probe = subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(tmp_path), click],
        env=env | {"PIP_RETRIES": "0", "PIP_DEFAULT_TIMEOUT": "10"},
        capture_output=True,
        check=False,
        timeout=60,
    )
    if probe.returncode:
        pytest.skip("no package index reachable")
    # A copy, so the build's own files (build/, *.egg-info) stay out of this checkout.
    action = tmp_path / "action"
    action.mkdir()
    for name in ("action.yml", "pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, action / name)
    for name in ("reconciler", "requirements"):
        shutil.copytree(ROOT / name, action / name, ignore=shutil.ignore_patterns("__pycache__"))
    venv = tmp_path / "venv"
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", INSTALL],
        env=env | {"PYTHON": sys.executable, "VENV": str(venv), "GITHUB_ACTION_PATH": str(action)},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith(f"scimrec, version {reconciler.__version__}\n")
    frozen = subprocess.run(
        [venv / "bin" / "python", "-m", "pip", "list", "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    installed = {canonicalize_name(p["name"]): p["version"] for p in json.loads(frozen.stdout)}
    lock = locked()
    for name, version in installed.items():
        if name not in {"pip", "scimrec"}:
            assert Version(version) == lock[name][0], name
