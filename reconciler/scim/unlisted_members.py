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
from reconciler.core.members import says_group
from reconciler.core.model import Json, Kind, Observed, Resource
from reconciler.errors import ScimrecError
from reconciler.scim.client import ScimClient
from reconciler.scim.writes import resource_path

# Groups read one by one at most, nested ones included: past this many, the rest are
# counted as the listing showed them (a note says so).
MAX_GROUP_READS = 100


def with_members_read(
    client: ScimClient, observed: Observed, changes: Iterable[Change], log: Any
) -> Observed:
    """`observed` with the members of each group `changes` take away (and of the groups
    nested in them) read from the target where its listing left them out; `observed`
    itself when there was nothing to read."""
    groups = {g.id: g for g in observed.groups}
    todo = [_taken(c) for c in changes]
    pending = [gid for gids in todo for gid in gids]
    filled: dict[str, Resource] = {}
    done: set[str] = set()
    reads = 0
    while pending:
        gid = pending.pop()
        group = groups.get(gid)
        if gid in done or group is None:
            continue
        done.add(gid)
        if not isinstance(group.body.get("members"), list):
            if reads >= MAX_GROUP_READS:
                note = (
                    f"more than {MAX_GROUP_READS} groups to take away were listed without "
                    "their members: the rest are counted as the listing showed them"
                )
                log.warning("members unread", step="import", detail=note)
                observed = dataclasses.replace(observed, notes=(*observed.notes, note))
                break
            reads += 1
            members = _read_members(client, gid, log)
            if members is None:
                continue
            group = dataclasses.replace(group, body={**group.body, "members": members})
            filled[gid] = group
        pending += _nested(group.body)
    if not filled:
        return observed
    # Members read one by one, not from the listing's pages: shape.py checks every body again.
    read = tuple(filled.get(g.id, g) for g in observed.groups)
    return dataclasses.replace(observed, groups=read, representable=False, unmasked=False)


def _taken(change: Change) -> list[str]:
    """The groups a change takes from their members: the group it deletes, and the nested
    groups it removes."""
    out = [m.id for m in change.members_remove if m.type == "Group" and m.id]
    if change.kind is Kind.GROUP and change.action is Action.DELETE and change.target_id:
        out.append(change.target_id)
    return out


def _nested(body: Mapping[str, Json]) -> list[str]:
    members = body.get("members")
    entries = members if isinstance(members, list) else []
    return [
        str(m["value"])
        for m in entries
        if isinstance(m, dict) and says_group(m) and m.get("value") not in (None, "")
    ]


def _read_members(client: ScimClient, group_id: str, log: Any) -> list[Json] | None:
    """The group's members as reading it by its id gives them; None when that read shows
    none either (gone, refused, or a target that never gives them)."""
    try:
        body = client.get(resource_path("/Groups", group_id)).body
    except ScimrecError as exc:  # unread, it is counted as the listing showed it
        log.warning("members unread", step="import", kind="group", target_id=group_id,
                    detail=str(exc))  # fmt: skip
        return None
    if not isinstance(body, dict) or str(body.get("id")) != group_id:
        return None
    members = body.get("members")
    return list(members) if isinstance(members, list) else None
