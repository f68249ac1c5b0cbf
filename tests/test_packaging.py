"""Packaging as a dependency reviewer reads it: licence, extras, version, typing, hooks."""

from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path

import pytest
import yaml

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
