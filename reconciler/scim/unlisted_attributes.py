"""Reads by id the users a plan writes attributes to that their listing left out (part of
step 2, `import`, run between two plans as unlisted_members.py is).

A listing may leave out of each user what its own GET shows: Zoom's ListUsers leaves out
the enterprise manager and cost center; some targets leave out `roles` and
`entitlements`, or show every user bare. reads_by_id.py reads every user by id where the
first users it samples show more on their GET, but a sample proves little: its users may
hold nothing more (a service account), and a listing may leave out one attribute only.
Compared as listed, a user's roles look empty, so a plan shows `roles: null → [viewer]`
(a grant), and the write replaces the `admin` role the account holds, counted by no
guard and past `protected`; a manager set to null is never cleared, a cost center is
written again every run.

So after a plan, each user it changes an attribute of that the listing left out (the
key absent, not shown as null) is a candidate: all those whose change touches access
(roles, entitlements, `active`) are read by id (past 1,000, the rest are in error), and
a sample of the others; where any read shows what the listing left out, the rest of
those are read too (past 1,000, compared as listed, with a note). The plan is then made
again from what was read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from reconciler.core import attributes as A
from reconciler.core import inactive
from reconciler.core.changes import Action, Change
from reconciler.core.config import Target
from reconciler.core.diff import is_empty
from reconciler.core.model import ENTERPRISE_URN, Json, Kind, Observed, Resource
from reconciler.core.roles_held import role_paths
from reconciler.scim.client import ScimClient
from reconciler.scim.reads_by_id import MAX_READS, read_user

# Candidates whose change touches no access read first, to tell whether the listing
# leaves their attributes out; the rest only where one of these shows it does.
SAMPLE = 5


def with_attributes_read(
    client: ScimClient,
    observed: Observed,
    changes: Iterable[Change],
    target: Target,
    log: Any,
    *,
    max_reads: int = MAX_READS,
    sample: int = SAMPLE,
) -> Observed:
    """`observed` with each user `changes` write an unlisted attribute of read by its id
    (as above), or itself where there was nothing to read. `max_reads` and `sample` are
    the bounds above (smaller in tests)."""
    users = {u.id: u for u in observed.users}
    access = role_paths(target) | {"active"}
    wanted: dict[str, list[str]] = {}
    for change in changes:
        listed = users.get(change.target_id or "")
        if change.kind is not Kind.USER or change.action is Action.CREATE or listed is None:
            continue
        if listed.problem is None:
            paths = [a.path for a in change.attributes if left_out(listed.body, a.path)]
            if paths:
                wanted.setdefault(listed.id, []).extend(paths)
    if not wanted:
        return observed
    first = [uid for uid, paths in wanted.items() if access.intersection(paths)]
    others = [uid for uid in wanted if uid not in set(first)]
    read = _read(client, [users[u] for u in [*first[:max_reads], *others[:sample]]], target)
    # Past the reads allowed, a change that touches access is not made on a guess: in
    # error, whatever the reads showed (the one holding a role may be the last).
    read |= {u: _unread(users[u], max_reads) for u in first[max_reads:]}
    notes: tuple[str, ...] = ()
    if any(_shows_more(read[u], wanted[u]) for u in read):
        rest = [users[u] for u in others if u not in read]
        room = max(0, max_reads - len(read))
        read |= _read(client, rest[:room], target)
        if rest[room:]:
            # No access at stake: compared as listed, as before the read existed, and
            # written, so the next runs read the others (never the same ones in error).
            notes = (
                f"the /Users listing leaves attributes out, and {len(wanted)} users' changes "
                f"write them: {len(rest) - room} were compared as listed, past {max_reads} "
                "read one by one",
            )
            log.warning("attributes not listed", step="import", detail=notes[0])
    else:
        # The listing shows what these hold: planned as listed, but for a change that
        # touches access, a read that failed leaves it unknown, and the user in error.
        read = {u: r for u, r in read.items() if r.problem is not None and u in set(first)}
    shown = sum(1 for u, r in read.items() if r.problem is None and _shows_more(r, wanted[u]))
    log.info("users read one by one", step="import", kind="user", count=len(read), shown=shown)
    if not read and not notes:
        return observed
    # Read one by one, not from the listing's pages: shape.py checks every body again.
    now = tuple(read.get(u.id, u) for u in observed.users)
    replaced = dataclasses.replace(
        observed,
        users=now,
        notes=(*observed.notes, *notes),
        representable=observed.representable and not read,
        unmasked=observed.unmasked and not read,
    )
    return inactive.users_as_meant(target, replaced)  # as observe.py reads them


def left_out(body: Mapping[str, Json], path: str) -> bool:
    """Whether a listed body leaves out the attribute at a spec path: its key absent
    (in any case, RFC 7643 §2.1), or the sub-attribute's within an object it shows."""
    where = A.nested_at(path)
    if where is None:
        head = ENTERPRISE_URN if path.startswith("enterprise") else path.partition(".")[0]
        tail = "manager" if path == "enterprise.manager" else None
    else:
        head, tail = where
    holder = _get(body, head)
    if holder is _ABSENT:
        return True
    return tail is not None and isinstance(holder, dict) and _get(holder, tail) is _ABSENT


_ABSENT = object()


def _get(body: Mapping[str, Json], key: str) -> object:
    if key in body:
        return body[key]
    folded = key.casefold()
    return next((v for k, v in body.items() if k.casefold() == folded), _ABSENT)


def _shows_more(read: Resource, paths: list[str]) -> bool:
    """Whether a user's own GET shows a value at one of `paths` its listing left out."""
    return read.problem is None and any(
        not left_out(read.body, p) and not is_empty(A.read(read.body, p)) for p in paths
    )


def _read(client: ScimClient, users: list[Resource], target: Target) -> dict[str, Resource]:
    """Each user as its own GET shows it, in error where that read failed: taken as
    listed, its change could write over what the listing left out."""
    with ThreadPoolExecutor(max_workers=max(1, target.concurrency)) as pool:
        found = pool.map(lambda u: read_user(client, u), users)
        return {u.id: r for u, r in zip(users, found, strict=True)}


def _unread(user: Resource, max_reads: int) -> Resource:
    return dataclasses.replace(
        user,
        problem=f"the listing leaves attributes out, and more than {max_reads} users' "
        "changes write them: this one was not read by its id",
    )
