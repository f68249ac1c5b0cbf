"""What `--only` selects: the objects named, and those they need that are not on the target.

A user's manager and a group's members must exist on the target before a write can name
them. When one of them is declared but not on the target yet, the run must create it first,
so it joins the selection (and what it needs in turn), and the plan says why. Dependencies
already on the target need nothing: the selected object's write names them by id.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from reconciler.core.action import flatten
from reconciler.core.match import Match
from reconciler.core.model import Declared, Kind
from reconciler.core.targetview import TargetView

Selected = frozenset[tuple[Kind, str]]


def with_dependencies(
    only: Selected,
    view: TargetView,
    user_matches: Mapping[str, Match],
    group_matches: Mapping[str, Match],
    native_nesting: bool,
) -> tuple[Selected, list[str]]:
    """The selection with every missing dependency added, and a note for each one added."""
    users = {u.key: u for u in view.all_users}
    groups = {g.key: g for g in view.groups}
    in_scope = {u.key for u in view.users}
    members = {} if native_nesting else flatten(groups)
    chosen = set(only)
    notes: list[str] = []
    queue = sorted(only)
    while queue:
        kind, key = queue.pop(0)
        obj = (users if kind is Kind.USER else groups).get(key)
        if obj is None or not obj.present:
            continue
        for dependency, why in _needs(obj, members, native_nesting):
            dep_kind, dep_key = dependency
            declared = (users if dep_kind is Kind.USER else groups).get(dep_key)
            match = (user_matches if dep_kind is Kind.USER else group_matches).get(dep_key)
            missing = match is not None and match.resource is None and not match.error
            # Only what a full run would create: present, and in this target's scope.
            creatable = declared is not None and declared.present
            creatable &= dep_kind is Kind.GROUP or dep_key in in_scope
            if dependency in chosen or not missing or not creatable:
                continue
            chosen.add(dependency)
            queue.append(dependency)
            notes.append(
                f"--only: also planned {dep_kind.value} {dep_key} ({why}): it is not on the "
                "target yet, and this run must create it first"
            )
    return frozenset(chosen), notes


def _needs(
    obj: Declared, members: Mapping[str, tuple[str, ...]], native_nesting: bool
) -> Iterator[tuple[tuple[Kind, str], str]]:
    if obj.kind is Kind.USER:
        manager = obj.attrs.get("enterprise.manager")
        if isinstance(manager, str):
            yield (Kind.USER, manager), f"the manager of user {obj.key}"
        return
    if obj.members is None:
        return
    flattened = members.get(obj.key) if obj.subgroups else None
    for member in flattened if flattened is not None else obj.members:
        yield (Kind.USER, member), f"a member of group {obj.key}"
    if native_nesting:  # the nested groups themselves are members
        for child in obj.subgroups:
            yield (Kind.GROUP, child), f"nested in group {obj.key}"
