"""An account disabled in an earlier cycle (disabled by scimrec, enabled again, now taken
out of the spec once more) holds the time of its first disable. Where the target does not
take the new time (it refuses the attribute now, or lets it be written only once), that
old time must not stay: the next plan would count delete_after from it and delete the
account right after disabling it, where the README promises it is never deleted without a
time of its own."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2

from reconciler.core.config import DISABLED_AT, LIFECYCLE_URN
from reconciler.core.plan import Action
from reconciler.run import prepare
from reconciler.scim.apply.runner import Applier
from reconciler.scim.audit import AuditLog
from tests.fakescim import FakeScim, Seen
from tests.scim.test_disable_time import GONE, LIFECYCLE, REFUSAL
from tests.scim.test_faults import outcomes, plan_and_apply, replan, write_spec

EARLIER = "2020-01-01T00:00:00Z"


def _sets_the_time(seen: Seen) -> bool:
    ops = (seen.body or {}).get("Operations") or []
    if seen.method == "PUT":
        return LIFECYCLE_URN in json.dumps(seen.body)
    return any(op.get("path") == DISABLED_AT and op.get("op") == "replace" for op in ops)


def _names_it(seen: Seen) -> bool:
    return LIFECYCLE_URN in json.dumps(seen.body)


def _gone(fake: FakeScim) -> str:
    return fake.add_user(
        "gone@example.com", active=True, **{LIFECYCLE_URN: {"disabledAt": EARLIER}}
    )


def _deletes(specs: Path, fake: FakeScim) -> list[str]:
    plan = replan(specs, fake).plan
    return [c.key for c in plan.changes if c.action is Action.DELETE]


def test_a_refused_new_time_removes_the_earlier_one(token: str, tmp_path: Path) -> None:
    fake = FakeScim()
    uid = _gone(fake)
    for method in ("PATCH", "PUT"):
        fake.fail(method, "/Users/*", times=5, status=400, when=_sets_the_time, body=REFUSAL)
    specs = write_spec(tmp_path, GONE, deprovision=LIFECYCLE)
    _, result = plan_and_apply(specs, fake)
    assert outcomes(result) == {"gone@example.com": (Action.DISABLE, True)}
    assert fake.users[uid]["active"] is False
    assert not (fake.users[uid].get(LIFECYCLE_URN) or {}).get("disabledAt")
    assert _deletes(specs, fake) == []


def test_an_earlier_time_the_target_will_not_remove_fails_the_disable(
    token: str, tmp_path: Path
) -> None:
    fake = FakeScim()
    uid = _gone(fake)
    for method in ("PATCH", "PUT"):  # any write naming the extension, a removal too
        fake.fail(method, "/Users/*", times=9, status=400, when=_names_it, body=REFUSAL)
    specs = write_spec(tmp_path, GONE, deprovision=LIFECYCLE)
    _, result = plan_and_apply(specs, fake)
    [failed] = result.failed
    assert failed.action is Action.DISABLE
    assert failed.message == (
        f"disabled, but the target keeps an earlier time of disabling ({DISABLED_AT}: "
        f"{EARLIER!r}) that it would neither replace nor remove: delete_after would count "
        "from it and delete the account at once; remove it on the target"
    )
    assert fake.users[uid]["active"] is False  # the disable itself went


class WriteOnce(FakeScim):
    """Keeps the first time of disabling ever written: later ones are answered with success
    and not stored (an attribute the target lets be written once)."""

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        rid = request.url.path.rsplit("/", 1)[-1]
        kept: Any = copy.deepcopy((self.users.get(rid) or {}).get(LIFECYCLE_URN))
        response = super().handle(request)
        if request.method in ("PATCH", "PUT") and kept and rid in self.users:
            self.users[rid][LIFECYCLE_URN] = kept
        if request.method in ("PATCH", "PUT") and rid in self.users:
            # As an honest target does: the time of the last change (RFC 7643 §3.1).
            self.users[rid]["meta"]["lastModified"] = datetime.now(UTC).isoformat()
        return response


def test_a_time_written_once_is_not_counted_from(token: str, tmp_path: Path) -> None:
    fake = WriteOnce()
    fake.patch_status = 204  # so the write is verified by reading it back
    uid = _gone(fake)
    specs = write_spec(tmp_path, GONE, deprovision=LIFECYCLE)
    _, result = plan_and_apply(specs, fake)
    assert fake.users[uid]["active"] is False
    # The target keeps the old time whatever is sent: the run says so, and fails.
    [failed] = result.failed
    assert EARLIER in failed.message and "remove it on the target" in failed.message
    # And the next plan does not count from it: the account changed since (meta.
    # lastModified), so its deletion is counted from then, not made at once.
    assert _deletes(specs, fake) == []


def _after_the_disable(fake: FakeScim, uid: str) -> list[str]:
    """The requests sent for this account after the write that disabled it."""
    sent = [s.method for s in fake.requests if s.path.endswith(f"/Users/{uid}")]
    return sent[sent.index("PATCH") + 1 :]


def test_a_new_time_the_target_takes_replaces_the_earlier_one_in_one_write(
    token: str, tmp_path: Path
) -> None:
    fake = FakeScim()
    uid = _gone(fake)
    specs = write_spec(tmp_path, GONE, deprovision=LIFECYCLE)
    _, result = plan_and_apply(specs, fake)
    assert outcomes(result) == {"gone@example.com": (Action.DISABLE, True)}
    held = fake.users[uid][LIFECYCLE_URN]["disabledAt"]
    assert held != EARLIER
    # Nothing more than the disable itself: no read of the time, no removal of the old one.
    assert _after_the_disable(fake, uid) == []
    assert _deletes(specs, fake) == []


class ToTheMinute(FakeScim):
    """Keeps a time of disabling to the minute, with milliseconds (a form of its own): never
    kept as sent, even for a time sent at a whole minute (scimrec sends no fraction)."""

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        response = super().handle(request)
        rid = request.url.path.rsplit("/", 1)[-1]
        stored = (self.users.get(rid) or {}).get(LIFECYCLE_URN) or {}
        when = stored.get("disabledAt")
        if request.method in ("PATCH", "PUT") and isinstance(when, str) and when != EARLIER:
            stored["disabledAt"] = when[:16] + ":00.000Z"
        return response


def test_a_new_time_kept_in_the_targets_own_form_stays(token: str, tmp_path: Path) -> None:
    fake = ToTheMinute()
    fake.patch_status = 204  # so the write is verified by reading it back
    uid = _gone(fake)
    specs = write_spec(tmp_path, GONE, deprovision=LIFECYCLE)
    _, result = plan_and_apply(specs, fake)
    assert outcomes(result) == {"gone@example.com": (Action.DISABLE, True)}
    held = fake.users[uid][LIFECYCLE_URN]["disabledAt"]
    assert held != EARLIER and held.endswith(":00.000Z")  # the new time, in its form, kept


class BlankedOnRemoval(FakeScim):
    """Answers a removal of the time of disabling by holding an empty string instead."""

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        response = super().handle(request)
        rid = request.url.path.rsplit("/", 1)[-1]
        ops = json.loads(request.content or b"{}").get("Operations") or []
        removed = any(op.get("op") == "remove" and op.get("path") == DISABLED_AT for op in ops)
        if request.method == "PATCH" and removed and rid in self.users:
            self.users[rid].setdefault(LIFECYCLE_URN, {})["disabledAt"] = ""
        return response


def test_the_earlier_time_removed_is_recorded_and_an_empty_one_is_no_time(
    token: str, tmp_path: Path
) -> None:
    fake = BlankedOnRemoval()
    uid = _gone(fake)
    for method in ("PATCH", "PUT"):
        fake.fail(method, "/Users/*", times=5, status=400, when=_sets_the_time, body=REFUSAL)
    specs = write_spec(tmp_path, GONE, deprovision=LIFECYCLE)
    prepared = prepare(specs, "fake", transport=fake.transport)
    lines: list[str] = []
    try:
        applier = Applier(prepared.client, prepared.target, prepared.caps, prepared.log,
                          audit=AuditLog(lines.append))  # fmt: skip
        result = applier.run(prepared.plan)
    finally:
        prepared.client.close()
    # An empty string is no time (RFC 7643 §2.5): removed, so the disable succeeds.
    assert outcomes(result) == {"gone@example.com": (Action.DISABLE, True)}
    assert fake.users[uid][LIFECYCLE_URN]["disabledAt"] == ""
    # The audit trail records what the removal took: the earlier time.
    removals = [
        a
        for line in lines
        for a in json.loads(line).get("attributes") or []
        if a.get("path") == DISABLED_AT and a.get("after") is None
    ]
    assert [a["before"] for a in removals] == [EARLIER]


class AnsweredToTheMinute(ToTheMinute):
    """Answers each write with the account as it now holds it (the time to the minute)."""

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        response = super().handle(request)
        rid = request.url.path.rsplit("/", 1)[-1]
        if request.method == "PATCH" and response.status_code == 200 and rid in self.users:
            return self._one(self.users[rid])
        return response


def test_a_read_of_the_time_that_is_no_object_reads_no_time(token: str, tmp_path: Path) -> None:
    # The time was not kept as sent (its answer said so); the read that asks whether the
    # earlier one stayed answers something that is no object: no time read, nothing more.
    fake = AnsweredToTheMinute()
    uid = _gone(fake)
    fake.fail("GET", f"/Users/{uid}", times=9, status=200, body=[])
    specs = write_spec(tmp_path, GONE, deprovision=LIFECYCLE)
    _, result = plan_and_apply(specs, fake)
    assert outcomes(result) == {"gone@example.com": (Action.DISABLE, True)}
    # Before the write; after it, to confirm its answer (no object: the answer stands);
    # and the read of the earlier time.
    assert fake.count("GET", f"/Users/{uid}") == 3
