"""The workflow templates in examples/github/: every apply keeps its audit log as an artifact."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

TEMPLATES = Path(__file__).resolve().parents[1] / "examples" / "github"


def applies() -> list[tuple[str, dict[str, Any], list[dict[str, Any]]]]:
    """(where, apply step, the steps of its job) for every apply step of every template."""
    found = []
    for path in sorted(TEMPLATES.glob("*.yml")):
        workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
        for name, job in workflow["jobs"].items():
            for step in job.get("steps", []):
                if (step.get("with") or {}).get("command") == "apply":
                    found.append((f"{path.name}:{name}", step, job["steps"]))
    return found


def test_every_apply_writes_an_audit_log_and_keeps_it_even_when_it_fails() -> None:
    found = applies()
    assert len(found) == 2  # the reviewed plan, and the plan approved after the merge
    for where, step, steps in found:
        # GitHub evaluates the expression first; the action then splits args on whitespace.
        args = step["with"]["args"].replace("${{ matrix.target.name }}", "TARGET-NAME").split()
        audit = args[args.index("--audit-log") + 1].replace(
            "TARGET-NAME", "${{ matrix.target.name }}"
        )
        kept = [
            s
            for s in steps
            if str(s.get("uses", "")).startswith("actions/upload-artifact@")
            and s["with"]["path"] == audit
        ]
        assert len(kept) == 1, where
        assert "always()" in kept[0]["if"], where
        assert steps.index(kept[0]) > steps.index(step), where
