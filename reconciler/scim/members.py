"""Asks the target about group members its listing cannot explain (part of step 2, `import`).

A member entry whose value is no listed user is either a user the listing hid (some
targets leave inactive users out of `/Users`, or report a `totalResults` short of the
truth) or a reference to nothing. Which one decides whether removing it is safe, so the
target is asked, one `GET /Users/<value>` each: a user that comes back was hidden, and the
listing is then incomplete (no deprovision or member removal is planned from it); a 404
marks the value dangling, the only unresolved member a plan may remove, once a `userName eq`
filter finds no user by that name either: targets that store userNames as member values
answer 404 for a hidden user's name, which is no id.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from reconciler.core.members import Directory
from reconciler.core.model import GROUP_SCHEMA, MASKED, Json, Observed, Resource
from reconciler.errors import ScimHTTPError, ScimProtocolError
from reconciler.scim.client import ScimClient
from reconciler.scim.resources import resource
from reconciler.scim.search import search
from reconciler.scim.writes import resource_path

# Past this many unexplained members, none is asked about: they all stay in place, and a
# note says so (a target that hides many users is one to read with doctor first).
MAX_MEMBER_CHECKS = 100


def confirm_members(client: ScimClient, observed: Observed, log: Any) -> Observed:
    """The observed state with hidden users found and dangling member values marked."""
    # A value a secret was masked in is no id the target holds (its group is in error,
    # core/shape.py): it is not asked about.
    unresolved = Directory(observed).unresolved(g.body for g in observed.groups)
    values = sorted(v for v in unresolved if MASKED not in v)
    if not values:
        return observed
    if len(values) > MAX_MEMBER_CHECKS:
        note = (
            f"{len(values)} group member values resolve to no listed user; more than "
            f"{MAX_MEMBER_CHECKS}, so none was checked and all are left in place"
        )
        log.warning("members unexplained", step="import", detail=note)
        return dataclasses.replace(observed, notes=(*observed.notes, note))
    hidden: list[Resource] = []
    dangling: set[str] = set()
    for value in values:
        try:
            reply = client.get(resource_path("/Users", value))
        except ScimHTTPError as exc:
            if exc.status != 404:
                continue  # anything else proves nothing: the member stays in place
        except ScimProtocolError:
            continue
        else:
            found = resource(reply.body)
            if found is None or found.id != value:
                continue
            if not _a_group(reply.body):
                hidden.append(found)
                continue
            # A target that serves each resource at either endpoint (one id space for
            # both kinds) answers with the group that has this id: as a 404 would, it
            # says no user has it.
        named = _named(client, value)
        if named is None:
            continue
        if named:
            hidden += [r for r in named if r.id not in {h.id for h in hidden}]
        else:
            dangling.add(value)
    notes = list(observed.notes)
    if hidden:
        names = ", ".join(sorted(str(r.body.get("userName") or r.id) for r in hidden)[:5])
        notes.append(
            f"the target's /Users listing did not show {len(hidden)} user(s) that groups hold "
            f"({names}): the listing is incomplete"
        )
        log.warning("hidden users", step="import", outcome="incomplete", count=len(hidden))
    return dataclasses.replace(
        observed,
        users=observed.users + tuple(hidden),
        complete=observed.complete and not hidden,
        # Read one by one, not from the listing's pages: shape.py checks every body again.
        representable=observed.representable and not hidden,
        unmasked=observed.unmasked and not hidden,
        notes=tuple(notes),
        dangling=frozenset(dangling),
    )


def _a_group(body: Json) -> bool:
    """Whether a resource says it is a group, by its `meta.resourceType` or its schemas."""
    if not isinstance(body, dict):
        return False
    meta, schemas = body.get("meta"), body.get("schemas")
    kind = meta.get("resourceType") if isinstance(meta, dict) else None
    return kind == "Group" or (isinstance(schemas, list) and GROUP_SCHEMA in schemas)


def _named(client: ScimClient, value: str) -> list[Resource] | None:
    """The users whose userName is this member value (a member stored by name), [] when
    the target's filter says there are none, None when it cannot say. A 404 says nothing
    here, even where it means "no match" to a create's look-up (no_match_404 is left
    out): [] lets the plan remove the member, and a removal must rest on a real answer."""
    try:
        found = search(client, "/Users", "userName", value, 1, listing=False)
    except (ScimHTTPError, ScimProtocolError):
        return None
    return found.resources if found.resources or found.conclusive else None
