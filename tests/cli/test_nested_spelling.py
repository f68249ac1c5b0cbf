"""A nested name in another case, in any one resource of a listing, is read as its RFC
spelling (RFC 7643 §2.1): the plan is the plan of the target written the RFC's way.

Before, only the first resource was searched for nested names. A target that wrote
`{"Value": ...}` inside `emails` for a later user alone hid that user's address: matched
on `emails.value`, the user matched no one, so a plan created the declared user again
and, with `prune: all`, disabled the account it should have matched. Every nested name
scimrec reads is tried here, in every later resource, in two spellings; each plan must be
the plan of the unaltered target."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx2
import pytest
import yaml

from reconciler.cli import main
from reconciler.core.model import ENTERPRISE_URN
from tests.fakescim import BASE_URL, FakeScim

TOKEN_ENV = "NESTED_SPELLING_TOKEN"
TOKEN = "tok-nested-spelling-0123456789"
USERS = 4

# Each nested path a plan reads, as (holder, index in a list or None, name).
NESTED: list[tuple[str, int | None, str]] = [
    ("emails", 0, "value"),
    ("emails", 0, "primary"),
    ("emails", 0, "type"),
    ("name", None, "givenName"),
    ("name", None, "familyName"),
    (ENTERPRISE_URN, None, "department"),
    (ENTERPRISE_URN, None, "employeeNumber"),
    (ENTERPRISE_URN, None, "manager"),
    ("meta", None, "resourceType"),
    ("meta", None, "version"),
    ("meta", None, "location"),
    ("members", 1, "value"),  # in the second group listed
]


def _target() -> FakeScim:
    fake = FakeScim(token=TOKEN)
    fake.unique_names = False  # a target that would take the duplicate a miss creates
    first = ""
    for i in range(USERS):
        uid = fake.add_user(
            f"old-u{i}@example.com",  # matched on emails.value alone
            active=True,
            name={"givenName": f"G{i}", "familyName": f"F{i}"},
            emails=[{"value": f"u{i}@corp.example", "type": "work", "primary": True}],
            **{
                ENTERPRISE_URN: {
                    "department": "Eng",
                    "employeeNumber": str(100 + i),
                    **({"manager": {"value": first}} if first else {}),
                }
            },
        )
        first = first or uid
    fake.add_group("Eng", sorted(fake.users))
    fake.add_group("Ops", sorted(fake.users))
    return fake


def _specs(root: Path) -> str:
    root.mkdir(parents=True, exist_ok=True)
    target = {
        "url": BASE_URL,
        "auth": {"type": "bearer", "token_env": TOKEN_ENV},
        "matching": {"user": ["emails.value"], "group": ["displayName"]},
        "prune": "all",
        "deprovision": "disable",
    }
    users = [
        {
            "userName": f"old-u{i}@example.com",
            "name": {"givenName": f"G{i}", "familyName": f"F{i}"},
            "emails": [{"value": f"u{i}@corp.example", "type": "work", "primary": True}],
            # One change a user, so the plan reads each attribute it compares.
            "enterprise": {"department": "Platform", "employeeNumber": str(100 + i)},
        }
        for i in range(USERS - 1)  # the last is undeclared: prune disables it
    ]
    groups = [
        {"displayName": name, "members": [u["userName"] for u in users]} for name in ("Eng", "Ops")
    ]
    doc = {"version": 1, "targets": {"t": target}, "users": users, "groups": groups}
    (root / "spec.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    return str(root)


def _respelled(
    fake: FakeScim, at: int, where: tuple[str, int | None, str], name: str
) -> httpx2.MockTransport:
    """The fake, with `where` in the listed resource `at` named `name` instead."""
    holder, index, key = where

    def handle(request: httpx2.Request) -> httpx2.Response:
        response = fake.handle(request)
        body: dict[str, Any] = json.loads(response.content or b"{}")
        resources = body.get("Resources") if isinstance(body, dict) else None
        if not isinstance(resources, list) or len(resources) <= at:
            return response
        resources = copy.deepcopy(resources)
        held = resources[at].get(holder)
        if index is not None:
            held = held[index] if isinstance(held, list) and len(held) > index else None
        if isinstance(held, dict) and key in held:
            held[name] = held.pop(key)
        return httpx2.Response(response.status_code, json={**body, "Resources": resources})

    return httpx2.MockTransport(handle)


def _plan(specs: str, transport: httpx2.MockTransport, capsys: pytest.CaptureFixture[str]) -> Any:
    code = main(["plan", specs, "--target", "t", "--format", "json"], transport=transport)
    out = capsys.readouterr().out
    assert code == 0, out
    plan = json.loads(out)
    plan.pop("generated_at", None)
    return plan


@pytest.mark.parametrize("where", NESTED, ids=[f"{h[-4:]}.{n}" for h, _, n in NESTED])
def test_a_nested_name_in_another_case_in_any_later_resource_reads_as_the_rfc_one(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    where: tuple[str, int | None, str],
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    fake = _target()
    specs = _specs(tmp_path / "specs")
    expected = _plan(specs, fake.transport, capsys)
    assert expected["summary"]["create"] == 0 and expected["summary"]["update"] >= USERS - 1
    for at in range(1, USERS):
        for name in (where[2].upper(), where[2][0].upper() + where[2][1:]):
            assert _plan(specs, _respelled(fake, at, where, name), capsys) == expected, (at, name)


def test_a_missed_address_would_have_created_and_disabled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # What the case above guards against, shown on the spelling the walk cannot take:
    # an address under a name that is no SCIM name matches no one.
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    fake = _target()
    specs = _specs(tmp_path / "specs")
    plan = _plan(specs, _respelled(fake, 2, ("emails", 0, "value"), "Valeur"), capsys)
    assert plan["summary"]["create"] == 1


def test_apply_with_a_later_resource_respelled_creates_and_disables_no_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    fake = _target()
    specs = _specs(tmp_path / "specs")
    transport = _respelled(fake, 2, ("emails", 0, "value"), "Value")
    code = main(
        ["apply", specs, "--target", "t", "--auto-approve", "--log-level", "error"],
        transport=transport,
    )
    assert code == 0, capsys.readouterr()
    assert fake.count("POST") == 0
    inactive = sorted(u["userName"] for u in fake.users.values() if u.get("active") is False)
    assert inactive == [f"old-u{USERS - 1}@example.com"]
