"""A SCIM error sent with a success status (RFC 7644 §3.12 says the status goes in both) is
the error it states, for every write. Before, a DELETE answered `200` with an error body
was reported as deleted (the account was still there), a PATCH as done with its attributes
"not kept", and a create as one that "sent neither a body nor a Location"."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import stamina

from reconciler.core.plan import Action
from tests.fakescim import ERROR_SCHEMA, FakeScim
from tests.scim.conftest import TOKEN
from tests.scim.test_faults import outcomes, plan_and_apply, user, user_id, write_spec


@pytest.fixture(autouse=True)
def _fast(token: str) -> Iterator[None]:
    with stamina.set_testing(True, attempts=3):
        yield


def _error(status: object, detail: str, scim_type: str | None = None) -> dict[str, object]:
    body: dict[str, object] = {"schemas": [ERROR_SCHEMA], "status": status, "detail": detail}
    return body | ({"scimType": scim_type} if scim_type else {})


def _seeded() -> FakeScim:
    fake = FakeScim(token=TOKEN)
    fake.add_user("alice@example.com", active=True)
    fake.add_user("mallory@example.com", active=True)
    fake.add_user("eve@example.com", active=True)
    return fake


def _specs(tmp_path: Path) -> Path:
    users = [
        user("alice@example.com", title="Staff"),
        user("bob@example.com"),
        user("mallory@example.com", state="absent"),
        user("eve@example.com", active=False),
    ]
    return write_spec(tmp_path, users, deprovision="delete")


@pytest.mark.parametrize("status", ["400", 400, 200, None])
def test_every_write_answered_200_with_an_error_fails_with_its_words(
    tmp_path: Path, status: object
) -> None:
    fake = _seeded()
    for method, path in (("POST", "/Users"), ("PATCH", "/Users/*"), ("DELETE", "/Users/*")):
        fake.fail(method, path, status=200, times=9, body=_error(status, f"no {method} here"))
    fake.fail("PUT", "/Users/*", status=200, times=9, body=_error(status, "no PUT here"))
    _, result = plan_and_apply(_specs(tmp_path), fake)
    assert outcomes(result) == {
        "alice@example.com": (Action.UPDATE, False),
        "bob@example.com": (Action.CREATE, False),
        "mallory@example.com": (Action.DELETE, False),
        "eve@example.com": (Action.DISABLE, False),
    }
    messages = {o.key: o.message for o in result.failed}
    assert "DELETE /Users/" in messages["mallory@example.com"]
    assert "answered 400: no DELETE here" in messages["mallory@example.com"]
    assert "answered 400: no POST here" in messages["bob@example.com"]
    assert user_id(fake, "mallory@example.com")  # still there, as the report now says


def test_a_create_answered_200_with_a_conflict_adopts_the_existing_object(
    tmp_path: Path,
) -> None:
    fake = _seeded()
    bob = fake.add_user("bob@example.com", active=True)
    fake.hidden.add(bob)  # the listing missed it: the plan creates it
    fake.fail("POST", "/Users", status=200, body=_error("409", "exists", "uniqueness"))
    _, result = plan_and_apply(write_spec(tmp_path, [user("bob@example.com")]), fake)
    assert outcomes(result) == {"bob@example.com": (Action.UPDATE, True)}  # adopted
    assert len(fake.user_named("bob@example.com")) == 1
