"""Multi-valued attributes: per-element PATCH paths where they fit and the target takes them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Target, write_spec
from tests.e2e.test_lifecycle import assert_converged, by_name, run


def test_email_change_converges_on_real_servers(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    emails: list[dict[str, Any]] = [
        {"value": "a@old.example", "type": "work", "primary": True},
        {"value": "a@home.example", "type": "home"},
    ]
    if target.flavour == "django-scim2":  # keeps one untyped email
        emails = [{"value": "a@old.example", "primary": True}]
    users = [{"userName": "a@example.com", "emails": emails}]
    specs = write_spec(tmp_path / "specs", target, users)
    assert run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")[0] == 0
    emails[0]["value"] = "a@new.example"
    write_spec(tmp_path / "specs", target, users)
    code, out, err = run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")
    assert code == 0, out + err
    assert_converged(capsys, specs)
    stored = by_name(target)["a@example.com"]["emails"]
    assert any(e["value"] == "a@new.example" for e in stored)
