"""Assignment, roles, renames and requirements in a spec: a target's `assign:` and `roles:`,
and the `previously`, `required_members` and `min_members` of users and groups, with the
checks that need the whole tree (the groups and users they name must be declared)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from reconciler.core.config import Role
from reconciler.core.match import normalise, normalise_all
from reconciler.core.model import Declared, Json, Kind, Location
from reconciler.errors import SpecIssue
from reconciler.spec.checks import CheckBase, type_name
from reconciler.spec.source import PathKey

ROLE_KEYS = ("groups", "required_members", "min_members")
MAX_MEMBERS = 10_000_000


def fold(key: str) -> str:
    return normalise("userName", key)


def fold_all(keys: Sequence[str]) -> list[str]:
    """`fold` of each key, in order (core/match.py `normalise_all`)."""
    return normalise_all("userName", keys)


@dataclasses.dataclass(frozen=True)
class _Reference:
    """A name a target setting gives, kept with where it was written, for the checks
    across files."""

    target: str
    field: str  # "assign" or a role's name
    kind: Kind  # what the name is of: a group, or a user (a role's required member)
    name: str
    path: PathKey
    location: Location


class AssignmentRules(CheckBase):
    def __init__(self) -> None:
        super().__init__()
        self._references: list[_Reference] = []

    # -- a target's settings --------------------------------------------------------------

    def assignment_settings(
        self, path: PathKey, name: str, body: Mapping[str, Json]
    ) -> dict[str, Any]:
        """The Target fields of `assign:` and `roles:`; names are resolved once every file
        is read (check_assignments)."""
        out: dict[str, Any] = {}
        value = body.get("assign")
        if value is not None:
            out["assign_groups"] = self._assign((*path, "assign"), name, value)
        roles = body.get("roles")
        if roles is not None:
            out["roles"] = self._roles((*path, "roles"), name, roles)
        return out

    def _assign(self, path: PathKey, target: str, value: Json) -> tuple[str, ...]:
        if not isinstance(value, dict):
            self.error(path, "expected {groups: [declared group names]}")
            return ()
        for key in value:
            if key != "groups":
                self.unknown(path, key, ("groups",), "assign setting")
        return self._names((*path, "groups"), target, "assign", Kind.GROUP, value.get("groups"))

    def _roles(self, path: PathKey, target: str, value: Json) -> tuple[Role, ...]:
        if not isinstance(value, dict):
            self.error(path, "expected {ROLE: [declared group names]}, in precedence order")
            return ()
        out: list[Role] = []
        for role, spec in value.items():
            rpath = (*path, role)
            if not role.strip():
                self.error(rpath, "a role needs a name")
                continue
            field = f"role {role}"
            if isinstance(spec, list):
                groups = self._names(rpath, target, field, Kind.GROUP, spec)
                out.append(Role(role, groups))
                continue
            if not isinstance(spec, dict):
                self.error(rpath, f"expected a list of groups or {{groups: [...]}}, got {spec!r}")
                continue
            for key in spec:
                if key not in ROLE_KEYS:
                    self.unknown(rpath, key, ROLE_KEYS, "role setting")
            groups = self._names((*rpath, "groups"), target, field, Kind.GROUP, spec.get("groups"))
            required = self._names(
                (*rpath, "required_members"), target, field, Kind.USER, spec.get("required_members")
            )
            least = self.minimum((*rpath, "min_members"), spec.get("min_members"))
            out.append(Role(role, groups, required, least))
        return tuple(out)

    def _names(
        self, path: PathKey, target: str, field: str, kind: Kind, value: Json
    ) -> tuple[str, ...]:
        if value is None:
            value = []
        if not isinstance(value, list):
            self.error(path, f"expected a list of names, got {type_name(value)}")
            return ()
        out: list[str] = []
        for index, item in enumerate(value):
            ipath = (*path, index)
            if self.string(ipath, item, nullable=False):
                out.append(item)
                self._references.append(
                    _Reference(target, field, kind, item, ipath, self.loc(ipath))
                )
        return tuple(out)

    def minimum(self, path: PathKey, value: Json) -> int | None:
        if value is None:
            return None
        return self.integer(path, value, 0, MAX_MEMBERS)

    # -- across files --------------------------------------------------------------------

    def check_assignments(self) -> None:
        """Every group and user a target's `assign:` or `roles:` names must be declared
        (and present); requirements and former names must name what they can."""
        users = dict(zip(fold_all([u.key for u in self.users]), self.users, strict=True))
        groups = dict(zip(fold_all([g.key for g in self.groups]), self.groups, strict=True))
        keys: dict[tuple[str, str, Kind, str], str] = {}
        for ref in self._references:
            table = groups if ref.kind is Kind.GROUP else users
            found = table.get(fold(ref.name))
            what = ref.kind.value
            if found is None:
                self._at(ref, f"{what} '{ref.name}' is not a declared {what}")
            elif not found.present:
                self._at(ref, f"{what} '{ref.name}' has state: absent")
            else:
                keys[(ref.target, ref.field, ref.kind, ref.name)] = found.key
        for name, target in list(self.targets.items()):

            def key(field: str, kind: Kind, name: str = name) -> Callable[[str], str]:
                return lambda value: keys.get((name, field, kind, value), value)

            assign = target.assign_groups
            if assign is not None:
                assign = tuple(map(key("assign", Kind.GROUP), assign))
            roles = tuple(
                dataclasses.replace(
                    role,
                    groups=tuple(map(key(f"role {role.name}", Kind.GROUP), role.groups)),
                    required_members=tuple(
                        map(key(f"role {role.name}", Kind.USER), role.required_members)
                    ),
                )
                for role in target.roles
            )
            self.targets[name] = dataclasses.replace(target, assign_groups=assign, roles=roles)
        self.groups = [self._requirements(g, users) for g in self.groups]
        self._check_previously(users, groups)

    def _at(self, ref: _Reference, message: str) -> None:
        self.error(ref.path, message, loc=ref.location)

    def _requirements(self, group: Declared, users: Mapping[str, Declared]) -> Declared:
        """A group's required members name declared users (by their keys)."""
        if not group.required_members:
            return group  # nothing required (nearly every group): the group, not a copy
        resolved: list[str] = []
        for name in group.required_members:
            user = users.get(fold(name))
            if user is None:
                self._object_error(group, "required_members", f"'{name}' is not a declared user")
            elif not user.present:
                self._object_error(group, "required_members", f"'{name}' has state: absent")
            else:
                resolved.append(user.key)
        return dataclasses.replace(group, required_members=tuple(resolved))

    def _check_previously(
        self, users: Mapping[str, Declared], groups: Mapping[str, Declared]
    ) -> None:
        """A former name that is another declared object's name would match that object's
        account: refused, so one account never answers for two objects."""
        for objects, table in ((self.users, users), (self.groups, groups)):
            seen: dict[str, Declared] = {}
            for obj in objects:
                for old in obj.previously:
                    other = table.get(fold(old))
                    if other is not None:
                        self._object_error(
                            obj, "previously", f"'{old}' is the name of a declared {obj.kind.value}"
                        )
                    elif fold(old) in seen and seen[fold(old)] is not obj:
                        first = seen[fold(old)].key
                        self._object_error(
                            obj, "previously", f"'{old}' is also a former name of '{first}'"
                        )
                    seen[fold(old)] = obj

    def _object_error(self, obj: Declared, attr: str, message: str) -> None:
        loc = obj.attr_locations.get(attr, obj.location) or Location("<spec>", 1, 1)
        prefix = "users" if obj.kind is Kind.USER else "groups"
        self.issues.append(
            SpecIssue(loc.file, loc.line, loc.col, f"{prefix}[{obj.key}].{attr}", message)
        )
