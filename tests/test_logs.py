"""Logs (logs.py): every event of a run, the retry library's included, says which run, step
and object it belongs to, and a retried request is said once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reconciler import logs
from tests.fakescim import FakeScim
from tests.scim.conftest import TOKEN, TOKEN_ENV
from tests.scim.test_faults import plan_and_apply, user, write_spec


def events(err: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in err.splitlines() if line.startswith("{")]


def test_every_event_carries_the_run_context_retries_included(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    logs.configure("debug", json_lines=True)
    fake = FakeScim()
    fake.add_user("alice@example.com", title="Old")
    # One 503 while connecting, one while writing: each is retried, and says where it was.
    fake.fail("GET", "/ServiceProviderConfig", status=503)
    fake.fail("PATCH", "/Users/*", status=503)
    specs = write_spec(tmp_path, [user("alice@example.com", title="New")])
    _, result = plan_and_apply(specs, fake)
    assert [o.ok for o in result.outcomes] == [True]
    found = events(capsys.readouterr().err)
    retries = [e for e in found if e["event"] == "retrying"]
    assert [(e["step"], e.get("kind"), e.get("key")) for e in retries] == [
        ("test_connection", None, None),
        ("action", "user", "alice@example.com"),
    ]
    assert retries[0]["reason"].startswith("GET /ServiceProviderConfig answered 503")
    assert {e["level"] for e in retries} == {"warning"}
    run_ids = {e.get("run_id") for e in found}
    assert len(run_ids) == 1
    assert None not in run_ids
    assert {e.get("target") for e in found} == {"fake"}
    assert all("step" in e for e in found), [e for e in found if "step" not in e]


def test_a_request_retried_again_and_again_is_said_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    logs.configure("info", json_lines=True)
    fake = FakeScim()
    fake.fail("GET", "/ServiceProviderConfig", status=503, times=2)  # 3 attempts in tests
    specs = write_spec(tmp_path, [user("alice@example.com")])
    plan_and_apply(specs, fake)
    retries = [e for e in events(capsys.readouterr().err) if e["event"] == "retrying"]
    assert [(e["attempt"], e["level"]) for e in retries] == [(2, "warning")]
