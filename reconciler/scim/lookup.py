"""Lookup mode (DESIGN §5): for a target that cannot list everything (a capped listing, one
that ignores startIndex, a synthetic one), each declared object is matched through `eq`
filters instead, as Entra ID does, with bounded concurrency.

What this finds is all that is seen: the Observed it returns says so (`lookup`), so the
plan never takes an object it did not look up for absent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from reconciler.core.config import Spec, Target
from reconciler.core.match import NAME_ATTRIBUTE, declared_value
from reconciler.core.model import Capabilities, Declared, Observed, Resource
from reconciler.core.targetview import target_view
from reconciler.errors import TargetError, UsageError
from reconciler.expressions.dotnet_dates import Clock
from reconciler.scim.client import ScimClient
from reconciler.scim.progress import Progress
from reconciler.scim.search import Found, search

# Per declared object, its matching (attribute, value) pairs in precedence order.
Keys = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Wanted:
    """What lookup mode searches for: the declared users and groups, by matching values."""

    users: tuple[Keys, ...]
    groups: tuple[Keys, ...]

    @classmethod
    def of(cls, target: Target, users: Iterable[Declared], groups: Iterable[Declared]) -> Wanted:
        """The matching values of every declared object, as the target sees it (mapped),
        then its former names (`previously`) on its name attribute: matching tries those
        last (core/match), so a renamed object is found under its old name, never created
        anew beside it."""

        def keys(obj: Declared, attributes: Sequence[str]) -> Keys:
            pairs = [(a, declared_value(obj, a)) for a in attributes]
            pairs += [(NAME_ATTRIBUTE[obj.kind], old) for old in obj.previously]
            return tuple((a, v) for a, v in pairs if v is not None)

        return cls(
            tuple(k for u in users if (k := keys(u, target.user_matching))),
            tuple(k for g in groups if (k := keys(g, target.group_matching))),
        )

    @classmethod
    def later(
        cls, spec: Spec, target: Target, now: Clock | None, new_guid: Callable[[], str] | None
    ) -> Callable[[], Wanted]:
        """What lookup mode will look up, should the target's listing prove unusable: every
        declared object, mapped as this target sees it (matching goes through mappings).
        Computed only then: for a large spec the target view costs seconds."""

        def wanted() -> Wanted:
            view = target_view(spec, target, now, new_guid)
            return cls.of(target, view.all_users, view.groups)

        return wanted


def look_up(
    client: ScimClient,
    target: Target,
    caps: Capabilities,
    wanted: Wanted,
    log: Any,
    progress: Progress | None = None,
    *,
    short: bool = False,
) -> Observed:
    """Every declared object looked up by its matching attributes, in precedence order.

    The first attribute whose filter finds anything decides, as matching does (core/match).
    A filter that is refused proves nothing, and a listing found `short` (capped) when read
    proved something was hidden: either way the Observed is marked incomplete, so the plan
    withholds deprovisions and removals, and apply looks again before each create.
    """
    reason = caps.lookup_reason or "lookup mode"
    if not caps.filter_honoured:
        raise TargetError(
            f"target '{target.name}' cannot list everything ({reason}), and does not honour "
            "eq filters either, so scimrec cannot match objects there"
        )
    tasks = [("/Users", k) for k in wanted.users] + [("/Groups", k) for k in wanted.groups]
    done = [0]

    def one(task: tuple[str, Keys]) -> tuple[str, Found]:
        endpoint, keys = task
        found = Found([], True)
        unsure: list[Resource] = []
        for attribute, value in keys:
            found = search(
                client, endpoint, attribute, value, target.page_size, listing=False,
                no_match_404=caps.filter_no_match_404,
            )  # fmt: skip
            # An answer masked as it arrived is kept (core/masked.py decides what it may
            # be), but proves nothing: the next attribute is still asked, as matching would.
            unsure += found.masked
            if found.resources or not found.conclusive:
                break
        found = dataclasses.replace(found, masked=tuple(unsure))
        done[0] += 1
        if progress is not None:
            progress.reading("lookups", done[0], len(tasks))
        return endpoint, found

    with ThreadPoolExecutor(max_workers=target.concurrency) as pool:
        results = list(pool.map(one, tasks))
    users: dict[str, list[Resource]] = {}
    groups: dict[str, list[Resource]] = {}
    for endpoint, found in results:
        into = users if endpoint == "/Users" else groups
        for found_one in (*found.resources, *found.masked):
            # Two lookups may answer one id with different content (a target changing, or
            # lying): every copy is kept, and the plan decides from none (core/shape.py).
            copies = into.setdefault(found_one.id, [])
            if all(c.body != found_one.body for c in copies):
                copies.append(found_one)
    unsure = sum(1 for _, found in results if not found.conclusive)
    notes = [
        f"lookup mode: {reason}; each declared object was looked up through eq filters "
        f"({len(tasks)} objects); objects not declared were not seen, so none is pruned, "
        "deprovisioned or removed from a group"
    ]
    if unsure:
        notes.append(f"{unsure} lookup(s) were refused by the target and proved nothing")
    log.info(
        "looked up",
        step="import",
        outcome="lookup_mode",
        objects=len(tasks),
        users=len(users),
        groups=len(groups),
        refused=unsure,
    )
    return Observed(
        users=tuple(r for copies in users.values() for r in copies),
        groups=tuple(r for copies in groups.values() for r in copies),
        capabilities=caps,
        complete=unsure == 0 and not short,
        notes=tuple(notes),
        lookup=True,
    )


def refuse_without_listing(target: Target, observed: Observed) -> None:
    """What needs a full listing cannot run in lookup mode: finding undeclared objects.

    A listing found capped only when read is an incomplete read (complete is False): its
    plan withholds every deprovision, as after any short read, and says so.
    """
    if observed.lookup and observed.complete and target.prune != "none":
        reason = observed.capabilities.lookup_reason
        raise UsageError(
            f"target '{target.name}' cannot list everything ({reason}), so prune: "
            f"{target.prune} cannot find the undeclared objects it would deprovision; set "
            "prune: none for this target (declared objects with state: absent are still "
            "deprovisioned)"
        )
