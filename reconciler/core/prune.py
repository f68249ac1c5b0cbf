"""Pruning and protection (DESIGN §2, §6): which undeclared objects a target deprovisions.

`prune: none` touches nothing undeclared. `prune: all` deprovisions every undeclared
object. `prune: owned` deprovisions only undeclared objects whose `externalId` starts with
the target's `ownership.external_id_prefix`: scimrec writes the declared externalIds, which
must carry that prefix, so ownership is read from the target alone, with no state file.
`protected` patterns are never disabled or deleted, whatever the spec says (spare.py).
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence

from reconciler.core.changes import Action, Change, ObjectError
from reconciler.core.config import Target
from reconciler.core.diff import AttrChange
from reconciler.core.match import Match, normalise
from reconciler.core.model import Declared, Kind, Observed, Resource
from reconciler.core.twins import twin_errors, twins

NAME = {Kind.USER: "userName", Kind.GROUP: "displayName"}


def protected(target: Target, name: str | None) -> bool:
    """Whether a userName or displayName matches a `protected` pattern, compared the way
    matching compares names (NFKC, case-folded, surrounding whitespace ignored)."""
    if not name:
        return False
    folded = normalise("userName", name)
    return any(_pattern(normalise("userName", p)).fullmatch(folded) for p in target.protected)


@functools.lru_cache(maxsize=1024)
def _pattern(pattern: str) -> re.Pattern[str]:
    """`*` is any run of characters, `?` any one; everything else is itself. Not fnmatch:
    there `[prod]` is a character set, and "Admins [prod]" would protect nothing."""
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL)


def owned(target: Target, resource: Resource) -> bool:
    external = resource.body.get("externalId")
    prefix = target.ownership_prefix
    return bool(prefix) and isinstance(external, str) and external.startswith(prefix or "")


def prune_changes(
    target: Target,
    observed: Observed,
    matches: Mapping[tuple[Kind, str], Match],
    spare: frozenset[Kind] = frozenset(),
) -> list[Change]:
    """Deprovisions for undeclared objects, per the target's prune policy; none of the
    kinds in `spare` (mapping.unknown_accounts)."""
    out: list[Change] = []
    for kind, resource, key in _keyed(_strays(target, observed, matches, spare)):
        change = _deprovision(kind, resource, target, key)
        if change is not None:
            out.append(change)
    return out


def disabled_strays(
    target: Target,
    observed: Observed,
    matches: Mapping[tuple[Kind, str], Match],
    spare: frozenset[Kind] = frozenset(),
) -> list[tuple[str, Resource]]:
    """Undeclared users prune covers that are already disabled (nothing left to change,
    unless `delete_after` deletes them), with the key a plan names them by."""
    if target.deprovision != "disable":
        return []
    return [
        (key, resource)
        for kind, resource, key in _keyed(_strays(target, observed, matches, spare))
        if kind is Kind.USER and resource.body.get("active") is False
    ]


def _keyed(strays: Iterable[tuple[Kind, Resource]]) -> list[tuple[Kind, Resource, str]]:
    """Each stray with the key a plan names it by: its name, or its name and id where
    another stray of its kind has that name (group names need not be unique). A plan
    file holds one change per key: two deletes of "Contractors" made one apply refused."""
    listed = [(kind, resource, _key(kind, resource)) for kind, resource in strays]
    seen = Counter((kind, key) for kind, _, key in listed)
    return [(k, r, n if seen[(k, n)] == 1 else f"{n} (id {r.id})") for k, r, n in listed]


def _strays(
    target: Target,
    observed: Observed,
    matches: Mapping[tuple[Kind, str], Match],
    spare: frozenset[Kind] = frozenset(),
) -> Iterator[tuple[Kind, Resource]]:
    """The undeclared objects the target's prune policy covers, of no kind in `spare`."""
    if target.prune == "none":
        return
    claimed = {(kind, m.resource.id) for (kind, _), m in matches.items() if m.resource}
    claimed |= set(twins(target, observed, matches))  # in error instead: twin_strays
    claimed |= {
        (kind, cid)
        for (kind, _), m in matches.items()
        if m.error
        for attempt in m.attempts
        for cid in attempt.candidates
    }
    for kind, resources in ((Kind.USER, observed.users), (Kind.GROUP, observed.groups)):
        if kind in spare:
            continue
        for resource in resources:
            if (kind, resource.id) in claimed or resource.problem is not None:
                continue  # an unreadable object is never deprovisioned: unreadable_strays
            if target.prune == "owned" and not owned(target, resource):
                continue
            yield kind, resource


def twin_strays(
    target: Target,
    observed: Observed,
    matches: Mapping[tuple[Kind, str], Match],
    declared: Sequence[Declared] = (),
) -> list[ObjectError]:
    """Undeclared objects prune would take but for a matching value they share with a
    declared object's account (twins.py): each one in error, never deprovisioned.

    The twin of an object `declared` absent is in error whatever prune says: the plan
    deprovisions the one account matched, and the person's other account, left as it is,
    must not go unseen (matching may well find it next run, for a deprovision no reviewed
    plan showed)."""
    if target.prune == "none" and not declared:
        return []
    found = twins(target, observed, matches)
    if not found:
        return []
    absent = {(o.kind, o.key) for o in declared if not o.present}
    held = {
        (k, r.id): r
        for k, rs in ((Kind.USER, observed.users), (Kind.GROUP, observed.groups))
        for r in rs
    }
    # Only where prune would have acted (or the object is absent): an account outside
    # `owned`'s prefix, one already disabled that nothing will delete, or a protected one
    # (spare_protected) was never going to be touched.
    return twin_errors(
        {
            key: twin
            for key, twin in found.items()
            if (resource := held.get(key)) is not None
            and ((key[0], twin[1]) in absent or _prunes(target, resource))
            and not _settled(key[0], resource, target)
            and not _protected_name(target, key[0], resource)
        },
        absent,
    )


def _prunes(target: Target, resource: Resource) -> bool:
    return target.prune == "all" or (target.prune == "owned" and owned(target, resource))


def _protected_name(target: Target, kind: Kind, resource: Resource) -> bool:
    name = resource.body.get(NAME[kind])
    return protected(target, name if isinstance(name, str) else None)


def _settled(kind: Kind, resource: Resource, target: Target) -> bool:
    """An undeclared user already disabled, on a target that disables and never deletes
    later: prune has nothing left to do to it."""
    return (
        kind is Kind.USER
        and target.deprovision == "disable"
        and target.delete_after is None
        and resource.body.get("active") is False
    )


def unreadable_strays(
    target: Target, observed: Observed, matches: Mapping[tuple[Kind, str], Match]
) -> list[ObjectError]:
    """Undeclared objects prune would look at but cannot read: each one in error, so the
    run says so instead of deprovisioning (or silently skipping) what it cannot see."""
    if target.prune == "none":
        return []
    claimed = {
        (kind, cid) for (kind, _), m in matches.items() for a in m.attempts for cid in a.candidates
    }
    return [
        ObjectError(
            kind, r.id, "import", f"the target's {kind.value} {r.id} cannot be read: {r.problem}"
        )
        for kind, resources in ((Kind.USER, observed.users), (Kind.GROUP, observed.groups))
        for r in resources
        if r.problem is not None and (kind, r.id) not in claimed
    ]


def _key(kind: Kind, resource: Resource) -> str:
    name = resource.body.get(NAME[kind])
    return name if isinstance(name, str) and name else resource.id


def _deprovision(kind: Kind, resource: Resource, target: Target, key: str) -> Change | None:
    reason = f"not declared (prune: {target.prune})"
    attributes: tuple[AttrChange, ...] = ()
    if kind is Kind.GROUP or target.deprovision == "delete":
        action = Action.DELETE
    elif resource.body.get("active") is False:
        return None
    else:
        action = Action.DISABLE
        attributes = (AttrChange("active", resource.body.get("active"), False),)
    return Change(
        kind=kind,
        key=key,
        action=action,
        reason=reason,
        target_id=resource.id,
        version=resource.version,
        attributes=attributes,
    )
