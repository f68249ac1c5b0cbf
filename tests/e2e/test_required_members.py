"""Required members on the real servers: a run that would empty a required group, or take
its required member away, is refused with the reason, whatever the operator allows, and
nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Target, write_spec
from tests.e2e.test_lifecycle import assert_converged, by_name, listing, person, run

FIX = "change the spec (requirements have no override)"


def test_a_run_that_would_empty_a_required_group_is_refused(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    users = [
        person(target, "ana@example.com", "Ana", "Ng"),
        person(target, "ben@example.com", "Ben", "Ode"),
    ]
    admins = {
        "displayName": "Admins",
        "members": ["ana@example.com", "ben@example.com"],
        "required_members": ["ana@example.com"],
        "min_members": 1,
    }
    specs = write_spec(tmp_path / "specs", target, users, [admins])
    assert run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")[0] == 0
    assert_converged(capsys, specs)
    [before] = listing(target, "/Groups")

    emptied = {**admins, "members": []}
    write_spec(tmp_path / "specs", target, users, [emptied])
    code, out, _ = run(capsys, "plan", str(specs), "--target", "e2e")
    assert (
        "Guard: group Admins requires ana@example.com as a member: ana@example.com would not "
        f"be a member; {FIX}\n" in out
    )
    assert (
        "Guard: group Admins must keep at least 1 active member(s); after this run it would "
        f"have 0; {FIX}\n" in out
    )
    code, out, err = run(
        capsys,
        "apply",
        str(specs),
        "--target",
        "e2e",
        "--auto-approve",
        "--allow-member-removals",
        "2",
        "--allow-deletes",
        "2",
    )
    assert code == 1
    assert err.endswith(
        "Error: refusing to apply: group Admins requires ana@example.com as a member: "
        f"ana@example.com would not be a member; {FIX}; nothing was written\n"
    )
    [after] = listing(target, "/Groups")
    assert after["members"] == before["members"]
    # A saved plan is held to them again when it is applied, whatever it carries.
    saved = tmp_path / "admins.plan"
    assert run(capsys, "plan", str(specs), "--target", "e2e", "--out", str(saved))[0] == 0
    code, _, err = run(
        capsys, "apply", "--plan", str(saved), str(specs), "--allow-member-removals", "2"
    )
    assert code == 1
    assert "refusing to apply: group Admins requires ana@example.com as a member" in err
    [after] = listing(target, "/Groups")
    assert after["members"] == before["members"]

    # Disabling the required member is refused the same way; keeping them passes.
    users[0] = {**users[0], "active": False}
    write_spec(tmp_path / "specs", target, users, [admins])
    code, _, err = run(
        capsys, "apply", str(specs), "--target", "e2e", "--auto-approve", "--allow-deletes", "1"
    )
    assert code == 1
    assert "ana@example.com would be disabled by this run" in err
    assert by_name(target)["ana@example.com"]["active"] is True
