"""Renames keep identity on the real servers: a user or group matched by an immutable key
or a former name is renamed in place (same id), never created anew with the old one
deprovisioned, even under `prune: all`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Target, write_spec
from tests.e2e.test_lifecycle import assert_converged, by_name, listing, person, run


def test_renamed_users_and_group_keep_their_ids(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = [
        person(target, "ana@old.example", "Ana", "Ng"),
        person(target, "bob@example.com", "Bob", "Martin", externalId="emp-42"),
    ]
    eng = [{"displayName": "Eng", "members": ["ana@old.example", "bob@example.com"]}]
    settings = {"matching": {"user": ["userName", "externalId"]}, "prune": "all"}
    specs = write_spec(tmp_path / "specs", target, before, eng, **settings)
    assert run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")[0] == 0
    users = by_name(target)
    ids = {name: users[name]["id"] for name in users}
    [group] = listing(target, "/Groups")

    after = [
        # A former name, as peribolos declares it.
        person(
            target, "ana@new.example", "Ana", "Ng", externalId="ana", previously=["ana@old.example"]
        ),
        # The same externalId: the matching order's immutable key.
        person(target, "robert@example.com", "Robert", "Martin", externalId="emp-42"),
    ]
    renamed = [
        {
            "displayName": "Engineering",
            "previously": ["Eng"],
            "members": ["ana@new.example", "robert@example.com"],
        }
    ]
    write_spec(tmp_path / "specs", target, after, renamed, **settings)
    code, out, err = run(capsys, "plan", str(specs), "--target", "e2e")
    assert code == 0, err
    assert (
        f"  ~ rename user ana@old.example → ana@new.example  (id {ids['ana@old.example']})\n" in out
    )
    assert (
        f"  ~ rename user bob@example.com → robert@example.com  (id {ids['bob@example.com']})\n"
        in out
    )
    assert f"  ~ rename group Eng → Engineering  (id {group['id']})\n" in out
    assert "Plan: 0 to create, 3 to update, 0 to disable, 0 to delete." in out

    assert run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")[0] == 0
    assert_converged(capsys, specs)
    users = by_name(target)
    assert {name: users[name]["id"] for name in users} == {
        "ana@new.example": ids["ana@old.example"],
        "robert@example.com": ids["bob@example.com"],
    }
    assert all(u["active"] is True for u in users.values())
    [same] = listing(target, "/Groups")
    assert (same["id"], same["displayName"]) == (group["id"], "Engineering")
    assert {m["value"] for m in same["members"]} == set(ids.values())
