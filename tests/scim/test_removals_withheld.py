"""Which of a group's member removals an apply withholds once the target has said it holds
something no read shows (scim/apply/withheld.py `removals_withheld`). The route through a
whole apply is in test_listing_safety.py; these hold the edges: a member the plan read no
object for, a matching value alike, a create of the other kind, a lookup that found what
the listing hid."""

from __future__ import annotations

from reconciler.core.changes import Action, Change
from reconciler.core.config import Auth, Target
from reconciler.core.diff import AttrChange
from reconciler.core.model import Capabilities, Kind
from reconciler.scim.apply.session import Session
from reconciler.scim.apply.withheld import removals_withheld
from tests.fakescim import BASE_URL, FakeScim
from tests.scim.test_faults import RecordingLog, scim_client

TARGET = Target("fake", BASE_URL, Auth(), user_matching=("userName", "externalId"))
BODIES = {
    (Kind.USER, "u1"): {"userName": "stray@example.com", "externalId": "e-stray"},
    (Kind.USER, "u2"): {"userName": "d\u00e1ve@example.com"},
    (Kind.USER, "u3"): {"userName": "carol@example.com", "externalId": " e-dave"},
    (Kind.GROUP, "g1"): {"displayName": "Ops"},
}


def _hidden(kind: Kind, key: str, *attributes: AttrChange) -> Session:
    """A session whose create of `key` was answered 409 and then found by nothing."""
    s = Session(scim_client(FakeScim()), TARGET, Capabilities(), RecordingLog())
    s.unseen(Change(kind, key, Action.CREATE, "declared", attributes=attributes))
    s.bodies = BODIES
    return s


def test_without_a_hidden_object_every_removal_is_sent() -> None:
    s = Session(scim_client(FakeScim()), TARGET, Capabilities(), RecordingLog())

    assert removals_withheld(s, Kind.USER, ["u1", "u9"]) == (["u1", "u9"], None)


def test_an_equivalent_name_and_an_id_never_read_are_withheld_the_rest_sent() -> None:
    s = _hidden(Kind.USER, "dave@example.com")

    sent, why = removals_withheld(s, Kind.USER, ["u1", "u9", "u2"])

    assert sent == ["u1"]
    assert why is not None
    assert why.startswith("user dave@example.com could not be created (the target says it")
    # The first member withheld names why: an id no read showed may be the hidden one.
    assert "may be member u9 (an id the plan did not read)" in why


def test_a_matching_value_alike_is_withheld() -> None:
    s = _hidden(Kind.USER, "dave@example.com", AttrChange("externalId", None, "e-dave"))

    sent, why = removals_withheld(s, Kind.USER, ["u1", "u3"])

    assert sent == ["u1"]
    assert why is not None
    assert "may be member carol@example.com (the same externalId)" in why


def test_a_hidden_create_of_the_other_kind_withholds_nothing() -> None:
    s = _hidden(Kind.GROUP, "stray@example.com")

    assert removals_withheld(s, Kind.USER, ["u1", "u9"]) == (["u1", "u9"], None)


def test_a_hidden_group_withholds_the_removal_of_a_nested_group_alike() -> None:
    s = _hidden(Kind.GROUP, "ops")

    sent, why = removals_withheld(s, Kind.GROUP, ["g1"])

    assert sent == []
    assert why is not None
    assert "group ops could not be created" in why
    assert "may be member Ops (an equivalent name)" in why


def test_no_removal_is_none_withheld() -> None:
    s = _hidden(Kind.USER, "dave@example.com")
    s.saw(Kind.USER, "u7", adopted="erin@example.com")

    assert removals_withheld(s, Kind.USER, []) == ([], None)


def test_an_object_a_lookup_found_hidden_withholds_every_removal() -> None:
    s = _hidden(Kind.USER, "dave@example.com")
    s.saw(Kind.USER, "u7", adopted="erin@example.com")

    sent, why = removals_withheld(s, Kind.USER, ["u1"])

    assert sent == []
    assert why == (
        "the target holds user erin@example.com, which its listing did not show, so the "
        "listing cannot be trusted; run plan again"
    )
