"""`scimrec doctor`: runs every probe against a target and collects the findings in a Report.

Read-only by default; with `write_probe` the probes of `user_probes` and `group_probes` also
run against a temporary user and group that are always deleted again.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping

from reconciler.core.config import Target
from reconciler.core.model import Json
from reconciler.doctor.attribute_probes import CHECK, probe_declared
from reconciler.doctor.claims import bulk_finding, claim_of, etag_claim_finding, patch_claim_finding
from reconciler.doctor.disable_probe import probe_disable
from reconciler.doctor.discovery import probe_auth, probe_discovery
from reconciler.doctor.filters import probe_filters
from reconciler.doctor.findings import FAIL, INFO, Finding, broken, guarded
from reconciler.doctor.group_probes import group_probes
from reconciler.doctor.listed import GROUPS, probe_listed
from reconciler.doctor.listing import first_page, probe_listing, probe_paging, read_page
from reconciler.doctor.member_values import CHECK as CHECK_MEMBERS
from reconciler.doctor.member_values import probe_member_values
from reconciler.doctor.metadata import probe_etag_headers, probe_ids
from reconciler.doctor.report import Report
from reconciler.doctor.scratch import PREFIX, create_group, create_user, scratch_objects, stem_of
from reconciler.doctor.user_probes import user_probes
from reconciler.errors import ScimrecError
from reconciler.scim.client import ScimClient

AREAS = ("auth", "discovery", "filter", "paging", "patch", "put", "etag", "bulk", "create",
         "ids", "attributes", "groups", "lifecycle", "uniqueness", "doctor", "cleanup")  # fmt: skip
GROUP_SAMPLE = 50  # groups read to find one to filter on (groups can be large)


def default_name() -> str:
    """A fresh name for the doctor's temporary objects and impossible filter values."""
    return f"{PREFIX}{secrets.token_hex(5)}"


def run_doctor(
    client: ScimClient,
    target: Target,
    *,
    write_probe: bool,
    new_name: Callable[[], str],
    samples: Mapping[str, Json] | None = None,
) -> Report:
    """Probe the target; with `write_probe`, also with temporary objects it deletes again.

    `new_name()` returns a fresh unique name (prefixed with "scimrec-doctor-" when it is not):
    the temporary user is `<name>@invalid.example`, the temporary group `<name>`. `samples`
    (attribute path → a declared value, see attribute_probes.declared_samples) are written to
    the temporary user one by one, to find what the target drops.
    """
    findings = [probe_auth(client, target)]
    if findings[0].status != FAIL:
        discovery, spc = probe_discovery(client)
        findings += discovery
        if write_probe:
            findings += _with_probes(client, target, spc, new_name, samples or {})
        else:
            findings += _read_probes(client, target, spc, new_name, {}, {})
            findings += [
                patch_claim_finding(claim_of(spc, "patch"), None),
                Finding(
                    "doctor",
                    "write probes",
                    INFO,
                    "not run (read-only)",
                    "run doctor with --write-probe to test PATCH, PUT, ETags, memberships, "
                    "disables and uniqueness on a temporary user and group that it deletes "
                    "again",
                ),
            ]
    ordered = sorted(findings, key=lambda f: AREAS.index(f.area) if f.area in AREAS else 99)
    return Report(target.name, target.url, write_probe, tuple(ordered))


def _with_probes(
    client: ScimClient,
    target: Target,
    spc: Mapping[str, Json],
    new_name: Callable[[], str],
    samples: Mapping[str, Json],
) -> list[Finding]:
    """Every check, with a temporary user and group that are deleted whatever happens."""
    findings: list[Finding] = []
    with scratch_objects(client, stem_of(new_name), target.page_size) as scratch:
        try:
            create_user(scratch)
            if scratch.user:
                create_group(scratch)
        except ScimrecError as exc:
            findings.append(broken("create", "temporary objects", exc))
        created = len(scratch.findings)
        findings += scratch.findings
        findings += _read_probes(client, target, spc, new_name, scratch.user, scratch.group)
        if scratch.user:
            claims = claim_of(spc, "patch"), claim_of(spc, "etag")
            findings += user_probes(scratch, *claims)  # each probe guards itself
            # Written as apply will write them: by PUT where PATCH is off from the start.
            patch = claims[0] is not False and target.quirks.get("patch") != "never"
            findings += guarded(
                "attributes", CHECK, lambda: probe_declared(scratch, samples, patch=patch)
            )
        if scratch.user and scratch.group:
            findings += guarded("groups", "probes", lambda: group_probes(scratch))
        if scratch.user:  # last: a disabled member may behave otherwise in a group
            findings += guarded("lifecycle", "disable", lambda: probe_disable(scratch, target))
    return findings + scratch.findings[created:]


def _read_probes(
    client: ScimClient,
    target: Target,
    spc: Mapping[str, Json],
    new_name: Callable[[], str],
    temp_user: dict[str, Json],
    temp_group: dict[str, Json],
) -> list[Finding]:
    """Paging, filters, ETags, ids and Bulk; temporary objects stand in when there are none."""
    findings: list[Finding] = []
    users: list[dict[str, Json]] = []
    findings += guarded("paging", "whole listing", lambda: probe_listing(client, dict(spc)))
    pagination = spc.get("pagination")
    by_cursor = isinstance(pagination, dict) and pagination.get("cursor") is True
    try:
        if by_cursor:  # index paging may be refused (RFC 9865 §4); one page to sample
            users = read_page(client.get("/Users", {"cursor": "", "count": 1})).items
        else:
            paging, users = probe_paging(client, target)
            findings += paging
    except ScimrecError as exc:
        findings.append(broken("paging", "/Users", exc))
    users += [temp_user] if temp_user and all(u.get("id") != temp_user["id"] for u in users) else []
    groups: list[dict[str, Json]] = []
    try:
        size = min(target.page_size, GROUP_SAMPLE)
        groups = first_page(client, "/Groups", size).items
    except ScimrecError as exc:
        findings.append(broken("filter", "groups", exc))
    groups += (
        [temp_group] if temp_group and all(g.get("id") != temp_group["id"] for g in groups) else []
    )
    findings += probe_filters(client, target, spc, users, groups, new_name)
    findings += guarded("groups", CHECK_MEMBERS, lambda: [probe_member_values(client, groups)])
    findings += guarded("groups", GROUPS, lambda: probe_listed(client, users, groups))
    sample = users[0] if users else None
    try:
        headers, seen = probe_etag_headers(client, sample)
        findings.append(headers)
    except ScimrecError as exc:
        findings.append(broken("etag", "headers", exc))
        seen = None
    if not temp_user:  # else the If-Match probe judges the claim
        findings.append(etag_claim_finding(claim_of(spc, "etag"), seen, tried=False))
    return [*findings, *probe_ids(sample), bulk_finding(spc)]
