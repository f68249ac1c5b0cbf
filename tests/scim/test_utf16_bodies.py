"""A target that answers in UTF-16 (JSON that Python's parser reads in any UTF, RFC 8259
§8.1 notwithstanding) is held to what it holds in UTF-8: the checks that skip work by
looking at the raw bytes (a lone surrogate's escape, a secret's registered forms) look at
UTF-8 bytes, and must not take a UTF-16 body for a clean one."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
import pytest
import yaml

from reconciler.cli import main
from reconciler.scim.redact import forget_secrets, register_secret, scrub_json
from tests.fakescim import BASE_URL, FakeScim
from tests.scim.conftest import TOKEN, TOKEN_ENV


class Utf16(FakeScim):
    """Every JSON body in UTF-16 (little-endian, no BOM), text not Unicode as it stands."""

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        response = super().handle(request)
        if not response.content:
            return response
        text = json.dumps(json.loads(response.content), ensure_ascii=False)
        headers = {"Content-Type": "application/scim+json", "ETag": 'W/"1"'}
        encoded = text.encode("utf-16-le", "surrogatepass")
        return httpx2.Response(response.status_code, content=encoded, headers=headers)


def test_an_object_with_a_lone_surrogate_sent_in_utf16_is_not_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    fake = Utf16(token=TOKEN)
    alice = fake.add_user("alice@example.com", displayName="A\ud800lice")
    doc = {
        "version": 1,
        "targets": {"t": {"url": BASE_URL, "auth": {"type": "bearer", "token_env": TOKEN_ENV}}},
        "users": [{"userName": "alice@example.com", "displayName": "Alice"}],
    }
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    code = main(["apply", str(tmp_path), "-t", "t", "--auto-approve"], transport=fake.transport)
    out, err = capsys.readouterr()
    assert code == 1, out + err
    assert "displayName" in out + err  # the error names the path
    writes = [s.method for s in fake.requests if s.path == f"/Users/{alice}" and s.method != "GET"]
    assert writes == []


def test_a_secret_in_a_utf16_body_is_masked_as_it_arrives() -> None:
    secret = "s3cret-token-0123456789"
    register_secret(secret)
    try:
        raw = json.dumps({"title": f"echo {secret}"}).encode("utf-16-le")
        assert scrub_json(json.loads(raw), raw) == {"title": "echo ***"}
    finally:
        forget_secrets()
