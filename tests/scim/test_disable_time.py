"""The time of disabling is written with the disable; a target that refuses it still gets
the disable (fault injection against FakeScim: nothing of reconciler is patched)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.core.config import DISABLED_AT, LIFECYCLE_URN
from reconciler.core.plan import Action
from reconciler.run import prepare
from reconciler.scim.apply.runner import Applier, ApplyResult
from tests.fakescim import FakeScim, Seen
from tests.scim.test_faults import RecordingLog, outcomes, plan_and_apply, write_spec

LIFECYCLE = {"action": "disable", "delete_after": "30d"}
GONE = [{"userName": "gone@example.com", "state": "absent"}]


def stamped(seen: Seen) -> bool:
    return LIFECYCLE_URN in json.dumps(seen.body)


def writes(fake: FakeScim) -> list[tuple[str, Any]]:
    return [(s.method, s.body) for s in fake.requests if s.method in ("PATCH", "PUT")]


def logged_apply(specs: Path, fake: FakeScim) -> tuple[ApplyResult, RecordingLog]:
    """Plan and apply, keeping what the apply logs."""
    prepared = prepare(specs, "fake", transport=fake.transport)
    log = RecordingLog()
    try:
        result = Applier(prepared.client, prepared.target, prepared.caps, log).run(prepared.plan)
    finally:
        prepared.client.close()
    return result, log


def refused(event: str, log: RecordingLog) -> list[tuple[str, str, dict[str, Any]]]:
    return [e for e in log.events if e[1] == event]


REFUSAL = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
    "status": "400",
    "scimType": "invalidPath",
    "detail": f"'{DISABLED_AT}' is not an attribute of the schema",
}


def test_the_time_goes_with_the_disable(token: str, tmp_path: Path) -> None:
    fake = FakeScim()
    uid = fake.add_user("gone@example.com", active=True)
    _, result = plan_and_apply(write_spec(tmp_path, GONE, deprovision=LIFECYCLE), fake)
    assert outcomes(result) == {"gone@example.com": (Action.DISABLE, True)}
    [(method, body)] = writes(fake)
    assert method == "PATCH"
    assert [op["path"] for op in body["Operations"]] == ["active", DISABLED_AT]
    assert fake.users[uid]["active"] is False


def test_a_target_that_refuses_the_time_still_gets_the_disable(token: str, tmp_path: Path) -> None:
    fake = FakeScim()
    uid = fake.add_user("gone@example.com", active=True)
    # Neither PATCH nor the PUT that follows a refused PATCH may carry the extension.
    for method in ("PATCH", "PUT"):
        fake.fail(method, "/Users/*", times=5, status=400, when=stamped, body=REFUSAL)
    result, log = logged_apply(write_spec(tmp_path, GONE, deprovision=LIFECYCLE), fake)
    assert outcomes(result) == {"gone@example.com": (Action.DISABLE, True)}
    assert fake.users[uid]["active"] is False
    assert LIFECYCLE_URN not in fake.users[uid]
    last = writes(fake)[-1]
    assert last[0] == "PATCH"
    assert [op["path"] for op in last[1]["Operations"]] == ["active"]
    # The warning says what was refused and what follows from it: no automatic delete.
    assert refused("disable time refused", log) == [
        (
            "warning",
            "disable time refused",
            {
                "step": "action",
                "kind": "user",
                "key": "gone@example.com",
                "status": 400,
                "detail": f"the target refused {DISABLED_AT} ({REFUSAL['detail']}); "
                "disabling without it: delete_after will not delete this account",
            },
        )
    ]


def test_a_refused_disable_without_the_time_is_a_failure_not_a_retry(
    token: str, tmp_path: Path
) -> None:
    # Without delete_after the disable carries no time to leave out: a 400 is its answer.
    fake = FakeScim()
    uid = fake.add_user("gone@example.com", active=True)
    for method in ("PATCH", "PUT"):
        fake.fail(method, "/Users/*", times=9, status=400, body=REFUSAL)
    result, log = logged_apply(write_spec(tmp_path, GONE), fake)
    assert outcomes(result) == {"gone@example.com": (Action.DISABLE, False)}
    assert fake.users[uid]["active"] is True
    assert refused("disable time refused", log) == []
    assert len(writes(fake)) == len({(m, json.dumps(b)) for m, b in writes(fake)})


@pytest.mark.parametrize("status", [403, 500])
def test_any_other_refusal_fails_the_disable(token: str, tmp_path: Path, status: int) -> None:
    fake = FakeScim()
    uid = fake.add_user("gone@example.com", active=True)
    fake.fail("PATCH", "/Users/*", times=9, status=status, body={"detail": "no"})
    _, result = plan_and_apply(write_spec(tmp_path, GONE, deprovision=LIFECYCLE), fake)
    assert outcomes(result) == {"gone@example.com": (Action.DISABLE, False)}
    assert fake.users[uid]["active"] is True
    # Without the time: never retried as a plain disable, which would hide the failure.
    assert all(stamped(s) for s in fake.requests if s.method == "PATCH")


def test_without_delete_after_nothing_extra_is_written(token: str, tmp_path: Path) -> None:
    fake = FakeScim()
    fake.add_user("gone@example.com", active=True)
    plan_and_apply(write_spec(tmp_path, GONE), fake)
    [(_, body)] = writes(fake)
    assert [op["path"] for op in body["Operations"]] == ["active"]


def test_without_delete_after_an_attribute_at_the_time_s_path_is_never_left_out(
    token: str, tmp_path: Path
) -> None:
    # The spec writes that attribute itself (a mapping; no delete_after): it is declared,
    # so a refusal of it fails the disable instead of being dropped as the time would be.
    # The disable itself is then written alone (users._take_access_alone): a refused value
    # keeps no access the plan removes.
    fake = FakeScim()
    uid = fake.add_user("gone@example.com", active=True)
    for method in ("PATCH", "PUT"):
        fake.fail(method, "/Users/*", times=9, status=400, when=stamped, body=REFUSAL)
    specs = write_spec(
        tmp_path,
        [{"userName": "gone@example.com", "active": False}],
        extensions={"life": LIFECYCLE_URN},
        mappings={"user": {"life.disabledAt": {"constant": "2030-01-01T00:00:00Z"}}},
    )
    result, log = logged_apply(specs, fake)
    assert outcomes(result) == {"gone@example.com": (Action.DISABLE, False)}
    [failed] = result.failed
    assert "answered 400 (invalidPath)" in failed.message
    assert failed.message.endswith("; what removes access (active) was written alone")
    assert fake.users[uid]["active"] is False
    assert refused("disable time refused", log) == []
