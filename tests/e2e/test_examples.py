"""The example specs under specs/ run as they are, for every target they declare."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reconciler.cli import main
from reconciler.scim.sandbox import Sandbox
from reconciler.spec.load import load_spec

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", sorted(load_spec(ROOT / "specs").targets))
def test_example_specs_plan_apply_and_converge(
    name: str, sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = sandbox.url.split(":")[2].split("/")[0]
    specs = tmp_path / "specs"
    shutil.copytree(ROOT / "specs", specs)
    for file in specs.rglob("*.yaml"):
        file.write_text(file.read_text().replace("127.0.0.1:8000", f"127.0.0.1:{port}"))
    args = [str(specs), "--target", name, "--log-level", "error"]
    assert main(["plan", *args, "--detailed-exitcode"]) == 2
    assert main(["apply", *args, "--auto-approve"]) == 0
    capsys.readouterr()
    assert main(["plan", *args, "--detailed-exitcode"]) == 0
    assert "No changes." in capsys.readouterr().out
