"""Whether the listings show what scimrec compares (users' attributes, groups' members),
set against a resource's own GET; scim/reads_by_id.py reads one by one where they do not."""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.core.model import Json
from reconciler.doctor.findings import INFO, OK, WARN, Finding, body_of
from reconciler.errors import ScimHTTPError, ScimProtocolError
from reconciler.scim.client import ScimClient
from reconciler.scim.reads_by_id import BARE, MAX_READS, more_than_listed
from reconciler.scim.writes import resource_path

USERS, GROUPS = "attributes listed", "members listed"
NONE_NEEDED = "none needed"


def probe_listed(
    client: ScimClient, users: Sequence[dict[str, Json]], groups: Sequence[dict[str, Json]]
) -> list[Finding]:
    return [_users(client, users), _groups(client, groups)]


def _users(client: ScimClient, users: Sequence[dict[str, Json]]) -> Finding:
    if not users:
        return Finding("paging", USERS, INFO, "no user to look at", NONE_NEEDED)
    own = _own(client, "/Users", users[0].get("id"))
    if own is None:
        return Finding("paging", USERS, INFO, "a listed user's own GET failed", NONE_NEEDED)
    left_out = more_than_listed(own, users[0])
    if not left_out:
        return Finding("paging", USERS, OK, "a listed user shows what its GET shows", NONE_NEEDED)
    seen = f"the /Users listing leaves out {', '.join(left_out)}, which GET /Users/<id> shows"
    if not any(set(u) - BARE for u in users):
        action = f"scimrec reads every user by id on each plan (up to {MAX_READS})"
        return Finding("paging", USERS, WARN, seen, action)
    action = "declared attributes the listing leaves out are written again on every run"
    return Finding("paging", USERS, WARN, seen, action)


def _groups(client: ScimClient, groups: Sequence[dict[str, Json]]) -> Finding:
    if not groups:
        return Finding("groups", GROUPS, INFO, "no group to look at", NONE_NEEDED)
    # Shown means at least one member: some targets answer `members: []` for every group
    # whoever it holds, which says nothing either way.
    if any(g.get("members") for g in groups):
        return Finding("groups", GROUPS, OK, "the /Groups listing shows members", NONE_NEEDED)
    rid = groups[0].get("id")
    own = _own(client, "/Groups", rid)
    seen = "the /Groups listing leaves members out; a group's own GET shows them"
    if own is not None and not own.get("members"):
        own = _own(client, "/Groups", rid, {"attributes": "members"})
        seen += " only when asked (attributes=members)"
    if own is None or not own.get("members"):
        seen = "no listed group shows members, nor does the first one's own GET (it may be empty)"
        return Finding("groups", GROUPS, INFO, seen, NONE_NEEDED)
    action = f"scimrec reads every group by id on each plan (up to {MAX_READS})"
    return Finding("groups", GROUPS, WARN, seen, action)


def _own(
    client: ScimClient, endpoint: str, rid: Json, params: dict[str, str] | None = None
) -> dict[str, Json] | None:
    """The resource as its own GET shows it, or None where it cannot be read."""
    if isinstance(rid, bool) or not isinstance(rid, str | int) or rid == "":
        return None
    try:
        body = body_of(client.get(resource_path(endpoint, str(rid)), params))
    except (ScimHTTPError, ScimProtocolError):
        return None
    return body if str(body.get("id")) == str(rid) else None
