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
    assert EARLIER in failed.message and "delete" in failed.message
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
