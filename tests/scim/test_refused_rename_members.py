"""A group write whose value the target refuses (a rename: 400 `mutability` where the name
is immutable, as mlflow-oidc-auth's SCIM API answers; 409 where it is taken) keeps none of
the group's member changes back: the member removal the plan shows is made, and the group
fails naming the refusal. Before, the refusal stopped the removal, and the member kept the
group's access on every run."""

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


@pytest.mark.parametrize(("status", "scim_type"), [(400, "mutability"), (409, "uniqueness")])
def test_a_refused_rename_still_removes_the_member_the_plan_removes(
    tmp_path: Path, status: int, scim_type: str
) -> None:
    fake = FakeScim()
    alice, bob = fake.add_user("alice@example.com"), fake.add_user("bob@example.com")
    eng = fake.add_group("Eng", [alice, bob])

    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.method in ("PATCH", "PUT") and request.url.path.endswith(f"/Groups/{eng}"):
            body = json.loads(request.content)
            paths = [str(op.get("path", "")) for op in body.get("Operations", [])]
            if "displayName" in paths or "displayName" in body:
                error = {"status": str(status), "scimType": scim_type, "detail": "immutable"}
                return json_response(status, error)
        return fake.handle(request)

    group = {"displayName": "Engineering", "previously": ["Eng"], "members": ["alice@example.com"]}
    users = [user("alice@example.com"), user("bob@example.com")]
    prepared = replan(write_spec(tmp_path, users, [group]), fake)
    client = ScimClient.for_target(prepared.target, transport=httpx2.MockTransport(handle))
    result = Applier(client, prepared.target, prepared.caps, prepared.log).run(prepared.plan)

    [failed] = result.failed
    assert failed.key == "Engineering"
    assert f"answered {status}" in failed.message
    assert failed.message.endswith("; its member changes were made")
    assert [m["value"] for m in fake.groups[eng]["members"]] == [alice]
    assert fake.groups[eng]["displayName"] == "Eng"
