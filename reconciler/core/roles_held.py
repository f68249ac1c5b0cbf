"""Which user attributes hold roles on a target, and which roles a change of one takes
away: what the guards count as access lost, and what `protected` keeps."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

from reconciler.core.assignment import ROLE_ASSIGNMENTS
from reconciler.core.changes import deactivates
from reconciler.core.config import Target
from reconciler.core.diff import AttrChange
from reconciler.core.mapping import sources_read
from reconciler.core.model import Json
from reconciler.core.scope import MEMBERSHIP
from reconciler.core.targetview import extension_path

_HELD = frozenset({"roles", "entitlements"})
# Sources whose value is access: the app roles a user is assigned, and the groups it is in
# (an access level computed from membership, Okta's isMemberOfGroupName way). Compared
# case-folded: the evaluator reads `[Groups]` as nothing, but a role counted that is none
# only makes the guards stricter, and a role missed lets them pass a demotion.
_ACCESS_SOURCES = frozenset({ROLE_ASSIGNMENTS.casefold(), MEMBERSHIP.casefold()})


def role_paths(target: Target) -> frozenset[str]:
    """The user attributes that hold roles on this target: `roles` and `entitlements`
    (RFC 7643 §4.1.2: what a user has, access as much as a role is), and any mapped from
    the roles its role map grants (appRoleAssignments) or from the user's groups.

    Each path is named as changes name it: a mapping into a custom extension
    (`acme.appRole`) is written as `URN:appRole`, and every consumer compares change paths."""
    return _HELD | {
        extension_path(m.target, target.extensions)
        for m in target.user_mappings
        if not _ACCESS_SOURCES.isdisjoint(s.casefold() for s in sources_read(m))
    }


def lost_roles(attr: AttrChange, paths: frozenset[str]) -> set[str]:
    """The roles this attribute change takes away (none when it holds no roles)."""
    if attr.path not in paths and not attr.path.startswith(("roles[", "entitlements[")):
        return set()
    return _held(attr.before) - _held(attr.after)


def takes_access(attr: AttrChange, paths: frozenset[str]) -> bool:
    """Whether this attribute change takes access away: a disable, or a role lost."""
    return (attr.path == "active" and deactivates(attr.after)) or bool(lost_roles(attr, paths))


def only_taking(attr: AttrChange, paths: frozenset[str]) -> AttrChange:
    """The part of a role change that only takes away: the roles held before, less those
    it takes, granting none of those it would add (sent alone after a refusal of the whole:
    users._take_access_alone). A role held as one value (a custom extension's appRole, or
    roles joined into one text) goes as the plan shows it where that only takes away (its
    parts among the old value's: "admin,billing" -> "billing"), else cleared: it then
    grants nothing, and what it takes the object's failure names."""
    lost = lost_roles(attr, paths)
    if not lost:
        return attr
    if not isinstance(attr.before, list):
        return attr if _parts(attr.after) <= _parts(attr.before) else replace(attr, after=None)
    kept = [item for item in attr.before if not _held(item) & lost]
    return AttrChange(attr.path, attr.before, kept or None)


def _parts(value: Json) -> set[str]:
    """The parts of a role held as one value: its text split at commas, semicolons and bars
    (as roles joined into one are; a role's own name may hold spaces). Compared as roles
    are, case and all: "Billing" for "billing" is a role granted, so the value is cleared."""
    if value is None:
        return set()
    return {p.strip() for p in re.split(r"[,;|]", str(value)) if p.strip()}


def roles_in(value: Json) -> set[str]:
    """The roles an attribute's value grants (as `lost_roles` counts them)."""
    return _held(value)


def _held(value: Json) -> set[str]:
    """The roles an attribute's value grants: each item's `value`, or the value itself. An
    item without one (a target that names its roles by `display` or `type` alone) is a
    role all the same, named by those: taken away, it is access lost."""
    items = value if isinstance(value, list) else [value]
    out = set()
    for item in items:
        role = item.get("value") if isinstance(item, Mapping) else item
        if isinstance(item, Mapping) and role in (None, ""):
            named = [f"{k}={item[k]}" for k in ("display", "type") if item.get(k) not in (None, "")]
            role = " ".join(named) or None
        if role is not None and role != "":
            out.add(str(role))
    return out
