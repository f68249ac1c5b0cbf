"""A listed resource's body as `resources.resource` keeps it: every attribute but `meta`,
in the order the target sent them (a PUT built from it keeps that order), whichever
reader parsed the page (scim/payload.py)."""

from __future__ import annotations

import json

from reconciler.core.model import ENTERPRISE_URN
from reconciler.scim.payload import parse
from reconciler.scim.resources import resource


def _user(number: int) -> dict[str, object]:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_URN],
        "id": f"id-{number}",
        ENTERPRISE_URN: {"department": "Sales"},
        "meta": {"resourceType": "User", "version": 'W/"1"'},
        "userName": f"user{number}",
        "active": True,
    }


def test_the_body_keeps_every_attribute_but_meta_in_the_order_sent() -> None:
    sent = _user(1)
    (listed,) = parse(json.dumps([sent]).encode())
    found = resource(listed)
    assert found is not None
    assert list(found.body.items()) == [(k, v) for k, v in sent.items() if k != "meta"]
    assert found.version == 'W/"1"'
