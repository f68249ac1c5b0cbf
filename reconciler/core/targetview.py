"""What one target sees of the spec (steps 2-3 on the source side): scoped and mapped objects.

Scoping filters decide which users are in scope for the target; attribute mappings turn
each declared object into what the target should hold. Pure: the clock and GUIDs injected.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from reconciler.core.config import Spec, Target
from reconciler.core.mapping import Mapped, apply_mappings, source_view
from reconciler.core.model import Declared, Kind, Location
from reconciler.core.scope import in_scope
from reconciler.expressions.dotnet_dates import Clock
from reconciler.expressions.syntax import ExpressionError


@dataclass(frozen=True)
class TargetView:
    users: tuple[Declared, ...]  # in scope, mapped
    out_of_scope: tuple[tuple[Declared, str], ...]  # mapped, with the reason
    groups: tuple[Declared, ...]  # mapped
    mapped: dict[tuple[Kind, str], Mapped] = field(default_factory=dict)
    # (kind, key, message, location) for objects whose mapping failed: left out of the plan.
    errors: tuple[tuple[Kind, str, str, Location | None], ...] = ()
    scope_reasons: dict[str, str] = field(default_factory=dict)

    @property
    def all_users(self) -> tuple[Declared, ...]:
        return self.users + tuple(u for u, _ in self.out_of_scope)

    def create_only(self, kind: Kind, key: str) -> frozenset[str]:
        mapped = self.mapped.get((kind, key))
        return mapped.create_only if mapped else frozenset()


class _NoClock:
    """Stands in when no clock was given: Now() then fails instead of inventing a time."""

    def __getattr__(self, name: str) -> int:
        raise ExpressionError("Now() needs the run's clock, which this plan was not given", 0)


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
    reasons: dict[str, str] = {}
    for user in spec.users:
        keep, reason = True, "in scope: no scoping filter"
        if target.scope is not None and user.present:
            keep, reason = in_scope(target.scope, source_view(user))
        reasons[user.key] = reason
        try:
            result = apply_mappings(user, target.user_mappings, clock, guid)
        except ExpressionError as exc:
            errors.append((Kind.USER, user.key, f"mapping failed: {exc}", user.location))
            continue
        # Sources read alias paths as declared; the target gets them under their URN.
        if user.extension_aliases:
            result = dataclasses.replace(result, obj=_extensions(result.obj, target.extensions))
        mapped[(Kind.USER, user.key)] = result
        if keep:
            users.append(result.obj)
        else:
            out.append((result.obj, reason))
    absent = {u.key for u, _ in out}
    # A manager out of scope is not on this target by our doing: the reference is dropped.
    users = [
        _without_manager(u) if u.attrs.get("enterprise.manager") in absent else u for u in users
    ]
    groups: list[Declared] = []
    for group in spec.groups:
        try:
            result = apply_mappings(group, target.group_mappings, clock, guid)
        except ExpressionError as exc:
            errors.append((Kind.GROUP, group.key, f"mapping failed: {exc}", group.location))
            continue
        mapped[(Kind.GROUP, group.key)] = result
        groups.append(result.obj)
    return TargetView(tuple(users), tuple(out), tuple(groups), mapped, tuple(errors), reasons)


def _extensions(user: Declared, known: Mapping[str, str]) -> Declared:
    """Alias paths (`acme.costCode`) become `URN:costCode` for a target that declares the
    alias, and are dropped for one that does not: that target does not know the schema."""
    if not user.extension_aliases:
        return user
    attrs = {}
    for path, value in user.attrs.items():
        alias, _, name = path.partition(".")
        if alias in user.extension_aliases:
            if alias in known:
                attrs[f"{known[alias]}:{name}"] = value
            continue
        attrs[path] = value
    return dataclasses.replace(user, attrs=attrs)


def _without_manager(user: Declared) -> Declared:
    attrs = {k: v for k, v in user.attrs.items() if k != "enterprise.manager"}
    return dataclasses.replace(user, attrs=attrs)
