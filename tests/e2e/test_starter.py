"""`scimrec init`'s starter tree: it validates, refuses to clobber files, and plans for real."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.cli import main
from reconciler.cli.output import write_file
from reconciler.scim.sandbox import Sandbox
from reconciler.spec.starter import write_init
from tests.conftest import SANDBOX_TOKEN


def test_init_tree_plans_and_applies_on_the_sandbox(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = SANDBOX_TOKEN
    specs = tmp_path / "specs"
    write_init(specs, force=False, write=write_file)
    targets = specs / "targets.yaml"
    text = targets.read_text(encoding="utf-8")
    targets.write_text(text.replace("http://127.0.0.1:8000/scim/v2", sandbox.url), encoding="utf-8")

    def run(*args: str) -> tuple[int, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        assert token not in out + err
        assert "Traceback" not in out + err
        return code, out

    code, out = run("plan", str(specs), "--target", "sandbox")
    assert code == 0, out
    assert "+ create user ada@example.com" in out, out
    assert "+ create user grace@example.com" in out
    assert "+ create group Engineering" in out
    assert "mallory@example.com" not in out  # absent and not on the target: nothing to do
    assert "Plan: 3 to create" in out
    code, out = run("apply", str(specs), "--target", "sandbox", "--auto-approve")
    assert code == 0, out
    code, out = run("plan", str(specs), "--target", "sandbox", "--detailed-exitcode")
    assert code == 0, out
    assert "No changes." in out
