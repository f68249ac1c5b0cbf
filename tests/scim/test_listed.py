"""What a ListResponse without `Resources` says (scim/resources.py `listed`): none, where
it says so with `totalResults: 0` or with its schema and nothing else; anything else is a
ScimProtocolError, because read as "none" it would prove objects absent, and creates follow."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.errors import ScimProtocolError
from reconciler.scim.resources import LIST_RESPONSE, listed, resource

_EMPTY = [
    {"totalResults": 0},  # no schema: some targets send only the count
    {"totalResults": 0, "schemas": ["urn:example:other"], "x-trace": "1"},
    {"schemas": [LIST_RESPONSE]},
    {"schemas": [LIST_RESPONSE], "startIndex": 1, "itemsPerPage": 0},
    # Every key a ListResponse may hold besides Resources (RFC 7644 §3.4.2, RFC 9865 §2):
    # a page past the last of five.
    {"schemas": [LIST_RESPONSE], "totalResults": 5, "startIndex": 6, "itemsPerPage": 0}
    | {"nextCursor": "c2"},
    # Go servers encode an empty page's nil slice as null (RFC 7643 §2.5: unassigned).
    {"schemas": [LIST_RESPONSE], "totalResults": 3, "startIndex": 4, "Resources": None},
    {"totalResults": 0, "Resources": None},
]
_NOT_LISTINGS = [
    {},
    {"totalResults": 3},
    {"schemas": ["urn:example:other"], "startIndex": 1},
    {"schemas": [LIST_RESPONSE], "items": []},  # a JSON API's own list beside the schema
    {"schemas": LIST_RESPONSE},  # the schema not in a list
    {"totalResults": 3, "Resources": None},  # null, and nothing says it is a listing
    {"detail": "internal error", "status": "500"},
]


@pytest.mark.parametrize("body", _EMPTY)
def test_a_listing_that_says_it_is_empty_lists_none(body: dict[str, Any]) -> None:
    assert listed(body, "GET /Users") == []


@pytest.mark.parametrize("body", _NOT_LISTINGS)
def test_a_body_that_is_no_empty_listing_is_refused(body: dict[str, Any]) -> None:
    with pytest.raises(ScimProtocolError, match=r"^GET /Users did not answer a ListResponse"):
        listed(body, "GET /Users")


def test_resources_that_are_no_list_are_refused_and_a_list_is_given_as_sent() -> None:
    with pytest.raises(ScimProtocolError, match="Resources is not a list"):
        listed({"Resources": {"id": "1"}}, "GET /Users")
    items = [{"id": "1"}, "x"]
    assert listed({"Resources": items, "totalResults": 9}, "GET /Users") is items


@pytest.mark.parametrize("item", ["2819c223", 7, None, ["id", "1"]])
def test_a_listed_item_that_is_no_object_is_no_resource(item: Any) -> None:
    assert resource(item) is None


def test_meta_parts_that_are_no_text_are_read_as_absent() -> None:
    found = resource({"id": "1", "meta": {"resourceType": 5, "version": ["W/1"], "created": 0}})
    assert found is not None
    assert (found.resource_type, found.version, found.created) == (None, None, None)
