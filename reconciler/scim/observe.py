"""Step 2, `import`, on the target side: reading what the target holds, in one paged read of
each endpoint, or, where the listing cannot be read whole, by looking up each declared
object (lookup mode, lookup.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from reconciler.core import inactive
from reconciler.core.config import Target
from reconciler.core.model import Capabilities, Observed
from reconciler.errors import ScimHTTPError, TargetError
from reconciler.scim import reads_by_id
from reconciler.scim.client import ScimClient
from reconciler.scim.connection import ABSENT
from reconciler.scim.lookup import Wanted, look_up
from reconciler.scim.members import confirm_members
from reconciler.scim.paging import Listing, read_all
from reconciler.scim.progress import Progress
from reconciler.scim.sharing import Shared


def observe(
    client: ScimClient,
    target: Target,
    caps: Capabilities,
    log: Any,
    user_filter: str | None = None,
    progress: Progress | None = None,
    wanted: Callable[[], Wanted] | None = None,
) -> Observed:
    """The import step on the target side: users and groups, each in one paged read (by
    cursor where the target advertises it, RFC 9865).

    With `wanted` (the declared objects), a listing that cannot be read whole (found so by
    test_connection, or capped when read) gives way to lookup mode. Without it (import),
    such a target is refused: a partial listing would be taken for the whole. Users come
    back as the target means them (core/inactive.py).
    """
    read = _observe(client, target, caps, log, user_filter, progress, wanted)
    return inactive.users_as_meant(target, read)


def _observe(
    client: ScimClient,
    target: Target,
    caps: Capabilities,
    log: Any,
    user_filter: str | None,
    progress: Progress | None,
    wanted: Callable[[], Wanted] | None,
) -> Observed:
    if caps.lookup_reason is not None:
        if wanted is None:
            raise TargetError(
                f"target '{target.name}' cannot list everything ({caps.lookup_reason}), "
                "and reading all of it is what this command needs"
            )
        return _members(client, target, look_up(client, target, caps, wanted(), log, progress), log)
    size = min(target.page_size, caps.max_page_size or target.page_size)
    bound, cursor = target.max_objects, caps.cursor_paging
    # Users first, then groups, through one Shared: each member entry then holds its user's
    # own id string, and equal entries are one object (sharing.py).
    shared = Shared()
    count = not caps.count_refused
    users = read_all(
        client, "/Users", size, user_filter, progress, bound, cursor=cursor, shared=shared,
        use_count=count,
    )  # fmt: skip
    read, notes = reads_by_id.in_full(client, users.resources, target.concurrency, log)
    if read is not users.resources:  # bodies read one by one: none proven representable
        users = dataclasses.replace(users, resources=read, representable=False, unmasked=False)
    users = dataclasses.replace(users, notes=users.notes + notes)
    shared.users_read(users.resources)
    no_groups = None
    try:
        groups = read_all(
            client, "/Groups", size, None, progress, bound, cursor=cursor, shared=shared,
            use_count=count,
        )  # fmt: skip
    except ScimHTTPError as exc:
        if exc.status not in ABSENT:
            raise
        groups, no_groups = _no_groups(exc, log), f"GET /Groups answered {exc.status}"
    del shared
    capped = next((x for x in (users, groups) if x.capped), None)
    if capped is not None and wanted is not None and user_filter is None and caps.filter_honoured:
        # Declared objects past the cap would look missing every run: look them up. The
        # read was short all the same, so the plan treats it as incomplete (withholds
        # deprovisions and removals; apply looks before each create).
        reason = f"the listing is capped: {capped.notes[-1]}"
        log.warning("listing unusable", step="import", outcome="lookup_mode", detail=reason)
        caps = dataclasses.replace(caps, lookup_reason=reason)
        found = look_up(client, target, caps, wanted(), log, progress, short=True)
        return _members(client, target, found, log)
    read, notes = reads_by_id.with_members(client, groups.resources, target.concurrency, log)
    by_id = read is not groups.resources
    if by_id:  # bodies read one by one: none proven representable
        groups = dataclasses.replace(groups, resources=read, representable=False, unmasked=False)
    groups = dataclasses.replace(groups, notes=groups.notes + notes)
    for kind, listing in (("user", users), ("group", groups)):
        log.info(
            "read target",
            step="import",
            kind=kind,
            outcome="complete" if listing.complete else "incomplete",
            count=len(listing.resources),
            pages=listing.pages,
        )
        for note in listing.notes:
            log.warning("short read", step="import", kind=kind, detail=note)
    observed = Observed(
        users=users.resources,
        groups=groups.resources,
        capabilities=caps,
        complete=users.complete and groups.complete,
        notes=users.notes + groups.notes,
        representable=users.representable and groups.representable,
        unmasked=users.unmasked and groups.unmasked,
        no_groups=no_groups,
        groups_read_by_id=by_id,
    )
    # A filtered read leaves users out on purpose: nothing to learn from their absence.
    # (Lookup mode returned above: there, every member not looked up is unseen, and is
    # never removed, so nothing needs confirming.)
    return observed if user_filter else confirm_members(client, observed, log)


def _no_groups(exc: ScimHTTPError, log: Any) -> Listing:
    """The groups of a target that has no /Groups endpoint (many apps take users only):
    none, which the listing proves as well as an empty one would: nothing is pruned or
    removed from it. A declared group is in error (core/plan.py): the answer may have been
    a passing one, and planned from it, every group that exists would be created again."""
    note = (
        f"the target has no /Groups endpoint (GET /Groups answered {exc.status}): it holds "
        "no groups, and declared groups cannot be planned there"
    )
    log.warning("no groups endpoint", step="import", detail=note)
    return Listing((), True, (note,), 0, representable=True, unmasked=True)


def _members(client: ScimClient, target: Target, observed: Observed, log: Any) -> Observed:
    """Objects looked up one by one, with what a filter's answer left out: users' attributes
    and groups' members (reads_by_id.py)."""
    users, user_notes = reads_by_id.in_full(client, observed.users, target.concurrency, log)
    read, notes = reads_by_id.with_members(client, observed.groups, target.concurrency, log)
    return dataclasses.replace(
        observed,
        users=users,
        groups=read,
        notes=observed.notes + user_notes + notes,
        groups_read_by_id=read is not observed.groups,
    )
