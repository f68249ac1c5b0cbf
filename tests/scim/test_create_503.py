"""A create answered 503 is looked up before it is sent again (DESIGN §5: never a blind
retry, never a duplicate). A 503 is "not processed" only from the server itself; a gateway
that gave up waiting on a server still at work (a router's request timeout) answers 503
too, and the user was made. On a target that does not refuse a second user of the name, a
resend made a second account."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import stamina

from reconciler.core.plan import Action
from tests.fakescim import ERROR_SCHEMA, FakeScim
from tests.scim.conftest import TOKEN, TOKEN_ENV
from tests.scim.test_faults import outcomes, plan_and_apply, replan, user, write_spec

ALICE = "alice@example.com"


@pytest.fixture(autouse=True)
def _setup(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    stamina.set_testing(True, attempts=3)
    yield
    stamina.set_testing(False)


def test_a_create_a_gateway_answered_503_after_it_was_made_is_made_once(tmp_path: Path) -> None:
    fake = FakeScim(token=TOKEN)
    fake.unique_names = False
    fake.fail("POST", "/Users", status=503, after=True, headers={"Retry-After": "0"})
    specs = write_spec(tmp_path, [user(ALICE)])
    _, result = plan_and_apply(specs, fake)
    assert outcomes(result) == {ALICE: (Action.CREATE, True)}
    assert len(fake.user_named(ALICE)) == 1
    assert fake.count("POST", "/Users") == 1
    assert not replan(specs, fake).plan.has_changes


def test_a_create_refused_503_before_it_was_made_is_sent_again(tmp_path: Path) -> None:
    fake = FakeScim(token=TOKEN)
    fake.unique_names = False
    fake.fail("POST", "/Users", status=503, headers={"Retry-After": "0"})
    specs = write_spec(tmp_path, [user(ALICE)])
    _, result = plan_and_apply(specs, fake)
    assert outcomes(result) == {ALICE: (Action.CREATE, True)}
    assert len(fake.user_named(ALICE)) == 1
    assert fake.count("POST", "/Users") == 2


def test_a_create_the_scim_service_refused_503_is_sent_again_without_a_lookup(
    tmp_path: Path,
) -> None:
    # A 503 with a SCIM error body is the service's own "not now" (RFC 7644 §3.12), not a
    # gateway's give-up: resent after Retry-After, as before, without reading the whole
    # listing to prove the user absent while the target sheds load.
    fake = FakeScim(token=TOKEN)
    fake.unique_names = False
    for n in range(30):
        fake.add_user(f"user{n}@example.com")
    body = {"schemas": [ERROR_SCHEMA], "status": "503", "detail": "overloaded"}
    fake.fail("POST", "/Users", status=503, body=body, headers={"Retry-After": "0"})
    specs = write_spec(tmp_path, [user(ALICE)])
    _, result = plan_and_apply(specs, fake)
    assert outcomes(result) == {ALICE: (Action.CREATE, True)}
    assert len(fake.user_named(ALICE)) == 1
    first = next(i for i, s in enumerate(fake.requests) if s.method == "POST")
    assert [s.method for s in fake.requests[first:]] == ["POST", "POST"]
