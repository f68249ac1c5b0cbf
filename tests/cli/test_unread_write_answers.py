"""A write answered 2xx with a body scimrec cannot read (not JSON, or a name held in two
spellings, RFC 7643 §2.1) was made, as far as its status says, but what became of it
cannot be told. Every write method reports it failed and possibly made, with the status
the target gave in the audit trail; a read answered so says nothing of a write. The next
plan, which reads the target afresh, shows where it stands."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest
import yaml

from reconciler.cli import main
from tests.fakescim import BASE_URL, FakeScim

TOKEN_ENV = "UNREAD_WRITES_TOKEN"
TOKEN = "tok-unread-writes-0123456789"
HTML = b"<html><body>Signed in</body></html>"
Body = Callable[[dict[str, Any]], tuple[bytes, str]]


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)


def _html(_: dict[str, Any]) -> tuple[bytes, str]:
    return HTML, "text/html"


def _held_twice(resource: dict[str, Any]) -> tuple[bytes, str]:
    spelt = {k: v for k, v in resource.items() if k != "userName"}
    spelt["UserName"] = spelt["USERNAME"] = resource.get("userName")
    return json.dumps(spelt).encode(), "application/scim+json"


def _spoiled(
    fake: FakeScim, method: str, body: Body, endpoint: str = "/Users"
) -> httpx2.MockTransport:
    """The fake, with its 2xx answers to `method` on `endpoint` given an unreadable body (a
    DELETE's empty 204 becomes a 200)."""

    def handle(request: httpx2.Request) -> httpx2.Response:
        response = fake.handle(request)
        if request.method != method or endpoint not in request.url.path:
            return response
        if response.status_code >= 300:
            return response
        if response.content:
            resource = json.loads(response.content)
        else:
            resource = {"id": "gone", "userName": "gone@example.com"}
        content, kind = body(resource)
        status = 200 if response.status_code == 204 else response.status_code
        return httpx2.Response(status, content=content, headers={"content-type": kind})

    return httpx2.MockTransport(handle)


def _specs(root: Path, users: list[dict[str, Any]]) -> str:
    root.mkdir(parents=True, exist_ok=True)
    target = {
        "url": BASE_URL,
        "auth": {"type": "bearer", "token_env": TOKEN_ENV},
        "prune": "all",
        "deprovision": "delete",
    }
    doc = {"version": 1, "targets": {"t": target}, "users": users, "groups": []}
    (root / "spec.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    return str(root)


def _writes(stderr: str) -> list[dict[str, Any]]:
    events = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    return [e for e in events if e.get("event") == "write"]


WRITES = [
    # (method, the write it makes, the status the fake answers it with)
    ("POST", "create", 201),
    ("PATCH", "update", 200),
    ("DELETE", "delete", 200),
]


@pytest.mark.parametrize("body", [_html, _held_twice], ids=["html", "held-twice"])
@pytest.mark.parametrize(("method", "action", "status"), WRITES, ids=[w[0] for w in WRITES])
def test_an_unreadable_answer_to_a_write_is_a_failure_that_may_have_been_made(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    method: str,
    action: str,
    status: int,
    body: Body,
) -> None:
    fake = FakeScim(token=TOKEN)
    fake.add_user("kept@example.com", active=True, title="Old")
    fake.add_user("leaver@example.com", active=True)
    users = [{"userName": "kept@example.com", "title": "New"}, {"userName": "new@example.com"}]
    specs = _specs(tmp_path, users)
    capsys.readouterr()

    code = main(
        ["apply", specs, "--target", "t", "--auto-approve", "--log-format", "json"],
        transport=_spoiled(fake, method, body),
    )
    out, err = capsys.readouterr()

    assert code == 1
    failed = [line for line in out.splitlines() if line.startswith("Failed:")]
    assert len(failed) == 1, out
    assert f"answered {status}" in failed[0]
    assert failed[0].endswith(f"the {method} may have been made: run plan again")
    [spoiled] = [w for w in _writes(err) if w["action"] == action]
    assert (spoiled["status"], spoiled["outcome"]) == (status, "failed")
    # The status was true: the write was made, and the next plan finds nothing left to do.
    code = main(["plan", specs, "--target", "t"], transport=fake.transport)
    assert code == 0
    assert "No changes." in capsys.readouterr().out


def test_an_unreadable_answer_to_a_read_says_nothing_of_a_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeScim(token=TOKEN)
    fake.add_user("kept@example.com", active=True)
    specs = _specs(tmp_path, [{"userName": "kept@example.com"}])

    code = main(["plan", specs, "--target", "t"], transport=_spoiled(fake, "GET", _html))

    _, err = capsys.readouterr()
    assert code == 1
    assert "answered 200 with a body that is not JSON (text/html)" in err
    assert "may have been made" not in err
    assert [s.method for s in fake.requests if s.method != "GET"] == []
