"""Names in another case are found in every resource of a listing, not only the first:
a target may write one resource another way (a user imported from elsewhere), and read by
its exact names only, that user has no userName, looks missing, and is created again."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.core.model import SCIM_ERROR
from reconciler.errors import ScimProtocolError
from reconciler.scim.bulk_requests import results
from reconciler.scim.messages import http_error, spelled, stated_error

LISTING = ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]


def _listing(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": LISTING, "totalResults": len(resources), "Resources": [*resources]}


@pytest.mark.parametrize("at", [1, 2])
def test_a_name_in_another_case_in_a_later_resource_alone_is_read(at: int) -> None:
    resources = [{"id": str(i), "userName": f"u{i}@example.com"} for i in range(3)]
    resources[at] = {"id": str(at), "UserName": f"u{at}@example.com"}
    read = spelled(_listing(*resources), "GET /Users")
    assert [r.get("userName") for r in read["Resources"]] == [
        "u0@example.com",
        "u1@example.com",
        "u2@example.com",
    ]


def test_a_listing_in_its_own_spelling_is_the_same_object() -> None:
    body = _listing({"id": "1", "userName": "a", "urn:example:ext": {"X": 1}})
    assert spelled(body, "GET /Users") is body


def test_a_bulk_operations_response_is_read_in_its_rfc_spelling() -> None:
    # Read by exact names, the created user's `Id` was no id: the create was looked up by
    # name again, and its `Emails` compared as not kept.
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkResponse"],
        "Operations": [
            {
                "Method": "POST",
                "BulkId": "user-1",
                "Status": "201",
                "Response": {"Id": "u9", "UserName": "a", "Emails": [{"Value": "a@x"}]},
            }
        ],
    }
    [read] = results(spelled(body, "POST /Bulk"), ["user-1"]).values()
    assert read.target_id == "u9"
    assert read.resource == {"id": "u9", "userName": "a", "emails": [{"value": "a@x"}]}


def test_an_error_bodys_names_are_read_in_any_case() -> None:
    # `ScimType` read as absent took a `mutability` refusal for one PATCH cannot make.
    content = b'{"Schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "Status": "400",'
    content += b' "ScimType": "mutability", "Detail": "id is read-only"}'
    error = http_error("PATCH", "/Users/1", 400, {}, content)
    assert (error.scim_type, error.detail) == ("mutability", "id is read-only")


def test_what_a_service_provider_config_says_is_read_in_any_case() -> None:
    # Read by exact names, a cursor-only target's `Pagination: {Cursor: true}` read as index
    # paging (which it refuses), and its `Etag`, `Bulk` and `Filter` as unsupported.
    body = {
        "Schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "Patch": {"Supported": True},
        "Bulk": {"Supported": True, "MaxOperations": 10, "MaxPayloadSize": 1000},
        "Filter": {"SUPPORTED": True, "maxresults": 50},
        "ETag": {"supported": True},
        "Pagination": {"Cursor": True, "Index": False, "MaxPageSize": 100},
    }
    assert spelled(body, "GET /ServiceProviderConfig") == {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": {"supported": True},
        "bulk": {"supported": True, "maxOperations": 10, "maxPayloadSize": 1000},
        "filter": {"supported": True, "maxResults": 50},
        "etag": {"supported": True},
        "pagination": {"cursor": True, "index": False, "maxPageSize": 100},
    }


def test_one_resource_keeps_names_only_an_error_or_a_configuration_has() -> None:
    # `Status` is an error's name, and `Patch` the configuration's; on a user they are
    # the target's own, and a PUT built from this read sends them back as they came.
    body = {"Id": "1", "UserName": "a", "Status": "on leave", "Patch": "7"}
    assert spelled(body, "GET /Users/1") == {
        "id": "1",
        "userName": "a",
        "Status": "on leave",
        "Patch": "7",
    }
    error = {"Schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "Status": "404"}
    assert spelled(error, "GET /Users/2") == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": "404",
    }


def test_a_service_provider_config_with_an_id_is_still_read_in_any_case() -> None:
    # RFC 7643 §5 lets it carry an id; read as one resource's names, `Pagination` and
    # `Etag` kept their case and every feature looked unsupported.
    body = {
        "Id": "spc",
        "Schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "Pagination": {"Cursor": True},
        "Etag": {"Supported": True},
    }
    read = spelled(body, "GET /ServiceProviderConfig")
    assert read["pagination"] == {"cursor": True} and read["etag"] == {"supported": True}
    # One user read by id keeps a name only a /Schemas answer gives its place.
    user = {"id": "u1", "UserName": "a", "Attributes": {"Name": "x"}}
    assert spelled(user, "GET /Users/u1") == {
        "id": "u1",
        "userName": "a",
        "Attributes": {"Name": "x"},
    }


def test_a_bulk_response_holding_a_name_twice_is_refused() -> None:
    body = {
        "Operations": [
            {"method": "POST", "bulkId": "g", "status": "201",
             "response": {"id": "g1", "Members": [], "MEMBERS": [{"value": "u"}]}}
        ]
    }  # fmt: skip
    with pytest.raises(ScimProtocolError, match="'g1' holds 'MEMBERS'"):
        spelled(body, "POST /Bulk")


@pytest.mark.parametrize(
    "body",
    [
        {"SCHEMAS": [SCIM_ERROR], "STATUS": "404", "DETAIL": "no such user"},
        {"schemas": [SCIM_ERROR], "Status": "oops", "STATUS": "409"},
    ],
)
def test_an_error_sent_with_200_is_told_in_any_case(body: dict[str, Any]) -> None:
    # Not told, a 200 carrying `SCHEMAS: [Error]` passed for a write that happened.
    assert stated_error(body) == int(body.get("STATUS", 400))
