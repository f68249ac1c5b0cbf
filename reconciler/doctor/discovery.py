"""The doctor's first probes: whether the credentials may read /Users, and what the
discovery endpoints (RFC 7644 §4) answer.
"""

from __future__ import annotations

from reconciler.core.config import Target
from reconciler.core.model import Json
from reconciler.doctor.claims import claim_of
from reconciler.doctor.findings import FAIL, OK, WARN, Finding, body_of, failure
from reconciler.doctor.listing import counted
from reconciler.errors import ScimHTTPError, ScimProtocolError, ScimrecError
from reconciler.scim.client import ScimClient
from reconciler.scim.connection import ABSENT
from reconciler.scim.extensions import write_only_paths


def probe_auth(client: ScimClient, target: Target) -> Finding:
    auth = target.auth
    names = [auth.token_env, auth.username_env, auth.password_env, auth.client_id_env,
             auth.client_secret_env]  # fmt: skip
    check = f"check {', '.join(n for n in names if n)}" if any(names) else "check the auth settings"
    try:
        # No startIndex: a target that pages by cursor only refuses one (RFC 9865 §4).
        reply = counted(client, "/Users", {"count": 1})[0]
    except ScimHTTPError as exc:
        if exc.status == 401:
            seen, action = (
                "the target refuses our credentials (401)",
                f"scimrec cannot run: {check}",
            )
        elif exc.status == 403:
            seen = "the credentials are accepted but may not read /Users (403)"
            action = "grant them read and write access to Users and Groups"
        elif exc.status == 404:
            seen, action = (
                "GET /Users answered 404",
                "check the base URL: it usually ends in /scim/v2",
            )
        else:
            seen, action = f"GET /Users failed ({failure(exc)})", "scimrec cannot read this target"
        return Finding("auth", "credentials", FAIL, seen, action)
    except ScimrecError as exc:
        return Finding("auth", "credentials", FAIL, failure(exc), "scimrec cannot use this target")
    if not isinstance(body_of(reply).get("Resources", []), list):
        seen = "GET /Users did not answer a ListResponse"
        return Finding("auth", "credentials", FAIL, seen, "check the base URL")
    return Finding("auth", "credentials", OK, "GET /Users answered 200", "scimrec can read users")


def probe_discovery(client: ScimClient) -> tuple[list[Finding], dict[str, Json]]:
    spc: dict[str, Json] = {}
    check = "/ServiceProviderConfig"
    refuse = "scimrec's connection test reads it, so scimrec refuses this target"
    try:
        spc = body_of(client.get(check))
    except ScimHTTPError as exc:
        if exc.status in ABSENT:
            # connection.py: a target that lists /Users is used with default capabilities.
            action = "scimrec assumes PATCH (GET-merge-PUT where refused), no ETags, no Bulk"
            findings = [Finding("discovery", check, WARN, f"missing ({failure(exc)})", action)]
        else:
            findings = [Finding("discovery", check, FAIL, f"unusable ({failure(exc)})", refuse)]
    except ScimProtocolError as exc:
        findings = [Finding("discovery", check, FAIL, f"unusable ({failure(exc)})", refuse)]
    else:
        if any(k in spc for k in ("patch", "filter", "schemas")):
            said = ", ".join(f"{k} {str(claim_of(spc, k)).lower()}" for k in
                             ("patch", "filter", "etag", "bulk", "sort"))  # fmt: skip
            action = "scimrec reads it on every run, and checks its claims against answers"
            findings = [Finding("discovery", check, OK, f"present: {said}", action)]
        else:
            findings = [Finding("discovery", check, FAIL, "answers without SCIM fields", refuse)]
    return findings + [_discovery_list(client, p) for p in ("/ResourceTypes", "/Schemas")], spc


def _discovery_list(client: ScimClient, path: str) -> Finding:
    action = "scimrec does not read it: it uses /Users and /Groups under the base URL"
    try:
        body = client.get(path).body
    except (ScimHTTPError, ScimProtocolError) as exc:
        return Finding("discovery", path, WARN, f"missing ({failure(exc)})", action)
    items = body.get("Resources") if isinstance(body, dict) else None
    if not isinstance(body, dict) or not isinstance(items, list):
        return Finding("discovery", path, WARN, "not a ListResponse", action)
    if path == "/Schemas":
        # What it marks write-only the write probes never try, and the client keeps secret.
        client.write_only = write_only_paths(items)
    notes = [] if isinstance(body.get("totalResults"), int) else ["without totalResults"]
    odd = [
        str(i.get("endpoint"))
        for i in items
        if path == "/ResourceTypes"
        and isinstance(i, dict)
        and i.get("endpoint") not in ("/Users", "/Groups")
    ]
    if odd:
        notes.append(f"endpoints not relative to the base URL ({', '.join(sorted(odd))})")
    seen = " ".join([f"a ListResponse of {len(items)}", *notes[:1]])
    seen = "; ".join([seen, *notes[1:]])
    return Finding("discovery", path, WARN if notes else OK, seen, action)
