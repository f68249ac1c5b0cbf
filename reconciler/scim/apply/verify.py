"""Write verification (DESIGN §5): what the target holds after a write, compared with what
was sent, the way the plan compares (so "not kept" means "the next plan proposes it again").

Session.verify runs it after every write of attributes; what is lost is reported as a
warning that names the fix, and never sent again as it was: a target that did not keep an
attribute will not keep it the second time. After a PATCH, what `repairs` can say in a
narrower RFC 7644 form is sent once in that form (scimgateway, for one, merges a replace
of a typed multi-valued attribute by type, and reads a manager's `{"value": id}` as a list).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import unquote

from reconciler.core import attributes as A
from reconciler.core.changes import deactivates
from reconciler.core.diff import AttrChange, equal, is_empty
from reconciler.core.model import ENTERPRISE_URN, Json
from reconciler.core.roles_held import lost_roles, roles_in
from reconciler.core.shape import multi_valued
from reconciler.scim.resources import boolean


def lost(sent: Sequence[AttrChange], held: Mapping[str, Json], ids: Mapping[str, str]) -> list[str]:
    """The paths of `sent` whose value `held` (the resource after the write) does not hold."""
    out = []
    for change in sent:
        if change.path in A.SECRET_PATHS:
            continue  # write-only: it cannot be read back (RFC 7643 §7, returned: never)
        want = change.after if change.ref is None else (change.after or ids.get(change.ref))
        if change.ref is not None and want is None:
            continue  # a reference still waiting for its user: not sent
        have = A.read(held, change.path)
        if change.path == "active" and isinstance(have, str):
            have = boolean(have)  # as a read takes it (scim/paging.py)
        # Compared as a plan compares, so only as a plan reads it (core/shape.py): emails of
        # mixed types cannot even be sorted into a set, and hold nothing as sent.
        if multi_valued(change.path, have) is not None or not equal(change.path, want, have):
            out.append(change.path)
    return out


def access_kept(
    sent: Sequence[AttrChange], held: Mapping[str, Json], dropped: Sequence[str],
    roles: frozenset[str],
) -> str | None:  # fmt: skip
    """Why a write the target answered with success failed to take access away, or None.

    An attribute the target did not keep is a warning, and the next plan proposes it
    again; but a disable (`active` set to anything but true) the account still shows as
    active, or a role taken away it still holds, leaves the access the change took away:
    reported done, the account would keep it run after run (a target that ignores
    `active: false`). Such a change fails, as a delete still served does."""
    for change in sent:
        if change.path not in dropped:
            continue
        if change.path == "active" and deactivates(change.after):
            have = A.read(held, "active")
            if (boolean(have) if isinstance(have, str) else have) is True:
                return (
                    "the target answered success but still shows the account active: not "
                    "disabled; use deprovision: delete, or disable it in the application"
                )
        still = lost_roles(change, roles) & roles_in(A.read(held, change.path))
        if still:
            return (
                f"the target answered success but still holds {change.path} "
                f"{', '.join(sorted(still))}: not taken away"
            )
    return None


def unshown_disable(sent: Sequence[AttrChange], held: Mapping[str, Json]) -> bool:
    """Whether a disable the target answered success for reads back with no `active` at
    all: a target that shows `active` only when true (core/inactive.py), or never. Either
    way `not_kept: [active]` cannot help (it stops no deprovision): what can is
    `quirks: {inactive: absent}`, or for a target that never shows it, deleting instead."""
    return any(c.path == "active" and deactivates(c.after) for c in sent) and not any(
        k.casefold() == "active" for k in held
    )


def repairs(
    dropped: Sequence[AttrChange], held: Mapping[str, Json], ids: Mapping[str, str]
) -> list[dict[str, Json]]:
    """PATCH operations that say again, more narrowly, what `dropped` (changes the target
    did not keep) asked for: a typed element the target still holds though the declared
    list has no element of its type is removed by `path[type eq "T"]` (RFC 7644 §3.5.2.2),
    and a manager is set through its sub-attribute (`...:manager.value`). Anything else is
    left to the warning: no other form is known to help."""
    ops: list[dict[str, Json]] = []
    for change in dropped:
        if change.path == "enterprise.manager":
            want = change.after or (ids.get(change.ref) if change.ref else None)
            if isinstance(want, str):
                path = f"{ENTERPRISE_URN}:manager.value"
                ops.append({"op": "replace", "path": path, "value": want})
        elif change.path in A.USER_MULTI and isinstance(change.after, list):
            ops += _extra_types(change.path, change.after, held.get(change.path))
    return ops


def _extra_types(path: str, after: list[Json], have: Json) -> list[dict[str, Json]]:
    kept = _types(after)
    held = _types(have) if isinstance(have, list) else None
    if kept is None or held is None or not isinstance(have, list):
        return []  # untyped or repeated types: no filter names one element alone
    folded = {k.casefold() for k in kept}
    return [
        {"op": "remove", "path": f"{path}[type eq {A.quote(kind)}]"}
        for kind, element in zip(held, have, strict=True)
        if kind.casefold() not in folded and not _declared(path, element, after)
    ]


def _declared(path: str, element: Json, after: list[Json]) -> bool:
    """Whether a held element is one the spec declares, under another type: a target that
    keeps an address's type as it was holds the declared address, and removing its type
    would remove the address itself, which the plan never showed."""
    return any(equal(path, [_untyped(d)], [_untyped(element)]) for d in after)


def _untyped(element: Json) -> Json:
    if not isinstance(element, Mapping):
        return element
    return {k: v for k, v in element.items() if k not in ("type", "primary")}


def _types(items: list[Json]) -> list[str] | None:
    out: list[str] = []
    for item in items:
        kind = item.get("type") if isinstance(item, Mapping) else None
        if not isinstance(kind, str) or kind in out:
            return None
        out.append(kind)
    return out


def unchanged(sent: Sequence[AttrChange], held: Mapping[str, Json]) -> list[AttrChange]:
    """The changes of `sent` that `held` (a PATCH's answer) shows as they were before it:
    a write the target answered success for and ignored, as some do with a path they
    cannot parse (an extension's URN). An attribute that was never held is not among them:
    a target that does not store it drops it whatever the request (quirks: not_kept)."""
    out = []
    for change in sent:
        if change.path in A.SECRET_PATHS or change.ref is not None or is_empty(change.before):
            continue
        if equal(change.path, change.before, A.read(held, change.path)):
            out.append(change)
    return out


def answers_as(path: str, body: Json) -> bool:
    """Whether a write's answer is the object written to `path` (its id is the path's last
    segment): an answer that is another object says nothing of this one."""
    if not isinstance(body, dict):
        return False
    segment = path.rpartition("/")[2]
    rid = str(body.get("id"))
    return rid in (segment, unquote(segment))
