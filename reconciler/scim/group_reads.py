"""Groups whose listing leaves their members out are read one by one (part of step 2,
`import`).

RFC 7643 §4.2 returns `members` by default, but many targets leave them out of a
`/Groups` listing, where they cost the most (Okta and Entra ask for the listing with
`excludedAttributes=members`, and such targets serve it that way to everyone), and show
them only on `GET /Groups/<id>`. Read as listed, every group would look empty: each plan
would add its members again, and no member would ever be removed.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from reconciler.core.model import Resource
from reconciler.errors import ScimHTTPError, ScimProtocolError
from reconciler.scim.client import ScimClient
from reconciler.scim.paging import resource
from reconciler.scim.writes import resource_path

Groups = tuple[Resource, ...]
# Past this many groups, none is read one by one: a note says their members are not known.
MAX_GROUP_READS = 1000


def with_members(
    client: ScimClient, groups: Groups, concurrency: int, log: Any
) -> tuple[Groups, tuple[str, ...]]:
    """`groups` with each read by its id where none shows `members` at all (a listing
    that shows them for some groups shows who is in each: RFC 7643 §2.5, an attribute left
    out has no value); with a note where there are too many to read."""
    if not groups or any("members" in g.body for g in groups):
        return groups, ()
    if len(groups) > MAX_GROUP_READS:
        note = (
            f"the target shows no group's members, and {len(groups)} groups are more than "
            f"{MAX_GROUP_READS} to read one by one: they are taken as listed"
        )
        log.warning("members not listed", step="import", detail=note)
        return groups, (note,)
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        read = tuple(pool.map(lambda g: _read(client, g), groups))
    shown = sum(1 for new, old in zip(read, groups, strict=True) if new is not old)
    log.info("members read one by one", step="import", kind="group", count=shown)
    return read, ()


def _read(client: ScimClient, group: Resource) -> Resource:
    """The group as `GET /Groups/<id>` shows it, where that (or the same asked for its
    `members`) shows its members; else as listed (gone meanwhile, refused, or with no
    members to show: nothing more is known)."""
    try:
        path = resource_path("/Groups", group.id)
    except ScimProtocolError:
        return group  # an id no URL names: that group is in error (core/shape.py)
    found = _get(client, path, group.id)
    if found is None:
        return group
    if isinstance(found.body.get("members"), list):
        return found
    # Some show them only when asked by name (RFC 7644 §3.9), as apply's PUT asks too.
    asked = _get(client, path, group.id, {"attributes": "members"})
    members = asked.body.get("members") if asked is not None else None
    if not isinstance(members, list):
        return group
    return replace(found, body={**found.body, "members": members})


def _get(
    client: ScimClient, path: str, rid: str, params: dict[str, str] | None = None
) -> Resource | None:
    try:
        reply = client.get(path, params)
    except (ScimHTTPError, ScimProtocolError):
        return None
    found = resource(reply.body)
    return found if found is not None and found.id == rid else None
