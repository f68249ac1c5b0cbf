"""Lookup mode (DESIGN §5): for a target that cannot list everything (a capped listing, one
that ignores startIndex, a synthetic one), each declared object is matched through `eq`
filters instead, as Entra ID does, with bounded concurrency.

What this finds is all that is seen: the Observed it returns says so (`lookup`), so the
plan never takes an object it did not look up for absent. And an empty answer is believed
only from a filter shown to work in the run (`unproven`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from reconciler.core import attributes as A
from reconciler.core.config import Spec, Target
from reconciler.core.match import NAME_ATTRIBUTE, declared_value
from reconciler.core.model import Capabilities, Declared, Kind, Observed, Resource
from reconciler.core.targetview import target_view
from reconciler.errors import ScimrecError, TargetError, UsageError
from reconciler.expressions.dotnet_dates import Clock
from reconciler.scim.client import ScimClient
from reconciler.scim.progress import Progress
from reconciler.scim.resources import listed, resource
from reconciler.scim.search import Found, search

# Per declared object, its matching (attribute, value) pairs in precedence order.
Keys = tuple[tuple[str, str], ...]
_KIND = {"/Users": Kind.USER, "/Groups": Kind.GROUP}


@dataclass(frozen=True)
class Wanted:
    """What lookup mode searches for: the declared users and groups, by matching values."""

    users: tuple[Keys, ...]
    groups: tuple[Keys, ...]
    # Those of declared `state: absent` objects: where one is not found, the filters asked
    # must be shown to work (`_unproven`), or nothing says it is not there.
    absent: frozenset[Keys] = frozenset()

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

        user_keys = [(u, keys(u, target.user_matching)) for u in users]
        group_keys = [(g, keys(g, target.group_matching)) for g in groups]
        return cls(
            tuple(k for _, k in user_keys if k),
            tuple(k for _, k in group_keys if k),
            frozenset(k for o, k in (*user_keys, *group_keys) if k and not o.present),
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
    withholds deprovisions and removals, and apply looks again before each create. Each
    refused lookup is named (`refused`): a declared absent object behind one is in error.
    """
    reason = caps.lookup_reason or "lookup mode"
    if not caps.filter_honoured:
        raise TargetError(
            f"target '{target.name}' cannot list everything ({reason}), and does not honour "
            "eq filters either, so scimrec cannot match objects there"
        )
    tasks = [("/Users", k) for k in wanted.users] + [("/Groups", k) for k in wanted.groups]
    done = [0]
    # Each (endpoint, attribute) filter asked, and whether it found anyone. Threads only
    # ever set an entry True (or add one False), so no lock is needed (the GIL).
    asked: dict[tuple[str, str], bool] = {}

    def one(task: tuple[str, Keys]) -> tuple[str, Found, tuple[str, str] | None]:
        endpoint, keys = task
        found = Found([], True)
        unsure: list[Resource] = []
        asked_last: tuple[str, str] | None = None
        for attribute, value in keys:
            asked_last = (attribute, value)
            asked.setdefault((endpoint, attribute), False)
            found = search(
                client, endpoint, attribute, value, target.page_size, listing=False,
                no_match_404=caps.filter_no_match_404,
            )  # fmt: skip
            # An answer masked as it arrived is kept (core/masked.py decides what it may
            # be), but proves nothing: the next attribute is still asked, as matching would.
            unsure += found.masked
            if found.resources:
                asked[(endpoint, attribute)] = True  # it works: its empty answers are believed
            if found.resources or not found.conclusive:
                break
        found = dataclasses.replace(found, masked=tuple(unsure))
        done[0] += 1
        if progress is not None:
            progress.reading("lookups", done[0], len(tasks))
        # The lookup that stopped it unanswered: the plan names it, where it hid an object.
        return endpoint, found, (None if found.conclusive else asked_last)

    with ThreadPoolExecutor(max_workers=target.concurrency) as pool:
        results = list(pool.map(one, tasks))
    users: dict[str, list[Resource]] = {}
    groups: dict[str, list[Resource]] = {}
    for endpoint, found, _ in results:
        into = users if endpoint == "/Users" else groups
        for found_one in (*found.resources, *found.masked):
            # Two lookups may answer one id with different content (a target changing, or
            # lying): every copy is kept, and the plan decides from none (core/shape.py).
            copies = into.setdefault(found_one.id, [])
            if all(c.body != found_one.body for c in copies):
                copies.append(found_one)
    refused = frozenset(
        (_KIND[endpoint], *pair) for endpoint, _, pair in results if pair is not None
    )
    unsure = sum(1 for _, found, _ in results if not found.conclusive)
    # Declared absent objects no filter found (none refused, none answered masked). One
    # whose lookup was refused is in error in the plan (`refused`, core/unproven.py).
    missing = [
        task
        for task, (_, f, _) in zip(tasks, results, strict=True)
        if task[1] in wanted.absent and f.conclusive and not (f.resources or f.masked)
    ]
    unproven = _unproven(
        client, target, caps, asked, missing, {"/Users": users, "/Groups": groups}, log
    )
    notes = [
        f"lookup mode: {reason}; each declared object was looked up through eq filters "
        f"({len(tasks)} objects); objects not declared were not seen, so none is pruned, "
        "deprovisioned or removed from a group"
    ]
    if unsure:
        notes.append(
            f"{unsure} lookup(s) were refused by the target and proved nothing: a declared "
            "state: absent object among them is in error (it may exist), and one to create "
            "is looked up again by apply"
        )
    log.info(
        "looked up",
        step="import",
        outcome="lookup_mode",
        objects=len(tasks),
        users=len(users),
        groups=len(groups),
        refused=unsure,
        unproven=sorted(f"{kind.value} {attribute}" for kind, attribute in unproven),
    )
    return Observed(
        users=tuple(r for copies in users.values() for r in copies),
        groups=tuple(r for copies in groups.values() for r in copies),
        capabilities=caps,
        complete=unsure == 0 and not short,
        notes=tuple(notes),
        lookup=True,
        unproven=unproven,
        refused=refused,
    )


def _unproven(
    client: ScimClient,
    target: Target,
    caps: Capabilities,
    asked: dict[tuple[str, str], bool],
    missing: list[tuple[str, Keys]],
    found: dict[str, dict[str, list[Resource]]],
    log: Any,
) -> frozenset[tuple[Kind, str]]:
    """The filters a declared absent object was not found by that are not shown to work.

    Snowflake (before BCR 2026_03) answers a filter it does not support with 200 and no
    Resources, so an empty answer is believed only from a filter that found someone in
    the run. One the lookups did not prove is asked once for a value known to exist (that
    of an object another filter found): targets whose filters work pay nothing or one
    request per attribute, and only where an absent object was not found."""
    doubted = {
        (endpoint, attribute)
        for endpoint, keys in missing
        for attribute, _ in keys
        if not asked.get((endpoint, attribute), True)
    }
    out: set[tuple[Kind, str]] = set()
    for endpoint, attribute in sorted(doubted):
        if not _works(client, target, caps, endpoint, attribute, found[endpoint]):
            out.add((_KIND[endpoint], attribute))
    if out:
        log.warning(
            "filters unproven",
            step="import",
            outcome="lookup_mode",
            detail="an eq filter found nothing for anyone, so its empty answers prove nothing",
            filters=sorted(f"{kind.value} {attribute}" for kind, attribute in out),
        )
    return frozenset(out)


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


def _works(
    client: ScimClient,
    target: Target,
    caps: Capabilities,
    endpoint: str,
    attribute: str,
    found: dict[str, list[Resource]],
) -> bool:
    """Whether the `eq` filter on `attribute` finds an object found by another attribute,
    by that object's value: the one probe that can show it works. Without such a value,
    or where the probe finds nothing or is refused, it is not shown to work."""
    known: list[Resource] | None = [r for copies in found.values() for r in copies]
    if not known:
        # Nothing was found by any filter: the listing's first page names what exists.
        # Empty, the target holds no such object, and "not found" is the truth (a first
        # run against an empty tenant); one it shows is a value to probe with.
        known = _first_listed(client, endpoint)
        if known == []:
            return True
    value = next(
        (v for r in known or () if isinstance(v := A.read(r.body, attribute), str) and v),
        None,
    )
    if value is None:
        return False
    try:
        probe = search(
            client, endpoint, attribute, value, target.page_size, listing=False,
            no_match_404=caps.filter_no_match_404,
        )  # fmt: skip
    except ScimrecError:
        return False
    return bool(probe.resources)


def _first_listed(client: ScimClient, endpoint: str) -> list[Resource] | None:
    """The objects the first page of `endpoint`'s listing shows; None where it cannot be
    read (lookup mode's listing may be refused or capped, never empty when it is not)."""
    try:
        body = client.get(endpoint, {"startIndex": "1", "count": "10"}).body
        items = listed(body, f"GET {endpoint}") if isinstance(body, dict) else None
    except ScimrecError:
        return None
    if items is None:
        return None
    return [r for item in items if (r := resource(item)) is not None]
