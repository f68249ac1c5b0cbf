"""A target that echoes a secret base64-encoded inside more text (the Authorization header
line it received, `Bearer <token>`, encoded whole; the token with a line end after it)
shows the token in a form base64 of the token alone does not match: base64 works in groups
of three bytes, so text before or after the token changes every character of its encoding
but those in its middle. Every output must still hide it (DESIGN §6)."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
import yaml

from reconciler.cli import main
from reconciler.scim.redact import forget_secrets
from tests.fakescim import BASE_URL, FakeScim

ENV = "B64_SCIM_TOKEN"


def offsets(secret: bytes) -> set[str]:
    """The characters of the secret's base64 that do not depend on what surrounds it, at
    each of the three positions it can start at within an encoded text, in both alphabets."""
    cores = set()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        for before in range(3):
            text = encode(b"\0" * before + secret).decode().rstrip("=")
            skip = (0, 2, 3)[before]
            end = len(text) - (1 if (before + len(secret)) % 3 else 0)
            cores.add(text[skip:end])
    return cores


def windows(texts: set[str], width: int = 16) -> set[str]:
    return {t[i : i + width] for t in texts for i in range(len(t) - width + 1)}


class EchoesBase64(FakeScim):
    """Echoes the Authorization header, base64-encoded within other text, everywhere."""

    def __init__(self, token: str) -> None:
        super().__init__(token=token)
        header = f"Bearer {token}".encode()
        self.blobs = [
            base64.b64encode(header).decode(),
            base64.b64encode(b"Authorization: " + header + b"\r\n").decode(),
            base64.urlsafe_b64encode(b"x" + token.encode() + b"\n").decode(),
        ]
        self.alice = self.add_user("alice@example.com", title=self.blobs[0], nickName=self.blobs[2])
        self.fail(
            "PATCH",
            f"/Users/{self.alice}",
            status=400,
            body={"detail": f"request was {self.blobs[1]}"},
            times=99,
        )

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        response = super().handle(request)
        response.headers["X-Request-Echo"] = self.blobs[1]
        return response


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    # 41 characters: its encoding at offset 0 ends in a character shared with what follows.
    value = secrets.token_urlsafe(31)[:41]
    monkeypatch.setenv(ENV, value)
    yield value
    forget_secrets()


def test_a_token_echoed_in_base64_within_other_text_never_shows(
    token: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert len(token) == 41
    doc: dict[str, Any] = {
        "version": 1,
        "targets": {
            "t": {"url": BASE_URL, "auth": {"type": "bearer", "token_env": ENV}},
        },
        "users": [
            {"userName": "alice@example.com", "title": "Engineer", "nickName": "Al"},
        ],
    }
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "spec.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    fake = EchoesBase64(token)
    transcript = []
    for args in (
        ["plan", str(specs), "-t", "t", "--format", "json", "--out", str(tmp_path / "p.json")],
        ["plan", str(specs), "-t", "t", "--explain"],
        ["apply", str(specs), "-t", "t", "--auto-approve", "--audit-log", str(tmp_path / "a")],
        ["drift", str(specs), "-t", "t"],
    ):
        code = main([*args, "--log-level", "debug"], transport=fake.transport)
        out, err = capsys.readouterr()
        assert code in (0, 1, 2), err
        transcript.append(out + err)
    files = [p.read_text(encoding="utf-8") for p in tmp_path.iterdir() if p.is_file()]
    everything = "\n".join(transcript + files)
    assert "Engineer" in everything  # the plan was shown
    assert "***" in everything
    assert [b for b in fake.blobs if b in everything] == []
    needles = windows(offsets(token.encode()))
    assert sorted(n for n in needles if n in everything) == []
