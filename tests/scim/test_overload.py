"""A target that falters under load (issue 14 item 1): 500s are retried where that is safe,
creates are looked up before they are sent again, and concurrency adapts (AIMD).

FakeScim's `busy_limit` answers writes `500: database is locked` while too many requests
are in flight, as a threaded server on SQLite with Django's default settings does.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import stamina

from reconciler.core.plan import Action
from reconciler.errors import ScimHTTPError
from reconciler.run import prepare
from reconciler.scim.apply.runner import Applier
from reconciler.scim.retries import RetryPolicy, idempotent
from tests.fakescim import FakeScim, Seen
from tests.scim.test_faults import (
    outcomes,
    plan_and_apply,
    replan,
    scim_client,
    user,
    write_spec,
)


@pytest.fixture
def fast_retries() -> Iterator[None]:
    with stamina.set_testing(True, attempts=3):
        yield


def member_add(ids: list[str]) -> dict[str, Any]:
    return {"op": "add", "path": "members", "value": [{"value": i} for i in ids]}


@pytest.mark.parametrize(
    ("method", "operations", "expected"),
    [
        ("GET", None, True),
        ("PUT", None, True),
        ("DELETE", None, True),
        ("POST", None, False),
        ("PATCH", [{"op": "replace", "path": "title", "value": "x"}], True),
        ("PATCH", [{"op": "Replace", "path": "title", "value": "x"}], True),
        ("PATCH", [{"op": "remove", "path": 'members[value eq "u1"]'}], True),
        # An add may append a second copy: of members too, on a target that keeps a
        # repeated add (Canaille); apply reads the group before sending one again.
        ("PATCH", [member_add(["u1"])], False),
        ("PATCH", [{"op": "replace", "path": "title", "value": "x"}, member_add(["u1"])], False),
        ("PATCH", [{"op": "add", "path": "emails", "value": [{"value": "a@b.c"}]}], False),
        ("PATCH", [{"op": "add", "value": {"members": [{"value": "u1"}]}}], False),
        ("PATCH", [{"op": "replace", "path": "x", "value": 1}, {"op": "add", "path": "y"}], False),
        ("PATCH", [{"op": "move"}], False),
        ("PATCH", "not a list", False),
    ],
)
def test_which_requests_are_idempotent(method: str, operations: Any, expected: bool) -> None:
    body = None if operations is None else {"Operations": operations}
    assert idempotent(method, body) is expected


@pytest.mark.parametrize(
    ("method", "send"),
    [
        ("PUT", lambda c, uid: c.put(f"/Users/{uid}", {"userName": "a@example.com"}, None)),
        ("DELETE", lambda c, uid: c.delete(f"/Users/{uid}", None)),
        (
            "PATCH",
            lambda c, uid: c.patch(
                f"/Users/{uid}", [{"op": "replace", "path": "title", "value": "x"}], None
            ),
        ),
    ],
)
@pytest.mark.parametrize("status", [500, 502, 504])
def test_idempotent_writes_are_retried_on_server_errors(
    method: str, send: Any, status: int
) -> None:
    fake = FakeScim()
    uid = fake.add_user("a@example.com")
    fake.fail(method, "/Users/*", status=status, body={"detail": "database is locked"})
    assert send(scim_client(fake), uid).status in (200, 204)
    assert fake.count(method) == 2


def test_a_membership_add_is_not_resent_blindly_on_500() -> None:
    fake = FakeScim()
    uid = fake.add_user("a@example.com")
    gid = fake.add_group("Eng", [])
    fake.fail("PATCH", "/Groups/*", status=500, body={"detail": "database is locked"})
    with pytest.raises(ScimHTTPError):
        scim_client(fake).patch(f"/Groups/{gid}", [member_add([uid])], None)
    assert fake.count("PATCH") == 1  # apply reads the group first (test_member_add_resent.py)


def test_retries_are_bounded() -> None:
    fake = FakeScim()
    uid = fake.add_user("a@example.com")
    fake.fail("PUT", "/Users/*", status=500, times=99, body={"detail": "database is locked"})
    with pytest.raises(ScimHTTPError) as caught:
        scim_client(fake).put(f"/Users/{uid}", {"userName": "a@example.com"}, None)
    assert caught.value.status == 500
    assert fake.count("PUT") == 3  # TINY: three attempts


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_a_write_that_may_not_run_twice_is_not_resent_on_500(method: str) -> None:
    fake = FakeScim()
    uid = fake.add_user("a@example.com")
    fake.fail(method, "/Users*", status=500, body={"detail": "database is locked"})
    client = scim_client(fake)
    with pytest.raises(ScimHTTPError):
        if method == "POST":
            client.create("/Users", {"userName": "b@example.com"})
        else:
            ops = [{"op": "add", "path": "emails", "value": [{"value": "x@example.com"}]}]
            client.patch(f"/Users/{uid}", ops, None)
    assert fake.count(method) == 1


@pytest.mark.usefixtures("fast_retries")
def test_a_create_answered_500_is_looked_up_then_sent_again(tmp_path: Path, token: str) -> None:
    fake = FakeScim(token=token)
    fake.fail("POST", "/Users", status=500, body={"detail": "database is locked"})
    specs = write_spec(tmp_path, [user("alice@example.com")])
    _, result = plan_and_apply(specs, fake)
    assert outcomes(result) == {"alice@example.com": (Action.CREATE, True)}
    assert len(fake.user_named("alice@example.com")) == 1
    writes = [(s.method, s.params.get("filter")) for s in fake.requests if s.path == "/Users"]
    # After the plan's read: POST (500); a look-up (the filter finds nothing, so the full
    # listing proves it absent); only then the POST again.
    assert writes[-4:] == [
        ("POST", None),
        ("GET", 'userName eq "alice@example.com"'),
        ("GET", None),
        ("POST", None),
    ]
    assert fake.count("POST") == 2
    assert not replan(specs, fake).plan.has_changes


@pytest.mark.usefixtures("fast_retries")
def test_a_create_answered_500_after_it_happened_is_adopted(tmp_path: Path, token: str) -> None:
    fake = FakeScim(token=token)
    fake.fail("POST", "/Users", status=500, body={"detail": "lost"}, after=True)
    specs = write_spec(tmp_path, [user("alice@example.com", title="Engineer")])
    _, result = plan_and_apply(specs, fake)
    assert outcomes(result) == {"alice@example.com": (Action.CREATE, True)}
    assert fake.count("POST") == 1
    assert len(fake.user_named("alice@example.com")) == 1
    assert not replan(specs, fake).plan.has_changes


@pytest.mark.usefixtures("fast_retries")
def test_a_create_that_keeps_failing_is_sent_a_bounded_number_of_times(
    tmp_path: Path, token: str
) -> None:
    fake = FakeScim(token=token)
    fake.fail("POST", "/Users", status=500, times=99, body={"detail": "database is locked"})
    specs = write_spec(tmp_path, [user("alice@example.com")])
    _, result = plan_and_apply(specs, fake)
    (failed,) = result.failed
    assert failed.message == (
        "POST /Users answered 500: database is locked; sent 3 times without success: "
        "run apply again"
    )
    assert fake.count("POST") == 3
    # Every resend came after a look-up that found nothing.
    order = [s.method for s in fake.requests if s.method == "POST" or "filter" in s.params]
    posts = [i for i, m in enumerate(order) if m == "POST"]
    assert all(order[i - 1] == "GET" for i in posts[1:])
    assert not fake.users


@pytest.mark.usefixtures("fast_retries")
def test_a_create_is_not_resent_when_the_look_up_proves_nothing(tmp_path: Path, token: str) -> None:
    fake = FakeScim(token=token)
    fake.fail("POST", "/Users", status=500, body={"detail": "database is locked"})

    def after_the_post(seen: Seen) -> bool:
        return fake.count("POST") > 0

    # From then on the filter is refused, and the listing claims more than it gives.
    fake.fail("GET", "/Users", status=400, times=9, when=lambda s: after_the_post(s)
              and "filter" in s.params)  # fmt: skip
    fake.fail("GET", "/Users", status=200, times=9, body={"Resources": [], "totalResults": 5},
              when=lambda s: after_the_post(s) and "filter" not in s.params)  # fmt: skip
    specs = write_spec(tmp_path, [user("alice@example.com")])
    _, result = plan_and_apply(specs, fake)
    (failed,) = result.failed
    assert failed.message == (
        "POST /Users answered 500: database is locked; the create may not have happened: "
        "run apply again"
    )
    assert fake.count("POST") == 1


# Production's backoff, scaled down a hundredfold: the waits are real, as they must be for
# a busy target to recover, but short.
SCALED = RetryPolicy(wait_initial=0.002, wait_max=0.1, wait_jitter=0.01)


def test_an_overloaded_target_slows_the_run_down_instead_of_failing_it(
    tmp_path: Path, token: str
) -> None:
    fake = FakeScim(token=token)
    fake.busy_limit = 2
    fake.busy_seconds = 0.003
    users = [user(f"u{i:02d}@example.com", title="Engineer") for i in range(40)]
    groups = [
        {"displayName": f"Crew {g}", "members": [u["userName"] for u in users[g * 8 : g * 8 + 15]]}
        for g in range(4)
    ]
    specs = write_spec(tmp_path, users, groups, concurrency=8)
    with stamina.set_testing(False):
        prepared = prepare(specs, "fake", transport=fake.transport, retry=SCALED)
        try:
            result = Applier(prepared.client, prepared.target, prepared.caps, prepared.log).run(
                prepared.plan
            )
        finally:
            prepared.client.close()
    assert result.failed == ()
    assert len(fake.users) == 40
    assert fake.locked > 0  # the target did falter
    limiter = prepared.client.limiter
    assert limiter.lowest <= 2
    assert limiter.cuts >= 2
    assert not replan(specs, fake).plan.has_changes
