"""The write probes of `scimrec doctor`: a temporary user and group, what the target does
with them, and their removal afterwards (always, even when a probe fails or is interrupted).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from reconciler.core import attributes as A
from reconciler.core.match import normalise
from reconciler.core.model import GROUP_SCHEMA, USER_SCHEMA, Json
from reconciler.errors import ScimHTTPError, ScimProtocolError, ScimrecError
from reconciler.scim import writes
from reconciler.scim.applier import PATCH_UNSUPPORTED
from reconciler.scim.client import Reply, ScimClient
from reconciler.scim.observe import find
from reconciler.scim.paging import read_all

OK, WARN, FAIL, INFO = "ok", "warn", "fail", "info"
DOMAIN = "invalid.example"  # RFC 2606: no mailbox can ever live there
PREFIX = "scimrec-doctor-"
STALE_ETAG = 'W/"scimrec-doctor-stale"'
PUT_WATCHED = ("externalId", "name.familyName", "emails")
DEDUPLICATE = "scimrec adds only users that are not members yet"
ADD_ACTION = "scimrec adds members with PATCH add, in chunks (membership_chunk)"


@dataclass(frozen=True)
class Finding:
    """One observation about the target, and what scimrec does about it."""

    area: str
    check: str
    status: str  # ok | warn | fail | info
    observed: str
    action: str

    def to_json(self) -> dict[str, str]:
        return {
            "area": self.area,
            "check": self.check,
            "status": self.status,
            "observed": self.observed,
            "action": self.action,
        }


def failure(exc: ScimrecError) -> str:
    """A short account of a failed request: status, scimType and the server's detail."""
    if not isinstance(exc, ScimHTTPError):
        return " ".join(str(exc).split())
    if exc.status == 0:
        return exc.detail
    kind = f" {exc.scim_type}" if exc.scim_type else ""
    detail = exc.detail
    if detail == "(no detail)" or detail.startswith("non-SCIM application/scim+json"):
        detail = ""  # a SCIM error with an empty detail: the raw body says nothing more
    detail = f": {detail[:80]}" if detail else ""
    return f"{exc.status}{kind}{detail}"


def body_of(reply: Reply) -> dict[str, Json]:
    return reply.body if isinstance(reply.body, dict) else {}


def member_ids(body: dict[str, Json]) -> list[str]:
    members = body.get("members")
    if not isinstance(members, list):
        return []
    return [str(m.get("value")) for m in members if isinstance(m, dict)]


def present(value: Json) -> bool:
    """Whether an attribute holds a value (targets answer "" or [{"value": ""}] for none)."""
    if isinstance(value, list):
        return any(present(v.get("value") if isinstance(v, dict) else v) for v in value)
    if isinstance(value, dict):
        return any(present(v) for v in value.values())
    return value not in (None, "")


def stem_of(new_name: Callable[[], str]) -> str:
    name = new_name()
    return name if name.startswith(PREFIX) else f"{PREFIX}{name}"


@dataclass
class Scratch:
    """The temporary objects of one doctor run; every one is deleted by `cleanup`."""

    client: ScimClient
    stem: str
    page_size: int
    user: dict[str, Json] = field(default_factory=dict)
    group: dict[str, Json] = field(default_factory=dict)
    created: list[tuple[str, str]] = field(default_factory=list)  # (endpoint, id)
    unknown: list[tuple[str, str, str]] = field(default_factory=list)  # (endpoint, attr, value)
    findings: list[Finding] = field(default_factory=list)
    works: dict[str, bool] = field(default_factory=dict)  # what the probes found usable

    @property
    def user_name(self) -> str:
        return f"{self.stem}@{DOMAIN}"

    def post(self, endpoint: str, body: dict[str, Json], key: str) -> Reply:
        """Create an object and remember it for cleanup, even when its id is not known."""
        try:
            reply = self.client.create(endpoint, body)
        except ScimHTTPError as exc:
            if exc.status == 0 or exc.status >= 500:  # it may exist anyway
                self.unknown.append((endpoint, key, str(body[key])))
            raise
        rid = created_id(reply)
        if rid:
            self.created.append((endpoint, rid))
        else:
            self.unknown.append((endpoint, key, str(body[key])))
        return reply

    def id_of(self, reply: Reply, endpoint: str, key: str, value: str) -> str | None:
        """The id of a created object: from the answer, else looked up as scimrec would."""
        rid = created_id(reply)
        if rid is None:
            found = find(self.client, endpoint, key, value, self.page_size)
            rid = found[0].id if len(found) == 1 else None
            if rid is not None:
                self.created.append((endpoint, rid))
        return rid

    def discard(self, endpoint: str, rid: str) -> None:
        """Delete one temporary object now (a duplicate the target should have refused)."""
        self.client.delete(f"{endpoint}/{rid}", None)
        self.created.remove((endpoint, rid))

    def cleanup(self) -> Finding:
        gone: list[str] = []
        problems: list[str] = []
        # Groups first, so no group is left pointing at a deleted user.
        order = sorted(reversed(self.created), key=lambda c: c[0] != "/Groups")
        for endpoint, rid in dict.fromkeys(order):
            self._delete(endpoint, rid, gone, problems)
        tried = {*gone, *(p.split(" ")[0] for p in problems)}
        for endpoint, attr, value in self.unknown:
            try:
                listing = read_all(self.client, endpoint, self.page_size)
            except ScimrecError as exc:
                problems.append(f"cannot list {endpoint} to find {value} ({failure(exc)})")
                continue
            for resource in listing.resources:
                have = A.read(resource.body, attr)
                same = isinstance(have, str) and normalise(attr, have) == normalise(attr, value)
                if same and f"{endpoint}/{resource.id}" not in tried:
                    self._delete(endpoint, resource.id, gone, problems)
        if problems:
            return Finding(
                "cleanup",
                "temporary objects",
                FAIL,
                f"could not delete {', '.join(problems)}",
                "delete these objects by hand; their names start with " + PREFIX,
            )
        return Finding(
            "cleanup",
            "temporary objects",
            OK,
            f"deleted {len(gone)} temporary object(s): {', '.join(gone) or 'none'}",
            "the target holds nothing the doctor created",
        )

    def _delete(self, endpoint: str, rid: str, gone: list[str], problems: list[str]) -> None:
        where = f"{endpoint}/{rid}"
        try:
            self.client.delete(where, None)
        except ScimHTTPError as exc:
            if exc.status != 404:
                problems.append(f"{where} ({failure(exc)})")
                return
        except ScimrecError as exc:
            problems.append(f"{where} ({failure(exc)})")
            return
        gone.append(where)


@contextmanager
def scratch_objects(client: ScimClient, stem: str, page_size: int) -> Iterator[Scratch]:
    """A temporary user and group (created by the caller), deleted whatever happens."""
    scratch = Scratch(client, stem, page_size)
    try:
        yield scratch
    finally:
        scratch.findings.append(scratch.cleanup())


def created_id(reply: Reply) -> str | None:
    rid = body_of(reply).get("id")
    if rid not in (None, ""):
        return str(rid)
    location = reply.headers.get("location", "").rstrip("/")
    return location.rsplit("/", 1)[-1] if location else None


# -- creating the temporary objects ------------------------------------------------------


def create_user(s: Scratch) -> None:
    """POST the temporary user; notes how the target answers a create (RFC 7644 §3.3)."""
    body: dict[str, Json] = {
        "schemas": [USER_SCHEMA],
        "userName": s.user_name,
        "externalId": s.stem,
        "name": {"givenName": "Doctor", "familyName": "Probe"},
        "displayName": "scimrec doctor probe",
        "emails": [{"value": s.user_name, "type": "work", "primary": True}],
        "active": True,
    }
    reply = s.post("/Users", body, "userName")
    rid = s.id_of(reply, "/Users", "userName", s.user_name)
    location = reply.headers.get("location", "")
    has_body = bool(body_of(reply).get("id"))
    shape = "the resource" if has_body else "no body"
    action = "scimrec takes the new id from the body, else from Location, else looks it up"
    if rid is None:
        seen = f"{reply.status} with neither a body nor a Location, and no user to be found"
        s.findings.append(Finding("create", "POST /Users", FAIL, seen, action))
        return
    if location and not location.rstrip("/").endswith(f"/{rid}"):
        status, seen = WARN, f"{reply.status} with {shape}; Location {location} does not end in id"
    elif has_body and location:
        status, seen = OK, f"{reply.status} with the resource and a Location ending in its id"
    else:
        status = WARN
        seen = f"{reply.status} with {shape} and {'a' if location else 'no'} Location header"
    s.findings.append(Finding("create", "POST /Users", status, seen, action))
    s.user = {**body_of(s.client.get(f"/Users/{rid}")), "id": rid}


def create_group(s: Scratch) -> None:
    """POST the temporary group with the temporary user as member: are members honoured?"""
    uid = str(s.user["id"])
    body: dict[str, Json] = {"schemas": [GROUP_SCHEMA], "displayName": s.stem}
    check = "members on POST"
    refused: Finding | None = None
    try:
        reply = s.post("/Groups", {**body, "members": [{"value": uid}]}, "displayName")
    except ScimHTTPError as exc:
        if not 400 <= exc.status < 500 or exc.status == 409:
            raise
        reply = s.post("/Groups", body, "displayName")
        seen = f"a group POST with members is refused ({failure(exc)}); without members it works"
        action = (
            "scimrec sends the first members with the create, so creating a group with "
            "members fails here: create it empty, then add members"
        )
        refused = Finding("groups", check, FAIL, seen, action)
    gid = s.id_of(reply, "/Groups", "displayName", s.stem)
    if gid is None:
        raise ScimProtocolError("the group create answered no id, and the group cannot be found")
    s.group = {**body_of(s.client.get(f"/Groups/{gid}")), "id": gid}
    if refused is not None:
        s.findings.append(refused)
    elif uid in member_ids(s.group):
        action = "scimrec sends the first members with the create"
        s.findings.append(Finding("groups", check, OK, "group POST keeps its members", action))
    else:
        seen = "group POST ignores members (the new group has none)"
        action = "scimrec adds, with PATCH, every member the create's answer does not show"
        s.findings.append(Finding("groups", check, WARN, seen, action))


# -- user probes ---------------------------------------------------------------------------


def probe_patch(s: Scratch, claim: bool | None) -> list[Finding]:
    """PATCH replace of a simple attribute (RFC 7644 §3.5.2.3), and the SPC's claim."""
    finding, s.works["patch"] = _patch(s)
    return [finding, patch_claim_finding(claim, s.works["patch"])]


def _patch(s: Scratch) -> tuple[Finding, bool]:
    path = f"/Users/{s.user['id']}"
    op = {"op": "replace", "path": "name.givenName", "value": "Probed"}
    put = "scimrec updates with GET-merge-PUT, keeping attributes the spec does not manage"
    try:
        reply = s.client.patch(path, [op], None)
    except ScimHTTPError as exc:
        refused = "refused" if exc.status in PATCH_UNSUPPORTED else "failed"
        seen = f"PATCH replace of name.givenName {refused} ({failure(exc)})"
        return Finding("patch", "replace", WARN, seen, put), False
    after = body_of(s.client.get(path))
    shape = "the resource" if body_of(reply) else "no body"
    if A.read(after, "name.givenName") != "Probed":
        seen = f"PATCH replace of name.givenName answered {reply.status} but changed nothing"
        action = "scimrec cannot rely on PATCH here: the change would show again in every plan"
        return Finding("patch", "replace", FAIL, seen, action), False
    seen = f"PATCH replace of name.givenName answered {reply.status} with {shape}, and applied"
    action = "scimrec updates with minimal PATCH operations"
    if reply.status == 204 or not body_of(reply):
        action += "; it needs no body in the answer"
    return Finding("patch", "replace", OK, seen, action), True


def probe_value_path(s: Scratch) -> Finding:
    path = f"/Users/{s.user['id']}"
    new = f"{s.stem}.work@{DOMAIN}"
    op = {"op": "replace", "path": 'emails[type eq "work"].value', "value": new}
    action = "scimrec never sends value-filter paths: it replaces the whole emails attribute"
    check = "value-filter path"
    try:
        reply = s.client.patch(path, [op], None)
    except ScimHTTPError as exc:
        seen = f'emails[type eq "work"].value is refused ({failure(exc)})'
        return Finding("patch", check, WARN, seen, action)
    emails = body_of(s.client.get(path)).get("emails")
    values = [e.get("value") for e in emails or [] if isinstance(e, dict)]
    if new in values:
        seen = f'emails[type eq "work"].value answered {reply.status} and applied'
        return Finding("patch", check, OK, seen, action)
    seen = f'emails[type eq "work"].value answered {reply.status} but changed nothing'
    return Finding("patch", check, WARN, seen, action)


def probe_roundtrip(s: Scratch) -> list[Finding]:
    finding, s.works["put"] = _roundtrip(s)
    return [finding]


def _roundtrip(s: Scratch) -> tuple[Finding, bool]:
    """PUT back the resource as read: what scimrec's GET-merge-PUT sends (RFC 7644 §3.5.1)."""
    path = f"/Users/{s.user['id']}"
    body = writes.merged_for_put(body_of(s.client.get(path)), [], {})
    try:
        reply = s.client.put(path, body, None)
    except ScimHTTPError as exc:
        seen = f"a PUT of the user as read is refused ({failure(exc)})"
        action = "scimrec's GET-merge-PUT cannot work here, so updates need PATCH"
        return Finding("put", "GET-merge-PUT", FAIL, seen, action), False
    seen = f"a PUT of the user as read answered {reply.status}"
    action = "scimrec can update with GET-merge-PUT where PATCH is refused"
    return Finding("put", "GET-merge-PUT", OK, seen, action), True


def probe_if_match(s: Scratch, claim: bool | None) -> list[Finding]:
    finding, honoured = _if_match(s, claim)
    return [finding, etag_claim_finding(claim, honoured, tried=True)]


def _if_match(s: Scratch, claimed: bool | None) -> tuple[Finding, bool]:
    """A stale If-Match must get 412, the current ETag must pass (RFC 7644 §3.14)."""
    path = f"/Users/{s.user['id']}"
    current = s.client.get(path)
    body = body_of(current)
    meta = body.get("meta")
    version = meta.get("version") if isinstance(meta, dict) else None
    etag = current.headers.get("etag") or (version if isinstance(version, str) else None)
    put = writes.merged_for_put(body, [], {})
    try:
        reply = s.client.put(path, put, STALE_ETAG)
    except ScimHTTPError as exc:
        if exc.status != 412:
            seen = f"a PUT with a stale If-Match answered {failure(exc)}, not 412"
            return Finding("etag", "If-Match", WARN, seen, etag_action(claimed, False)), False
    else:
        if claimed or etag:
            seen = f"If-Match is ignored: a PUT with a stale ETag answered {reply.status}"
            return Finding("etag", "If-Match", WARN, seen, etag_action(claimed, False)), False
        seen = f"no ETags, and If-Match is ignored (a stale one answered {reply.status})"
        return Finding("etag", "If-Match", INFO, seen, etag_action(claimed, False)), False
    if etag is None:
        seen = "a stale If-Match gets 412, but no ETag or meta.version is ever sent"
        return Finding("etag", "If-Match", WARN, seen, etag_action(claimed, False)), False
    try:
        s.client.put(path, put, etag)
    except ScimHTTPError as exc:
        seen = f"a stale If-Match gets 412, and so does the current ETag ({failure(exc)})"
        action = "updates with If-Match fail on this target; do not rely on ETags"
        return Finding("etag", "If-Match", FAIL, seen, action), False
    seen = "a stale If-Match gets 412; the current ETag is accepted"
    return Finding("etag", "If-Match", OK, seen, etag_action(claimed, True)), True


def etag_action(claimed: bool | None, honoured: bool) -> str:
    if claimed and honoured:
        return "scimrec sends If-Match with the version it read, so it never overwrites a change"
    if claimed:
        return (
            "scimrec sends If-Match as advertised, but it protects nothing here; "
            "a saved plan still refuses to apply when what it saw has changed"
        )
    return (
        "scimrec sends no If-Match (not advertised); "
        "a saved plan refuses to apply when what it saw has changed"
    )


def probe_put(s: Scratch) -> list[Finding]:
    return [_put(s)]


def _put(s: Scratch) -> Finding:
    """Does PUT clear what it is not sent (RFC 7644 §3.5.1 replace) or merge?"""
    path = f"/Users/{s.user['id']}"
    before = body_of(s.client.get(path))
    watched = [a for a in PUT_WATCHED if present(A.read(before, a))]
    s.client.put(path, {"schemas": [USER_SCHEMA], "userName": s.user_name}, None)
    after = body_of(s.client.get(path))
    cleared = [a for a in watched if not present(A.read(after, a))]
    kept = [a for a in watched if a not in cleared]
    action = "scimrec's GET-merge-PUT sends back every attribute it read, so nothing is lost"
    if not watched:
        return Finding("put", "unsent attributes", INFO, "not measured", action)
    if not kept:
        seen = f"PUT clears attributes it is not sent ({', '.join(cleared)})"
        return Finding("put", "unsent attributes", OK, seen, action)
    seen = f"PUT keeps {', '.join(kept)} when not sent"
    if cleared:
        seen += f" (and clears {', '.join(cleared)})"
    action += f"; clearing {', '.join(kept)} needs PATCH remove"
    return Finding("put", "unsent attributes", WARN, seen, action)


def probe_uniqueness(s: Scratch) -> list[Finding]:
    """Duplicate and case-variant keys (RFC 7643 §4.1: userName is unique, caseExact false)."""
    findings = []
    probes = (
        ("/Users", "userName", "users.userName duplicate", s.user_name, USER_SCHEMA),
        ("/Users", "userName", "users.userName case variant", s.user_name.upper(), USER_SCHEMA),
        ("/Groups", "displayName", "groups.displayName duplicate", s.stem, GROUP_SCHEMA),
    )
    for endpoint, key, check, value, schema in probes:
        try:
            reply = s.post(endpoint, {"schemas": [schema], key: value}, key)
        except ScimHTTPError as exc:
            if exc.status == 409:
                kind = "" if exc.scim_type == "uniqueness" else " without scimType uniqueness"
                seen = f"refused with 409{kind}"
                action = "scimrec reports a 409 on create as an object the match step missed"
                findings.append(Finding("uniqueness", check, OK, seen, action))
            else:
                seen = f"refused with {failure(exc)} instead of 409"
                action = "scimrec reports the failed create; it never retries one blindly"
                findings.append(Finding("uniqueness", check, WARN, seen, action))
            continue
        rid = created_id(reply)
        if rid is not None:
            with contextlib.suppress(ScimrecError):  # if not now, the cleanup deletes it
                s.discard(endpoint, rid)
        accepted = f"({reply.status}, deleted again)"
        if check.endswith("case variant"):
            seen = f"case-variant userNames accepted {accepted}: uniqueness is not case-insensitive"
            action = "scimrec compares userNames case-insensitively, so it never makes a variant"
            findings.append(Finding("uniqueness", check, WARN, seen, action))
        elif endpoint == "/Groups":  # RFC 7643 §4.2 does not make displayName unique
            seen = f"a duplicate displayName is accepted {accepted}"
            action = "scimrec reports groups that share a displayName, never guesses between them"
            findings.append(Finding("uniqueness", check, INFO, seen, action))
        else:
            seen = f"a duplicate userName is accepted {accepted}"
            action = (
                "scimrec matches against a full listing before creating, so it never creates "
                "a duplicate; existing duplicates are reported, never guessed between"
            )
            findings.append(Finding("uniqueness", check, WARN, seen, action))
    return findings


def user_probes(s: Scratch, patch_claim: bool | None, etag_claim: bool | None) -> list[Finding]:
    """Every probe on the temporary user, in an order where each leaves it usable."""
    findings = guarded("patch", "replace", lambda: probe_patch(s, patch_claim))
    if s.works.get("patch"):
        findings += guarded("patch", "value-filter path", lambda: [probe_value_path(s)])
    else:
        findings.append(_untested("patch", "value-filter path"))
    findings += guarded("put", "GET-merge-PUT", lambda: probe_roundtrip(s))
    if s.works.get("put"):
        findings += guarded("etag", "If-Match", lambda: probe_if_match(s, etag_claim))
    findings += guarded("put", "unsent attributes", lambda: probe_put(s))
    return findings + guarded("uniqueness", "probes", lambda: probe_uniqueness(s))


def broken(area: str, check: str, exc: ScimrecError) -> Finding:
    action = "scimrec reports such failures per object and carries on with the others"
    what = failure(exc)
    if isinstance(exc, ScimHTTPError) and exc.status:
        what = f"{exc.method} {exc.path} answered {what}"
    return Finding(area, check, WARN, f"the probe failed: {what}", action)


def guarded(area: str, check: str, probe: Callable[[], list[Finding]]) -> list[Finding]:
    """A probe's findings, or one saying it failed: one failing probe never stops the rest."""
    try:
        return probe()
    except ScimrecError as exc:
        return [broken(area, check, exc)]


def _untested(area: str, check: str) -> Finding:
    action = "see the finding that failed before it"
    return Finding(area, check, INFO, "not tested (an earlier step failed)", action)


def _said(claim: bool | None) -> str:
    return {True: "supported", False: "unsupported", None: "nothing"}[claim]


def patch_claim_finding(claim: bool | None, works: bool | None) -> Finding:
    """What ServiceProviderConfig says about PATCH against what PATCH did (if tried)."""
    said = _said(claim)
    if works is None:
        seen = f"ServiceProviderConfig says PATCH {said}; not verified (read-only run)"
        action = "scimrec tries PATCH and falls back to GET-merge-PUT on 400, 405 or 501"
        return Finding("patch", "advertised", INFO, seen, action)
    if claim is not False and not works:
        seen = f"ServiceProviderConfig says PATCH {said}, but PATCH is refused"
        action = "scimrec tries PATCH and falls back to GET-merge-PUT on 400, 405 or 501"
        return Finding("patch", "advertised", WARN, seen, action)
    if claim is False and works:
        seen = "ServiceProviderConfig says PATCH unsupported, but PATCH works"
        action = "scimrec follows the claim and updates with GET-merge-PUT"
        return Finding("patch", "advertised", WARN, seen, action)
    seen = f"ServiceProviderConfig says PATCH {said}, as observed"
    action = "scimrec updates with PATCH" if works else "scimrec updates with GET-merge-PUT"
    return Finding("patch", "advertised", OK, seen, action)


def etag_claim_finding(claim: bool | None, works: bool | None, *, tried: bool) -> Finding:
    """What ServiceProviderConfig says about ETags against what was seen (None: nothing).

    `tried`: whether If-Match itself was tried, or only ETags looked for on a read.
    """
    said = _said(claim)
    if works is None:
        seen = f"ServiceProviderConfig says etag {said}; not verified (no user to read)"
        return Finding("etag", "advertised", INFO, seen, etag_action(claim, False))
    if bool(claim) == works:
        seen = f"ServiceProviderConfig says etag {said}, as observed"
        return Finding("etag", "advertised", OK, seen, etag_action(claim, works))
    if claim:
        what = "If-Match is not honoured" if tried else "no ETag is sent"
        seen = f"ServiceProviderConfig says etag supported, but {what}"
        return Finding("etag", "advertised", WARN, seen, etag_action(claim, False))
    what = "If-Match is honoured" if tried else "ETags are sent"
    seen = f"ServiceProviderConfig says etag {said}, but {what}"
    return Finding("etag", "advertised", INFO, seen, etag_action(claim, True))


# -- group probes --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Step:
    ok: bool
    text: str


def group_probes(s: Scratch) -> list[Finding]:
    """Member add, re-add, removal in both dialects, and members on PUT (RFC 7644 §3.5.2)."""
    uid, path = str(s.user["id"]), f"/Groups/{s.group['id']}"

    def members() -> list[str]:
        return member_ids(body_of(s.client.get(path)))

    def step(op: dict[str, Json], want_member: bool) -> _Step:
        try:
            reply = s.client.patch(path, [op], None)
        except ScimHTTPError as exc:
            return _Step(False, f"is refused ({failure(exc)})")
        if (uid in members()) == want_member:
            return _Step(True, f"answered {reply.status} and worked")
        return _Step(False, f"answered {reply.status} but changed nothing")

    add_op: dict[str, Json] = {"op": "add", "path": "members", "value": [{"value": uid}]}
    rfc_op: dict[str, Json] = {"op": "remove", "path": f"members[value eq {A.quote(uid)}]"}
    value_op: dict[str, Json] = {"op": "remove", "path": "members", "value": [{"value": uid}]}
    add: _Step | None = None
    if uid not in members():
        add = step(add_op, True)
        if not add.ok:
            seen = f"adding a member {add.text}"
            action = "scimrec cannot add members to groups on this target"
            return [Finding("groups", "add member", FAIL, seen, action)]
    try:
        again = s.client.patch(path, [add_op], None)
        count = members().count(uid)
        if count > 1:
            dup = Finding(
                "groups",
                "add existing member",
                WARN,
                f"adding an existing member duplicates it ({count} entries)",
                DEDUPLICATE,
            )
        else:
            seen = f"adding an existing member answered {again.status}; no duplicate"
            dup = Finding("groups", "add existing member", OK, seen, DEDUPLICATE)
    except ScimHTTPError as exc:
        seen = f"adding an existing member is refused ({failure(exc)})"
        dup = Finding("groups", "add existing member", WARN, seen, DEDUPLICATE)
    rfc = step(rfc_op, False)
    value: _Step | None = None
    if not rfc.ok and uid in members():
        value = step(value_op, False)
    elif rfc.ok:
        readd = step(add_op, True)
        add = add or readd
        value = step(value_op, False) if readd.ok else None
    if add is None and uid not in members():
        add = step(add_op, True)
    findings = [dup, _removal(rfc, value)]
    if add is not None:
        status, seen = (OK if add.ok else FAIL), f"adding a member {add.text}"
        findings.append(Finding("groups", "add member", status, seen, ADD_ACTION))
    else:
        findings.append(_untested("groups", "add member"))
    findings.append(_put_members(s, uid, path, members))
    return findings


def _removal(rfc: _Step, value: _Step | None) -> Finding:
    seen = f'members[value eq "ID"] {rfc.text}'
    if value is not None:
        seen += f"; a value list {value.text}"
    if rfc.ok:
        action = 'scimrec removes members with the RFC path members[value eq "ID"]'
        return Finding("groups", "remove member", OK, seen, action)
    if value is not None and value.ok:
        refused = "refused" in rfc.text
        action = (
            "scimrec removes members with a value list (the Entra dialect)"
            if refused
            else "scimrec switches to a value list only when the RFC path is refused; "
            "here it is ignored, so removals would silently not happen"
        )
        return Finding("groups", "remove member", WARN if refused else FAIL, seen, action)
    return Finding("groups", "remove member", FAIL, seen, "scimrec cannot remove members here")


def _put_members(s: Scratch, uid: str, path: str, members: Callable[[], list[str]]) -> Finding:
    was_member = uid in members()
    body: dict[str, Json] = {
        "schemas": [GROUP_SCHEMA],
        "displayName": s.stem,
        "members": [] if was_member else [{"value": uid}],
    }
    action = "scimrec changes memberships only with PATCH add/remove, never with PUT"
    try:
        s.client.put(path, body, None)
    except (ScimHTTPError, ScimProtocolError) as exc:
        seen = f"group PUT failed ({failure(exc)})"
        return Finding("groups", "members on PUT", WARN, seen, action)
    if (uid in members()) != was_member:
        return Finding("groups", "members on PUT", OK, "group PUT replaces members", action)
    seen = "group PUT ignores members (membership unchanged)"
    return Finding("groups", "members on PUT", WARN, seen, action)


ID_FORMATS = (
    (
        re.compile(
            r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
        ),
        "UUIDs",
    ),
    (re.compile(r"\d{1,9}"), "small integers"),
    (re.compile(r"\d+"), "integers"),
)


def id_format(rid: str) -> str:
    name = next((n for p, n in ID_FORMATS if p.fullmatch(rid)), "opaque strings")
    return f'{name} (e.g. "{rid}")'
