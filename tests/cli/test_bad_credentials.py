"""A credential that no request can carry is the user's input, not a bug: each is refused in
one line naming the variable (never the value), exit 1, before any request is sent
(scim/auth.py `from_env`, which every credential passes through)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from reconciler.cli import main
from reconciler.core.config import Auth, Target
from reconciler.scim.auth import MAX_SECRET_FILE_BYTES, credentials
from tests.fakescim import BASE_URL, FakeScim

SECRET = "Qw8Er7Ty6Ui5Op4As3Df2Gh1"
WHERE = "(token_env of target 't')"
NOT_ASCII = (
    f"{WHERE} holds a character that is not printable ASCII (an accent, a curly quote, a "
    "control character): no HTTP header can carry it; check how it was copied"
)


def specs(root: Path) -> Path:
    auth = {"type": "bearer", "token_env": "T_TOKEN"}
    doc = {
        "version": 1,
        "targets": {"t": {"url": BASE_URL, "auth": auth}},
        "users": [{"userName": "a@example.com"}],
    }
    (root / "specs").mkdir()
    (root / "specs" / "spec.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    return root / "specs"


def planned(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, FakeScim]:
    """The exit code of `plan`, the last line it wrote (stdout on success, else stderr), and
    the target it ran against."""
    fake = FakeScim(token=SECRET)
    argv = ["plan", str(specs(root)), "--target", "t", "--log-level", "debug"]
    code = main(argv, transport=fake.transport)
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    assert SECRET not in out + err
    return code, (out.splitlines() if code == 0 else err.splitlines())[-1], fake


def in_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes) -> None:
    token = tmp_path / "token"
    token.write_bytes(content)
    monkeypatch.delenv("T_TOKEN", raising=False)
    monkeypatch.setenv("T_TOKEN_FILE", str(token))


@pytest.mark.parametrize(
    "token",
    [
        SECRET + "\u00e9",  # a pasted accent
        "\u201c" + SECRET + "\u201d",  # curly quotes, from a document
        SECRET + "\x01",  # a control character
        SECRET + "\x1b[2J",  # a terminal escape
        SECRET + "\x7f",
    ],
    ids=["accent", "curly-quotes", "control", "escape", "delete"],
)
def test_a_token_no_header_can_carry_is_refused_naming_the_variable(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    token: str,
) -> None:
    monkeypatch.setenv("T_TOKEN", token)
    code, last, fake = planned(tmp_path, capsys)
    assert (code, last) == (1, f"Error: environment variable T_TOKEN {NOT_ASCII}")
    assert fake.requests == []


@pytest.mark.parametrize(
    "content",
    [SECRET.encode() + b"\x00x\n", SECRET.encode() + b"\r\nX-Other: 1\n", b"\xc3\xa9" + b"x" * 20],
    ids=["nul", "line-break", "accent"],
)
def test_a_token_file_no_header_can_carry_is_refused_naming_the_variable(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    content: bytes,
) -> None:
    in_file(tmp_path, monkeypatch, content)
    code, last, fake = planned(tmp_path, capsys)
    assert (code, last) == (1, f"Error: the file T_TOKEN_FILE names {NOT_ASCII}")
    assert fake.requests == []


TOO_LARGE = f"names a file larger than {MAX_SECRET_FILE_BYTES // 1024} KiB, more than any secret"
NOT_REGULAR = "names no regular file (a FIFO, a device, a directory)"


def _not_utf8(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    in_file(tmp_path, monkeypatch, b"\xff\xfe" + SECRET.encode())
    return "names a file that is not UTF-8 text"


def _too_large(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    in_file(tmp_path, monkeypatch, b"x" * (MAX_SECRET_FILE_BYTES + 1))
    return TOO_LARGE


def _endless(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("T_TOKEN_FILE", "/dev/zero")  # read whole, it would fill memory
    return NOT_REGULAR


def _fifo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    os.mkfifo(tmp_path / "pipe")  # read, it would wait for a writer that never comes
    monkeypatch.setenv("T_TOKEN_FILE", str(tmp_path / "pipe"))
    return NOT_REGULAR


def _directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("T_TOKEN_FILE", str(tmp_path))
    return NOT_REGULAR


def _missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("T_TOKEN_FILE", str(tmp_path / "nope"))
    return "cannot be read: No such file or directory"


FILES = [_not_utf8, _too_large, _endless, _fifo, _directory, _missing]


@pytest.mark.parametrize("make", FILES, ids=[f.__name__.strip("_") for f in FILES])
def test_a_token_file_that_cannot_be_read_is_refused_naming_the_variable(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    make: Callable[[Path, pytest.MonkeyPatch], str],
) -> None:
    monkeypatch.delenv("T_TOKEN", raising=False)
    why = make(tmp_path, monkeypatch)
    # validate reads it too, to mask it early (auth.py `register_named`): never an error there.
    code = main(["validate", str(specs(tmp_path))])
    out, err = capsys.readouterr()
    assert (code, err) == (0, ""), err
    fake = FakeScim(token=SECRET)
    argv = ["plan", str(tmp_path / "specs"), "--target", "t", "--log-level", "debug"]
    code = main(argv, transport=fake.transport)
    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert err.splitlines()[-1] == f"Error: T_TOKEN_FILE {WHERE}: {why}"
    assert "Traceback" not in err
    assert SECRET not in err
    assert fake.requests == []


def test_a_token_file_at_the_limit_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    padding = b" " * (MAX_SECRET_FILE_BYTES - len(SECRET) - 1)
    in_file(tmp_path, monkeypatch, SECRET.encode() + b"\n" + padding)
    code, last, fake = planned(tmp_path, capsys)
    assert (code, last) == (0, "Plan: 1 to create, 0 to update, 0 to disable, 0 to delete.")
    assert fake.requests != []


def test_a_password_is_not_held_to_what_a_header_carries(monkeypatch: pytest.MonkeyPatch) -> None:
    # HTTP Basic sends the password in base64 (RFC 7617 §2.1, UTF-8): any text will do.
    monkeypatch.setenv("U", "ana")
    monkeypatch.setenv("P", "pässwörd\u201c1")
    target = Target("t", BASE_URL, Auth("basic", username_env="U", password_env="P"))
    headers, _ = credentials(target)
    assert headers["Authorization"].startswith("Basic ")
