"""Attributes a real server drops (issue 14 item 3): apply warns after the write, doctor
--write-probe finds them beforehand, and `quirks: {not_kept: [...]}` makes the plan converge.

django-scim2 keeps neither title nor nickName, Better Auth keeps no nickName (each server's
QUIRKS.md, §3); scim2-server keeps both, and must get no warning.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Target, write_spec
from tests.e2e.test_lifecycle import assert_converged, person, run

DROPPED = {
    "scim2-server": [],
    "django-scim2": ["nickName", "title"],
    "better-auth-scim": ["nickName"],
}


def test_dropped_attributes_are_found_reported_and_then_left_alone(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    users = [
        {**person(target, "alice@example.com", "Alice", "Wong"), "title": "Eng", "nickName": "al"}
    ]
    specs = write_spec(tmp_path / "specs", target, users)
    dropped = DROPPED[target.flavour]

    code, out, _ = run(capsys, "doctor", str(specs), "--target", "e2e", "--write-probe")
    line = next(x for x in out.splitlines() if "declared attributes" in x)
    if dropped:
        assert f"dropped (answered success, not kept): {', '.join(dropped)}" in line, line
        assert f"quirks: {{not_kept: [{', '.join(dropped)}]}}" in line
    else:
        assert line.split()[0] == "ok", line

    code, out, err = run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")
    assert code == 0, out + err[-2000:]
    if not dropped:
        assert "not kept" not in out
        assert_converged(capsys, specs)
        return
    assert f"  user alice@example.com: not kept by the target: {', '.join(dropped)}" in out
    assert f"quirks: {{not_kept: [{', '.join(dropped)}]}}" in out
    code, out, _ = run(capsys, "plan", str(specs), "--target", "e2e", "--detailed-exitcode")
    assert code == 2  # without the fix, the same update again

    specs = write_spec(tmp_path / "specs", target, users, quirks={"not_kept": dropped})
    assert_converged(capsys, specs)
