"""What one target sees of the spec (steps 2-3 on the source side): scoped and mapped objects.

Scoping filters decide which users are in scope for the target; attribute mappings turn
each declared object into what the target should hold. Pure: the clock and GUIDs injected.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from reconciler.core.assignment import ROLE_ASSIGNMENTS, Assignment, assignment, role_value
from reconciler.core.changes import deactivates
from reconciler.core.config import Spec, Target
from reconciler.core.mapping import NO_PATHS, Mapped, apply_mappings, source_view
from reconciler.core.model import Declared, Json, Kind, Location
from reconciler.core.scope import in_scope
from reconciler.expressions.dotnet_dates import Clock
from reconciler.expressions.dotnet_regex import MatchTimedOut
from reconciler.expressions.syntax import ExpressionError


@dataclass(frozen=True)
class TargetView:
    users: tuple[Declared, ...]  # in scope, mapped
    out_of_scope: tuple[tuple[Declared, str], ...]  # mapped, with the reason
    groups: tuple[Declared, ...]  # mapped; with assignment, the groups the target receives
    mapped: dict[tuple[Kind, str], Mapped] = field(default_factory=dict)
    # (kind, key, message, location) for objects whose mapping failed: left out of the plan.
    errors: tuple[tuple[Kind, str, str, Location | None], ...] = ()
    scope_reasons: dict[str, str] = field(default_factory=dict)
    # Groups a target that assigns by group does not receive, with the reason.
    groups_out: tuple[tuple[Declared, str], ...] = ()
    # Users out of scope because no assigned group holds them (not by a scoping filter):
    # the groups the target receives are theirs to leave, as their members declare.
    unassigned: frozenset[str] = frozenset()
    assignment: Assignment | None = None
    # Declared objects whose mapping failed, as declared: still matched, so their accounts
    # are claimed (never pruned, never removed from groups) while they are in error.
    failed: tuple[Declared, ...] = ()
    # Users out of scope whom the spec keeps inactive (outside.py).
    inactive: frozenset[str] = frozenset()

    @property
    def all_users(self) -> tuple[Declared, ...]:
        return self.users + tuple(u for u, _ in self.out_of_scope)

    def unknown_accounts(self, target: Target) -> frozenset[Kind]:
        """The kinds of which no account is known to be undeclared: an object of the kind
        failed its mapping where the target maps that kind's attributes. Matched as
        declared, it claims the accounts its declared values name; its account on the
        target may hold a mapped name (`ToLower([mail])`, `Join("-", "team", ...)`) no one
        computed, and pruned or taken out of a group, it would be the declared object's."""
        mapped = {Kind.USER: target.user_mappings, Kind.GROUP: target.group_mappings}
        return frozenset(o.kind for o in self.failed if mapped[o.kind])

    @property
    def all_groups(self) -> tuple[Declared, ...]:
        return self.groups + tuple(g for g, _ in self.groups_out)

    def create_only(self, kind: Kind, key: str) -> frozenset[str]:
        mapped = self.mapped.get((kind, key))
        return mapped.create_only if mapped else NO_PATHS


class _NoClock:
    """Stands in when no clock was given: Now() then fails instead of inventing a time."""

    def __getattr__(self, name: str) -> int:
        raise ExpressionError("Now() needs the run's clock, which this plan was not given", 0)


_NOTHING_DERIVED: Mapping[str, Json] = MappingProxyType({})


def target_view(
    spec: Spec,
    target: Target,
    now: Clock | None = None,
    new_guid: Callable[[], str] | None = None,
) -> TargetView:
    clock: Clock = now if now is not None else _NoClock()  # type: ignore[assignment]
    guid = new_guid or (lambda: "00000000-0000-0000-0000-000000000000")
    users: list[Declared] = []
    out: list[tuple[Declared, str]] = []
    mapped: dict[tuple[Kind, str], Mapped] = {}
    errors: list[tuple[Kind, str, str, Location | None]] = []
    failed: list[Declared] = []
    reasons: dict[str, str] = {}
    unassigned: set[str] = set()
    # Only scoping filters, mappings and role maps read the derived attributes: without
    # them, no user needs its own (a dict and two lists each).
    derives = target.scope is not None or bool(target.user_mappings) or bool(target.roles)
    assigned = assignment(target, spec.groups, derives=derives)
    for user in spec.users:
        derived = assigned.source(user.key) if derives else _NOTHING_DERIVED
        try:
            keep, reason = _scope(user, target, assigned, derived)
        except MatchTimedOut as exc:  # a clause's pattern ran past its match timeout
            failed.append(_failed(user, f"scope failed: {exc}", errors))
            continue
        if user.present and not assigned.verdict(user.key)[0]:
            unassigned.add(user.key)
        reasons[user.key] = reason
        if target.roles:
            # The role map manages `roles` on this target: a mapping may still send them
            # elsewhere (or nowhere, with `roles: {constant: null}`).
            user = dataclasses.replace(  # noqa: PLW2901
                user, attrs={**user.attrs, "roles": role_value(derived[ROLE_ASSIGNMENTS])}
            )
        try:
            result = apply_mappings(
                user, target.user_mappings, clock, guid, derived, clear_roles=bool(target.roles)
            )
        except ExpressionError as exc:
            failed.append(_failed(user, f"mapping failed: {exc}", errors))
            continue
        # Sources read alias paths as declared; the target gets them under their URN.
        if user.extension_aliases or target.extensions:
            result = dataclasses.replace(
                result,
                obj=_extensions(result.obj, target.extensions),
                create_only=frozenset(
                    extension_path(p, target.extensions) for p in result.create_only
                ),
            )
        if target.not_kept:
            result = dataclasses.replace(result, obj=_without(result.obj, target.not_kept))
        mapped[(Kind.USER, user.key)] = result
        if keep:
            users.append(result.obj)
        else:
            out.append((result.obj, reason))
    users = _managers_in_scope(users, {u.key for u, _ in out})
    groups: list[Declared] = []
    groups_out: list[tuple[Declared, str]] = []
    for group in spec.groups:
        try:
            result = apply_mappings(group, target.group_mappings, clock, guid)
        except ExpressionError as exc:
            errors.append((Kind.GROUP, group.key, f"mapping failed: {exc}", group.location))
            failed.append(group)
            continue
        mapped[(Kind.GROUP, group.key)] = result
        # `state: absent` is deprovisioning, which assignment does not hold back.
        if assigned.includes_group(group.key) or not group.present:
            groups.append(result.obj)
        else:
            groups_out.append((result.obj, "out of scope: not assigned to this target"))
    return TargetView(
        tuple(users),
        tuple(out),
        tuple(groups),
        mapped,
        tuple(errors),
        reasons,
        tuple(groups_out),
        frozenset(unassigned),
        assigned,
        tuple(failed),
        _kept_inactive(spec.users, out),
    )


def _failed(
    user: Declared, why: str, errors: list[tuple[Kind, str, str, Location | None]]
) -> Declared:
    """`user`, now in error for `why`."""
    errors.append((Kind.USER, user.key, why, user.location))
    return user


def _kept_inactive(
    declared: tuple[Declared, ...], out: list[tuple[Declared, str]]
) -> frozenset[str]:
    """The users out of scope who say `active: false` (or anything but true), as declared
    or as mapped: with `active IS TRUE` in the scope that is what put them out of scope,
    and either way the spec keeps their accounts, disabled."""
    if not out:  # nearly every run: no pass over the declared users
        return frozenset()
    mapped = {user.key: user for user, _ in out}
    return frozenset(
        user.key
        for user in declared
        if user.key in mapped and (_inactive(user) or _inactive(mapped[user.key]))
    )


def _inactive(user: Declared) -> bool:
    return "active" in user.attrs and deactivates(user.attrs["active"])


def _scope(
    user: Declared, target: Target, assigned: Assignment, derived: Mapping[str, Json]
) -> tuple[bool, str]:
    """Whether a user is in scope, and why: assigned (when the target assigns by group),
    then passing the scoping filter. `state: absent` is deprovisioning: always in scope."""
    if not user.present:
        return True, "in scope: no scoping filter"
    keep, reason = assigned.verdict(user.key)
    if not keep or target.scope is None:
        return keep, reason
    view = source_view(user, derived)
    # A declared user is an account meant to be active unless it says `active: false`
    # (SCIM targets create accounts active): read as no value, `active IS TRUE` would put
    # every user who leaves it out out of scope, and `out_of_scope: deprovision` disable them.
    view.setdefault("active", True)
    keep, why = in_scope(target.scope, view)
    if assigned.assigned is None or not keep:
        return keep, why
    return True, f"{reason}; scoping filter {why.removeprefix('in scope: ')}"


def _extensions(user: Declared, known: Mapping[str, str]) -> Declared:
    """Alias paths (`acme.costCode`, declared or mapped) become `URN:costCode` for a target
    that declares the alias, and are dropped for one that does not: that target does not
    know the schema. An alias is never a SCIM attribute's name (spec/targets.py)."""
    attrs = {}
    changed = False
    for path, value in user.attrs.items():
        alias, _, name = path.partition(".")
        if alias in known and name:
            attrs[extension_path(path, known)] = value
            changed = True
        elif alias in user.extension_aliases:
            changed = True  # this target does not take that extension
        else:
            attrs[path] = value
    return dataclasses.replace(user, attrs=attrs) if changed else user


def extension_path(path: str, known: Mapping[str, str]) -> str:
    """A spec path as changes name it: `acme.code` as its extension's `URN:code`."""
    alias, _, name = path.partition(".")
    return f"{known[alias]}:{name}" if alias in known and name else path


def _without(user: Declared, not_kept: tuple[str, ...]) -> Declared:
    """The user without the attributes this target does not keep (quirks: not_kept)."""
    attrs = {
        path: value
        for path, value in user.attrs.items()
        if not any(path == p or path.startswith(f"{p}.") for p in not_kept)
    }
    return user if len(attrs) == len(user.attrs) else dataclasses.replace(user, attrs=attrs)


def _managers_in_scope(users: list[Declared], absent: set[str]) -> list[Declared]:
    """A manager out of scope is not on this target by our doing: the reference is dropped
    (with every user in scope, no reference is: no pass over them all)."""
    if not absent:
        return users
    return [
        _without_manager(u) if u.attrs.get("enterprise.manager") in absent else u for u in users
    ]


def _without_manager(user: Declared) -> Declared:
    attrs = {k: v for k, v in user.attrs.items() if k != "enterprise.manager"}
    return dataclasses.replace(user, attrs=attrs)
