"""Members, managers and nested groups: each name a declared object gives of another,
resolved to that object's key once every file is read, or reported where it names none."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from reconciler.core.model import Declared, Kind, Location, State
from reconciler.errors import SpecIssue
from reconciler.spec.assignment import fold
from reconciler.spec.checks import CheckBase


class ReferenceRules(CheckBase):
    """The checks across files of what each object names, and an issue at an object."""

    def error_at(self, obj: Declared, attr: str, message: str) -> None:
        loc = obj.attr_locations.get(attr, obj.location) or Location("<spec>", 1, 1)
        prefix = "users" if obj.kind is Kind.USER else "groups"
        self.issues.append(
            SpecIssue(loc.file, loc.line, loc.col, f"{prefix}[{obj.key}].{attr}", message)
        )

    def _resolve_references(
        self, users: dict[str, Declared], by_key: dict[str, Declared]
    ) -> list[Declared]:
        out = []
        for user in users.values():
            manager = user.attrs.get("enterprise.manager")
            if manager is None or isinstance(manager, list | dict):
                # No manager; or a list or mapping, refused where it was read (it names
                # no user, and would not even hash as a key).
                out.append(user)
                continue
            target = by_key.get(manager) or users.get(fold(str(manager)))
            if target is None:
                self.error_at(
                    user, "enterprise.manager", f"manager '{manager}' is not a declared user"
                )
            elif target is user:
                self.error_at(user, "enterprise.manager", "a user cannot be their own manager")
            elif not target.present:
                self.error_at(user, "enterprise.manager", f"manager '{manager}' has state: absent")
            elif manager != target.key:  # written another way (case, spacing): use the key
                attrs = dict(user.attrs)
                attrs["enterprise.manager"] = target.key
                out.append(dataclasses.replace(user, attrs=attrs))
                continue
            elif manager is not target.key and isinstance(user.attrs, dict):
                user.attrs["enterprise.manager"] = target.key  # the same text, held once
            out.append(user)
        return out

    def _resolve_subgroups(self, groups: list[Declared]) -> list[Declared]:
        """Nested groups name declared groups; a cycle would make membership undefined."""
        by_key = {fold(g.key): g for g in groups}
        out: list[Declared] = []
        for group in groups:
            if not group.subgroups:
                out.append(group)  # nests no group (nearly every one): as it is, not a copy
                continue
            keys: list[str] = []
            for name in group.subgroups:
                child = by_key.get(fold(name))
                if child is None:
                    self.error_at(group, "groups", f"group '{name}' is not a declared group")
                elif child is group:
                    self.error_at(group, "groups", "a group cannot contain itself")
                elif not child.present:
                    self.error_at(group, "groups", f"group '{name}' has state: absent")
                else:
                    keys.append(child.key)
            out.append(dataclasses.replace(group, subgroups=tuple(keys)))
        graph = {g.key: g.subgroups for g in out}
        for group in out:
            cycle = _cycle(group.key, graph)
            if cycle and cycle[0] == group.key:
                self.error_at(group, "groups", "nested groups form a cycle: " + " → ".join(cycle))
        return out

    def _resolve_members(
        self,
        group: Declared,
        users: dict[str, Declared],
        by_key: dict[str, Declared],
        present: dict[str, str],
    ) -> Declared:
        if group.members is None:
            return group
        # Nearly every group lists present users by their keys, each once: already resolved,
        # which a look-up per member and a set prove in C instead of a loop in Python.
        keys = [*map(present.get, group.members)]
        if None not in keys and len(set(group.members)) == len(group.members):
            return dataclasses.replace(group, members=tuple(keys))  # type: ignore[arg-type]
        resolved: list[str] = []
        seen: set[str] = set()
        for member in group.members:
            # Most members are written as their user's key: found without folding.
            user = by_key.get(member)
            if user is not None and user.state is State.PRESENT and member not in seen:
                seen.add(member)  # the user's key itself, as below
                resolved.append(member)
                continue
            user = user or users.get(fold(member))
            if user is None:
                self.error_at(group, "members", f"member '{member}' is not a declared user")
            elif not user.present:
                self.error_at(group, "members", f"member '{member}' has state: absent")
            elif user.key in seen:
                self.error_at(group, "members", f"member '{member}' is listed twice")
            else:
                seen.add(user.key)
                resolved.append(user.key)
        return dataclasses.replace(group, members=tuple(resolved))


def _cycle(start: str, graph: Mapping[str, tuple[str, ...]]) -> list[str]:
    """A path from `start` back to itself through nested groups, or [] if none."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        for child in graph.get(node, ()):
            if child == start:
                return [*path, child]
            if child not in seen:
                seen.add(child)
                stack.append((child, [*path, child]))
    return []
