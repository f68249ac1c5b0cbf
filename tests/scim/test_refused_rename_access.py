"""A user write whose value the target refuses (a rename: 400 `mutability` where userName
is immutable, as mlflow-oidc-auth's SCIM API answers; 409 where the name is taken; 500
where a transactional target fails on it, as django-scim2 does; a readOnly role) keeps
back nothing that takes access away: the disable and each role removal are written alone,
the disable first, and the user fails naming the refusal. Before, the one refused write
kept the access, every run, until the spec changed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest

from reconciler.scim.apply.runner import Applier
from reconciler.scim.client import ScimClient
from reconciler.scim.retries import RetryPolicy
from tests.fakescim import FakeScim, json_response
from tests.scim.test_faults import replan, user, write_spec

pytestmark = pytest.mark.usefixtures("token")

ONCE = RetryPolicy(attempts=1)
ADMIN = [{"value": "admin", "display": "admin", "primary": True}]


def _refusing_renames(
    fake: FakeScim, uid: str, status: int, scim_type: str
) -> Callable[[httpx2.Request], httpx2.Response]:
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


def _refusing_roles(fake: FakeScim, uid: str) -> Any:
    """roles is readOnly on this target (assigned in its own console): any write of it is
    refused, 400 mutability (RFC 7644 §3.12)."""

    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.method in ("PATCH", "PUT") and request.url.path.endswith(f"/Users/{uid}"):
            body = json.loads(request.content)
            ops = body.get("Operations", [])
            touches = any(str(op.get("path", "")).startswith("roles") for op in ops) or any(
                isinstance(op.get("value"), dict) and "roles" in op["value"] for op in ops
            )
            if request.method == "PUT":
                touches = body.get("roles") != fake.users[uid].get("roles")
            if touches:
                error = {"status": "400", "scimType": "mutability", "detail": "roles is readOnly"}
                return json_response(400, error)
        return fake.handle(request)

    return handle


@pytest.mark.parametrize("patch", [True, False])
def test_a_refused_role_removal_does_not_keep_the_disable_back(tmp_path: Path, patch: bool) -> None:
    # Both changes take access away: each is sent alone, the disable first.
    fake = FakeScim()
    fake.config["patch"]["supported"] = patch
    uid = fake.add_user("leaver@example.com", active=True, roles=ADMIN)
    spec = user("leaver@example.com", active=False, roles=[])
    prepared = replan(write_spec(tmp_path, [spec]), fake)
    client = ScimClient.for_target(
        prepared.target, transport=httpx2.MockTransport(_refusing_roles(fake, uid))
    )
    result = Applier(client, prepared.target, prepared.caps, prepared.log).run(prepared.plan)

    [failed] = result.failed
    assert "roles is readOnly; what removes access (active) was written alone; alone, " in (
        failed.message
    )
    assert "roles: " in failed.message.split("; alone, ")[1]
    assert fake.users[uid]["active"] is False
    assert fake.users[uid]["roles"] == ADMIN


def test_a_rename_failing_with_500_does_not_keep_the_disable_back(tmp_path: Path) -> None:
    # django-scim2 answers a PATCH to a taken userName with 500 (a UNIQUE constraint), and
    # its PATCH is one transaction: the disable in it is not made either.
    fake = FakeScim()
    uid = fake.add_user("old@example.com", active=True)
    spec = user("new@example.com", **RENAMED, active=False)
    prepared = replan(write_spec(tmp_path, [spec]), fake)

    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.method == "PATCH" and b"userName" in request.content:
            return json_response(500, {"status": "500", "detail": "UNIQUE constraint failed"})
        return fake.handle(request)

    transport = httpx2.MockTransport(handle)
    client = ScimClient.for_target(prepared.target, transport=transport, retry=ONCE)
    result = Applier(client, prepared.target, prepared.caps, prepared.log).run(prepared.plan)

    [failed] = result.failed
    assert "answered 500" in failed.message
    assert failed.message.endswith("; what removes access (active) was written alone")
    assert fake.users[uid]["active"] is False


def test_each_write_alone_goes_with_the_version_the_last_one_made(tmp_path: Path) -> None:
    # On a target that honours If-Match, the plan's version is spent by the first write
    # alone: the next goes with the one its answer gives, not a 412 of scimrec's own making.
    fake = FakeScim()
    fake.config["etag"] = {"supported": True}
    uid = fake.add_user("old@example.com", active=True, roles=ADMIN)
    renames = _refusing_renames(fake, uid, 400, "mutability")

    def handle(request: httpx2.Request) -> httpx2.Response:
        sent = request.headers.get("if-match")
        if request.method == "PATCH" and sent and sent != fake.users[uid]["meta"]["version"]:
            return json_response(412, {"status": "412", "detail": "stale"})
        return renames(request)

    spec = user("new@example.com", **RENAMED, active=False, roles=[])
    prepared = replan(write_spec(tmp_path, [spec]), fake)
    client = ScimClient.for_target(prepared.target, transport=httpx2.MockTransport(handle))
    result = Applier(client, prepared.target, prepared.caps, prepared.log).run(prepared.plan)

    [failed] = result.failed
    assert failed.message.endswith("; what removes access (active, roles) was written alone")
    assert fake.users[uid]["active"] is False
    assert not fake.users[uid].get("roles")
    versions = [r.headers.get("if-match") for r in fake.requests if r.method == "PATCH"]
    assert len(versions) == 2 and versions[0] != versions[1]


@pytest.mark.parametrize("refused", ["new@example.com", '"viewer"'])
def test_a_role_written_alone_only_takes_away(tmp_path: Path, refused: str) -> None:
    # admin -> viewer, with the rename (or viewer itself) refused: alone, the write takes
    # admin away and grants nothing the refused write would have granted.
    fake = FakeScim()
    uid = fake.add_user("old@example.com", roles=[{"value": "admin"}])

    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.method == "PATCH" and refused in request.content.decode():
            error = {"status": "400", "scimType": "invalidValue", "detail": "refused"}
            return json_response(400, error)
        return fake.handle(request)

    spec = user("new@example.com", **RENAMED, roles=[{"value": "viewer"}])
    prepared = replan(write_spec(tmp_path, [spec]), fake)
    client = ScimClient.for_target(prepared.target, transport=httpx2.MockTransport(handle))
    result = Applier(client, prepared.target, prepared.caps, prepared.log).run(prepared.plan)

    [failed] = result.failed
    assert failed.message.endswith("; what removes access (roles) was written alone")
    assert not fake.users[uid].get("roles")


@pytest.mark.usefixtures("fast_retries")
def test_an_unavailable_target_gets_no_writes_alone(tmp_path: Path) -> None:
    # 503 says nothing of the values: every smaller write would meet it too.
    fake = FakeScim()
    uid = fake.add_user("a@example.com", active=True, roles=ADMIN, entitlements=[{"value": "x"}])

    patches = []

    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.method == "PATCH":
            patches.append(request)
            return json_response(503, {"status": "503", "detail": "maintenance"})
        return fake.handle(request)

    spec = user("a@example.com", active=False, roles=[], entitlements=[])
    prepared = replan(write_spec(tmp_path, [spec]), fake)
    client = ScimClient.for_target(prepared.target, transport=httpx2.MockTransport(handle))
    result = Applier(client, prepared.target, prepared.caps, prepared.log).run(prepared.plan)

    [failed] = result.failed
    assert failed.message == f"PATCH /Users/{uid} answered 503: maintenance"
    assert len(patches) == 3  # the client's 3 attempts, of the one write


def test_what_is_written_alone_names_each_access_it_removes(tmp_path: Path) -> None:
    fake = FakeScim()
    uid = fake.add_user("old@example.com", active=True, roles=ADMIN)
    spec = user("new@example.com", **RENAMED, active=False, roles=[])
    result = _apply(tmp_path, fake, uid, spec)

    [failed] = result.failed
    assert failed.message.endswith("; what removes access (active, roles) was written alone")
    assert fake.users[uid]["active"] is False
    assert not fake.users[uid].get("roles")


def test_what_is_written_alone_carries_the_version_read(tmp_path: Path) -> None:
    # A target with ETags: the write sent alone is as conditional as the one refused.
    fake = FakeScim()
    fake.config["etag"] = {"supported": True}
    uid = fake.add_user("old@example.com", active=True)
    version = fake.users[uid]["meta"]["version"]
    result = _apply(tmp_path, fake, uid, user("new@example.com", **RENAMED, active=False))

    [failed] = result.failed
    assert failed.message.endswith("; what removes access (active) was written alone")
    assert fake.users[uid]["active"] is False
    # The refused write never reaches the fake; the one sent alone does, with the version.
    [alone] = [s for s in fake.requests if s.method == "PATCH"]
    assert [op["path"] for op in alone.body["Operations"]] == ["active"]
    assert alone.headers.get("if-match") == version


@pytest.mark.usefixtures("fast_retries")
@pytest.mark.parametrize("status", [401, 503])
def test_a_refusal_of_the_request_itself_sends_nothing_alone(tmp_path: Path, status: int) -> None:
    # Not a refusal of a value (RFC 7644 §3.12): the credentials, or a target unavailable,
    # which the smaller write would meet alike. The write fails as it was answered. (A 500
    # is sent alone: a transactional target fails so on a taken name.)
    fake = FakeScim()
    uid = fake.add_user("old@example.com", active=True)
    spec = user("new@example.com", **RENAMED, active=False)
    result = _apply(tmp_path, fake, uid, spec, refusal=(status, "invalidValue"))

    [failed] = result.failed
    assert f"answered {status}" in failed.message and "written alone" not in failed.message
    assert fake.users[uid]["active"] is True
    assert [s.method for s in fake.requests if s.method in ("PATCH", "PUT")] == []
