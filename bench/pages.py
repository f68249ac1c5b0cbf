"""A SCIM target at the physical limit of reading (P1-fast): every resource held as JSON bytes.

It answers what a no-op plan asks and nothing else: GET /ServiceProviderConfig, the filter
probe of test_connection (`userName eq "<uuid>"`, which matches no one), and pages of
/Users and /Groups by startIndex/count, each page joined from the resources' pre-serialised
bytes. Serving a page costs microseconds, so a client's time against it is the client's own.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

import dataset

LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
META = {"created": "2026-01-01T00:00:00Z", "lastModified": "2026-01-01T00:00:00Z"}
CONFIG = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
    "patch": {"supported": True},
    "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
    "filter": {"supported": True, "maxResults": 1000},
    "changePassword": {"supported": False},
    "sort": {"supported": False},
    "etag": {"supported": False},
    "authenticationSchemes": [],
}


def _encoded(body: dict[str, Any], kind: str, rid: str) -> bytes:
    meta = {"resourceType": kind, **META, "version": 'W/"1"', "location": f"/{kind}s/{rid}"}
    return json.dumps({**body, "meta": meta}, separators=(",", ":")).encode()


def build(sizes: dataset.Sizes, token: str) -> WSGIApp:
    """The WSGI application, its users and groups serialised once, here."""
    users = [_encoded(dataset.scim_user(i), "User", dataset.user_id(i)) for i in range(sizes.users)]
    groups = [
        _encoded(dataset.scim_group(j, m), "Group", dataset.group_id(j))
        for j, m in enumerate(dataset.members(sizes))
    ]
    held = {"/Users": users, "/Groups": groups}
    config = json.dumps(CONFIG).encode()
    expected = f"Bearer {token}"

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("HTTP_AUTHORIZATION") != expected:
            return _reply(start_response, "401 Unauthorized", b'{"status":"401"}')
        path = environ.get("PATH_INFO", "").removeprefix("/v2")  # under /scim, as the sandbox
        if path == "/ServiceProviderConfig":
            return _reply(start_response, "200 OK", config)
        if path not in held:
            return _reply(start_response, "404 Not Found", b'{"status":"404"}')
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        resources = held[path]
        if "filter" in query:  # only the connection test's probe filters: it matches no one
            return _reply(start_response, "200 OK", _page([], 0, 1))
        start = max(1, int(query.get("startIndex", 1)))
        count = int(query.get("count", 100))
        chosen = resources[start - 1 : start - 1 + max(0, count)]
        return _reply(start_response, "200 OK", _page(chosen, len(resources), start))

    return app


def _page(items: list[bytes], total: int, start: int) -> bytes:
    head = {
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "itemsPerPage": len(items),
        "startIndex": start,
    }
    return json.dumps(head)[:-1].encode() + b',"Resources":[' + b",".join(items) + b"]}"


def _reply(start_response: Callable[..., Any], status: str, body: bytes) -> list[bytes]:
    headers = [("Content-Type", "application/scim+json"), ("Content-Length", str(len(body)))]
    start_response(status, headers)
    return [body]
