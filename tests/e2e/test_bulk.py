"""Bulk creates (RFC 7644 §3.7) on real servers: scim2-server advertises Bulk, so an initial
apply sends its user creates in Bulk requests, managers named by bulkId; servers that do not
advertise it get one request per create. Either way, plan reports no changes after."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from reconciler.core.model import ENTERPRISE_URN
from reconciler.scim.bulk_requests import MIN_CREATES
from tests.conftest import TOKEN_ENV, Target, write_spec
from tests.e2e.test_audit import audit_lines
from tests.e2e.test_lifecycle import RICH, assert_converged, by_name, person, run
from tests.servers.launch import Server

USERS = MIN_CREATES + 5


def staff(target: Target) -> list[dict[str, Any]]:
    """u0 manages u1 and u2, u1 manages u3 and u4, ... (listed reports first)."""
    out = []
    for i in reversed(range(USERS)):
        extra: dict[str, Any] = {}
        if i and target.flavour in RICH:
            extra["enterprise"] = {"manager": f"u{(i - 1) // 2}@example.com"}
        out.append(person(target, f"u{i}@example.com", "User", f"Number{i}", **extra))
    return out


def test_initial_apply_uses_bulk_where_offered(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    users = staff(target)
    groups = [{"displayName": "Everyone", "members": [u["userName"] for u in users]}]
    specs = write_spec(tmp_path / "specs", target, users, groups, quirks={"bulk": "use"})
    audit = tmp_path / "audit.jsonl"
    args = ["--target", "e2e", "--auto-approve", "--audit-log", str(audit)]
    code, out, err = run(capsys, "apply", str(specs), *args)
    assert code == 0, out + err
    records = [r for r in audit_lines(audit) if r["kind"] == "user"]
    via = {r.get("via") for r in records}
    # scim2-server advertises Bulk; django-scim2 (501) and Better Auth (404) do not.
    assert via == ({"/Bulk"} if target.flavour == "scim2-server" else {None})
    assert len(records) == USERS and {r["outcome"] for r in records} == {"ok"}
    found = by_name(target)
    assert sorted(found) == sorted(u["userName"] for u in users)
    if target.flavour in RICH:
        for i in range(1, USERS):
            manager = found[f"u{(i - 1) // 2}@example.com"]["id"]
            assert found[f"u{i}@example.com"][ENTERPRISE_URN]["manager"]["value"] == manager
    assert_converged(capsys, specs)


@pytest.mark.parametrize("quirks", [{"bulk": "never"}, {}], ids=["never", "by-default"])
def test_without_use_one_request_per_create(
    scim2_server: Server,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    quirks: dict[str, str],
) -> None:
    monkeypatch.setenv(TOKEN_ENV, scim2_server.token)
    tenant = f"{scim2_server.url}/t{uuid.uuid4().hex[:12]}/v2"
    target = Target("scim2-server", tenant, scim2_server.token)
    specs = write_spec(tmp_path / "specs", target, staff(target), quirks=quirks)
    audit = tmp_path / "audit.jsonl"
    args = ["--target", "e2e", "--auto-approve", "--audit-log", str(audit)]
    code, out, err = run(capsys, "apply", str(specs), *args)
    assert code == 0, out + err
    assert {r.get("via") for r in audit_lines(audit)} == {None}
    assert_converged(capsys, specs)


def test_bulk_on_scimmy(scimmy: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """SCIMMY advertises Bulk too (maxOperations 1000): its answers settle each create."""
    users = staff(scimmy)
    groups = [{"displayName": "Everyone", "members": [u["userName"] for u in users]}]
    specs = write_spec(tmp_path / "specs", scimmy, users, groups, quirks={"bulk": "use"})
    audit = tmp_path / "audit.jsonl"
    args = ["--target", "e2e", "--auto-approve", "--audit-log", str(audit)]
    code, out, err = run(capsys, "apply", str(specs), *args)
    assert code == 0, out + err
    records = [r for r in audit_lines(audit) if r["kind"] == "user"]
    assert {(r.get("via"), r["outcome"]) for r in records} == {("/Bulk", "ok")}
    with scimmy.http() as http:  # Express 5 ignores startIndex: no paged listing here
        assert http.get("/Users", params={"count": 1}).json()["totalResults"] == USERS
    assert_converged(capsys, specs)
