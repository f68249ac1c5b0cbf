"""Matching all objects at once decides as matching each one does (core/match.py).

`match_all` settles the common case (one resource holds the first matching attribute's
value, no former names) for every object at once, and `Index` reads and normalises each
attribute's values for all resources at once. For any declared objects and any resources,
the matches must be those `match_one` gives object by object, and each lookup must find
exactly the resources a plain search finds, in the order they were read.
"""

from __future__ import annotations

from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from reconciler.core import attributes as A
from reconciler.core.match import Index, _matched, match_one, normalise
from reconciler.core.model import Declared, Kind, Resource

# Values that collide in every way matching cares about: case, whitespace, an NFKC form,
# a format character, non-strings, empty ones and blank ones (which normalise to empty).
NAMES = st.one_of(
    st.sampled_from(["a@x", "A@X", " a@x", "b@x", "\uff42@x", " ", ""]),
    st.sampled_from(["b@x\u200b", "c@x", 5, True, None, ["a@x"]]),
)
ATTRIBUTES = st.lists(
    st.sampled_from(["userName", "externalId", "emails.value", "displayName"]),
    min_size=0,
    max_size=3,
    unique=True,
)


def _emails(value: Any) -> list[dict[str, Any]] | None:
    return None if value is None else [{"value": value, "primary": True}]


@st.composite
def resources(draw: st.DrawFn) -> tuple[Resource, ...]:
    count = draw(st.integers(0, 8))
    out = []
    for index in range(count):
        body = {
            "userName": draw(NAMES),
            "externalId": draw(NAMES),
            "displayName": draw(NAMES),
            "emails": _emails(draw(NAMES)),
        }
        out.append(Resource(draw(st.sampled_from([f"r{index}", "same", "r0"])), body))
    return tuple(out)


@st.composite
def declared(draw: st.DrawFn) -> list[Declared]:
    count = draw(st.integers(0, 6))
    out = []
    for index in range(count):
        attrs: dict[str, Any] = {
            key: value
            for key in ("userName", "externalId", "displayName")
            if (value := draw(NAMES)) is not None or draw(st.booleans())
        }
        if draw(st.booleans()):
            attrs["emails"] = _emails(draw(NAMES))
        previously = tuple(draw(st.lists(st.sampled_from(["a@x", "c@x", "z@x"]), max_size=2)))
        out.append(Declared(Kind.USER, f"k{index}", attrs, previously=previously))
    return out


def _user(key: str, name: str, previously: tuple[str, ...] = ()) -> Declared:
    return Declared(Kind.USER, key, {"userName": name}, previously=previously)


def _held(rid: str, name: str) -> Resource:
    return Resource(rid, {"userName": name})


# The cases a random search meets least often, kept: an empty declared name beside a blank
# one held (both normalise to ""; an empty one is never looked up), a declared name
# with surrounding space (the attempt shows it as declared), two resources holding one name.
@example([_user("k", "")], (_held("r", " "),), ["userName"])
@example([_user("k", " a@x")], (_held("r", "a@x"),), ["userName"])
@example([_user("k", "a@x")], (_held("r", "a@x"), _held("s", "A@X")), ["userName"])
@example([_user("k", "a@x", ("b@x",))], (_held("r", "a@x"), _held("s", "b@x")), ["userName"])
@settings(max_examples=600, deadline=None)
@given(declared(), resources(), ATTRIBUTES)
def test_all_at_once_is_one_by_one(
    objects: list[Declared], found: tuple[Resource, ...], attributes: list[str]
) -> None:
    index = Index(found, attributes, ("userName",))
    assert _matched(objects, index) == {o.key: match_one(o, index) for o in objects}


@settings(max_examples=400, deadline=None)
@given(resources(), ATTRIBUTES, NAMES)
def test_a_lookup_finds_what_a_plain_search_finds(
    found: tuple[Resource, ...], attributes: list[str], value: Any
) -> None:
    index = Index(iter(found), attributes)  # any iterable: it is read once per attribute
    for attribute in attributes:
        if not isinstance(value, str):
            continue
        read = A.reader(attribute)
        wanted = normalise(attribute, value)
        expected = [
            r
            for r in found
            if isinstance(have := read(r.body), str)
            and have
            and normalise(attribute, have) == wanted
        ]
        assert index.lookup(attribute, value) == expected
