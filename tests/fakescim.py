"""An in-memory SCIM 2.0 service with switchable faults, served as an httpx2 MockTransport.

Only for fault-injection tests (DESIGN §8): it behaves like a small, RFC 7644-shaped target
until told to misbehave (answer an error, drop a response, ignore a filter, cap a page).
End-to-end behaviour against real servers is tested elsewhere.
"""

from __future__ import annotations

import copy
import fnmatch
import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx2

BASE_URL = "https://scim.test/scim/v2"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
_FILTER = re.compile(r'^\s*([\w.:]+)\s+eq\s+(".*")\s*$', re.IGNORECASE)
_MEMBER_FILTER = re.compile(r'^members\[value eq (".*")\]$')
_CASE_INSENSITIVE = frozenset({"username"})

Handler = Callable[[httpx2.Request], httpx2.Response]


@dataclass(frozen=True)
class Seen:
    """One request the fake received."""

    method: str
    path: str
    params: Mapping[str, str]
    body: Any
    headers: Mapping[str, str]


@dataclass
class Fault:
    """Answer (or raise) instead of serving, for requests that match, `times` times."""

    method: str
    path: str  # fnmatch pattern over the path below the base URL, e.g. "/Users/*"
    times: int = 1
    status: int = 500
    body: Any = None  # JSON body; `text` wins when set
    text: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    exc: Exception | None = None
    after: bool = False  # serve the request first, then fail (a lost or garbled response)
    when: Callable[[Seen], bool] | None = None

    def matches(self, seen: Seen) -> bool:
        if self.times <= 0 or seen.method != self.method:
            return False
        if not fnmatch.fnmatchcase(seen.path, self.path):
            return False
        return self.when is None or self.when(seen)


def json_response(
    status: int, body: Any, headers: Mapping[str, str] | None = None
) -> httpx2.Response:
    """JSON as a target writes it: anything past ASCII as a `\\u` escape, so that text a
    target can hold but no UTF-8 can (a lone surrogate) reaches the client as it would."""
    sent = {"Content-Type": "application/json", **(headers or {})}
    return httpx2.Response(status, content=json.dumps(body).encode(), headers=sent)


def scim_error(status: int, detail: str, scim_type: str | None = None) -> httpx2.Response:
    body: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(status), "detail": detail}
    if scim_type:
        body["scimType"] = scim_type
    return httpx2.Response(status, json=body, headers={"Content-Type": "application/scim+json"})


class FakeScim:
    """A SCIM service provider in memory; attributes switch its quirks on and off."""

    def __init__(self, *, token: str | None = None) -> None:
        self.token = token
        self.users: dict[str, dict[str, Any]] = {}
        self.groups: dict[str, dict[str, Any]] = {}
        self.faults: list[Fault] = []
        self.requests: list[Seen] = []
        self.config: dict[str, Any] = {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "patch": {"supported": True},
            "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": True, "maxResults": 200},
            "changePassword": {"supported": False},
            "sort": {"supported": False},
            "etag": {"supported": False},
        }
        # Quirks seen in real targets.
        self.ignore_filter = False  # a filter returns every resource
        self.reject_filter = False  # any filter is answered 400 invalidFilter
        # Of these kinds, a filter that matches nothing is answered 404, not an empty
        # ListResponse (scimgateway for both; WSO2 for groups).
        self.no_match_404: set[str] = set()
        # Content-Types a body is refused in with 415 (better-auth before its PR #6365
        # took application/json only).
        self.refused_media: set[str] = set()
        # Attributes whose `eq` filter silently matches nothing (django-scim2: displayName).
        self.blind_filters: set[str] = set()
        # Attributes whose `eq` filter answers every resource (a target that supports
        # filters on some attributes only, and ignores the rest).
        self.ignored_filters: set[str] = set()
        # Attributes (lower case) whose `eq` filter ignores case: userName always; RFC 7643
        # makes displayName caseExact false too, which not every target honours.
        self.filter_ignores_case: set[str] = set(_CASE_INSENSITIVE)
        self.ignore_start_index = False  # every page starts at the first resource
        self.restart_past_end = False  # a startIndex past the end serves page 1 (SCIMMY)
        self.max_count: int | None = None  # the server caps `count`
        # Any listing that carries `count` fails with a 500 in plain text (Canaille 0.3,
        # whose parser compares the text of `count` with a number).
        self.count_crashes = False
        self.omit_total = False  # ListResponse without totalResults
        self.total_override: int | None = None  # totalResults that lies
        self.total_is_page = False  # totalResults says how many this page holds
        self.hidden: set[str] = set()  # ids left out of listings (but not of filters)
        # Groups listed without their members (shown only by GET /Groups/<id>): these
        # ids (the other groups are listed whole, as a target that leaves out the members
        # of its largest groups does).
        self.list_without_members: set[str] = set()
        # Listings (and filter answers) leave out the group-type members of every group,
        # which GET /Groups/<id> shows (Fleet, fleetdm/fleet#52501).
        self.nested_unlisted = False
        self.hidden_kinds = {"User", "Group"}  # of these kinds (ids may be shared by kind)
        self.unique_names = True  # False: userName and displayName may repeat (no 409)
        # RFC 9865 cursor paging, keyed on the last id served (stable under writes); the
        # ServiceProviderConfig says so when `paging()` turns it on.
        self.cursors = False
        self.index_paging = True  # False: startIndex is answered 501, as a cursor-only target
        self.on_page: Callable[[Seen], None] | None = None  # runs after each listing page
        self.patch_status = 200  # 204: PATCH answers with no body
        self.patch_unsupported = False  # PATCH answered 501
        self.reject_member_filter_path = False  # `members[value eq "x"]` answered 400
        # `remove` of `members` drops them all, whatever its value lists (RFC 7644 §3.5.2.2
        # read to the letter: no filter, so the attribute and all its values).
        self.remove_ignores_value = False
        # A `remove` of members that names none the group holds is 400 noTarget (RFC 7644
        # §3.5.2.2), and the PATCH applies none of its operations.
        self.strict_no_target = False
        self.create_without_body = False  # 201 with no body and no Location
        # Members must carry `$ref` in every write (POST, PUT, PATCH), or 400 invalidValue.
        self.require_member_ref = False
        # Members must carry a `display` in every write, or 400 (a SCIM library's "requires
        # two values for every member specified (value and display)").
        self.require_member_display = False
        # A group POST without members is refused (Canaille: `members` is required).
        self.group_needs_members = False
        # Group members are stored and listed by the user's userName, not its id, and an
        # add of one already held by its id is held twice (Canaille).
        self.members_by_name = False
        # The ids of the schemas GET /Schemas lists (each with no attributes); None: 404.
        self.schemas: list[str] | None = None
        # The attributes it lists for a schema, by its id (mutability, returned...).
        self.schema_attributes: dict[str, list[dict[str, Any]]] = {}
        # At most this many members named in one write (Better Auth: 100), else 400.
        self.max_members_per_write: int | None = None
        # Attributes it does not store (top-level names or extension URNs): answered with
        # success on POST, PUT and PATCH, and silently left out; and one email at most.
        self.drops: set[str] = set()
        # Attributes whose PUT or PATCH it answers with success and ignores, keeping them as
        # they were (a target whose `active: false` is a no-op).
        self.ignores: set[str] = set()
        self.one_email = False
        self.location_base = BASE_URL  # where meta.location says resources live
        # Where groups show their members: "always"; "one" (not in listings, only on GET
        # /Groups/<id>, as targets serving Okta's excludedAttributes=members do); "asked"
        # (only where `attributes` names members, RFC 7644 §3.9); "never" (every read and
        # every write's answer shows `members: []`, whoever the group holds).
        self.members_shown = "always"
        # The only attributes a /Users listing shows of each user (None: all of them); its
        # own GET shows the rest.
        self.listed_user_attributes: set[str] | None = None
        # Like SQLite under a threaded server: a write that arrives while more than
        # `busy_limit` requests are in flight fails with 500 "database is locked"; each
        # request stays in flight `busy_seconds`, so threads overlap.
        self.busy_limit: int | None = None
        self.busy_seconds = 0.0
        self.in_flight = 0
        self.peak = 0  # the most requests in flight at once
        self.locked = 0  # writes answered 500 for being crowded
        self.echo_authorization = False  # error details repeat the Authorization header
        # Ids counted from 1 for each kind, with no prefix (django-scim2): user "2" and
        # group "2" may both exist.
        self.ids_per_kind = False
        self._ids = itertools.count(1)
        self._kind_ids = {"User": itertools.count(1), "Group": itertools.count(1)}
        self._version = itertools.count(1)
        self._lock = threading.Lock()

    # -- set-up and inspection ----------------------------------------------------------

    @property
    def transport(self) -> httpx2.MockTransport:
        return httpx2.MockTransport(self.handle)

    def client(self) -> httpx2.Client:
        return httpx2.Client(transport=self.transport)

    def _new_id(self, kind: str) -> str:
        if self.ids_per_kind:
            return str(next(self._kind_ids[kind]))
        return f"{kind[0].lower()}{next(self._ids)}"

    def add_user(self, user_name: str, **attrs: Any) -> str:
        uid = self._new_id("User")
        body = {"schemas": [USER_SCHEMA], "userName": user_name, **attrs}
        self.users[uid] = self._stamp("User", uid, body)
        return uid

    def add_group(self, display_name: str, members: list[str] | None = None) -> str:
        gid = self._new_id("Group")
        body: dict[str, Any] = {"schemas": [GROUP_SCHEMA], "displayName": display_name}
        if members is not None:
            body["members"] = [{"value": m} for m in members]
        self.groups[gid] = self._stamp("Group", gid, body)
        return gid

    def paging(self, *, cursor: bool, index: bool = True, max_page: int = 100) -> None:
        """Advertise (and serve) cursor and index paging as asked (RFC 9865 §4)."""
        self.cursors, self.index_paging = cursor, index
        self.config["pagination"] = {
            "cursor": cursor,
            "index": index,
            "defaultPaginationMethod": "cursor" if cursor and not index else "index",
            "defaultPageSize": 10,
            "maxPageSize": max_page,
            "cursorTimeout": 600,
        }

    def fail(self, method: str, path: str, **kwargs: Any) -> Fault:
        fault = Fault(method, path, **kwargs)
        self.faults.append(fault)
        return fault

    def count(self, method: str, path: str = "*") -> int:
        return sum(
            1 for s in self.requests if s.method == method and fnmatch.fnmatchcase(s.path, path)
        )

    def user_named(self, user_name: str) -> list[dict[str, Any]]:
        wanted = user_name.casefold()
        return [u for u in self.users.values() if str(u["userName"]).casefold() == wanted]

    # -- the handler ----------------------------------------------------------------------

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        path = urlsplit(str(request.url)).path
        base = urlsplit(BASE_URL).path
        path = path.removeprefix(base) or "/"
        body = json.loads(request.content) if request.content else None
        seen = Seen(
            request.method,
            path,
            dict(request.url.params),
            body,
            {k.lower(): v for k, v in request.headers.items()},
        )
        with self._lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            crowded = self.busy_limit is not None and self.in_flight > self.busy_limit
        try:
            time.sleep(self.busy_seconds)
            if crowded and seen.method != "GET":
                with self._lock:
                    self.requests.append(seen)
                    self.locked += 1
                return scim_error(500, "database is locked")
            return self._handle(seen)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _handle(self, seen: Seen) -> httpx2.Response:
        with self._lock:
            self.requests.append(seen)
            fault = next((f for f in self.faults if f.matches(seen)), None)
            if fault is not None:
                fault.times -= 1
                if fault.after:
                    self._serve(seen)
                if fault.exc is not None:
                    raise fault.exc
                return self._fault_response(fault)
            return self._serve(seen)

    def _fault_response(self, fault: Fault) -> httpx2.Response:
        headers = dict(fault.headers)
        if fault.text is not None:
            headers.setdefault("Content-Type", "text/html; charset=utf-8")
            return httpx2.Response(fault.status, text=fault.text, headers=headers)
        if fault.body is None:
            return httpx2.Response(fault.status, headers=headers)
        headers.setdefault("Content-Type", "application/scim+json")
        return httpx2.Response(fault.status, json=fault.body, headers=headers)

    def _error(
        self, seen: Seen, status: int, detail: str, scim_type: str | None = None
    ) -> httpx2.Response:
        if self.echo_authorization:
            detail = f"{detail} (request had Authorization: {seen.headers.get('authorization')})"
        return scim_error(status, detail, scim_type)

    def _serve(self, seen: Seen) -> httpx2.Response:
        if self.token is not None and seen.headers.get("authorization") != f"Bearer {self.token}":
            return self._error(seen, 401, "authentication failed")
        media = seen.headers.get("content-type", "").split(";")[0].strip()
        if seen.body is not None and media in self.refused_media:
            return httpx2.Response(415, text=f"Unsupported Media Type: {media}")
        parts = [p for p in seen.path.split("/") if p]
        if parts == ["ServiceProviderConfig"] and seen.method == "GET":
            return httpx2.Response(200, json=self.config)
        if parts == ["Schemas"] and seen.method == "GET" and self.schemas is not None:
            listed = [
                {"id": urn, "attributes": self.schema_attributes.get(urn, [])}
                for urn in self.schemas
            ]
            return json_response(200, {"schemas": [LIST_RESPONSE], "Resources": listed})
        if not parts or parts[0] not in ("Users", "Groups"):
            return self._error(seen, 404, f"no endpoint {seen.path}")
        store, kind = (self.users, "User") if parts[0] == "Users" else (self.groups, "Group")
        if len(parts) == 1:
            if seen.method == "GET":
                return self._list(seen, store)
            if seen.method == "POST":
                return self._refused(seen) or self._create(seen, store, kind)
            return self._error(seen, 405, "method not allowed")
        rid = parts[1]
        if rid not in store:
            return self._error(seen, 404, f"{kind} {rid} not found")
        if seen.method == "GET":
            return self._one(self._shown(store[rid], seen, listing=False))
        if seen.method in ("PUT", "PATCH", "POST") and (refused := self._refused(seen)):
            return refused
        if seen.method in ("PUT", "PATCH") and self.ignores:
            return self._ignoring(seen, store, kind, rid)
        if seen.method == "PUT":
            body = {k: v for k, v in (seen.body or {}).items() if k not in ("id", "meta")}
            store[rid] = self._stamp(kind, rid, body)
            return self._one(store[rid])
        if seen.method == "PATCH":
            return self._patch(seen, store, kind, rid)
        if seen.method == "DELETE":
            del store[rid]
            return httpx2.Response(204)
        return self._error(seen, 405, "method not allowed")

    def _ignoring(
        self, seen: Seen, store: dict[str, dict[str, Any]], kind: str, rid: str
    ) -> httpx2.Response:
        """A PUT or PATCH, answered as usual, with `ignores` kept as they were."""
        before = copy.deepcopy(store[rid])
        self.ignores, ignored = set(), self.ignores
        try:
            reply = self._serve(seen)
        finally:
            self.ignores = ignored
        held = store.get(rid)
        if held is None or reply.status_code != 200:
            return reply
        for name in ignored:
            if name in before:
                held[name] = before[name]
            else:
                held.pop(name, None)
        return self._one(held)

    def _refused(self, seen: Seen) -> httpx2.Response | None:
        """A write refused for its members: too many at once, or without `$ref`."""
        if not isinstance(seen.body, dict):
            return None
        members: list[Any] = list(seen.body.get("members") or [])
        creating = seen.method == "POST" and seen.path == "/Groups"
        if creating and self.group_needs_members and not members:
            message = "Field 'members' is required but value is missing or null"
            return self._error(seen, 400, message, "invalidValue")
        for op in seen.body.get("Operations") or []:
            value = op.get("value")
            if str(op.get("path", "")).startswith("members") and isinstance(value, list):
                members += value
            elif isinstance(value, dict):
                members += value.get("members") or []
        limit = self.max_members_per_write
        if limit is not None and len(members) > limit:
            return self._error(seen, 400, "One or more Group members are invalid", "invalidValue")
        if self.require_member_display and not all(
            isinstance(m, dict) and isinstance(m.get("display"), str) and m["display"]
            for m in members
        ):
            message = "requires two values for every member specified (value and display)"
            return self._error(seen, 400, message, "invalidValue")
        if not self.require_member_ref or all(
            isinstance(m, dict) and m.get("$ref") for m in members
        ):
            return None
        return self._error(
            seen, 400, "Field 'ref' is required but value is missing or null: members",
            "invalidValue",
        )  # fmt: skip

    def _stamp(self, kind: str, rid: str, body: dict[str, Any]) -> dict[str, Any]:
        body = {k: v for k, v in body.items() if k not in self.drops}
        if kind == "Group" and self.members_by_name and isinstance(body.get("members"), list):
            body["members"] = [self._by_name(m) for m in body["members"]]
        if self.one_email and isinstance(body.get("emails"), list):
            body["emails"] = body["emails"][:1]
        version = f'W/"{next(self._version)}"'
        location = f"{self.location_base}/{kind}s/{rid}"
        meta = {"resourceType": kind, "version": version, "location": location}
        return {**body, "id": rid, "meta": meta}

    def _shown(self, resource: dict[str, Any], seen: Seen, *, listing: bool) -> dict[str, Any]:
        """A resource as a read shows it: without members where `members_shown` hides them."""
        shown = self.listed_user_attributes
        if listing and shown is not None and resource.get("meta", {}).get("resourceType") == "User":
            return {k: v for k, v in resource.items() if k in shown}
        if self.members_shown == "never":
            return _no_members(resource)
        asked = "members" in seen.params.get("attributes", "")
        hidden = self.members_shown == "asked" or (self.members_shown == "one" and listing)
        if "members" not in resource or asked or not hidden:
            return resource
        return {k: v for k, v in resource.items() if k != "members"}

    def _by_name(self, member: Any) -> Any:
        user = self.users.get(str(member.get("value"))) if isinstance(member, dict) else None
        return member if user is None else {**member, "value": user["userName"]}

    def _one(self, resource: dict[str, Any], status: int = 200) -> httpx2.Response:
        if self.members_shown == "never":
            resource = _no_members(resource)
        headers = {"Content-Type": "application/scim+json"}
        meta = resource.get("meta")  # a hostile test's resource may have none
        if isinstance(meta, dict) and isinstance(meta.get("version"), str):
            headers["ETag"] = meta["version"]
        return json_response(status, resource, headers)

    def _list(self, seen: Seen, store: dict[str, dict[str, Any]]) -> httpx2.Response:
        if self.count_crashes and "count" in seen.params:
            return httpx2.Response(500, text="A server error occurred.")
        found = list(store.values())
        expression = seen.params.get("filter")
        if expression is not None:
            if self.reject_filter:
                return self._error(seen, 400, "filters are not supported", "invalidFilter")
            match = _FILTER.match(expression)
            if match is None:
                return self._error(seen, 400, f"cannot parse {expression}", "invalidFilter")
            if not self.ignore_filter:
                attribute, value = match.group(1), json.loads(match.group(2))
                folded = attribute.lower() in self.filter_ignores_case
                if attribute not in self.ignored_filters:
                    found = [r for r in found if _equals(r, attribute, value, folded)]
                found = [] if attribute in self.blind_filters else found
            kind = "User" if store is self.users else "Group"
            if not found and kind in self.no_match_404:
                return self._error(seen, 404, f"{kind} not found")
        else:
            found = [
                r
                for r in found
                if r.get("id") not in self.hidden
                or r["meta"]["resourceType"] not in self.hidden_kinds
            ]
        if self.cursors and "cursor" in seen.params:
            return self._cursor_page(seen, found)
        if not self.index_paging and "startIndex" in seen.params:
            return self._error(seen, 501, "index paging is not supported")
        total = len(found)
        start = 1 if self.ignore_start_index else max(1, int(seen.params.get("startIndex", 1)))
        if self.restart_past_end and start > total:
            start = 1
        count = int(seen.params.get("count", 100))
        if self.max_count is not None:
            count = min(count, self.max_count)
        page = [self._shown(r, seen, listing=True) for r in found[start - 1 : start - 1 + count]]
        hide = self.list_without_members
        page = [
            {k: v for k, v in r.items() if k != "members"} if r.get("id") in hide else r
            for r in page
        ]
        if self.nested_unlisted:
            page = [_users_only(r) for r in page]
        body: dict[str, Any] = {
            "schemas": [LIST_RESPONSE],
            "Resources": page,
            "startIndex": start,
            "itemsPerPage": len(page),
        }
        if not self.omit_total:
            body["totalResults"] = total if self.total_override is None else self.total_override
            body["totalResults"] = len(page) if self.total_is_page else body["totalResults"]
        if self.on_page is not None:
            self.on_page(seen)
        return json_response(200, body)

    def _cursor_page(self, seen: Seen, found: list[dict[str, Any]]) -> httpx2.Response:
        """A page after the resource the cursor names (RFC 9865 §2.2): by id, not offset."""
        token = seen.params["cursor"]
        if token and not token.startswith("after:"):
            return self._error(seen, 400, "the cursor is not valid", "invalidCursor")
        after = token.removeprefix("after:")
        ordered = sorted(found, key=lambda r: _sort_key(str(r["id"])))
        rest = [r for r in ordered if not after or _sort_key(str(r["id"])) > _sort_key(after)]
        count = int(seen.params.get("count", 10))
        page = rest[:count]
        body: dict[str, Any] = {
            "schemas": [LIST_RESPONSE],
            "Resources": page,
            "itemsPerPage": len(page),
            "totalResults": len(found),
        }
        if len(rest) > count:
            body["nextCursor"] = f"after:{page[-1]['id']}"
        if self.on_page is not None:
            self.on_page(seen)
        return json_response(200, body)

    def _create(self, seen: Seen, store: dict[str, dict[str, Any]], kind: str) -> httpx2.Response:
        body = dict(seen.body or {})
        key = "userName" if kind == "User" else "displayName"
        if not isinstance(body.get(key), str):
            return self._error(seen, 400, f"{key} is required", "invalidValue")
        if self.unique_names and any(_equals(r, key, body[key]) for r in store.values()):
            return self._error(seen, 409, f"{key} {body[key]} is already taken", "uniqueness")
        rid = self._new_id(kind)
        body.pop("id", None)
        body.pop("meta", None)
        store[rid] = self._stamp(kind, rid, body)
        if self.create_without_body:
            return httpx2.Response(201)
        response = self._one(store[rid], 201)
        response.headers["Location"] = store[rid]["meta"]["location"]
        return response

    def _patch(
        self, seen: Seen, store: dict[str, dict[str, Any]], kind: str, rid: str
    ) -> httpx2.Response:
        if self.patch_unsupported:
            return self._error(seen, 501, "PATCH is not implemented")
        resource = {k: v for k, v in store[rid].items() if k not in ("id", "meta")}
        for op in (seen.body or {}).get("Operations", []):
            name = str(op.get("op", "")).lower()
            path = op.get("path")
            if self.reject_member_filter_path and isinstance(path, str) and "[" in path:
                return self._error(seen, 400, f"unsupported path {path}", "invalidPath")
            value = op.get("value")
            if self.strict_no_target and name == "remove" and _no_member(resource, path, value):
                return self._error(seen, 400, f"no member matches {path}", "noTarget")
            if self.remove_ignores_value and name == "remove" and path == "members":
                value = None
            error = _apply_op(resource, name, path, value)
            if error:
                return self._error(seen, 400, error, "invalidPath")
        store[rid] = self._stamp(kind, rid, resource)
        if self.patch_status == 204:
            return httpx2.Response(204)
        return self._one(store[rid])


def _no_member(resource: Mapping[str, Any], path: Any, value: Any) -> bool:
    """Whether a `remove` of members (by filter or value list) names none the group holds."""
    held = {m.get("value") for m in resource.get("members") or [] if isinstance(m, dict)}
    named = re.fullmatch(r'members\[value eq "(.*)"\]', path) if isinstance(path, str) else None
    if named is not None:
        return named.group(1) not in held
    listed = (
        [v.get("value") for v in value if isinstance(v, dict)] if isinstance(value, list) else []
    )
    return path == "members" and bool(listed) and not set(listed) & held


def _no_members(resource: dict[str, Any]) -> dict[str, Any]:
    """A group as a target that never shows memberships answers it."""
    if resource.get("meta", {}).get("resourceType") != "Group":
        return resource
    return {**resource, "members": []}


def _sort_key(rid: str) -> tuple[int, str]:
    """Ids in creation order: u2 before u10."""
    digits = "".join(c for c in rid if c.isdigit())
    return (int(digits) if digits else 0, rid)


def _lookup(resource: Mapping[str, Any], attribute: str) -> Any:
    if attribute.startswith(ENTERPRISE_URN + ":"):
        ext = resource.get(ENTERPRISE_URN)
        return ext.get(attribute.removeprefix(ENTERPRISE_URN + ":")) if ext else None
    head, _, tail = attribute.partition(".")
    value = resource.get(head)
    if isinstance(value, list) and tail:
        return [v.get(tail) for v in value if isinstance(v, dict)]
    if isinstance(value, dict) and tail:
        return value.get(tail)
    return value


def _equals(
    resource: Mapping[str, Any], attribute: str, value: Any, folded: bool | None = None
) -> bool:
    have = _lookup(resource, attribute)
    options = have if isinstance(have, list) else [have]
    folded = attribute.lower() in _CASE_INSENSITIVE if folded is None else folded
    if folded and isinstance(value, str):
        return any(isinstance(h, str) and h.casefold() == value.casefold() for h in options)
    return value in options


def _holder(resource: dict[str, Any], path: str) -> tuple[dict[str, Any], str]:
    if path.startswith(ENTERPRISE_URN + ":"):
        return resource.setdefault(ENTERPRISE_URN, {}), path.removeprefix(ENTERPRISE_URN + ":")
    if path.startswith("urn:"):  # any other extension's attribute: URN:attribute
        urn, _, leaf = path.rpartition(":")
        return resource.setdefault(urn, {}), leaf
    head, _, tail = path.partition(".")
    if not tail:
        return resource, head
    inner = resource.get(head)
    if not isinstance(inner, dict):
        inner = resource[head] = {}
    return inner, tail


def _apply_op(resource: dict[str, Any], op: str, path: Any, value: Any) -> str | None:
    """Apply one RFC 7644 §3.5.2 operation in place; an error message when it cannot."""
    if path is None:
        if op in ("add", "replace") and isinstance(value, dict):
            resource.update(value)
            return None
        return "an operation without a path needs an object value"
    if not isinstance(path, str):
        return "path is not a string"
    if path.startswith("members"):
        return _member_op(resource, op, path, value)
    holder, leaf = _holder(resource, path)
    if op in ("add", "replace"):
        holder[leaf] = value
    elif op == "remove":
        holder.pop(leaf, None)
    else:
        return f"unknown op {op}"
    return None


def _member_op(resource: dict[str, Any], op: str, path: str, value: Any) -> str | None:
    members: list[dict[str, Any]] = list(resource.get("members") or [])
    # A member is its value and its kind: user "1" and group "1" may both be members.
    have = [_member_key(m) for m in members]
    if path == "members" and op in ("add", "replace"):
        if op == "replace":
            members = []
            have = []
        for item in value or []:
            if _member_key(item) not in have:
                members.append({k: v for k, v in item.items() if k in ("value", "$ref", "type")})
                have.append(_member_key(item))
    elif path == "members" and op == "remove":
        # Like many targets, a value list is read by value alone.
        drop = {item.get("value") for item in value} if value else {v for v, _ in have}
        members = [m for m in members if m.get("value") not in drop]
    elif op == "remove" and (match := _MEMBER_FILTER.match(path)):
        drop_one = json.loads(match.group(1))
        members = [m for m in members if m.get("value") != drop_one]
    else:
        return f"unsupported members operation {op} {path}"
    resource["members"] = members
    return None


def _member_key(member: dict[str, Any]) -> tuple[Any, bool]:
    ref = member.get("$ref")
    group = member.get("type") == "Group" or (isinstance(ref, str) and "/Groups/" in ref)
    return member.get("value"), group


def _users_only(resource: dict[str, Any]) -> dict[str, Any]:
    members = resource.get("members")
    if not isinstance(members, list):
        return resource
    kept = [m for m in members if not (isinstance(m, dict) and m.get("type") == "Group")]
    return {**resource, "members": kept}
