"""`--only` on real servers: what the selected objects need is created first, and said so."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.core.model import ENTERPRISE_URN
from tests.conftest import Target, write_spec
from tests.e2e.test_lifecycle import assert_converged, by_name, listing, person, run


def test_only_creates_the_manager_and_members_it_needs_first(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # django-scim2 keeps no enterprise extension: there, only the member dependency applies.
    manager = (
        {"enterprise": {"manager": "bob@example.com"}} if target.flavour == "scim2-server" else {}
    )
    users = [
        person(target, "alice@example.com", "Alice", "Wong", **manager),
        person(target, "bob@example.com", "Bob", "Martin"),
        person(target, "carol@example.com", "Carol", "Diaz"),
        person(target, "dave@example.com", "Dave", "Ito"),
    ]
    groups = [{"displayName": "Eng", "members": ["alice@example.com", "carol@example.com"]}]
    specs = write_spec(tmp_path / "specs", target, users, groups)

    code, out, err = run(
        capsys, "apply", str(specs), "--target", "e2e", "--auto-approve", "--only", "group:Eng"
    )
    assert code == 0, out + err
    assert "also planned user carol@example.com (a member of group Eng)" in out
    expected = ["alice@example.com", "carol@example.com"]
    if target.flavour == "scim2-server":
        assert "also planned user bob@example.com (the manager of user alice@example.com)" in out
        expected.append("bob@example.com")
    on_target = by_name(target)
    assert sorted(on_target) == sorted(expected)  # dave is neither selected nor needed
    [group] = listing(target, "/Groups")
    members = {m["value"] for m in group["members"]}
    assert members == {on_target[k]["id"] for k in ("alice@example.com", "carol@example.com")}
    if target.flavour == "scim2-server":
        alice = on_target["alice@example.com"]
        assert alice[ENTERPRISE_URN]["manager"]["value"] == on_target["bob@example.com"]["id"]

    assert run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")[0] == 0
    assert_converged(capsys, specs)
