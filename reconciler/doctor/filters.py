"""Whether each matching attribute's `eq` filter (RFC 7644 §3.4.2.2) can be trusted, and
what ServiceProviderConfig claims about filters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from reconciler.core import attributes as A
from reconciler.core.config import Target
from reconciler.core.match import normalise
from reconciler.core.model import Json
from reconciler.doctor.claims import claim_of
from reconciler.doctor.findings import INFO, OK, WARN, Finding, broken, failure
from reconciler.doctor.listing import read_page
from reconciler.doctor.scratch import DOMAIN, stem_of
from reconciler.errors import ScimHTTPError, ScimrecError
from reconciler.scim.client import ScimClient

FULL_LISTING = "scimrec matches from a full listing, never from filters"
TRUSTED = "scimrec matches from a full listing; lookups by this filter are checked result by result"
CASE = "scimrec matches userNames case-insensitively from a full listing, never from this filter"


def probe_filters(
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
    claim = claim_of(spc, "filter")
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
        return read_page(client.get(endpoint, {"filter": expression})).items

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


def _values(item: Mapping[str, Json], attr: str) -> list[str]:
    if attr == "emails.value":
        emails = item.get("emails")
        return [str(e.get("value")) for e in emails or [] if isinstance(e, dict)]
    value = A.read(item, attr)
    return [value] if isinstance(value, str) and value else []
