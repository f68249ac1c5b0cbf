"""The README's examples are run: its spec files validate, its commands exist."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.cli import cli, main
from reconciler.spec.load import load_spec

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
YAML_BLOCKS = re.findall(r"```yaml\n(.*?)```", README, flags=re.DOTALL)
SPEC_BLOCKS = [b for b in YAML_BLOCKS if re.search(r"^(targets|users|groups):", b, re.M)]
SHELL = "\n".join(re.findall(r"```sh\n(.*?)```", README, flags=re.DOTALL))
# Commands as the README shows them: in shell blocks and in `code spans`, not in prose.
COMMANDS = sorted(
    set(re.findall(r"^(?:\$ )?scimrec ([a-z]+)\b", SHELL, flags=re.M))
    | set(re.findall(r"`scimrec ([a-z]+)\b", README))
)


def test_readme_has_examples() -> None:
    assert len(SPEC_BLOCKS) >= 2


@pytest.mark.parametrize("block", SPEC_BLOCKS, ids=[f"spec-{i}" for i in range(len(SPEC_BLOCKS))])
def test_readme_spec_examples_validate(block: str, tmp_path: Path) -> None:
    (tmp_path / "example.yaml").write_text(block, encoding="utf-8")
    spec = load_spec(tmp_path)
    assert spec.users or spec.targets


@pytest.mark.parametrize("command", COMMANDS)
def test_readme_commands_exist(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert command in cli.commands, f"README mentions `scimrec {command}`"
    assert main([command, "--help"]) == 0
    assert "Usage:" in capsys.readouterr().out


def test_shell_completion_works() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "reconciler"],
        env={"_SCIMREC_COMPLETE": "bash_source", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    assert "complete" in done.stdout
