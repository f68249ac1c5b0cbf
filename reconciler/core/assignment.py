"""Assignment and app roles (Entra's "sync only assigned users and groups", app roles given
to groups): which users a target's groups put in scope, through which group, which groups
the target receives, and the roles each user holds there. Pure, from the declared groups.

Choices, where Entra has its own objects and scimrec has only groups:

- A user is in a group when listed in its `members`, or in a group nested in it (at any
  depth), as nested groups are flattened everywhere else.
- `assign.groups` are assigned and pushed (the target receives the groups themselves).
  Groups named in `roles:` are assigned too (their members are in scope and hold the
  role), and pushed only when `assign.groups` lists them as well.
- Roles are listed in precedence order: a user holds every role one of their groups
  grants, in that order, and the first is their primary role.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from reconciler.core.action import flatten
from reconciler.core.config import Role, Target
from reconciler.core.model import Declared, Json
from reconciler.core.scope import MEMBERSHIP

# The source attribute expressions read for the roles a user holds on this target (the
# names of the declared groups they are in is MEMBERSHIP, `groups`).
ROLE_ASSIGNMENTS = "appRoleAssignments"


@dataclass(frozen=True)
class Assignment:
    member_of: Mapping[str, tuple[str, ...]]  # user key → group keys, in declaration order
    roles: Mapping[str, tuple[str, ...]]  # user key → role names, in precedence order
    assigned: tuple[str, ...] | None  # groups whose members are in scope; None: everyone
    pushed: frozenset[str] | None  # groups the target receives; None: every declared one

    def source(self, key: str) -> dict[str, Json]:
        """The derived source attributes of one user, for scoping and mappings."""
        return {
            MEMBERSHIP: list(self.member_of.get(key, ())),
            ROLE_ASSIGNMENTS: list(self.roles.get(key, ())),
        }

    def verdict(self, key: str) -> tuple[bool, str]:
        """Whether a user is assigned, and why, in the words plans use."""
        if self.assigned is None:
            return True, "in scope: no scoping filter"
        mine = set(self.member_of.get(key, ()))
        through = [g for g in self.assigned if g in mine]
        if through:
            return True, f"in scope: assigned through {', '.join(through)}"
        named = ", ".join(self.assigned) or "none"
        return False, f"out of scope: not in a group assigned to this target ({named})"

    def includes_group(self, key: str) -> bool:
        return self.pushed is None or key in self.pushed


def assignment(target: Target, groups: Iterable[Declared], *, derives: bool = True) -> Assignment:
    """`derives`: whether any user's derived attributes are read (scoping, mappings, role
    maps). Without them and without `assign.groups`, no one asks which groups a user is
    in, and that map (a tuple per user) is not built."""
    present = {g.key: g for g in groups if g.present}
    member_of: dict[str, list[str]] = {}
    if derives or target.assign_groups is not None or target.roles:
        for key, users in flatten(present).items():
            for user in users:
                member_of.setdefault(user, []).append(key)
    member_of_t = {user: tuple(keys) for user, keys in member_of.items()}
    assigned: tuple[str, ...] | None = None
    pushed: frozenset[str] | None = None
    if target.assign_groups is not None:
        role_groups = (g for role in target.roles for g in role.groups)
        assigned = tuple(dict.fromkeys((*target.assign_groups, *role_groups)))
        pushed = frozenset(target.assign_groups)
        if target.nested_groups == "native":
            # Nested groups are written as members of the groups that hold them: the
            # target needs them too.
            pushed |= _descendants(target.assign_groups, present)
    return Assignment(member_of_t, _roles(target.roles, member_of_t), assigned, pushed)


def _roles(
    roles: tuple[Role, ...], member_of: Mapping[str, tuple[str, ...]]
) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for user, keys in member_of.items():
        mine = set(keys)
        held = tuple(role.name for role in roles if mine.intersection(role.groups))
        if held:
            out[user] = held
    return out


def _descendants(keys: Iterable[str], groups: Mapping[str, Declared]) -> frozenset[str]:
    found: set[str] = set()
    stack = [child for key in keys if key in groups for child in groups[key].subgroups]
    while stack:
        key = stack.pop()
        if key not in found and key in groups:
            found.add(key)
            stack.extend(groups[key].subgroups)
    return frozenset(found)


def role_value(roles: Iterable[str]) -> list[dict[str, Json]] | None:
    """What a target's role map writes to a user's `roles` by default: every role held, in
    precedence order, the first one primary (RFC 7643 §2.4: at most one); None (clear the
    attribute) for a user who holds none."""
    out = [{"value": r, "display": r, "primary": i == 0} for i, r in enumerate(roles)]
    return out or None
