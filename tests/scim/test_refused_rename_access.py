"""A user write whose value the target refuses (a rename: 400 `mutability` where userName
is immutable, as mlflow-oidc-auth's SCIM API answers; 409 where the name is taken) keeps
back nothing that takes access away: the disable or the role removal sent with it is
written alone, and the user fails naming the refusal. Before, the one refused write kept
the access, every run, until the spec dropped the rename."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest

from reconciler.scim.apply.runner import Applier
from reconciler.scim.client import ScimClient
from tests.fakescim import FakeScim, json_response
from tests.scim.test_faults import replan, user, write_spec

pytestmark = pytest.mark.usefixtures("token")

ADMIN = [{"value": "admin", "display": "admin", "primary": True}]


def _refusing_renames(fake: FakeScim, uid: str, status: int, scim_type: str) -> Any:
    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.method in ("PATCH", "PUT") and request.url.path.endswith(f"/Users/{uid}"):
            body = json.loads(request.content)
            paths = [str(op.get("path", "")) for op in body.get("Operations", [])]
            values = [op.get("value") for op in body.get("Operations", [])]
            renamed = "userName" in paths or any(
                isinstance(v, dict) and "userName" in v for v in values
            )
            if request.method == "PUT":
                renamed = body.get("userName") != fake.users[uid]["userName"]
            if renamed:
                error = {"status": str(status), "scimType": scim_type, "detail": "immutable"}
                return json_response(status, error)
        return fake.handle(request)

    return handle


def _apply(tmp_path: Path, fake: FakeScim, uid: str, spec: dict[str, Any], **target: Any) -> Any:
    status, scim_type = target.pop("refusal", (400, "mutability"))
    prepared = replan(write_spec(tmp_path, [spec], **target), fake)
    assert [c.key for c in prepared.plan.changes] == ["new@example.com"]
    handle = _refusing_renames(fake, uid, status, scim_type)
    client = ScimClient.for_target(prepared.target, transport=httpx2.MockTransport(handle))
    return Applier(client, prepared.target, prepared.caps, prepared.log).run(prepared.plan)


RENAMED = {"previously": ["old@example.com"]}


@pytest.mark.parametrize(
    ("status", "scim_type", "patch"),
    [(400, "mutability", True), (409, "uniqueness", True), (400, "mutability", False)],
)
def test_a_refused_rename_still_disables(
    tmp_path: Path, status: int, scim_type: str, patch: bool
) -> None:
    fake = FakeScim()
    fake.config["patch"]["supported"] = patch
    uid = fake.add_user("old@example.com", active=True)
    spec = user("new@example.com", **RENAMED, active=False)
    result = _apply(tmp_path, fake, uid, spec, refusal=(status, scim_type))

    [failed] = result.failed
    assert failed.key == "new@example.com"
    assert f"answered {status}" in failed.message
    assert failed.message.endswith("; what removes access (active) was written alone")
    assert fake.users[uid]["active"] is False
    assert fake.users[uid]["userName"] == "old@example.com"


def test_a_refused_rename_still_takes_the_role_away(tmp_path: Path) -> None:
    fake = FakeScim()
    uid = fake.add_user("old@example.com", roles=ADMIN, title="Engineer")
    spec = user("new@example.com", **RENAMED, title="Manager", roles=[])
    result = _apply(tmp_path, fake, uid, spec)

    [failed] = result.failed
    assert failed.message.endswith("; what removes access (roles) was written alone")
    assert not fake.users[uid].get("roles")
    # What takes no access away is not written apart: the title waits for the rename.
    assert fake.users[uid]["title"] == "Engineer"


def test_a_refusal_with_nothing_taking_access_fails_as_before(tmp_path: Path) -> None:
    fake = FakeScim()
    uid = fake.add_user("old@example.com", title="Engineer")
    result = _apply(tmp_path, fake, uid, user("new@example.com", **RENAMED, title="Manager"))

    [failed] = result.failed
    assert "answered 400" in failed.message and "written alone" not in failed.message
    assert fake.users[uid]["title"] == "Engineer"
    assert [r.method for r in fake.requests if r.method in ("PATCH", "PUT")] == []
