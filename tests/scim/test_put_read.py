"""What a GET-merge-PUT may send back (scim/apply/put_read.py), rule by rule: what the GET
lacks is asked for once, taken only from the resource itself and never from a masked
answer, merged under what the GET showed; what the change itself sets is not asked for,
however its path is spelled; and a refusal names what is missing. The end-to-end behaviour
is in test_put_keeps_attributes.py and test_group_put_members.py; these pin each rule."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import pytest

from reconciler.core.model import ENTERPRISE_URN, Json
from reconciler.scim.apply.put_read import another_resource, with_attributes, with_members
from reconciler.scim.client import Reply, ScimClient

PATH = "/Users/u1"
CUSTOM = "urn:example:params:scim:schemas:extension:acme:2.0:User"


class _Target:
    """Answers each GET with the next body given, and keeps what was asked."""

    def __init__(self, *bodies: Json, masked: bool = False) -> None:
        self.bodies, self.masked = list(bodies), masked
        self.asked: list[tuple[str, Mapping[str, Any] | None]] = []

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Reply:
        self.asked.append((path, params))
        return Reply(200, self.bodies.pop(0), {}, masked=self.masked)


def _client(target: _Target) -> ScimClient:
    return cast(ScimClient, target)


def test_what_the_get_shows_is_sent_back_without_asking_again() -> None:
    target = _Target()
    read: dict[str, Json] = {"id": "u1", "userName": "a", "title": "T"}
    assert with_attributes(_client(target), PATH, read, {"title": "T"}) == (read, None)
    assert target.asked == []


def test_what_the_get_lacks_is_asked_for_by_name_and_merged_under_what_it_showed() -> None:
    target = _Target({"id": "u1", "name": {"givenName": "Ann", "familyName": "Old"}, "x": "1"})
    read: dict[str, Json] = {"id": "u1", "Name": {"familyName": "New"}}
    held: dict[str, Json] = {"name": {"givenName": "Ann", "familyName": "Old"}, "roles": []}
    out, why = with_attributes(_client(target), PATH, read, held)
    assert why is None
    assert target.asked == [(PATH, {"attributes": "name"})]
    # The GET's own value wins over the second answer's, and nothing else is taken.
    assert out == {"id": "u1", "Name": {"givenName": "Ann", "familyName": "New"}}
    assert read == {"id": "u1", "Name": {"familyName": "New"}}  # not changed in place


def test_a_value_the_get_showed_is_not_replaced_by_the_second_answer() -> None:
    target = _Target({"id": "u1", "title": "Other", "nickName": "N"})
    read: dict[str, Json] = {"id": "u1", "title": "Kept", "nickName": ""}
    out, why = with_attributes(_client(target), PATH, read, {"title": "Kept", "nickName": "N"})
    assert (why, out["title"], out["nickName"]) == (None, "Kept", "N")


def test_an_answer_for_another_resource_is_not_merged() -> None:
    # A second GET answered with another account's body: its attributes are not taken,
    # and the PUT is refused for what is still missing.
    target = _Target({"id": "u2", "title": "Theirs"})
    read: dict[str, Json] = {"id": "u1", "userName": "a"}
    out, why = with_attributes(_client(target), PATH, read, {"title": "Ours"})
    assert out == read
    assert why is not None and why.startswith(f"GET {PATH} lacks title, which")


def test_an_answer_with_a_secret_masked_is_not_merged() -> None:
    target = _Target({"id": "u1", "title": "***"}, masked=True)
    read: dict[str, Json] = {"id": "u1"}
    out, why = with_attributes(_client(target), PATH, read, {"title": "T"})
    assert out == read and why is not None


@pytest.mark.parametrize("first", [{}, {"id": ""}])
def test_an_answer_without_an_id_is_taken_as_the_resource_asked_for(first: dict[str, Json]) -> None:
    target = _Target({"title": "T"})
    out, why = with_attributes(_client(target), PATH, first, {"title": "T"})
    assert (out, why) == ({**first, "title": "T"}, None)


def test_an_answer_with_an_id_where_the_first_showed_an_empty_one_is_not_merged() -> None:
    target = _Target({"id": "u2", "title": "Theirs"})
    out, why = with_attributes(_client(target), PATH, {"id": ""}, {"title": "Ours"})
    assert out == {"id": ""} and why is not None


def test_a_complex_value_answered_as_text_does_not_replace_the_one_the_get_showed() -> None:
    # The GET showed part of `name`; the second answer shows it as a string: the part
    # shown is kept, and what is still missing refuses the PUT.
    target = _Target({"id": "u1", "name": "flat"})
    read: dict[str, Json] = {"id": "u1", "name": {"familyName": "F"}}
    out, why = with_attributes(_client(target), PATH, read, {"name": {"givenName": "G"}})
    assert out == read
    assert why is not None and why.startswith(f"GET {PATH} lacks name.givenName, which")


@pytest.mark.parametrize(
    ("managed", "held"),
    [
        ("title", {"title": "Old"}),
        ("name.givenName", {"name": {"givenName": "Old"}}),
        ("enterprise", {ENTERPRISE_URN: {"department": "Old"}}),
        ("enterprise.department", {ENTERPRISE_URN: {"department": "Old"}}),
        (f"{CUSTOM}:badge", {CUSTOM: {"badge": "7"}}),
    ],
)
def test_what_the_change_itself_sets_is_not_asked_for(managed: str, held: dict[str, Json]) -> None:
    target = _Target()
    read: dict[str, Json] = {"id": "u1"}
    assert with_attributes(_client(target), PATH, read, held, [managed]) == (read, None)
    assert target.asked == []


def test_a_sub_attribute_the_change_does_not_set_is_still_asked_for() -> None:
    # The change sets the department; the cost center it does not, so the GET must show it.
    held: dict[str, Json] = {ENTERPRISE_URN: {"department": "Old", "costCenter": "42"}}
    target = _Target({"id": "u1"})
    read: dict[str, Json] = {"id": "u1", ENTERPRISE_URN: {"department": "New"}}
    _, why = with_attributes(_client(target), PATH, read, held, ["enterprise.department"])
    assert target.asked == [(PATH, {"attributes": ENTERPRISE_URN})]
    assert why is not None and f"lacks {ENTERPRISE_URN}:costCenter, which" in why


def test_a_refusal_names_what_is_missing_in_order_and_counts_the_rest() -> None:
    held: dict[str, Json] = {
        "title": "T",
        "name": {"givenName": "G", "familyName": "F"},
        CUSTOM: {"badge": "7"},
        "emails": [{"value": "a@example.com"}],
        "roles": [{"value": "r"}],
        "nickName": "N",
        "locale": "L",
    }
    read: dict[str, Json] = {"id": "u1", "name": {"formatted": "x"}}
    _, why = with_attributes(_client(_Target({"id": "u1"})), PATH, read, held)
    assert why == (
        f"GET {PATH} lacks emails, locale, name.familyName, name.givenName, nickName and 3 "
        "more, which the object held when planned: a PUT (the target takes no PATCH) would "
        "remove them; not written, plan again"
    )
    _, why = with_attributes(
        _client(_Target({"id": "u1"})), PATH, {"id": "u1"}, {CUSTOM: held[CUSTOM]}
    )
    assert why is not None and why.startswith(f"GET {PATH} lacks {CUSTOM}, which")
    five = {name: "v" for name in ("a", "b", "c", "d", "e")}
    _, why = with_attributes(_client(_Target({"id": "u1"})), PATH, {"id": "u1"}, five)
    assert why is not None and why.startswith(f"GET {PATH} lacks a, b, c, d, e, which")
    _, why = with_attributes(_client(_Target({"id": "u1"})), PATH, {"id": "u1"}, {**five, "f": "v"})
    assert why is not None and why.startswith(f"GET {PATH} lacks a, b, c, d, e and 1 more, which")


def test_an_answer_for_another_resource_is_named_and_one_without_an_id_is_not() -> None:
    assert another_resource(PATH, {"id": "U1"}, "u1") is None  # ids differing in case are one
    assert another_resource(PATH, {"id": ""}, "u1") is None  # nothing to tell it by
    assert another_resource(PATH, {"id": "u2"}, None) is None  # nothing to compare with
    assert another_resource(PATH, {"id": "u2"}, "u1") == (
        f"GET {PATH} answered with the resource 'u2', not 'u1': a PUT of it would write that "
        "object over this one; not written"
    )


def test_a_complex_value_shown_as_text_is_not_taken_apart() -> None:
    # A GET showing `name` as a string where the read held an object has a value for it:
    # nothing is missing there (the shape check judges the body afterwards).
    read: dict[str, Json] = {"id": "u1", "name": "Ann"}
    assert with_attributes(_client(_Target()), PATH, read, {"name": {"givenName": "A"}}) == (
        read,
        None,
    )


GROUP = "/Groups/g1"


def test_a_group_get_showing_its_members_is_sent_back_without_asking_again() -> None:
    target = _Target()
    read: dict[str, Json] = {"id": "g1", "members": [{"value": "u1"}]}
    assert with_members(_client(target), GROUP, read, frozenset({("u1", False)})) == (read, None)
    assert target.asked == []


def test_members_the_get_leaves_out_are_asked_for_by_name() -> None:
    target = _Target({"id": "g1", "members": [{"value": "u1"}]})
    out, why = with_members(_client(target), GROUP, {"id": "g1"}, frozenset({("u1", False)}))
    assert (out, why) == ({"id": "g1", "members": [{"value": "u1"}]}, None)
    assert target.asked == [(GROUP, {"attributes": "members"})]


def test_a_group_that_held_no_members_is_sent_back_though_no_get_shows_members() -> None:
    target = _Target({"id": "g1"})
    assert with_members(_client(target), GROUP, {"id": "g1"}, frozenset()) == ({"id": "g1"}, None)


@pytest.mark.parametrize(
    ("held", "second", "seen"),
    [
        (None, {"id": "g1"}, "does not show the group's members"),
        (frozenset({("u1", False)}), {"id": "g1"}, "shows none of the 1 members"),
        (
            frozenset({("u1", False), ("u2", False)}),
            {"id": "g1", "members": [{"value": "u1"}]},
            "lacks 1 of the 2 members",
        ),
        (frozenset({("u1", False)}), {"id": "g2", "members": [{"value": "u1"}]}, "shows none"),
    ],
)
def test_a_group_put_that_would_drop_members_is_refused_and_says_why(
    held: frozenset[tuple[str, bool]] | None, second: dict[str, Json], seen: str
) -> None:
    _, why = with_members(_client(_Target(second)), GROUP, {"id": "g1"}, held)
    assert why is not None and why.startswith(f"GET {GROUP} {seen}")
    assert why.endswith(
        ": a PUT (the target takes no PATCH) would remove them; not written, plan again"
    )
