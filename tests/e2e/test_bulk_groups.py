"""Group creates through Bulk (RFC 7644 §3.7) on scim2-server, which advertises it: with
`quirks: {bulk: use}` an initial apply sends its user creates, then its group creates, in
Bulk requests; nested groups (native nesting) are named by bulkId in the same request."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from reconciler import logs
from reconciler.report.explain import explain
from reconciler.run import prepare
from reconciler.scim.apply.runner import Applier
from reconciler.scim.bulk_requests import MIN_CREATES
from tests.conftest import TOKEN_ENV, Target, write_spec
from tests.e2e.test_audit import audit_lines
from tests.e2e.test_explain import Recording, explained_writes, resolve
from tests.e2e.test_lifecycle import assert_converged, person, run
from tests.servers.launch import Server

USERS = MIN_CREATES + 2
GROUPS = MIN_CREATES + 2


@pytest.fixture
def tenant(scim2_server: Server, monkeypatch: pytest.MonkeyPatch) -> Target:
    """A fresh tenant of scim2-server for each test."""
    monkeypatch.setenv(TOKEN_ENV, scim2_server.token)
    url = f"{scim2_server.url}/t{uuid.uuid4().hex[:12]}/v2"
    return Target("scim2-server", url, scim2_server.token)


def staff(target: Target) -> list[dict[str, Any]]:
    return [person(target, f"u{i}@example.com", "User", f"Number{i}") for i in range(USERS)]


def teams() -> list[dict[str, Any]]:
    """A chain nested in one request: all ⊃ eng ⊃ web; the rest hold two users each."""
    return [
        {"displayName": "all", "members": ["u0@example.com"], "groups": ["eng"]},
        {"displayName": "eng", "members": ["u1@example.com"], "groups": ["web"]},
        {"displayName": "web", "members": ["u2@example.com", "u3@example.com"]},
        *(
            {"displayName": f"g{i}", "members": [f"u{i}@example.com", f"u{i + 1}@example.com"]}
            for i in range(GROUPS - 3)
        ),
    ]


def apply(target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str],
          users: list[dict[str, Any]]) -> tuple[Path, list[dict[str, Any]], str]:  # fmt: skip
    specs = write_spec(tmp_path / "specs", target, users, teams(), nested_groups="native",
                       quirks={"bulk": "use"})  # fmt: skip
    audit = tmp_path / "audit.jsonl"
    args = ["--target", "e2e", "--auto-approve", "--audit-log", str(audit)]
    _, out, err = run(capsys, "apply", str(specs), *args)
    return specs, audit_lines(audit), out + err


def members(target: Target) -> dict[str, set[str]]:
    """Each group's members, by userName or by the nested group's displayName."""
    with target.http() as http:  # one page: Express 5 ignores startIndex (SCIMMY)
        users, groups = (http.get(e, params={"count": 1000}).json()["Resources"]
                         for e in ("/Users", "/Groups"))  # fmt: skip
    names = {u["id"]: u["userName"] for u in users} | {g["id"]: g["displayName"] for g in groups}
    return {g["displayName"]: {names[m["value"]] for m in g.get("members") or []} for g in groups}


def test_groups_and_nested_groups_are_created_in_one_bulk_request(
    tenant: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    specs, records, output = apply(tenant, tmp_path, capsys, staff(tenant))
    groups = [r for r in records if r["kind"] == "group"]
    creates = [r for r in groups if r["method"] == "POST"]
    assert len(creates) == GROUPS
    assert {(r.get("via"), r["path"], r["outcome"]) for r in creates} == {
        ("/Bulk", "/Groups", "ok")
    }, output
    found = members(tenant)
    assert found["all"] == {"u0@example.com", "eng"}
    assert found["eng"] == {"u1@example.com", "web"}
    assert found["web"] == {"u2@example.com", "u3@example.com"}
    assert found["g4"] == {"u4@example.com", "u5@example.com"}
    # Every member went with its group's create: nothing followed by PATCH.
    assert [r for r in groups if r["method"] != "POST"] == []
    assert_converged(capsys, specs)


def test_a_group_whose_member_failed_to_create_is_created_without_it(
    tenant: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """u3's create is refused (scim2-server takes no profileUrl that is not a URI): web is
    created in Bulk with u2 alone and fails for u3, as it would without Bulk; the others
    are unaffected, and the next apply, once u3 is fixed, adds it."""
    users = staff(tenant)
    users[3]["profileUrl"] = "not a uri"
    specs, records, output = apply(tenant, tmp_path, capsys, users)
    failed = {(r["kind"], r["key"]) for r in records if r["outcome"] == "failed"}
    assert failed == {("user", "u3@example.com")}, output
    assert "member u3@example.com has no target id (its create failed)" in output
    web = [r for r in records if r["kind"] == "group" and r["key"] == "web"]
    assert [(r["method"], r.get("via"), r["outcome"]) for r in web] == [("POST", "/Bulk", "ok")]
    assert members(tenant)["web"] == {"u2@example.com"}
    assert members(tenant)["g2"] == {"u2@example.com"}
    del users[3]["profileUrl"]
    write_spec(tmp_path / "specs", tenant, users, teams(), nested_groups="native",
               quirks={"bulk": "use"})  # fmt: skip
    code, out, err = run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")
    assert code == 0, out + err
    assert members(tenant)["web"] == {"u2@example.com", "u3@example.com"}
    assert_converged(capsys, specs)


def test_explain_shows_each_group_create_as_the_bulk_operation_apply_sends(
    tenant: Target, tmp_path: Path
) -> None:
    """Each group's operation in `plan --explain` is the one apply sends, once the
    placeholders hold the ids apply made (a nested group made in the same request is
    `bulkId:` in the request, `{id of KEY}` in the explanation)."""
    specs = write_spec(tmp_path / "specs", tenant, staff(tenant), teams(),
                       nested_groups="native", quirks={"bulk": "use"})  # fmt: skip
    logs.configure("critical")
    recording = Recording()
    prepared = prepare(specs, "e2e", transport=recording)
    declared = {(o.kind, o.key): o for o in (*prepared.spec.users, *prepared.spec.groups)}
    text = explain(prepared.plan, declared, prepared.target, prepared.caps, prepared.observed)
    result = Applier(prepared.client, prepared.target, prepared.caps, prepared.log).run(
        prepared.plan
    )
    prepared.client.close()
    assert result.failed == ()
    created = {o.key: o.target_id or "" for o in result.outcomes}
    first, _ = explained_writes(text)
    shown = {
        body["Operations"][0]["data"]["displayName"]: body["Operations"][0]["data"]
        for _, url, _, body in resolve(first, created)
        if url.endswith("/Bulk") and body["Operations"][0]["path"] == "/Groups"
    }
    (sent,) = [b for m, u, _, b in recording.writes if u.endswith("/Bulk")
               and b["Operations"][0]["path"] == "/Groups"]  # fmt: skip
    names = {op["bulkId"]: op["data"]["displayName"] for op in sent["Operations"]}
    ops = json.dumps(sent["Operations"])
    ops = re.sub(r'"bulkId:([^"]+)"', lambda m: json.dumps(created[names[m[1]]]), ops)
    resolved = json.loads(ops)
    assert shown == {op["data"]["displayName"]: op["data"] for op in resolved}
    assert {"type": "Group", "value": created["eng"]} in shown["all"]["members"]


def test_group_creates_in_bulk_on_scimmy(
    scimmy: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SCIMMY advertises Bulk too: its answers settle each group create."""
    specs, records, output = apply(scimmy, tmp_path, capsys, staff(scimmy))
    creates = [r for r in records if r["kind"] == "group" and r["method"] == "POST"]
    assert {(r.get("via"), r["outcome"]) for r in creates} == {("/Bulk", "ok")}, output
    assert len(creates) == GROUPS
    found = members(scimmy)
    assert found["all"] == {"u0@example.com", "eng"}
    assert found["web"] == {"u2@example.com", "u3@example.com"}
    assert_converged(capsys, specs)
