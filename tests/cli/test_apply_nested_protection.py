"""Apply's last check before a group's delete looks through the groups nested in it
(DESIGN §6): deleting Ops takes it from everyone its nested group Inner holds, so a
protected account in Inner keeps Ops, even where the plan could not see Inner's members
(lookup mode reads declared objects alone)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_apply_last_checks import TOKEN, TOKEN_ENV, applied, write_spec
from tests.fakescim import FakeScim

ROUTES = [("lookup-mode", {"quirks": {"listing": "none"}}), ("listing", {})]


@pytest.mark.parametrize("holds_admin", [True, False])
@pytest.mark.parametrize(("route", "settings"), ROUTES)
def test_a_group_is_not_deleted_while_a_group_nested_in_it_holds_a_protected_account(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    holds_admin: bool,
    route: str,
    settings: dict[str, Any],
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    fake = FakeScim(token=TOKEN)
    admin = fake.add_user("admin@example.com", active=True)
    bob = fake.add_user("bob@example.com", active=True)
    deepest = fake.add_group("Deepest", [admin] if holds_admin else [bob])
    inner = fake.add_group("Inner", [])
    fake.groups[inner]["members"] = [{"value": deepest, "type": "Group"}]
    ops = fake.add_group("Ops", [bob])
    fake.groups[ops]["members"].append({"value": inner, "type": "Group"})
    target = {"protected": ["admin@*"], **settings}
    groups = [{"displayName": "Ops", "state": "absent"}]
    specs = write_spec(tmp_path, target, [{"userName": "bob@example.com"}], groups)
    code, out, err = applied(specs, fake, capsys, "--allow-member-removals", "9")
    if not holds_admin:
        assert code == 0, out + err
        assert ops not in fake.groups
        return
    assert ops in fake.groups, route
    if route == "listing":  # the plan saw it: nothing to refuse
        assert code == 0, out + err
        assert "group Ops: member admin@example.com is protected: the group is not" in out
    else:
        assert code == 1, out + err
        assert (
            "Failed: group Ops: member admin@example.com is protected: the group is not deleted"
        ) in out


@pytest.mark.parametrize(("route", "settings"), ROUTES)
def test_a_nested_group_holding_a_protected_account_is_not_taken_out(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    route: str,
    settings: dict[str, Any],
) -> None:
    # Inner is declared (its members not managed) and nested natively in Ops; the spec
    # takes it out of Ops, which would take Ops from the protected account Inner holds.
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    fake = FakeScim(token=TOKEN)
    admin = fake.add_user("admin@example.com", active=True)
    bob = fake.add_user("bob@example.com", active=True)
    inner = fake.add_group("Inner", [admin])
    ops = fake.add_group("Ops", [bob])
    fake.groups[ops]["members"].append({"value": inner, "type": "Group"})
    target = {"protected": ["admin@*"], "nested_groups": "native", **settings}
    groups = [
        {"displayName": "Ops", "members": ["bob@example.com"], "groups": []},
        {"displayName": "Inner", "members_policy": "additive", "members": []},
    ]
    specs = write_spec(tmp_path, target, [{"userName": "bob@example.com"}], groups)
    code, out, err = applied(specs, fake, capsys)
    assert {"value": inner, "type": "Group"} in fake.groups[ops]["members"], route
    if route == "listing":  # the plan saw it
        assert code == 0, out + err
        assert "group Ops: member admin@example.com is protected: not removed" in out
    else:
        assert code == 1, out + err
        assert "member admin@example.com is protected: not removed, nothing written" in out
