"""Fakes of targets that cannot list everything (issue 14 item 5), each built on FakeScim
as the public documentation of the real service describes it. Fault injection only: they
are what no real server in the suite can be made to do.

- AwsLikeScim, after AWS IAM Identity Center's SCIM API: `eq` filters only (joined by
  `and`), no multi-valued user attributes, no `remove` of all members nor `replace` of
  members, and a listing capped at 50 resources whatever startIndex says.
- GoogleLikeScim, after Google Cloud Identity's SCIM API: neither index nor cursor paging;
  every listing starts at the first resource.
- SnowflakeLikeScim, after Snowflake's SCIM API before its 2026_03 change: an unfiltered
  listing returns one synthetic sample object that cannot be read by its id.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import httpx2

from tests.fakescim import LIST_RESPONSE, FakeScim, Seen

_EQ_AND = re.compile(r'^\s*[\w.:]+\s+eq\s+"[^"]*"(\s+and\s+[\w.:]+\s+eq\s+"[^"]*")*\s*$', re.I)
MULTI = ("emails", "phoneNumbers", "addresses", "ims", "photos", "roles", "entitlements")


def _page(resources: list[dict[str, Any]], total: int, start: int) -> httpx2.Response:
    body = {
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }
    return httpx2.Response(200, json=body)


class AwsLikeScim(FakeScim):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cap = 50  # what a listing returns at most, whatever startIndex says

    def _list(self, seen: Seen, store: dict[str, dict[str, Any]]) -> httpx2.Response:
        expression = seen.params.get("filter")
        if expression is not None:
            if not _EQ_AND.match(expression):
                return self._error(seen, 400, "Only eq filters are supported", "invalidFilter")
            return super()._list(seen, store)
        visible = list(store.values())[: self.cap]
        start = max(1, int(seen.params.get("startIndex", 1)))
        count = int(seen.params.get("count", self.cap))
        return _page(visible[start - 1 : start - 1 + count], len(store), start)

    def _refused(self, seen: Seen) -> httpx2.Response | None:
        body = seen.body if isinstance(seen.body, dict) else {}
        values = [body] + [
            op.get("value") for op in body.get("Operations") or [] if isinstance(op, dict)
        ]
        for value in values:
            if isinstance(value, dict) and any(
                isinstance(value.get(a), list) and len(value[a]) > 1 for a in MULTI
            ):
                return self._error(seen, 400, "Multiple values are not supported", "invalidValue")
        for op in body.get("Operations") or []:
            name, path = str(op.get("op", "")).lower(), op.get("path")
            if path == "members" and (
                name == "replace" or (name == "remove" and not op.get("value"))
            ):
                return self._error(seen, 400, f"{name} of members is not supported", "invalidPath")
        return super()._refused(seen)


class GoogleLikeScim(FakeScim):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ignore_start_index = True  # no paging at all: every page is the first


class SnowflakeLikeScim(FakeScim):
    SAMPLE: ClassVar[dict[str, Any]] = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "sample-0000",
        "userName": "sample.user",
        "displayName": "Sample User",
    }

    def _list(self, seen: Seen, store: dict[str, dict[str, Any]]) -> httpx2.Response:
        if "filter" in seen.params:
            return super()._list(seen, store)
        sample = dict(self.SAMPLE)
        if store is self.groups:
            sample = {"id": "sample-group", "displayName": "Sample Group"}
        return _page([sample], 1, 1)
