"""The write probes on the doctor's temporary user: PATCH, value-filter paths, PUT, If-Match
and the uniqueness of userName.
"""

from __future__ import annotations

import contextlib

from reconciler.core import attributes as A
from reconciler.core.model import GROUP_SCHEMA, USER_SCHEMA, Json
from reconciler.doctor.claims import etag_action, etag_claim_finding, patch_claim_finding
from reconciler.doctor.findings import (
    FAIL,
    INFO,
    OK,
    WARN,
    Finding,
    body_of,
    failure,
    guarded,
    untested,
)
from reconciler.doctor.scratch import DOMAIN, Scratch, created_id
from reconciler.errors import ScimHTTPError, ScimrecError
from reconciler.scim import writes
from reconciler.scim.apply.refusals import PATCH_UNSUPPORTED
from reconciler.scim.writes import resource_path

STALE_ETAG = 'W/"scimrec-doctor-stale"'
PUT_WATCHED = ("externalId", "name.familyName", "emails")
# What the PATCH probe replaces: the first the temporary user holds as read back, so that a
# target that does not store name.givenName (none must, RFC 7643 §4.1) is not taken for one
# whose PATCH changes nothing.
PATCHED = ("name.givenName", "displayName", "externalId")


def user_probes(s: Scratch, patch_claim: bool | None, etag_claim: bool | None) -> list[Finding]:
    """Every probe on the temporary user, in an order where each leaves it usable."""
    findings = guarded("patch", "replace", lambda: probe_patch(s, patch_claim))
    if s.works.get("patch"):
        findings += guarded("patch", "value-filter path", lambda: [probe_value_path(s)])
    else:
        findings.append(untested("patch", "value-filter path"))
    findings += guarded("put", "GET-merge-PUT", lambda: probe_roundtrip(s))
    if s.works.get("put"):
        findings += guarded("etag", "If-Match", lambda: probe_if_match(s, etag_claim))
    findings += guarded("put", "unsent attributes", lambda: probe_put(s))
    return findings + guarded("uniqueness", "probes", lambda: probe_uniqueness(s))


def probe_patch(s: Scratch, claim: bool | None) -> list[Finding]:
    """PATCH replace of a simple attribute (RFC 7644 §3.5.2.3), and the SPC's claim."""
    finding, s.works["patch"] = _patch(s)
    return [finding, patch_claim_finding(claim, s.works["patch"])]


def _patch(s: Scratch) -> tuple[Finding, bool]:
    path = resource_path("/Users", str(s.user["id"]))
    attribute = next((a for a in PATCHED if present(A.read(s.user, a))), PATCHED[0])
    value = f"{s.stem}-probed" if attribute == "externalId" else "Probed"
    op = {"op": "replace", "path": attribute, "value": value}
    put = "scimrec updates with GET-merge-PUT, keeping attributes the spec does not manage"
    try:
        reply = s.client.patch(path, [op], None)
    except ScimHTTPError as exc:
        if exc.status in PATCH_UNSUPPORTED:
            seen = f"PATCH replace of {attribute} refused ({failure(exc)})"
            return Finding("patch", "replace", WARN, seen, put), False
        # Only 400, 405 and 501 say "not supported" (RFC 7644 §3.12); any other failure
        # may have changed something, so apply reports it instead of trying a PUT.
        seen = f"PATCH replace of {attribute} failed ({failure(exc)})"
        action = (
            f"apply fails on this {exc.status} (it falls back to GET-merge-PUT only on 400, "
            "405 or 501); with quirks: {patch: never} it writes by GET-merge-PUT from the start"
        )
        return Finding("patch", "replace", WARN, seen, action), False
    after = body_of(s.client.get(path))
    shape = "the resource" if body_of(reply) else "no body"
    if A.read(after, attribute) != value:
        seen = f"PATCH replace of {attribute} answered {reply.status} but changed nothing"
        action = "scimrec cannot rely on PATCH here: the change would show again in every plan"
        return Finding("patch", "replace", FAIL, seen, action), False
    seen = f"PATCH replace of {attribute} answered {reply.status} with {shape}, and applied"
    action = "scimrec updates with minimal PATCH operations"
    if reply.status == 204 or not body_of(reply):
        action += "; it needs no body in the answer"
    return Finding("patch", "replace", OK, seen, action), True


def probe_value_path(s: Scratch) -> Finding:
    path = resource_path("/Users", str(s.user["id"]))
    new = f"{s.stem}.work@{DOMAIN}"
    op = {"op": "replace", "path": 'emails[type eq "work"].value', "value": new}
    check = "value-filter path"
    try:
        reply = s.client.patch(path, [op], None)
    except ScimHTTPError as exc:
        seen = f'emails[type eq "work"].value is refused ({failure(exc)})'
        action = (
            "scimrec tries a value-filter path once, then replaces whole multi-valued "
            "attributes for the rest of the run; `quirks: {value_paths: never}` starts there"
        )
        return Finding("patch", check, WARN, seen, action)
    emails = body_of(s.client.get(path)).get("emails")
    values = [e.get("value") for e in emails or [] if isinstance(e, dict)]
    if new in values:
        seen = f'emails[type eq "work"].value answered {reply.status} and applied'
        action = "scimrec changes a typed email's value alone with such a path (RFC 7644 §3.5.2)"
        return Finding("patch", check, OK, seen, action)
    seen = f'emails[type eq "work"].value answered {reply.status} but changed nothing'
    action = (
        "set `quirks: {value_paths: never}` on this target: scimrec sends such paths for "
        "value-only changes to typed elements, and this target would drop them silently"
    )
    return Finding("patch", check, WARN, seen, action)


def probe_roundtrip(s: Scratch) -> list[Finding]:
    finding, s.works["put"] = _roundtrip(s)
    return [finding]


def _roundtrip(s: Scratch) -> tuple[Finding, bool]:
    """PUT back the resource as read: what scimrec's GET-merge-PUT sends (RFC 7644 §3.5.1)."""
    path = resource_path("/Users", str(s.user["id"]))
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
    path = resource_path("/Users", str(s.user["id"]))
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


def probe_put(s: Scratch) -> list[Finding]:
    return [_put(s)]


def _put(s: Scratch) -> Finding:
    """Does PUT clear what it is not sent (RFC 7644 §3.5.1 replace) or merge?"""
    path = resource_path("/Users", str(s.user["id"]))
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


def present(value: Json) -> bool:
    """Whether an attribute holds a value (targets answer "" or [{"value": ""}] for none)."""
    if isinstance(value, list):
        return any(present(v.get("value") if isinstance(v, dict) else v) for v in value)
    if isinstance(value, dict):
        return any(present(v) for v in value.values())
    return value not in (None, "")


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
        rid = created_id(reply, endpoint)
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
