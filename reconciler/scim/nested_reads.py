"""Reads by id the groups whose nested groups a plan manages (`nested_groups: native`) where
the /Groups listing shows no group nested in any: Fleet (fleetdm/fleet#52501) lists each
group's users but leaves out the groups nested in it, which only `GET /Groups/<id>` shows.
Planned from such a listing, every apply adds a nested group again, and one the spec no
longer names is never taken out while the plan says the target matches the spec."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from reconciler.core.config import Target
from reconciler.core.members import says_group
from reconciler.core.model import Json, Kind, Observed, Resource
from reconciler.core.plan import Plan
from reconciler.errors import ScimHTTPError, ScimrecError
from reconciler.scim.client import ScimClient
from reconciler.scim.reads_by_id import MAX_READS, NO_SUCH_READ
from reconciler.scim.writes import resource_path

# Groups read first, beyond those a plan adds a nested group to; the rest only where one
# of them shows a nested group the listing left out.
SAMPLE = 5


def needed(target: Target, observed: Observed) -> bool:
    """Whether a plan's groups may hold nested groups the read did not show: nesting is
    native, the groups were listed (not each read by its id), and no listed group shows
    a group among its members (one that does shows who is nested in each, as a listing
    that shows some groups' members shows who is in each: RFC 7643 §2.5)."""
    return (
        target.nested_groups == "native"
        and not observed.groups_read_by_id
        and observed.no_groups is None
        and not any(_nests(g.body) for g in observed.groups)
    )


def with_nested_read(
    client: ScimClient, target: Target, observed: Observed, plan: Plan, log: Any
) -> Observed:
    """`observed` with the members `GET /Groups/<id>` shows of each group whose nested
    groups `plan` manages (a present declared group with members, or one it adds a nested
    group to), where `needed`; `observed` itself when no read showed more."""
    if not needed(target, observed):
        return observed
    # Groups it adds a nested group to are read, or each apply would add it again; of the
    # others, a sample first: a listing that hides no nesting (a spec whose groups nest
    # nothing) then costs SAMPLE reads a plan, not one a group.
    adds = {
        c.target_id
        for c in plan.changes
        if c.target_id and any(m.type == "Group" for m in c.members_add)
    }
    managed = set()
    for group in plan.view.groups if plan.view is not None else ():
        match = plan.matches.get((Kind.GROUP, group.key))
        if group.present and group.members is not None and match and match.resource:
            managed.add(match.resource.id)
    usable = [g for g in observed.groups if g.problem is None]
    first = [g for g in usable if g.id in adds]
    rest = [g for g in usable if g.id in managed - adds]
    todo = [*first, *rest[:SAMPLE]]
    if not todo:
        return observed
    read = _read_all(client, target, todo)
    if any(r is not None and r.problem is None for r in read):
        more = rest[SAMPLE:]
        if len(todo) + len(more) > MAX_READS:
            note = (
                f"nesting is native, the listing leaves nested groups out, and "
                f"{len(todo) + len(more)} groups are more than {MAX_READS} to read one by "
                "one: nested groups the listing leaves out are not seen in the rest"
            )
            log.warning("nested groups unread", step="import", detail=note)
            more = more[: max(0, MAX_READS - len(todo))]
            observed = dataclasses.replace(observed, notes=(*observed.notes, note))
        read += _read_all(client, target, more)
        todo += more
    filled = {g.id: g for g in read if g is not None}
    log.info("groups read for nested groups", step="import", kind="group", count=len(todo),
             shown=len(filled))  # fmt: skip
    if not filled:
        return observed
    shown = any(g.problem is None for g in filled.values())
    notes = [
        "the /Groups listing leaves nested groups out (GET /Groups/<id> shows them): the "
        f"{len(todo)} group(s) whose nested groups this plan manages were read by id"
    ][: int(shown)]
    groups = tuple(filled.get(g.id, g) for g in observed.groups)
    # Members read one by one, not from the listing's pages: shape.py checks every body again.
    return dataclasses.replace(
        observed,
        groups=groups,
        notes=(*observed.notes, *notes),
        representable=False,
        unmasked=False,
    )


def _read_all(client: ScimClient, target: Target, groups: list[Resource]) -> list[Resource | None]:
    with ThreadPoolExecutor(max_workers=max(1, target.concurrency)) as pool:
        return list(pool.map(lambda g: _read(client, g), groups))


def _read(client: ScimClient, group: Resource) -> Resource | None:
    """The group with its members as its own GET shows them, where that shows a nested
    group; None where it shows none either (nothing was left out), or no read by id is
    offered. In error where the read failed: taken as listed, a nested group it holds
    would be added again, or kept while the plan said it was gone."""
    try:
        path = resource_path("/Groups", group.id)
        reply = client.get(path)
    except ScimHTTPError as exc:
        if exc.status in NO_SUCH_READ:
            return None
        return _failed(group, str(exc))
    except ScimrecError as exc:
        return _failed(group, str(exc))
    body = reply.body if isinstance(reply.body, dict) else {}
    members = body.get("members")
    if str(body.get("id")) != group.id or not isinstance(members, list):
        return None
    if not _nests(body):
        return None
    return dataclasses.replace(group, body={**group.body, "members": list(members)})


def _failed(group: Resource, why: str) -> Resource:
    return dataclasses.replace(
        group, problem=f"the listing shows no nested group, and reading it by id failed: {why}"
    )


def _nests(body: Mapping[str, Json]) -> bool:
    members = body.get("members")
    entries = members if isinstance(members, list) else []
    return any(isinstance(m, dict) and says_group(m) for m in entries)
