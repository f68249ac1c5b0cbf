"""What one read of a user shows: an ETag (RFC 7644 §3.14), the id format and meta.location."""

from __future__ import annotations

import re
from collections.abc import Mapping

from reconciler.core.model import Json
from reconciler.doctor.findings import INFO, OK, WARN, Finding, body_of
from reconciler.scim.client import ScimClient
from reconciler.scim.writes import resource_path

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


def probe_etag_headers(
    client: ScimClient, sample: Mapping[str, Json] | None
) -> tuple[Finding, bool | None]:
    """Whether a read carries an ETag (RFC 7644 §3.14), and whether it is meta.version."""
    action = "scimrec sends no If-Match; a saved plan refuses to apply when what it saw changed"
    if sample is None:
        return Finding("etag", "headers", INFO, "not measured (no user to read)", action), None
    reply = client.get(resource_path("/Users", str(sample["id"])))
    header = reply.headers.get("etag")
    meta = body_of(reply).get("meta")
    version = meta.get("version") if isinstance(meta, dict) else None
    if header and version and header != version:
        seen = f"the ETag header ({header}) is not meta.version ({version})"
        action = "scimrec's If-Match uses meta.version, or the ETag header on GET-merge-PUT"
        return Finding("etag", "headers", WARN, seen, action), True
    if header or version:
        found = [w for w, v in (("an ETag header", header), ("meta.version", version)) if v]
        action = "scimrec sends If-Match with it when ServiceProviderConfig says etag supported"
        seen = f"a user read carries {' and '.join(found)}"
        return Finding("etag", "headers", OK, seen, action), True
    return Finding("etag", "headers", INFO, "no ETag header and no meta.version", action), False


def probe_ids(sample: Mapping[str, Json] | None) -> list[Finding]:
    action = "scimrec builds resource URLs from the id, never from meta.location"
    if sample is None:
        return [Finding("ids", "format", INFO, "not measured (no user to read)", action)]
    rid = str(sample.get("id"))
    ids = Finding("ids", "format", INFO, f"ids are {id_format(rid)}", "scimrec treats ids as "
                  "opaque strings, per resource type")  # fmt: skip
    meta = sample.get("meta")
    location = meta.get("location") if isinstance(meta, dict) else None
    if not isinstance(location, str) or not location:
        return [ids, Finding("ids", "meta.location", INFO, "no meta.location", action)]
    if location.rstrip("/").endswith(f"/Users/{rid}"):
        return [ids, Finding("ids", "meta.location", OK, "meta.location ends in the id", action)]
    seen = f"meta.location {location} does not end in /Users/{rid}"
    return [ids, Finding("ids", "meta.location", WARN, seen, action)]


def id_format(rid: str) -> str:
    name = next((n for p, n in ID_FORMATS if p.fullmatch(rid)), "opaque strings")
    return f'{name} (e.g. "{rid}")'
