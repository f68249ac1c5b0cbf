"""Echoes of a secret that a reader still reads as the secret, and the masking of each
(scim/spans.py `fold`, scim/secret_forms.py, scim/redact.py `_undone`, scim/proxies.py
`register_proxies`): the token with default-ignorable characters between its letters, a
non-ASCII password whose UTF-8 a server read as Latin-1, a header line quoted as Python
bytes with a DEL or 0xff between the letters, and a proxy's credentials."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from reconciler.scim.proxies import register_proxies
from reconciler.scim.redact import register_secret, scrub, scrub_json

TOKEN = "tok-9f3a71c2b8d04e6a55"


def _masked(shown: str, *, secret: str = TOKEN) -> None:
    assert secret not in scrub(shown).replace("***", "")
    out = scrub(f"error: {shown} refused")
    assert "***" in out, out
    raw = json.dumps({"detail": f"error: {shown} refused"}, ensure_ascii=False).encode()
    assert "***" in scrub_json(json.loads(raw), raw)["detail"]


@pytest.mark.parametrize("between", ["\ufe0f", "\u034f", "\u17b4", "\u3164", "\uffa0", "\u2065"])
def test_default_ignorable_characters_between_its_letters(between: str) -> None:
    register_secret(TOKEN)
    _masked(between.join(TOKEN))


def test_a_password_whose_utf8_was_read_as_latin1() -> None:
    password = "Grün-Käse-7f3a-Übermaß-99"
    register_secret(password)
    misread = password.encode().decode("latin-1")
    assert misread.startswith("GrÃ¼n")
    _masked(misread, secret=password)
    _masked(misread[4:-4], secret=password)  # cut short at both ends


@pytest.mark.parametrize("byte", ["\\x7f", "\\xff", "\\x00"])
def test_a_header_line_quoted_as_python_bytes(byte: str) -> None:
    register_secret(TOKEN)
    quoted = f"illegal header line: bytearray(b'Authorization: Bearer {byte.join(TOKEN)}')"
    out = scrub(quoted)
    assert "***" in out
    assert byte.join(TOKEN[:6]) not in out


def test_a_proxys_credentials_are_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("https_proxy", "http://proxy%2Duser:pr0xy-S3cret%40x@127.0.0.1:3128")
    register_proxies()
    basic = base64.b64encode(b"proxy-user:pr0xy-S3cret@x").decode()
    page = f"407 for proxy-user:pr0xy-S3cret@x ({basic}); password pr0xy-S3cret@x"
    out = scrub(page)
    assert "S3cret" not in out
    assert basic not in out


def test_a_proxy_without_credentials_registers_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    register_proxies()
    assert scrub("via http://proxy.internal:3128") == "via http://proxy.internal:3128"


@pytest.mark.parametrize("secret", [TOKEN, "pw-7Qz9"])
def test_reversed_after_a_right_to_left_override(secret: str) -> None:
    # Shown as "\u202e<reversed>\u202c", it reads in order.
    register_secret(secret)
    out = scrub(f"name: \u202e{secret[::-1]}\u202c")
    assert secret[::-1] not in out
    assert "***" in out


@pytest.mark.parametrize(
    "dump",
    [
        lambda s: "-".join(f"{b:02X}" for b in s.encode("utf-16-le")),  # .NET BitConverter
        lambda s: " ".join(f"{b:02x}" for b in s.encode("utf-16-le")),
        lambda s: "[" + ", ".join(str(b) for b in s.encode()) + "]",  # Java Arrays.toString
        lambda s: ",".join(str(b - 256 if b > 127 else b) for b in s.encode()),  # signed
    ],
)
def test_byte_dumps_of_the_text(dump: Any) -> None:
    secret = TOKEN + "-é"  # a non-ASCII byte: Java's bytes are signed
    register_secret(secret)
    shown = dump(secret)
    out = scrub(f"Authorization (bytes): {shown}")
    assert shown not in out
    assert "***" in out
