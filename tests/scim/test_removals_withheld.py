"""Which of a group's member removals an apply withholds once the target has said it holds
something no read shows (scim/apply/withheld.py `removals_withheld`). The route through a
whole apply is in test_listing_safety.py; these hold the edges: a member the plan read no
object for, a matching value alike, a create of the other kind, a lookup that found what
the listing hid."""

from __future__ import annotations

from reconciler.core.changes import Action, Change
from reconciler.core.config import Auth, Target
from reconciler.core.diff import AttrChange
from reconciler.core.match import skeleton
from reconciler.core.model import Capabilities, Kind
from reconciler.scim.apply.session import Session
from reconciler.scim.apply.withheld import removals_withheld, why_withheld
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


def _hidden_on(target: Target, kind: Kind, key: str, *attributes: AttrChange) -> Session:
    s = Session(scim_client(FakeScim()), target, Capabilities(), RecordingLog())
    s.unseen(Change(kind, key, Action.CREATE, "declared", attributes=attributes))
    return s


def test_a_group_s_own_matching_value_alike_is_withheld() -> None:
    # A group is compared by the group matching attributes, never the users'.
    target = Target("fake", BASE_URL, Auth(), group_matching=("displayName", "externalId"))
    s = _hidden_on(target, Kind.GROUP, "Platform", AttrChange("externalId", None, "g-ops"))
    s.bodies = {(Kind.GROUP, "g2"): {"displayName": "Ops old", "externalId": "g-ops"}}

    sent, why = removals_withheld(s, Kind.GROUP, ["g2"])

    assert sent == []
    assert why is not None and "may be member Ops old (the same externalId)" in why


def test_a_matching_value_within_an_attribute_is_compared() -> None:
    # The create declares `emails` (and the extension's attribute by its spec path); the
    # matching attribute names the value within it, compared as matching compares it
    # (an address case-insensitively).
    urn = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    matching = ("userName", "emails.value", "enterprise.employeeNumber")
    target = Target("fake", BASE_URL, Auth(), user_matching=matching)
    emails = [{"value": "dAVE@example.com", "primary": True}]
    declared = [{"value": "Dave@Example.COM", "primary": True}]
    s = _hidden_on(
        target,
        Kind.USER,
        "dave@example.com",
        AttrChange("emails", None, declared),
        AttrChange("enterprise.employeeNumber", None, "E-7"),
    )
    s.bodies = {
        (Kind.USER, "u5"): {"userName": "david@example.com", "emails": emails},
        (Kind.USER, "u6"): {"userName": "dv@example.com", urn: {"employeeNumber": "E-7"}},
        (Kind.USER, "u7"): {"userName": "erin@example.com", urn: {"employeeNumber": "E-8"}},
    }

    assert removals_withheld(s, Kind.USER, ["u5"])[0] == []
    assert "(the same emails.value)" in str(removals_withheld(s, Kind.USER, ["u5"])[1])
    sent, why = removals_withheld(s, Kind.USER, ["u6", "u7"])
    assert sent == ["u7"]
    assert why is not None and "(the same enterprise.employeeNumber)" in why


def test_a_deprovision_declared_under_a_name_alike_is_withheld() -> None:
    # Declared absent as dáve@ (matched by externalId to an account named otherwise), the
    # deprovision is withheld by its declared key as much as by the name the target shows.
    s = _hidden(Kind.USER, "dave@example.com")
    s.bodies = {(Kind.USER, "u8"): {"userName": "legacy-88@example.com"}}
    gone = Change(Kind.USER, "d\u00e1ve@example.com", Action.DISABLE, "absent", target_id="u8")

    why = why_withheld(s, gone, set())

    assert why is not None and "may be this account (an equivalent name)" in why


def test_a_deprovision_alike_a_failed_create_is_withheld() -> None:
    s = Session(scim_client(FakeScim()), TARGET, Capabilities(), RecordingLog())
    gone = Change(Kind.USER, "d\u00e1ve@example.com", Action.DELETE, "absent", target_id="u2")

    assert why_withheld(s, gone, {(Kind.USER, skeleton("dave@example.com"))}) == (
        "creating an account with an equivalent name failed in this run; run plan again"
    )
    assert why_withheld(s, gone, {(Kind.GROUP, skeleton("dave@example.com"))}) is None
