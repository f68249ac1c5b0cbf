"""Canaille, an identity server from another codebase with its own SCIM endpoints and its
own OAuth2 server (tests/servers/canaille/QUIRKS.md): scimrec authenticates with the client
credentials grant against Canaille's token endpoint, reads a listing that fails on `count`,
learns that group members need `$ref`, and bootstraps, changes and converges.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from reconciler.cli import main
from tests.conftest import Target, write_spec
from tests.servers.canaille.launch import Canaille

ID_ENV, SECRET_ENV = "E2E_CANAILLE_CLIENT_ID", "E2E_CANAILLE_CLIENT_SECRET"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert os.environ[SECRET_ENV] not in out + err
    assert "Traceback" not in out + err
    return code, out, err


def people() -> list[dict[str, Any]]:
    # What Canaille's User schema takes: a name with `formatted` (required there), emails
    # with a value alone (no type, no primary), no manager.
    return [
        {
            "userName": f"user{n}@example.com",
            "name": {
                "givenName": f"Given{n}",
                "familyName": f"Family{n}",
                "formatted": f"Given{n} Family{n}",
            },
            "displayName": f"Given{n} Family{n}",
            "emails": [{"value": f"user{n}@example.com"}],
            "title": ("Engineer", "Manager")[n % 2],
            "active": True,
        }
        for n in range(6)
    ]


def teams() -> list[dict[str, Any]]:
    return [
        {"displayName": "Engineering", "members": [f"user{n}@example.com" for n in range(4)]},
        {"displayName": "Managers", "members": ["user1@example.com", "user3@example.com"]},
    ]


def specs_for(root: Path, canaille: Canaille, users: Any, groups: Any) -> Path:
    server = canaille.server
    auth = {
        "type": "oauth2_client_credentials",
        "token_url": canaille.token_url,
        "client_id_env": ID_ENV,
        "client_secret_env": SECRET_ENV,
    }
    # Canaille answers success to a user's externalId and never returns it.
    quirks = {"not_kept": ["externalId"]}
    return write_spec(root, Target("canaille", server.url, ""), users, groups, auth=auth,
                      quirks=quirks)  # fmt: skip


def listed(canaille: Canaille, endpoint: str) -> list[dict[str, Any]]:
    with canaille.server.http() as http:  # without `count`, which Canaille fails on
        found: list[dict[str, Any]] = http.get(endpoint, params={"startIndex": 1}).json()[
            "Resources"
        ]
    return found


def test_bootstrap_change_and_converge_with_oauth(
    canaille: Canaille,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(ID_ENV, canaille.client_id)
    monkeypatch.setenv(SECRET_ENV, canaille.client_secret)
    users, groups = people(), teams()
    specs = specs_for(tmp_path / "specs", canaille, users, groups)
    code, out, err = run(capsys, "doctor", str(specs), "--target", "e2e")
    assert code == 0, out + err  # nothing fails: a listing without count is a warning
    assert "warn  paging     count                   any listing with count answers 500" in out
    code, out, err = run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")
    assert code == 0, out + err
    assert "Apply complete: 8 created, 0 updated, 0 disabled, 0 deleted, 0 failed." in out
    assert '"outcome": "count_refused"' in err  # the listing is read without `count`
    code, out, _ = run(capsys, "plan", str(specs), "--target", "e2e", "--detailed-exitcode")
    assert (code, "No changes." in out) == (0, True), out

    by_name = {u["userName"]: u for u in listed(canaille, "/Users")}
    assert sorted(by_name) == [f"user{n}@example.com" for n in range(6)]
    members = {
        g["displayName"]: sorted(m["value"] for m in g["members"])
        for g in listed(canaille, "/Groups")
    }
    # Canaille names each member by its userName, not its id; each is held once (the
    # create's answer shows them so, and they are not added again).
    assert members == {
        "Engineering": [f"user{n}@example.com" for n in range(4)],
        "Managers": ["user1@example.com", "user3@example.com"],
    }

    users[0]["title"] = "Staff Engineer"
    users[5]["active"] = False
    specs_for(tmp_path / "specs", canaille, users, groups)
    code, out, err = run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")
    assert code == 0, out + err
    assert "Apply complete: 0 created, 1 updated, 1 disabled, 0 deleted, 0 failed." in out
    code, out, _ = run(capsys, "plan", str(specs), "--target", "e2e", "--detailed-exitcode")
    assert (code, "No changes." in out) == (0, True), out
    by_name = {u["userName"]: u for u in listed(canaille, "/Users")}
    assert by_name["user0@example.com"]["title"] == "Staff Engineer"
    assert by_name["user5@example.com"]["active"] is False
