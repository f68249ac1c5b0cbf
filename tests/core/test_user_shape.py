"""The user shape decided in C (core/user_shape.py) never passes a body the Python walk
(core/shape.py `_user_walk`) finds a problem in.

Bodies are generated near the shape: every attribute the walk reads, mostly of the right
type and now and then any JSON value (so most bodies have one wrong part or none),
objects with their declared keys and now and then another, and attributes no check
reads. Where `fits` says yes, the walk must find nothing; the ordinary bodies of a target
must fit, or the quick path would never be taken.
"""

from __future__ import annotations

from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from reconciler.core import attributes as A
from reconciler.core import shape, user_shape
from reconciler.core.model import ENTERPRISE_URN

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=3),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=6,
)
TEXT = st.text(max_size=3)
SCALAR = st.none() | st.booleans() | st.integers() | st.floats() | TEXT


def mostly(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`good`, or one time in twelve any JSON value: most bodies then have one part or
    none that is wrong, so each part is tried wrong in bodies otherwise right."""
    return st.integers(0, 11).flatmap(lambda roll: JSON if roll == 0 else good)


def _object(keys: tuple[str, ...], good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """An object holding some of `keys` (mostly good values), now and then another key."""
    names = st.sampled_from(keys) | st.integers(0, 11).map(lambda roll: "other")
    return mostly(st.dictionaries(names, mostly(good), max_size=3))


def _items(path: str) -> st.SearchStrategy[Any]:
    subs = A.USER_MULTI[path]
    good = {
        sub: st.booleans() | st.none() if sub == "primary" else TEXT | st.none() for sub in subs
    }
    item = st.sampled_from(subs).flatmap(
        lambda sub: st.fixed_dictionaries({}, optional={s: mostly(good[s]) for s in subs})
    )
    other = st.fixed_dictionaries({"value": TEXT, "other": mostly(TEXT)})
    return mostly(st.lists(mostly(item | other), max_size=2))


@st.composite
def bodies(draw: st.DrawFn) -> dict[str, Any]:
    body: dict[str, Any] = {"userName": draw(mostly(st.text(min_size=1, max_size=3)))}
    for path, kind in A.USER_SIMPLE.items():
        if path != "userName" and draw(st.integers(0, 2)) == 0:
            body[path] = draw(mostly(st.booleans() if kind == A.BOOLEAN else TEXT))
    if draw(st.booleans()):
        body["name"] = draw(_object(A.NAME_PARTS, SCALAR))
    for path in A.USER_MULTI:
        if draw(st.integers(0, 3)) == 0:
            body[path] = draw(_items(path))
    if draw(st.booleans()):
        manager = _object(("value", "$ref", "displayName"), SCALAR) | TEXT | st.none()
        good = {key: manager if key == "manager" else SCALAR for key in A.ENTERPRISE}
        parts = st.fixed_dictionaries({}, optional={k: mostly(v) for k, v in good.items()})
        extra = st.fixed_dictionaries({"other": mostly(SCALAR)})
        body[ENTERPRISE_URN] = draw(mostly(parts | extra))
    if draw(st.booleans()):
        body["id"] = draw(JSON)  # read by no check here
    return body


@example({"userName": "a", "emails": [{"value": "x", "primary": "yes"}]})
@example({"userName": "a", "emails": [{"value": 5}]})
@example({"userName": "a", "emails": [{"value": "x", "other": 5}]})
@example({"userName": "a", "title": 5})
@example({"userName": "a", "addresses": [{"country": "x", "value": "y"}]})
@example({"userName": "a", "name": {"givenName": ["x"]}})
@example({"userName": "a", ENTERPRISE_URN: {"manager": 5}})
@example({"userName": "a", ENTERPRISE_URN: {"manager": {"value": {}}}})
@example({"userName": "a", ENTERPRISE_URN: {"costCenter": []}})
@example({"userName": "a", "active": 1})
@example({"userName": ""})
@example({"userName": "a", "x509Certificates": {"value": "x"}})
@settings(max_examples=500, deadline=None)
@given(bodies())
def test_a_body_that_fits_is_one_the_walk_passes(body: dict[str, Any]) -> None:
    if user_shape.fits(body):
        assert shape._user_walk(body) is None, body


@given(bodies())
@settings(max_examples=150, deadline=None)
def test_every_user_body_is_checked_as_the_walk_checks_it(body: dict[str, Any]) -> None:
    assert shape._user(body) == shape._user_walk(body)


def test_a_target_s_ordinary_user_fits() -> None:
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_URN],
        "id": "4d0a87b6",
        "userName": "user5@example.com",
        "externalId": "emp-5",
        "name": {"givenName": "Given5", "familyName": "Family5", "formatted": None},
        "displayName": "Given5 Family5",
        "emails": [{"value": "user5@example.com", "type": "work", "primary": True}],
        "addresses": [{"streetAddress": "1 Main St", "primary": False}],
        "active": True,
        "title": "Specialist",
        ENTERPRISE_URN: {"department": "Legal", "employeeNumber": 100005,
                         "manager": {"value": "3e33", "$ref": "../Users/3e33"}},
        "meta": {"resourceType": "User"},
    }  # fmt: skip
    assert user_shape.fits(body)
    assert user_shape.fits({**body, ENTERPRISE_URN: {"manager": "3e33"}})
