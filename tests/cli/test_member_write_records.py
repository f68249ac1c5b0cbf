"""A group member write the target answers with success and does not make is recorded as
apply counts it: `failed`, with the reason, never `ok` (scim/apply/verdicts.py). Whatever
sends it (a PATCH add, a removal by filter path or by value list, a PUT of the members),
its verification runs before its record, and the record and the apply's count agree."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest
import yaml

from reconciler.cli import main
from tests.fakescim import BASE_URL, FakeScim, json_response

TOKEN_ENV = "MEMBER_RECORDS_TOKEN"
TOKEN = "tok-member-records-0123456789"


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)


def _ignoring(fake: FakeScim, method: str) -> httpx2.MockTransport:
    """The fake, answering every `method` on a group with 200 and the group as it was."""

    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.method == method and "/Groups/" in request.url.path:
            return json_response(200, fake.groups[request.url.path.rpartition("/")[2]])
        return fake.handle(request)

    return httpx2.MockTransport(handle)


ROUTES = [
    # (what the plan asks, quirks, the method the target ignores, the verb the record names)
    ("add", {}, "PATCH"),
    ("remove", {}, "PATCH"),
    ("remove", {"member_removal": "value"}, "PATCH"),
    ("add", {"patch": "never"}, "PUT"),
    ("remove", {"patch": "never"}, "PUT"),
]


@pytest.mark.parametrize(("change", "quirks", "method"), ROUTES,
                         ids=["patch-add", "filter-removal", "value-removal", "put-add",
                              "put-removal"])  # fmt: skip
def test_a_member_write_answered_success_and_not_made_is_recorded_failed(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    change: str,
    quirks: dict[str, Any],
    method: str,
) -> None:
    fake = FakeScim(token=TOKEN)
    alice = fake.add_user("alice@example.com", active=True)
    bob = fake.add_user("bob@example.com", active=True)
    eng = fake.add_group("Eng", [alice] if change == "add" else [alice, bob])
    target = {"url": BASE_URL, "auth": {"type": "bearer", "token_env": TOKEN_ENV},
              "quirks": quirks}  # fmt: skip
    members = ["alice@example.com", "bob@example.com"] if change == "add" else ["alice@example.com"]
    doc = {
        "version": 1,
        "targets": {"t": target},
        "users": [{"userName": "alice@example.com"}, {"userName": "bob@example.com"}],
        "groups": [{"displayName": "Eng", "members": members}],
    }
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    audit = tmp_path / "audit.jsonl"

    code = main(
        ["apply", str(tmp_path), "--target", "t", "--auto-approve", "--log-format", "json",
         "--audit-log", str(audit)],
        transport=_ignoring(fake, method),
    )  # fmt: skip
    out, err = capsys.readouterr()

    assert code == 1
    [failed] = [line for line in out.splitlines() if line.startswith("Failed:")]
    assert failed.startswith(f"Failed: group Eng: {method} /Groups/{eng}"), failed
    assert sorted(m["value"] for m in fake.groups[eng]["members"]) == sorted(
        [alice] if change == "add" else [alice, bob]
    )
    logged = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    recorded = [json.loads(line) for line in audit.read_text(encoding="utf-8").splitlines()]
    for records in ([e for e in logged if e.get("event") == "write"], recorded):
        [write] = [r for r in records if r.get("method") == method]
        assert write["outcome"] == "failed", write
        assert write["status"] == 200
        assert write["error"] == failed.removeprefix("Failed: group Eng: ")
