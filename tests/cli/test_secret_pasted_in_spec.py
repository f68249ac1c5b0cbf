"""A secret pasted into the spec by mistake never shows (DESIGN §6), whatever the command
and whichever target it runs for: spec errors quote what they found (an unknown key, a
duplicate name, a member), and they are reported before any target's credentials are read;
a plan for one target shows what another target's secret was pasted into."""

from __future__ import annotations

import secrets
import string
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.cli import main
from reconciler.scim.redact import forget_secrets
from tests.fakescim import BASE_URL, FakeScim

TOKEN = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(40))
PASSWORD = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(20))

TARGETS = f"""version: 1
targets:
  a:
    url: {BASE_URL}
    auth: {{type: bearer, token_env: PASTED_TOKEN}}
  b:
    url: {BASE_URL}
    auth: {{type: basic, username_env: PASTED_USER, password_env: PASTED_PASSWORD}}
users:
"""
PASTED = {
    "as an unknown key": f"  - userName: a@example.com\n    {TOKEN}: 1\n",
    "as a duplicate user": f"  - userName: {TOKEN}\n  - userName: {TOKEN}\n",
    "as a member": (
        f"  - userName: a@example.com\ngroups:\n  - displayName: G\n    members: [{TOKEN}]\n"
    ),
    "another target's, as a title": f"  - userName: a@example.com\n    title: {PASSWORD}\n",
    "another target's, as a key": f"  - userName: a@example.com\n    {PASSWORD}: 1\n",
}


@pytest.fixture(autouse=True)
def forget() -> Iterator[None]:
    yield
    forget_secrets()


@pytest.mark.parametrize("users", PASTED.values(), ids=list(PASTED))
def test_a_secret_pasted_in_the_spec_never_shows(
    users: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PASTED_TOKEN", TOKEN)
    monkeypatch.setenv("PASTED_USER", "user")
    monkeypatch.setenv("PASTED_PASSWORD", PASSWORD)
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "spec.yaml").write_text(TARGETS + users, encoding="utf-8")
    shown = []
    for args in (["validate", str(specs)], ["plan", str(specs), "-t", "a"]):
        code = main(args, transport=FakeScim().transport)
        out, err = capsys.readouterr()
        assert code in (0, 1, 2), err
        shown.append(out + err)
    everything = "\n".join(shown)
    assert "a@example.com" in everything or "problem" in everything  # something was said
    assert [s for s in (TOKEN, PASSWORD) if s in everything] == []
