"""A secret pasted into the spec where the name of its variable belongs (`token_env:
eyJhbGci...`) is never printed back. Before, every command said `environment variable
eyJhbGci... (token_env of target 't') is not set`, in CI logs for anyone to read."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from reconciler.cli import main
from tests.fakescim import BASE_URL, FakeScim

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl-x_y"
LOWER_TOKEN = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"


def _specs(root: Path, auth: dict[str, str]) -> str:
    root.mkdir(parents=True, exist_ok=True)
    doc = {
        "version": 1,
        "targets": {"t": {"url": BASE_URL, "auth": auth}},
        "users": [{"userName": "alice@example.com"}],
    }
    (root / "spec.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    return str(root)


AUTHS = {
    "bearer": {"type": "bearer", "token_env": JWT},
    "basic": {"type": "basic", "username_env": "U", "password_env": f"pass-{JWT}"},
    "oauth": {
        "type": "oauth2_client_credentials",
        "token_url": "https://idp.test/token",
        "client_id_env": "CLIENT",
        "client_secret_env": f"{JWT}==",
    },
}


@pytest.mark.parametrize("auth", AUTHS.values(), ids=AUTHS.keys())
@pytest.mark.parametrize("command", ["validate", "plan", "targets"])
def test_what_is_no_variable_name_is_refused_and_never_shown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], auth: dict[str, str], command: str
) -> None:
    specs = _specs(tmp_path / "specs", auth)
    args = [command, specs] + (["--target", "t"] if command == "plan" else [])
    code = main(args, transport=FakeScim().transport)
    captured = capsys.readouterr()
    assert code == 1
    assert "not the name of an environment variable" in captured.err
    assert "the value is not shown here" in captured.err
    assert JWT[:16] not in captured.out + captured.err


def test_an_unset_variable_named_unlike_a_variable_is_not_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(LOWER_TOKEN, raising=False)
    specs = _specs(tmp_path / "specs", {"type": "bearer", "token_env": LOWER_TOKEN})
    code = main(["plan", specs, "--target", "t"], transport=FakeScim().transport)
    err = capsys.readouterr().err
    assert code == 1
    assert "the environment variable that token_env of target 't' names is not set" in err
    assert LOWER_TOKEN[:16] not in err


def test_an_unset_variable_in_upper_case_is_still_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("T_SCIM_TOKEN", raising=False)
    specs = _specs(tmp_path / "specs", {"type": "bearer", "token_env": "T_SCIM_TOKEN"})
    assert main(["plan", specs, "--target", "t"], transport=FakeScim().transport) == 1
    assert "environment variable T_SCIM_TOKEN (token_env of target 't') is not set" in (
        capsys.readouterr().err
    )
