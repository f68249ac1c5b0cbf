"""`scimrec doctor`: what a target really does, each finding with what scimrec does about it.

Read-only by default; with `write_probe` the probes of `reconciler.probe` also run against a
temporary user and group that are always deleted again.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from reconciler.core import attributes as A
from reconciler.core.config import Target
from reconciler.core.match import normalise
from reconciler.core.model import Json
from reconciler.doctor.probe import (
    DOMAIN,
    FAIL,
    INFO,
    OK,
    PREFIX,
    WARN,
    Finding,
    body_of,
    broken,
    create_group,
    create_user,
    etag_claim_finding,
    failure,
    group_probes,
    guarded,
    id_format,
    patch_claim_finding,
    scratch_objects,
    stem_of,
    user_probes,
)
from reconciler.errors import ScimHTTPError, ScimProtocolError, ScimrecError
from reconciler.scim.client import Reply, ScimClient
from reconciler.scim.redact import scrub

__all__ = ["Finding", "Report", "default_name", "report_text", "run_doctor"]

FORMAT_VERSION = 1
AREAS = ("auth", "discovery", "filter", "paging", "patch", "put", "etag", "bulk", "create",
         "ids", "groups", "uniqueness", "doctor", "cleanup")  # fmt: skip
FULL_LISTING = "scimrec matches from a full listing, never from filters"
TRUSTED = "scimrec matches from a full listing; lookups by this filter are checked result by result"
CASE = "scimrec matches userNames case-insensitively from a full listing, never from this filter"
ITEMS = "scimrec counts the Resources it receives and never relies on itemsPerPage"
GROUP_SAMPLE = 50  # groups read to find one to filter on (groups can be large)


@dataclass(frozen=True)
class Report:
    target: str
    url: str
    write_probe: bool
    findings: tuple[Finding, ...]

    @property
    def failed(self) -> bool:
        return any(f.status == FAIL for f in self.findings)

    def finding(self, area: str, check: str) -> Finding:
        """The finding of one check; KeyError when the check did not run."""
        for finding in self.findings:
            if (finding.area, finding.check) == (area, check):
                return finding
        raise KeyError(f"no finding {area}: {check}")

    def to_json(self) -> dict[str, Json]:
        return {
            "format_version": FORMAT_VERSION,
            "target": {"name": self.target, "url": self.url},
            "write_probe": self.write_probe,
            "findings": [{k: scrub(v) for k, v in f.to_json().items()} for f in self.findings],
        }


def default_name() -> str:
    """A fresh name for the doctor's temporary objects and impossible filter values."""
    return f"{PREFIX}{secrets.token_hex(5)}"


def run_doctor(
    client: ScimClient, target: Target, *, write_probe: bool, new_name: Callable[[], str]
) -> Report:
    """Probe the target; with `write_probe`, also with temporary objects it deletes again.

    `new_name()` returns a fresh unique name (prefixed with "scimrec-doctor-" when it is not):
    the temporary user is `<name>@invalid.example`, the temporary group `<name>`.
    """
    findings = [_auth(client, target)]
    if findings[0].status != FAIL:
        discovery, spc = _discovery(client)
        findings += discovery
        if write_probe:
            findings += _with_probes(client, target, spc, new_name)
        else:
            findings += _reads(client, target, spc, new_name, {}, {})
            findings += [
                patch_claim_finding(_claim(spc, "patch"), None),
                Finding(
                    "doctor",
                    "write probes",
                    INFO,
                    "not run (read-only)",
                    "run doctor with --write-probe to test PATCH, PUT, ETags, memberships and "
                    "uniqueness on a temporary user and group that it deletes again",
                ),
            ]
    ordered = sorted(findings, key=lambda f: AREAS.index(f.area) if f.area in AREAS else 99)
    return Report(target.name, target.url, write_probe, tuple(ordered))


def _with_probes(
    client: ScimClient, target: Target, spc: Mapping[str, Json], new_name: Callable[[], str]
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
        findings += _reads(client, target, spc, new_name, scratch.user, scratch.group)
        if scratch.user:
            claims = _claim(spc, "patch"), _claim(spc, "etag")
            findings += user_probes(scratch, *claims)  # each probe guards itself
        if scratch.user and scratch.group:
            findings += guarded("groups", "probes", lambda: group_probes(scratch))
    return findings + scratch.findings[created:]


def _claim(spc: Mapping[str, Json], feature: str) -> bool | None:
    value = spc.get(feature)
    if isinstance(value, dict) and isinstance(value.get("supported"), bool):
        return bool(value["supported"])
    return None


# -- auth and discovery ------------------------------------------------------------------


def _auth(client: ScimClient, target: Target) -> Finding:
    auth = target.auth
    names = [auth.token_env, auth.username_env, auth.password_env, auth.client_id_env,
             auth.client_secret_env]  # fmt: skip
    check = f"check {', '.join(n for n in names if n)}" if any(names) else "check the auth settings"
    try:
        reply = client.get("/Users", {"startIndex": 1, "count": 1})
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


def _discovery(client: ScimClient) -> tuple[list[Finding], dict[str, Json]]:
    spc: dict[str, Json] = {}
    check = "/ServiceProviderConfig"
    refuse = "scimrec's connection test reads it, so scimrec refuses this target"
    try:
        spc = body_of(client.get(check))
    except (ScimHTTPError, ScimProtocolError) as exc:
        findings = [Finding("discovery", check, FAIL, f"unusable ({failure(exc)})", refuse)]
    else:
        if any(k in spc for k in ("patch", "filter", "schemas")):
            said = ", ".join(f"{k} {str(_claim(spc, k)).lower()}" for k in
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


# -- read-only probes --------------------------------------------------------------------


@dataclass(frozen=True)
class _Page:
    items: list[dict[str, Json]]
    total: int | None
    per_page: Json


def _page(reply: Reply) -> _Page:
    body = reply.body
    if not isinstance(body, dict) or not isinstance(body.get("Resources", []), list):
        raise ScimProtocolError("a listing did not answer a ListResponse")
    items = [i for i in body.get("Resources") or [] if isinstance(i, dict)]
    total = body.get("totalResults")
    total = total if isinstance(total, int) and not isinstance(total, bool) else None
    return _Page(items, total, body.get("itemsPerPage"))


def _reads(
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
    try:
        paging, users = _paging(client, target)
        findings += paging
    except ScimrecError as exc:
        findings.append(broken("paging", "/Users", exc))
    users += [temp_user] if temp_user and all(u.get("id") != temp_user["id"] for u in users) else []
    groups: list[dict[str, Json]] = []
    try:
        size = min(target.page_size, GROUP_SAMPLE)
        groups = _page(client.get("/Groups", {"startIndex": 1, "count": size})).items
    except ScimrecError as exc:
        findings.append(broken("filter", "groups", exc))
    groups += (
        [temp_group] if temp_group and all(g.get("id") != temp_group["id"] for g in groups) else []
    )
    findings += _filters(client, target, spc, users, groups, new_name)
    sample = users[0] if users else None
    try:
        headers, seen = _etag_headers(client, sample)
        findings.append(headers)
    except ScimrecError as exc:
        findings.append(broken("etag", "headers", exc))
        seen = None
    if not temp_user:  # else the If-Match probe judges the claim
        findings.append(etag_claim_finding(_claim(spc, "etag"), seen, tried=False))
    return [*findings, *_ids(sample), _bulk(spc)]


def _paging(client: ScimClient, target: Target) -> tuple[list[Finding], list[dict[str, Json]]]:
    """count, totalResults, itemsPerPage and startIndex past the end (RFC 7644 §3.4.2.4)."""
    size = target.page_size
    one = _page(client.get("/Users", {"startIndex": 1, "count": 1}))
    pages = [(1, one)]
    try:
        big = _page(client.get("/Users", {"startIndex": 1, "count": size}))
    except ScimHTTPError as exc:
        if exc.status < 500:
            raise
        seen = f"count={size} answered {failure(exc)}"
        action = f"lower page_size for this target (e.g. page_size: {max(1, size // 5)})"
        return [Finding("paging", "count", WARN, seen, action)], one.items
    pages.append((size, big))
    total, n = big.total, len(big.items)
    capped = n < size and (total or 0) > n
    if n and n < size and total is None:
        after = _page(client.get("/Users", {"startIndex": n + 1, "count": size}))
        pages.append((size, after))
        seen_ids = {i.get("id") for i in big.items}
        capped = any(i.get("id") not in seen_ids for i in after.items)
    findings = [_count(len(one.items), n, size, total, capped)]
    if total is None:
        seen = "the /Users ListResponse has no totalResults"
        action = "scimrec reads until an empty or short page and cannot cross-check the count"
        findings.append(Finding("paging", "totalResults", WARN, seen, action))
    else:
        seen = f"totalResults present ({_n(total, 'user')})"
        action = "scimrec reads until totalResults and never deprovisions after a short read"
        findings.append(Finding("paging", "totalResults", OK, seen, action))
    ignored = len(one.items) > 1 or n > size
    end = total if total is not None else (None if capped or ignored else n)
    findings += [_past_end(client, end, pages), _items_per_page(pages)]
    return findings, big.items


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _count(first: int, n: int, size: int, total: int | None, capped: bool) -> Finding:
    if first > 1 or n > size:
        seen = f"count is ignored: count=1 gave {first}, count={size} gave {_n(n, 'user')}"
        action = "scimrec takes pages as they come and de-duplicates by id"
        return Finding("paging", "count", WARN, seen, action)
    if capped:
        of = f" of {total}" if total is not None else ""
        seen = f"count is capped at {n}: count={size} returned {n}{of} users"
        action = f"scimrec pages by the {n} the target gives, until the end"
        return Finding("paging", "count", WARN, seen, action)
    if n == size:
        return Finding("paging", "count", OK, f"count={size} is honoured", "none needed")
    seen = f"not measured: all {_n(n, 'user')} fit in one page of {size}"
    return Finding("paging", "count", INFO, seen, "scimrec pages by what the target gives")


def _past_end(client: ScimClient, end: int | None, pages: list[tuple[int, _Page]]) -> Finding:
    check = "startIndex past the end"
    if not end:
        seen = "not measured (no users, or no totalResults and count not honoured)"
        return Finding("paging", check, INFO, seen, "none needed")
    past = _page(client.get("/Users", {"startIndex": end + 1, "count": 2}))
    pages.append((2, past))
    action = "scimrec stops a listing at the first page that brings nothing new"
    if past.items:
        seen = f"startIndex={end + 1} (past the end) returns {_n(len(past.items), 'user')}"
        return Finding("paging", check, WARN, seen, action)
    return Finding("paging", check, OK, "startIndex past the end answers an empty page", action)


def _items_per_page(pages: list[tuple[int, _Page]]) -> Finding:
    if all(p.per_page is None for _, p in pages):
        return Finding("paging", "itemsPerPage", WARN, "ListResponses have no itemsPerPage", ITEMS)
    for asked, page in pages:
        if page.per_page != len(page.items):
            echo = " (echoes the requested count)" if page.per_page == asked else ""
            seen = f"itemsPerPage {page.per_page} for {len(page.items)} resources{echo}"
            return Finding("paging", "itemsPerPage", WARN, seen, ITEMS)
    return Finding("paging", "itemsPerPage", OK, "itemsPerPage counts the resources sent", ITEMS)


def _values(item: Mapping[str, Json], attr: str) -> list[str]:
    if attr == "emails.value":
        emails = item.get("emails")
        return [str(e.get("value")) for e in emails or [] if isinstance(e, dict)]
    value = A.read(item, attr)
    return [value] if isinstance(value, str) and value else []


def _filters(
    client: ScimClient,
    target: Target,
    spc: Mapping[str, Json],
    users: list[dict[str, Json]],
    groups: list[dict[str, Json]],
    new_name: Callable[[], str],
) -> list[Finding]:
    """Each matching attribute's `eq` filter (RFC 7644 §3.4.2.2), then the SPC's claim."""
    findings: list[Finding] = []
    honoured: list[str] = []
    failing: list[str] = []
    for kind, attrs, samples in (("users", target.user_matching, users),
                                 ("groups", target.group_matching, groups)):  # fmt: skip
        for attr in attrs:
            try:
                verdict = _filter(client, kind, attr, samples, new_name)
            except ScimrecError as exc:
                verdict = broken("filter", f"{kind}.{attr}", exc)
            findings.append(verdict)
            if verdict.status == OK or verdict.action == CASE:
                honoured.append(f"{kind}.{attr}")
            elif verdict.status == WARN and verdict.action == FULL_LISTING:
                failing.append(f"{kind}.{attr}")
    claim = _claim(spc, "filter")
    said = {True: "supported", False: "unsupported", None: "nothing"}[claim]
    action = "scimrec ignores the claim and judges each filter by its answers"
    if honoured:
        seen = (
            f"ServiceProviderConfig says filter {said}, but a filter on {honoured[0]} is honoured"
        )
        status = OK if claim else WARN
        if claim:
            seen = f"ServiceProviderConfig says filter supported, as observed on {honoured[0]}"
    elif failing:
        seen = f"ServiceProviderConfig says filter {said}; filters on {failing[0]} are not honoured"
        status, action = (WARN if claim else OK), FULL_LISTING
    else:
        seen = f"ServiceProviderConfig says filter {said}; not confirmed (no object to look up)"
        status = INFO
    return [Finding("filter", "advertised", status, seen, action), *findings]


def _filter(
    client: ScimClient,
    kind: str,
    attr: str,
    samples: list[dict[str, Json]],
    new_name: Callable[[], str],
) -> Finding:
    endpoint, check = f"/{kind.capitalize()}", f"{kind}.{attr}"

    def lookup(value: str) -> list[dict[str, Json]]:
        expression = f"{A.filter_attribute(attr)} eq {A.quote(value)}"
        return _page(client.get(endpoint, {"filter": expression})).items

    try:
        found = lookup(f"{stem_of(new_name)}@{DOMAIN}")
    except ScimHTTPError as exc:
        seen = f"a filter on {attr} is rejected ({failure(exc)})"
        return Finding("filter", check, WARN, seen, FULL_LISTING)
    if found:
        seen = f"a filter on {attr} is ignored: a value that cannot exist gave {len(found)} {kind}"
        return Finding("filter", check, WARN, seen, FULL_LISTING)
    sample = next((s for s in samples if _values(s, attr)), None)
    if sample is None:
        seen = f"a filter on {attr} finds nothing for a value that cannot exist; no value to try"
        return Finding("filter", check, INFO, seen, FULL_LISTING)
    value = _values(sample, attr)[0]
    found = lookup(value)
    ids = {str(i.get("id")) for i in found}
    if str(sample.get("id")) not in ids:
        seen = f"a filter on {attr} misses an existing value ({len(found)} {kind} returned)"
        return Finding("filter", check, WARN, seen, FULL_LISTING)
    wanted = normalise(attr, value)
    if any(wanted not in {normalise(attr, v) for v in _values(i, attr)} for i in found):
        seen = f"a filter on {attr} also returns {kind} without that value"
        return Finding("filter", check, WARN, seen, FULL_LISTING)
    variant = value.swapcase()
    if attr not in A.MATCH_CASE_INSENSITIVE or variant == value:
        return Finding("filter", check, OK, f"a filter on {attr} is honoured", TRUSTED)
    try:
        found = lookup(variant)
    except ScimHTTPError:
        found = []
    if str(sample.get("id")) not in {str(i.get("id")) for i in found}:
        seen = f"a filter on {attr} is honoured but case-sensitive (another case finds nothing)"
        return Finding("filter", check, WARN, seen, CASE if attr == "userName" else FULL_LISTING)
    seen = f"a filter on {attr} is honoured, case-insensitively"
    return Finding("filter", check, OK, seen, TRUSTED)


def _etag_headers(
    client: ScimClient, sample: Mapping[str, Json] | None
) -> tuple[Finding, bool | None]:
    """Whether a read carries an ETag (RFC 7644 §3.14), and whether it is meta.version."""
    action = "scimrec sends no If-Match; a saved plan refuses to apply when what it saw changed"
    if sample is None:
        return Finding("etag", "headers", INFO, "not measured (no user to read)", action), None
    reply = client.get(f"/Users/{sample['id']}")
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


def _ids(sample: Mapping[str, Json] | None) -> list[Finding]:
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


def _bulk(spc: Mapping[str, Json]) -> Finding:
    action = "scimrec does not use Bulk: one request per change, with bounded concurrency"
    bulk = spc.get("bulk")
    if _claim(spc, "bulk") and isinstance(bulk, dict):
        seen = f"Bulk is advertised (maxOperations {bulk.get('maxOperations')})"
        return Finding("bulk", "advertised", INFO, seen, action)
    return Finding("bulk", "advertised", INFO, "Bulk is not advertised", action)


# -- rendering -------------------------------------------------------------------------------


def report_text(report: Report) -> str:
    """The report as aligned text, one finding per line, rendered from its JSON form."""
    data = report.to_json()
    target: dict[str, str] = data["target"]
    rows: list[dict[str, str]] = data["findings"]
    mode = "with write probes" if data["write_probe"] else "read-only"
    lines = [f"Doctor report for target '{target['name']}' at {target['url']} ({mode}):"]
    area = max((len(r["area"]) for r in rows), default=0)
    check = max((len(r["check"]) for r in rows), default=0)
    for row in rows:
        what = row["observed"]
        if row["action"] not in ("", "none", "none needed"):
            what = f"{what} → {row['action']}"
        lines.append(
            f"  {row['status']:<4}  {row['area']:<{area}}  {row['check']:<{check}}  {what}"
        )
    counts = Counter(r["status"] for r in rows)
    lines.append(
        f"Doctor: {counts[OK]} ok, {counts[WARN]} warn, {counts[FAIL]} fail, {counts[INFO]} info."
    )
    return "\n".join(lines) + "\n"
