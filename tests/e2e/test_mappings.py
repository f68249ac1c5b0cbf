"""Mappings and scoping end to end: one spec, two real targets that want different things."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.cli import main
from tests.conftest import TOKEN_ENV
from tests.servers.launch import Server, wipe

PEOPLE = [
    {
        "userName": "alice@example.com",
        "name": {"givenName": "Álice", "familyName": "Wong"},
        "active": True,
        "enterprise": {"department": "Engineering"},
        "custom": {"employeeId": "E1001", "mail": "Alice.Wong@Corp.Example"},
    },
    {
        "userName": "bob@example.com",
        "name": {"givenName": "Bob", "familyName": "Martin"},
        "active": True,
        "enterprise": {"department": "Sales"},
        "custom": {"employeeId": "E1002", "mail": "Bob.Martin@Corp.Example"},
    },
]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main([*args, "--log-level", "error"])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def users_on(url: str, token: str) -> dict[str, dict[str, Any]]:
    import httpx2

    with httpx2.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as http:
        items = http.get("/Users", params={"count": 100}).json().get("Resources") or []
    return {u["userName"]: u for u in items}


@pytest.fixture
def two_targets(
    scim2_server: Server, django_scim: Server, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, str]:
    wipe(django_scim.url, django_scim.token)
    monkeypatch.setenv(TOKEN_ENV, scim2_server.token)
    monkeypatch.setenv("DJANGO_TOKEN", django_scim.token)
    return f"{scim2_server.url}/t{uuid.uuid4().hex[:12]}/v2", django_scim.url


def write(
    root: Path, hr_url: str, app_url: str, people: list[dict[str, Any]], out_of_scope: str = "skip"
) -> Path:
    doc = {
        "version": 1,
        "targets": {
            # An HR-style app: userName from the employee id, display name composed.
            "hr": {
                "url": hr_url,
                "auth": {"type": "bearer", "token_env": TOKEN_ENV},
                "mappings": {
                    "user": {
                        "userName": {"expression": "ToLower([custom.employeeId])"},
                        "displayName": {
                            "expression": 'Join(" ", NormalizeDiacritics([name.givenName]), '
                            "[name.familyName])"
                        },
                        "userType": {"constant": "Employee", "apply": "on_create"},
                        "title": {"source": "custom.jobTitle", "default": "Staff"},
                    }
                },
            },
            # A SaaS app: userName is the mail address, lower-cased; Engineering only.
            "app": {
                "url": app_url,
                "auth": {"type": "bearer", "token_env": "DJANGO_TOKEN"},
                # This app keeps no enterprise extension: a null constant leaves it unmanaged.
                "mappings": {
                    "user": {
                        "userName": "ToLower([mail])",
                        "enterprise.department": {"constant": None},
                    }
                },
                "scope": [
                    [
                        {
                            "attribute": "enterprise.department",
                            "operator": "EQUALS",
                            "value": "Engineering",
                        }
                    ]
                ],
                "out_of_scope": out_of_scope,
            },
        },
        "users": people,
    }
    root.mkdir(exist_ok=True)
    (root / "spec.yaml").write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    return root


def test_two_targets_two_mappings_and_scope(
    two_targets: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hr_url, app_url = two_targets
    specs = write(tmp_path / "specs", hr_url, app_url, PEOPLE)
    for target in ("hr", "app"):
        code, out, err = run(capsys, "apply", str(specs), "--target", target, "--auto-approve")
        assert code == 0, out + err
        code, out, _ = run(capsys, "plan", str(specs), "--target", target, "--detailed-exitcode")
        assert (code, "No changes." in out) == (0, True), out

    hr = users_on(hr_url, two_targets_token(TOKEN_ENV))
    assert sorted(hr) == ["e1001", "e1002"]
    assert hr["e1001"]["displayName"] == "Alice Wong"
    assert hr["e1001"]["userType"] == "Employee"
    assert hr["e1001"]["title"] == "Staff"
    app = users_on(app_url, two_targets_token("DJANGO_TOKEN"))
    assert sorted(app) == ["alice.wong@corp.example"]  # Bob (Sales) is out of scope

    code, out, _ = run(capsys, "plan", str(specs), "--target", "app")
    assert "Out of scope: user bob@example.com (not provisioned): out of scope: group 1" in out


def test_leaving_scope_follows_the_policy(
    two_targets: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hr_url, app_url = two_targets
    specs = write(tmp_path / "specs", hr_url, app_url, PEOPLE)
    assert run(capsys, "apply", str(specs), "--target", "app", "--auto-approve")[0] == 0
    moved = [dict(PEOPLE[0], enterprise={"department": "Sales"}), PEOPLE[1]]

    write(tmp_path / "specs", hr_url, app_url, moved, out_of_scope="skip")
    code, out, _ = run(capsys, "plan", str(specs), "--target", "app", "--detailed-exitcode")
    assert code == 0
    assert "Out of scope: user alice@example.com (left alone)" in out

    write(tmp_path / "specs", hr_url, app_url, moved, out_of_scope="deprovision")
    code, out, _ = run(
        capsys,
        "plan",
        str(specs),
        "--target",
        "app",
        "--only",
        "user:alice@example.com",
        "--explain",
    )
    assert "3 scope: out of scope: group 1 clause 1" in out
    assert "→ deprovisioned on this target" in out
    assert 'userName ← ToLower([mail]) = "alice.wong@corp.example"' in out
    code, out, err = run(capsys, "apply", str(specs), "--target", "app", "--auto-approve")
    assert code == 0, out + err
    assert "- disable user alice@example.com" in out
    assert (
        users_on(app_url, two_targets_token("DJANGO_TOKEN"))["alice.wong@corp.example"]["active"]
        is False
    )


def two_targets_token(name: str) -> str:
    return os.environ[name]
