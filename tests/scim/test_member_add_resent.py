"""A member add whose outcome is unknown (a 5xx, a lost answer) is never sent again blindly:
a target that keeps a repeated add (Canaille, which holds members by userName) would list
the member twice, and no plan notices. The group is read first, and only the members it
does not show are sent again."""

from __future__ import annotations

from pathlib import Path

import httpx2
import stamina

from reconciler.run import prepare
from reconciler.scim.apply.runner import Applier
from reconciler.scim.pacer import Pacer
from reconciler.scim.retries import RetryPolicy
from tests.fakescim import FakeScim
from tests.scim.test_faults import outcomes, plan_and_apply, replan, user, write_spec

NAMES = ["alice@example.com", "bob@example.com", "carol@example.com"]


def _canaille(token: str, tmp_path: Path) -> tuple[FakeScim, Path, str]:
    # Eng holds alice; the spec adds bob and carol, in one PATCH.
    fake = FakeScim(token=token)
    fake.members_by_name = True
    alice = fake.add_user(NAMES[0])
    for name in NAMES[1:]:
        fake.add_user(name)
    eng = fake.add_group("Eng", [alice])
    groups = [{"displayName": "Eng", "members": NAMES}]
    return fake, write_spec(tmp_path, [user(n) for n in NAMES], groups), eng


def _held(fake: FakeScim, eng: str) -> list[str]:
    return sorted(m["value"] for m in fake.groups[eng]["members"])


def test_an_add_made_whose_answer_was_lost_is_not_sent_again(token: str, tmp_path: Path) -> None:
    fake, specs, eng = _canaille(token, tmp_path)
    fake.fail("PATCH", "/Groups/*", after=True, status=502, text="<html>502 Bad Gateway</html>")
    _, result = plan_and_apply(specs, fake)
    assert result.failed == (), outcomes(result)
    assert _held(fake, eng) == NAMES
    assert fake.count("PATCH") == 1
    assert not replan(specs, fake).plan.changes


def test_only_the_members_not_shown_are_sent_again(token: str, tmp_path: Path) -> None:
    fake, specs, eng = _canaille(token, tmp_path)
    carol = next(i for i, u in fake.users.items() if u["userName"] == NAMES[2])

    def half_done(_: object) -> bool:
        # Carol was added (half of the write, or another admin), bob not; no answer came.
        fake.groups[eng]["members"] = [{"value": NAMES[0]}, {"value": NAMES[2]}]
        return True

    fake.fail("PATCH", "/Groups/*", exc=httpx2.ReadError("connection reset"), when=half_done)
    _, result = plan_and_apply(specs, fake)
    assert result.failed == (), outcomes(result)
    assert _held(fake, eng) == NAMES
    resent = [s for s in fake.requests if s.method == "PATCH"][-1]
    (op,) = resent.body["Operations"]
    assert carol not in [v["value"] for v in op["value"]]
    assert len(op["value"]) == 1


def test_an_add_that_keeps_failing_is_sent_a_bounded_number_of_times(
    token: str, tmp_path: Path
) -> None:
    fake, specs, eng = _canaille(token, tmp_path)
    fake.fail("PATCH", "/Groups/*", status=502, times=99, text="bad gateway")
    _, result = plan_and_apply(specs, fake)
    (failed,) = result.failed
    assert "answered 502" in failed.message
    # The add, then as many more as the client retries a request, each after a read.
    assert fake.count("PATCH") == RetryPolicy().attempts
    assert _held(fake, eng) == [NAMES[0]]


def test_a_group_adopted_after_a_lost_create_answer_gets_no_member_twice(
    token: str, tmp_path: Path
) -> None:
    fake = FakeScim(token=token)
    fake.members_by_name = True
    fake.add_user(NAMES[0])
    specs = write_spec(tmp_path, [user(NAMES[0])], [{"displayName": "Eng", "members": NAMES[:1]}])
    # The create, with its member, is made; the gateway answers 502.
    fake.fail("POST", "/Groups", after=True, status=502, text="bad gateway")
    _, result = plan_and_apply(specs, fake)
    assert result.failed == (), outcomes(result)
    (eng,) = fake.groups
    assert _held(fake, eng) == NAMES[:1]


def test_an_add_sent_again_waits_first_as_a_retry_would(token: str, tmp_path: Path) -> None:
    # django-scim2 on SQLite answers 500 "database is locked" while another write holds
    # the database: sent again at once, the add met the same lock until it gave up.
    fake, specs, eng = _canaille(token, tmp_path)
    fake.fail("PATCH", "/Groups/*", status=500, times=2, text="database is locked")
    waits: list[float] = []
    prepared = prepare(specs, "fake", transport=fake.transport)
    prepared.client.pacer = Pacer(sleep=waits.append)  # the client's one way of waiting
    stamina.set_testing(False)  # waits as in a real run (none here but these: only PATCH fails)
    try:
        applier = Applier(prepared.client, prepared.target, prepared.caps, prepared.log)
        result = applier.run(prepared.plan)
    finally:
        stamina.set_testing(True, attempts=3)
        prepared.client.close()
    assert result.failed == (), outcomes(result)
    assert _held(fake, eng) == NAMES
    policy = RetryPolicy()
    assert len(waits) == 2
    assert policy.wait_initial <= waits[0] <= policy.wait_initial + policy.wait_jitter
    assert 2 * policy.wait_initial <= waits[1] <= 2 * policy.wait_initial + policy.wait_jitter
