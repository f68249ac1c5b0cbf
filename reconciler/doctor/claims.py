"""What ServiceProviderConfig claims (PATCH, ETags, Bulk), set against what the target does."""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.core.model import Json
from reconciler.doctor.findings import INFO, OK, WARN, Finding
from reconciler.scim.bulk_requests import MIN_CREATES


def claim_of(spc: Mapping[str, Json], feature: str) -> bool | None:
    """The `supported` flag of one feature (RFC 7643 §5); None when the SPC says nothing."""
    value = spc.get(feature)
    if isinstance(value, dict) and isinstance(value.get("supported"), bool):
        return bool(value["supported"])
    return None


def said(claim: bool | None) -> str:
    return {True: "supported", False: "unsupported", None: "nothing"}[claim]


def patch_claim_finding(claim: bool | None, works: bool | None) -> Finding:
    """What ServiceProviderConfig says about PATCH against what PATCH did (if tried)."""
    says = said(claim)
    if works is None:
        seen = f"ServiceProviderConfig says PATCH {says}; not verified (read-only run)"
        action = "scimrec tries PATCH and falls back to GET-merge-PUT on 400, 405 or 501"
        return Finding("patch", "advertised", INFO, seen, action)
    if claim is not False and not works:
        seen = f"ServiceProviderConfig says PATCH {says}, but PATCH is refused"
        action = "scimrec tries PATCH and falls back to GET-merge-PUT on 400, 405 or 501"
        return Finding("patch", "advertised", WARN, seen, action)
    if claim is False and works:
        seen = "ServiceProviderConfig says PATCH unsupported, but PATCH works"
        action = "scimrec follows the claim and updates with GET-merge-PUT"
        return Finding("patch", "advertised", WARN, seen, action)
    seen = f"ServiceProviderConfig says PATCH {says}, as observed"
    action = "scimrec updates with PATCH" if works else "scimrec updates with GET-merge-PUT"
    return Finding("patch", "advertised", OK, seen, action)


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


def etag_claim_finding(claim: bool | None, works: bool | None, *, tried: bool) -> Finding:
    """What ServiceProviderConfig says about ETags against what was seen (None: nothing).

    `tried`: whether If-Match itself was tried, or only ETags looked for on a read.
    """
    says = said(claim)
    if works is None:
        seen = f"ServiceProviderConfig says etag {says}; not verified (no user to read)"
        return Finding("etag", "advertised", INFO, seen, etag_action(claim, False))
    if bool(claim) == works:
        seen = f"ServiceProviderConfig says etag {says}, as observed"
        return Finding("etag", "advertised", OK, seen, etag_action(claim, works))
    if claim:
        what = "If-Match is not honoured" if tried else "no ETag is sent"
        seen = f"ServiceProviderConfig says etag supported, but {what}"
        return Finding("etag", "advertised", WARN, seen, etag_action(claim, False))
    what = "If-Match is honoured" if tried else "ETags are sent"
    seen = f"ServiceProviderConfig says etag {says}, but {what}"
    return Finding("etag", "advertised", INFO, seen, etag_action(claim, True))


def bulk_finding(spc: Mapping[str, Json]) -> Finding:
    bulk = spc.get("bulk")
    if claim_of(spc, "bulk") and isinstance(bulk, dict):
        operations, payload = bulk.get("maxOperations"), bulk.get("maxPayloadSize")
        seen = f"Bulk is advertised (maxOperations {operations}, maxPayloadSize {payload})"
        action = (
            "one request per change; with quirks: {bulk: use}, apply sends "
            f"{MIN_CREATES} or more user creates, and {MIN_CREATES} or more group creates, in "
            "Bulk requests within these limits, and "
            "one request per create if the target refuses them"
        )
        return Finding("bulk", "advertised", INFO, seen, action)
    action = "one request per change, with bounded concurrency"
    return Finding("bulk", "advertised", INFO, "Bulk is not advertised", action)
