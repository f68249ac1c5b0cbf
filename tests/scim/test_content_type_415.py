"""A target that refuses bodies sent as `application/scim+json` with 415 and takes
`application/json` (better-auth before its PR #6365, medplum before #4143, Owin.Scim;
RFC 7644 §8.1 notes older SCIM used application/json informally).

Before, every create, update and disable failed with 415, run after run. Now a write
answered 415 is sent once more as application/json (a 415 means it was not processed),
and every later body goes so from the start: one 415 in the run, logged once.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import stamina

from reconciler.core.plan import Action
from reconciler.errors import ScimHTTPError
from reconciler.run import prepare
from reconciler.scim import content_type
from reconciler.scim.apply.runner import Applier
from reconciler.scim.audit import AuditLog
from reconciler.scim.client import ScimClient
from tests.fakescim import FakeScim, Seen
from tests.scim.test_faults import RecordingLog, outcomes, replan, scim_client, user, write_spec

SCIM_JSON, PLAIN_JSON = "application/scim+json", "application/json"


@pytest.fixture
def fast_retries() -> Iterator[None]:
    with stamina.set_testing(True, attempts=3):
        yield


def json_only() -> FakeScim:
    fake = FakeScim()
    fake.refused_media = {SCIM_JSON}
    return fake


def sent(fake: FakeScim) -> list[tuple[str, str | None]]:
    """Each write's method and Content-Type, in order."""
    return [(s.method, _media(s)) for s in fake.requests if s.method != "GET"]


def _media(seen: Seen) -> str | None:
    return seen.headers.get("content-type")


def logged_client(fake: FakeScim) -> tuple[ScimClient, RecordingLog]:
    client, log = scim_client(fake), RecordingLog()
    client.body_type.on_change = content_type.logged(log)
    return client, log


def test_a_write_refused_415_is_sent_again_as_json_and_so_are_later_ones() -> None:
    fake = json_only()
    client, log = logged_client(fake)
    alice = client.create("/Users", {"userName": "alice@example.com"}).body
    assert isinstance(alice, dict)
    client.patch(f"/Users/{alice['id']}", [{"op": "replace", "path": "title", "value": "X"}], None)
    client.create("/Users", {"userName": "bob@example.com"})
    assert sent(fake) == [
        ("POST", SCIM_JSON),
        ("POST", PLAIN_JSON),
        ("PATCH", PLAIN_JSON),
        ("POST", PLAIN_JSON),
    ]
    assert len(fake.users) == 2
    (warning,) = log.named("content type refused")
    assert (warning["request"], warning["status"]) == ("POST /Users", 415)
    assert "application/json" in warning["detail"]
    # No GET carries a Content-Type, before or after.
    assert all(_media(s) is None for s in fake.requests if s.method == "GET")


def test_a_415_to_application_json_too_fails_clearly_after_two_tries() -> None:
    fake = FakeScim()
    fake.refused_media = {SCIM_JSON, PLAIN_JSON}
    client, log = logged_client(fake)
    with pytest.raises(ScimHTTPError) as caught:
        client.create("/Users", {"userName": "alice@example.com"})
    assert caught.value.status == 415
    assert str(caught.value) == (
        "POST /Users answered 415: non-SCIM text/plain: Unsupported Media Type: "
        "application/json (the target refused the body as application/scim+json and as "
        "application/json)"
    )
    assert sent(fake) == [("POST", SCIM_JSON), ("POST", PLAIN_JSON)]
    # The next write goes as application/json at once, and fails so, once; a DELETE
    # carries no body, so nothing of it can be refused.
    alice = fake.add_user("alice@example.com")
    with pytest.raises(ScimHTTPError, match=r"as application/scim\+json and as"):
        client.put(f"/Users/{alice}", {"userName": "alice@example.com"}, None)
    client.delete(f"/Users/{alice}", None)
    assert sent(fake)[2:] == [("PUT", PLAIN_JSON), ("DELETE", None)]
    assert len(log.named("content type refused")) == 1
    assert fake.users == {}


@pytest.mark.usefixtures("fast_retries")
def test_a_write_waited_out_then_refused_415_is_sent_as_json_within_its_attempts() -> None:
    fake = json_only()
    fake.fail("POST", "/Users", status=503, body={"detail": "busy"})
    client = scim_client(fake)
    reply = client.create("/Users", {"userName": "alice@example.com"})
    assert reply.status == 201
    assert sent(fake) == [("POST", SCIM_JSON), ("POST", SCIM_JSON), ("POST", PLAIN_JSON)]
    # The 503 eased the limit off once; a 415 is no overload, and moves it no further.
    assert client.limiter.cuts == 1


def test_apply_writes_everything_to_a_json_only_target(tmp_path: Path, token: str) -> None:
    fake = FakeScim(token=token)
    fake.refused_media = {SCIM_JSON}
    fake.add_user("alice@example.com", title="Old")
    fake.add_user("stray@example.com")
    specs = write_spec(
        tmp_path,
        [user("alice@example.com", title="New"), user("bob@example.com")],
        [{"displayName": "Eng", "members": ["alice@example.com", "bob@example.com"]}],
        prune="all",
        deprovision="disable",
        concurrency=1,  # one write in flight: the 415 comes once, whatever the order
    )
    lines: list[str] = []
    prepared = prepare(specs, "fake", transport=fake.transport)
    try:
        applier = Applier(
            prepared.client,
            prepared.target,
            prepared.caps,
            prepared.log,
            audit=AuditLog(lines.append),
        )
        result = applier.run(prepared.plan)
    finally:
        prepared.client.close()
    assert outcomes(result) == {
        "alice@example.com": (Action.UPDATE, True),
        "bob@example.com": (Action.CREATE, True),
        "stray@example.com": (Action.DISABLE, True),
        "Eng": (Action.CREATE, True),
    }
    writes = sent(fake)
    assert writes[0][1] == SCIM_JSON
    assert all(media == PLAIN_JSON for _, media in writes[1:])
    assert prepared.client.limiter.cuts == 0
    # The audit trail has one line per write made, none for the refused attempt.
    assert len(lines) == len(writes) - 1
    assert '"status": 415' not in "".join(lines)
    assert not replan(specs, fake).plan.has_changes


def test_writes_refused_at_once_on_many_threads_are_each_sent_again_and_logged_once() -> None:
    fake = json_only()
    fake.busy_seconds = 0.02  # requests overlap: several meet the 415 before the switch
    client, log = logged_client(fake)
    names = [f"u{n}@example.com" for n in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(pool.map(lambda n: client.create("/Users", {"userName": n}), names))
    assert {r.status for r in replies} == {201}
    assert sorted(u["userName"] for u in fake.users.values()) == names
    refused = [m for _, m in sent(fake) if m == SCIM_JSON]
    assert 1 <= len(refused) <= 8  # each write at most once
    assert len(sent(fake)) == len(names) + len(refused)
    assert len(log.named("content type refused")) == 1
