"""CLI behaviour against a real target: refused credentials, a wrong URL, doctor."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_cli import run
from tests.conftest import Target, write_spec


def test_wrong_token_is_refused_clearly(
    target: Target,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("E2E_SCIM_TOKEN", "not-the-right-token")
    specs = write_spec(tmp_path / "specs", target, [{"userName": "a@example.com"}])
    code, out, err = run(capsys, "plan", str(specs), "--target", "e2e", "--log-level", "error")
    assert (code, out) == (1, "")
    assert err == ("Error: target 'e2e' refused our credentials (401) (check E2E_SCIM_TOKEN)\n")


def test_not_a_scim_endpoint(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = target.url.rsplit("/v2", 1)[0] + "/nothing/here"
    wrong = Target("x", base, target.token)
    specs = write_spec(tmp_path / "specs", wrong, [{"userName": "a@x.io"}])
    code, out, err = run(capsys, "plan", str(specs), "--target", "e2e", "--log-level", "error")
    assert (code, out) == (1, "")
    assert err.startswith("Error: ")
    assert "SCIM" in err
    assert err.count("\n") == 1


def test_doctor_command(target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    specs = write_spec(tmp_path / "specs", target, [{"userName": "a@example.com"}])
    code, out, _ = run(
        capsys,
        "doctor",
        str(specs),
        "--target",
        "e2e",
        "--write-probe",
        "--format",
        "json",
        "--log-level",
        "error",
    )
    assert code == 0
    report = json.loads(out)
    statuses = {(f["area"], f["check"]): f["status"] for f in report["findings"]}
    assert statuses[("auth", "credentials")] == "ok"
    assert statuses[("cleanup", "temporary objects")] == "ok"
    expected = "warn" if target.flavour == "django-scim2" else "ok"
    assert statuses[("groups", "remove member")] == expected
