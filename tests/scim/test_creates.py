"""A create's answer (apply/creates.py): the new object's id from the body, else from the
Location header, else looked up; and where the object lives (meta.location, else
Location), which later member `$ref`s name. Each answer form is fault-injected against
FakeScim, which otherwise answers with both."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import stamina

from reconciler.core.plan import Action
from tests.fakescim import BASE_URL, FakeScim
from tests.scim.conftest import TOKEN
from tests.scim.test_faults import outcomes, plan_and_apply, user, write_spec
from tests.scim.test_member_refs import CANONICAL, member_writes

pytestmark = pytest.mark.usefixtures("token")
ALICE = [user("alice@example.com", displayName="Alice")]
# An empty fake numbers its resources from 1: alice's create makes u1.
ALICE_ID = "u1"


@pytest.fixture(autouse=True)
def _fast() -> Iterator[None]:
    with stamina.set_testing(True, attempts=3):
        yield


def answered(fake: FakeScim, path: str, body: Any = None, **headers: str) -> None:
    """The create is made, and answered 201 with this body and these headers only."""
    fake.fail("POST", path, status=201, after=True, body=body, headers=headers)


def lookups(fake: FakeScim) -> list[str]:
    """The searches for alice (the connection test's own probes left out)."""
    asked = [s.params.get("filter", "") for s in fake.requests]
    return [f for f in asked if "alice" in f]


def unfindable(fake: FakeScim) -> None:
    """Alice, once created, is found neither by a filter nor in a listing."""
    fake.blind_filters.add("userName")
    fake.hidden.add(ALICE_ID)


def created(specs: Path, fake: FakeScim) -> tuple[Action, bool, str | None, str]:
    _, result = plan_and_apply(specs, fake)
    (outcome,) = result.outcomes
    return outcome.action, outcome.ok, outcome.target_id, outcome.message


@pytest.mark.parametrize("end", ["", "/"])
def test_the_id_is_the_location_s_last_segment_when_no_body_says(tmp_path: Path, end: str) -> None:
    fake = FakeScim(token=TOKEN)
    answered(fake, "/Users", Location=f"{BASE_URL}/Users/{ALICE_ID}{end}")
    assert created(write_spec(tmp_path, ALICE), fake)[:3] == (Action.CREATE, True, ALICE_ID)
    assert lookups(fake) == []  # the Location was enough


def test_a_location_that_names_nothing_is_looked_up(tmp_path: Path) -> None:
    fake = FakeScim(token=TOKEN)
    answered(fake, "/Users", Location="/")
    assert created(write_spec(tmp_path, ALICE), fake)[:3] == (Action.CREATE, True, ALICE_ID)
    assert lookups(fake) == ['userName eq "alice@example.com"']


def test_the_body_s_id_needs_no_location(tmp_path: Path) -> None:
    # A lookup finds nothing here, so only the body can have given the id.
    fake = FakeScim(token=TOKEN)
    unfindable(fake)
    answered(fake, "/Users", {"id": ALICE_ID, "userName": "alice@example.com"})
    assert created(write_spec(tmp_path, ALICE), fake)[:3] == (Action.CREATE, True, ALICE_ID)


def test_an_answer_with_no_id_anywhere_fails_the_create(tmp_path: Path) -> None:
    fake = FakeScim(token=TOKEN)
    unfindable(fake)
    fake.create_without_body = True
    assert created(write_spec(tmp_path, ALICE), fake) == (
        Action.CREATE,
        False,
        None,
        "the target accepted the create but sent neither a body nor a Location",
    )


def refs_to_alice(tmp_path: Path, fake: FakeScim) -> list[Any]:
    """The `$ref`s the group's members carry, alice created in the same run."""
    fake.require_member_ref = True
    specs = write_spec(tmp_path, ALICE, [{"displayName": "Eng", "members": ["alice@example.com"]}])
    _, result = plan_and_apply(specs, fake)
    assert outcomes(result) == {
        "alice@example.com": (Action.CREATE, True),
        "Eng": (Action.CREATE, True),
    }
    return [m.get("$ref") for _, _, members in member_writes(fake) for m in members]


def test_a_member_s_ref_is_the_meta_location_its_create_answered(tmp_path: Path) -> None:
    fake = FakeScim(token=TOKEN)
    body = {
        "id": ALICE_ID,
        "userName": "alice@example.com",
        "meta": {"location": f"{CANONICAL}/Users/{ALICE_ID}"},
    }
    answered(fake, "/Users", body, Location=f"https://elsewhere.test/Users/{ALICE_ID}")
    # Refused without a $ref first; then sent with the create's meta.location.
    assert refs_to_alice(tmp_path, fake) == [None, f"{CANONICAL}/Users/{ALICE_ID}"]


def test_else_it_is_the_location_header(tmp_path: Path) -> None:
    fake = FakeScim(token=TOKEN)
    body = {"id": ALICE_ID, "userName": "alice@example.com"}
    answered(fake, "/Users", body, Location=f"{CANONICAL}/Users/{ALICE_ID}")
    assert refs_to_alice(tmp_path, fake) == [None, f"{CANONICAL}/Users/{ALICE_ID}"]


def test_a_meta_location_that_is_no_text_is_not_used(tmp_path: Path) -> None:
    # Nor is the header then: the $ref is built from the id.
    fake = FakeScim(token=TOKEN)
    body = {"id": ALICE_ID, "userName": "alice@example.com", "meta": {"location": 7}}
    answered(fake, "/Users", body, Location=f"{CANONICAL}/Users/{ALICE_ID}")
    assert refs_to_alice(tmp_path, fake) == [None, f"{BASE_URL}/Users/{ALICE_ID}"]
