"""core/spelling.py against generated bodies: whatever ASCII case a target writes each name
scimrec reads in, at the place the RFC puts it, the body respelled is the body as the RFC
spells it; a name anywhere else, or outside ASCII, is left as it came."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.core import attributes as A
from reconciler.core.model import ENTERPRISE_URN
from reconciler.core.spelling import (
    MEMBER,
    TOP,
    Place,
    held_twice,
    misspelled,
    odd_names,
    respelled,
)

CUSTOM = "urn:example:params:scim:schemas:extension:acme:2.0:User"
TEXT = st.text(alphabet="abc@. ", min_size=1, max_size=6)


def _user(draw: Any) -> dict[str, Any]:
    multi = draw(st.sampled_from(sorted(A.USER_MULTI)))
    subs = A.USER_MULTI[multi]
    return {
        "id": draw(TEXT),
        "userName": draw(TEXT),
        "name": {part: draw(TEXT) for part in draw(st.sets(st.sampled_from(A.NAME_PARTS)))},
        multi: [{sub: draw(TEXT) for sub in draw(st.sets(st.sampled_from(subs)))}],
        ENTERPRISE_URN: {"department": draw(TEXT), "manager": {"value": draw(TEXT)}},
        "meta": {"resourceType": "User", "version": draw(TEXT), "location": draw(TEXT)},
        # A target's own names, some of them RFC names elsewhere: never respelled.
        CUSTOM: {"Location": draw(TEXT), "Value": draw(TEXT), "type": draw(TEXT)},
        "groups": [{"value": draw(TEXT), "display": draw(TEXT)}],
    }


@st.composite
def bodies(draw: Any) -> dict[str, Any]:
    group = {"id": "g", "displayName": "G", "members": [{"value": "u", "type": "User"}]}
    return {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 2,
        "Resources": [_user(draw), group],
    }


def _recased(value: Any, rng: random.Random, keep: frozenset[str]) -> Any:
    """`value` with each name but those in `keep` (and their insides) in a random case."""
    if isinstance(value, list):
        return [_recased(item, rng, keep) for item in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        if key in keep:
            out[key] = item
            continue
        name = "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in key)
        out[name] = _recased(item, rng, keep)
    return out


@settings(max_examples=300, deadline=None)
@given(bodies(), st.randoms(use_true_random=False))
def test_any_ascii_case_of_the_rfc_names_reads_as_the_rfc_spelling(
    body: dict[str, Any], rng: random.Random
) -> None:
    sent = _recased(body, rng, frozenset({CUSTOM}))
    assert respelled(sent, TOP) == body
    assert misspelled(respelled(sent, TOP), TOP) is None
    # Spelled as the RFC does, nothing changes, and the very object comes back.
    assert respelled(body, TOP) is body and misspelled(body, TOP) is None


def test_a_targets_own_extension_keeps_its_names() -> None:
    body = {"id": "1", CUSTOM: {"Location": "x", "VALUE": "y"}, "emails": [{"VALUE": "a"}]}
    assert respelled(body, TOP) == {
        "id": "1",
        CUSTOM: {"Location": "x", "VALUE": "y"},
        "emails": [{"value": "a"}],
    }


def test_names_outside_ascii_are_not_folded() -> None:
    # str.casefold reads the long s as `s` and the Kelvin sign as `k`.
    body = {"email\u017f": [{"value": "a"}], "\u212aind": "x", "emails": [{"v\u0430lue": "b"}]}
    assert respelled(body, TOP) is body and misspelled(body, TOP) is None


def test_one_name_in_two_other_spellings_is_named_and_left() -> None:
    entry = {"Value": "a", "VALUE": "b"}
    assert respelled([entry], MEMBER) == [entry]
    assert misspelled({"members": [{"value": "u"}, entry]}) == "members[1].VALUE"


def test_beside_its_rfc_spelling_another_is_kept_and_the_rfc_one_read() -> None:
    entry = {"value": "a", "Value": "b"}
    assert respelled(entry, MEMBER) is entry and misspelled(entry, MEMBER) is None


def test_only_a_name_the_rfc_spells_otherwise_asks_for_a_walk() -> None:
    # Each answer's names are asked this first: a name of the target's own is no reason
    # to walk it, nor is one already spelled as the RFC does.
    assert not odd_names({"userName", "nickName2", CUSTOM, "x-tenant"})
    assert odd_names({"nickName2", "USERNAME"})
    assert not odd_names({"\u212aind", "\u017fchemas"})  # folded by str.lower or casefold only


def test_a_name_outside_ascii_that_lowers_onto_an_rfc_name_is_left() -> None:
    # The Kelvin sign lowers to `k` (`bul\u212aId` to `bulkId`): still not the RFC name.
    body = {"Operations": [{"bul\u212aId": "b1", "Status": "201"}]}
    assert respelled(body, TOP) == {"Operations": [{"bul\u212aId": "b1", "status": "201"}]}
    assert not odd_names({"bul\u212aId"}, Place.of(["bulkId"]))
    assert odd_names({"BULKID"}, Place.of(["bulkId"]))


def test_a_place_reads_its_names_and_those_below_them() -> None:
    inner = Place.of(["type"])
    outer = Place.of(["value"], {"value": inner})
    assert respelled({"Value": {"TYPE": 1}}, outer) == {"value": {"type": 1}}
    assert misspelled({"value": {"Type": 1}}, outer) == "value.Type"
    # A name in its own spelling is never one to respell, or to walk for.
    assert not odd_names({"value"}, outer) and odd_names({"VALUE"}, outer)
    assert held_twice({"Value": 1, "VALUE": 2}, outer) == "VALUE"
    assert held_twice([{"Value": 1, "VALUE": 2}], outer) is None  # only an object's own


def test_a_null_beside_another_spelling_with_a_value_is_named() -> None:
    # Read as the RFC's, `value: null` made the address none: matched on it, the account
    # passed for an undeclared one and was disabled. Which one holds cannot be told.
    entry = {"value": None, "Value": "a@x"}
    assert misspelled({"emails": [entry]}) == "emails[0].Value"
    assert respelled(entry, MEMBER) is entry
    assert misspelled({"emails": [{"value": "a@x", "Value": None}]}) is None
