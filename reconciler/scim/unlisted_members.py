"""Reads the members of the groups a plan takes away (deletes, or nests no more) where the
listing showed none: some targets list groups without their members (to keep the listing
small) and give them only when one group is read by its id. A group taken away takes
itself from every member it holds, so the guards count each of them and `protected`
looks at each (DESIGN §6); counted from a listing that showed no members, deleting a group
of any size would pass the member guards unseen."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from reconciler.core.changes import Action, Change
from reconciler.core.members import names_group, says_group
from reconciler.core.model import Json, Kind, Observed, Resource
from reconciler.errors import ScimHTTPError, ScimrecError
from reconciler.scim.client import ScimClient
from reconciler.scim.resources import resource
from reconciler.scim.writes import resource_path

# Groups read one by one at most, nested ones included: past this many, the rest are
# counted as the listing showed them (a note says so).
MAX_GROUP_READS = 100


def with_members_read(
    client: ScimClient, observed: Observed, changes: Iterable[Change], log: Any
) -> Observed:
    """`observed` with the members of each group `changes` take away (and of the groups
    nested in them) read from the target where its listing left them out, and the nested
    groups it left out read by id (`Observed.unlisted_groups`); `observed` itself when
    there was nothing to read."""
    groups = {g.id: g for g in observed.groups}
    users = frozenset(u.id for u in observed.users)
    changes = list(changes)
    pending = [gid for c in changes for gid in _taken(c, observed.dangling)]
    # A group a change deletes that the read did not hold is no one's to count (apply
    # reads it before the delete); one a member entry names may be a group it left out.
    held = {m.id for c in changes for m in c.members_remove if m.id}.intersection(pending)
    filled: dict[str, Resource] = {}
    unlisted: dict[str, Resource] = {}
    done: set[str] = set()
    reads = 0
    while pending:
        gid = pending.pop()
        if gid in done:
            continue
        group = groups.get(gid)
        listed = group is not None
        if not listed and gid not in held:
            continue
        if group is None or not isinstance(group.body.get("members"), list):
            if reads >= MAX_GROUP_READS:
                note = (
                    f"more than {MAX_GROUP_READS} groups to take away were listed without "
                    "their members: the rest are counted as the listing showed them"
                )
                log.warning("members unread", step="import", detail=note)
                observed = dataclasses.replace(observed, notes=(*observed.notes, note))
                break
            reads += 1
            found = _read_group(client, gid, log, listed)
            members = None if found is None else found.body.get("members")
            if found is None or (listed and not isinstance(members, list)):
                done.add(gid)
                continue
            if group is None:
                group = unlisted[gid] = groups[gid] = found
            else:
                group = dataclasses.replace(group, body={**group.body, "members": members})
                filled[gid] = group
        done.add(gid)
        nested = _nested(group.body, groups, users, observed.dangling)
        held.update(nested)
        pending += nested
    if not filled and not unlisted:
        return observed
    # Members read one by one, not from the listing's pages: shape.py checks every body again.
    read = tuple(filled.get(g.id, g) for g in observed.groups)
    return dataclasses.replace(
        observed,
        groups=read,
        unlisted_groups=(*observed.unlisted_groups, *unlisted.values()),
        # An id a group has names something: no entry of it is removed as naming no one.
        dangling=observed.dangling.difference(unlisted),
        representable=False,
        unmasked=False,
    )


def _taken(change: Change, dangling: frozenset[str]) -> list[str]:
    """The groups a change takes from their members: the group it deletes, and the nested
    groups it removes; and any entry it removes as naming no one (/Users answered 404),
    which a nested group the /Groups listing left out may be, its entry untyped or typed
    User (RFC 7643 makes `type` optional)."""
    out = [
        m.id
        for m in change.members_remove
        if m.id and (m.type == "Group" or (m.key is None and m.id in dangling))
    ]
    if change.kind is Kind.GROUP and change.action is Action.DELETE and change.target_id:
        out.append(change.target_id)
    return out


def _nested(
    body: Mapping[str, Json],
    groups: Mapping[str, Resource],
    users: frozenset[str],
    dangling: frozenset[str],
) -> list[str]:
    """The groups a group holds, as members.names_group tells them (the unlisted ones
    read then), and the entries the target said name no user: a nested group the /Groups
    listing left out reads so, and is read by id before it is taken for no one."""
    members = body.get("members")
    entries = members if isinstance(members, list) else []
    values = (
        (str(m["value"]), says_group(m))
        for m in entries
        if isinstance(m, dict) and m.get("value") not in (None, "")
    )
    return [v for v, said in values if names_group(v, said, groups, users) or v in dangling]


def _read_group(client: ScimClient, group_id: str, log: Any, listed: bool) -> Resource | None:
    """The group as reading it by its id gives it; None when that read shows no group by
    this id (gone, refused, or no group at all: a member naming no one)."""
    try:
        body = client.get(resource_path("/Groups", group_id)).body
    except ScimHTTPError as exc:
        if listed or exc.status != 404:  # unlisted, a 404 is no news: no group has the id
            log.warning("members unread", step="import", kind="group", target_id=group_id,
                        detail=str(exc))  # fmt: skip
        return None
    except ScimrecError as exc:  # unread, it is counted as the listing showed it
        log.warning("members unread", step="import", kind="group", target_id=group_id,
                    detail=str(exc))  # fmt: skip
        return None
    found = resource(body)
    if found is None or found.id != group_id or found.resource_type == "User":
        return None  # one id space for both kinds may answer with a user: no group
    return found
