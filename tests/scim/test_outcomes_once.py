"""Each object counts once in apply's summary (runner._once): a group whose own write was
made and whose nested-group write then failed is one failed group, not one updated and one
failed ("1 updated, 1 failed" for a one-change plan, which CI and the PR comment quote)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
import pytest

from reconciler.scim.apply.runner import Applier
from reconciler.scim.client import ScimClient
from tests.fakescim import FakeScim, json_response
from tests.scim.test_faults import replan, user, write_spec

pytestmark = pytest.mark.usefixtures("token")


def test_a_group_whose_nested_write_fails_counts_once_as_failed(tmp_path: Path) -> None:
    fake = FakeScim()
    fake.add_user("ben@example.com")
    fake.add_group("Inner")
    eng = fake.add_group("Eng")

    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.method == "PATCH" and request.url.path.endswith(f"/Groups/{eng}"):
            ops = json.loads(request.content).get("Operations", [])
            values = [m for op in ops for m in (op.get("value") or []) if isinstance(m, dict)]
            if any(m.get("type") == "Group" for m in values):
                return json_response(400, {"status": "400", "detail": "no nested groups"})
        return fake.handle(request)

    groups = [
        {"displayName": "Eng", "members": ["ben@example.com"], "groups": ["Inner"]},
        {"displayName": "Inner", "members": []},
    ]
    prepared = replan(
        write_spec(tmp_path, [user("ben@example.com")], groups, nested_groups="native"), fake
    )
    client = ScimClient.for_target(prepared.target, transport=httpx2.MockTransport(handle))
    result = Applier(client, prepared.target, prepared.caps, prepared.log).run(prepared.plan)

    assert [(o.key, o.ok) for o in result.outcomes] == [("Eng", False)]
    assert result.counts()["update"] == 0
    assert result.counts()["failed"] == 1
