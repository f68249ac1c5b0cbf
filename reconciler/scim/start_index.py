"""Whether a listing that ended as SCIMMY's do honours startIndex.

SCIMMY serves any startIndex past the end as the first page, so the one request scimrec
sends past totalResults, answered with the first page again, confirms the end (paging.py).
A target that ignores startIndex and caps its page at a "total" of its own answers the
same (AWS IAM Identity Center's ListGroups: 50 at most, the count it sent as
totalResults): taken as the end, the groups past the cap looked missing, were created
again on each run, and kept members the spec had removed. One request tells the two
apart: on such a target the page from the second resource starts at the first.
"""

from __future__ import annotations

from reconciler.errors import ScimHTTPError, ScimProtocolError
from reconciler.scim.client import ScimClient
from reconciler.scim.resources import listed, resource


def ignored(
    client: ScimClient, endpoint: str, params: dict[str, str | int], first: str
) -> tuple[str, bool] | None:
    """Why `endpoint`'s listing is not known complete, and whether that is because it
    ignores startIndex (`params`: the listing's own, from the second resource; `first`:
    the id of its first resource); None where the page from the second resource does not
    start at the first (startIndex honoured, the end confirmed)."""
    if "count" in params:
        params = {**params, "count": 1}
    try:
        body = client.get(endpoint, params).body
        if not isinstance(body, dict):
            raise ScimProtocolError(f"GET {endpoint} did not answer a ListResponse object")
        items = listed(body, f"GET {endpoint}")
    except (ScimHTTPError, ScimProtocolError) as exc:
        return f"{endpoint}: whether startIndex is honoured is not known ({exc})", False
    found = resource(items[0]) if items else None
    if found is None or found.id != first:
        return None
    note = (
        f"{endpoint}: startIndex is ignored (the page from the second resource starts at "
        "the first), so only the first page can be read"
    )
    return note, True
