"""Cursor paging (RFC 9865) on a real server: scim2-server configured to page by cursor only
(tests/servers/scim2_cursor/: `index: false`, so a startIndex is answered 501, and at most 25
resources a page). The bootstrap, a drift audit and the import round trip all read by cursor.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from tests.conftest import TOKEN_ENV, Target, write_spec
from tests.e2e.test_bootstrap import GROUPS, USERS, bootstrap
from tests.e2e.test_lifecycle import assert_converged, run
from tests.servers.launch import Server


@pytest.fixture
def cursor_target(scim2_cursor_server: Server, monkeypatch: pytest.MonkeyPatch) -> Target:
    monkeypatch.setenv(TOKEN_ENV, scim2_cursor_server.token)
    url = f"{scim2_cursor_server.url}/t{uuid.uuid4().hex[:12]}/v2"
    return Target("scim2-server", url, scim2_cursor_server.token)


def reads(err: str) -> dict[str, int]:
    """Pages per kind of the import step's reads, from the JSON log."""
    pages = {}
    for line in err.splitlines():
        event = json.loads(line) if line.startswith("{") else {}
        if event.get("event") == "read target":
            pages[event["kind"]] = event["pages"]
    return pages


def test_a_cursor_only_target_is_read_by_cursor(
    cursor_target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    users, groups = bootstrap(cursor_target)
    specs = write_spec(tmp_path / "specs", cursor_target, users, groups)
    code, out, err = run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")
    assert code == 0, out + err[-3000:]
    assert f"Apply complete: {USERS + GROUPS} created" in out
    code, out, err = run(capsys, "plan", str(specs), "--target", "e2e", "--detailed-exitcode")
    assert code == 0
    assert "No changes." in out
    assert reads(err) == {"user": 2, "group": 1}  # 40 users at 25 a page

    code, out, _ = run(capsys, "drift", str(specs), "--target", "e2e", "--format", "json")
    assert code == 0
    assert json.loads(out)["summary"]["in_sync"] == USERS + GROUPS

    imported = tmp_path / "imported"
    code, _, err = run(
        capsys, "import", str(specs), "--target", "e2e", "--out", str(imported), "--adopt"
    )
    assert code == 0, err[-3000:]
    assert_converged(capsys, imported)


def test_doctor_on_a_cursor_only_target(
    cursor_target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    specs = write_spec(tmp_path / "specs", cursor_target, [])
    code, out, _ = run(capsys, "doctor", str(specs), "--target", "e2e", "--write-probe")
    assert code == 0, out
    lines = {tuple(x.split()[1:3]): x.split()[0] for x in out.splitlines()[1:-1]}
    assert lines[("paging", "cursor")] == "ok"
    assert lines[("auth", "credentials")] == "ok"
    assert "fail" not in lines.values()
