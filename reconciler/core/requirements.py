"""Required members (peribolos's `--required-admins` and `--min-admins`): a group or a role
that must keep named members, or a number of them, after the run.

Checked on the final list of changes, like the guards, whatever produced each one: a
member removed from the group or from a group nested in it, the group deleted, a member
disabled or deleted (by `state: absent`, prune, `out_of_scope`, `active: false`, a mapping
or `delete_after`), or a role lost. Only active members count: a disabled admin administers nothing.

A plan that would break a requirement is refused as a whole, like a guard, and unlike a
guard there is no override: applying the rest of the plan could still break it (the
member's disable is one change, the group's removal another), and a requirement is
fixed in the spec, where it is declared, not waived for one run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from reconciler.core.changes import DEPROVISIONS, Action, Change
from reconciler.core.config import Target
from reconciler.core.match import Match
from reconciler.core.members import Directory, Seen
from reconciler.core.model import Declared, Json, Kind, Observed
from reconciler.core.targetview import TargetView

FIX = "change the spec (requirements have no override)"


def broken(
    changes: Iterable[Change],
    view: TargetView,
    observed: Observed,
    users: Mapping[str, Match],
    groups: Mapping[str, Match],
    target: Target,
) -> list[str]:
    """Why this plan would break a group's or a role's requirements; empty when it keeps
    them all."""
    changes = list(changes)
    after = _Activity(changes, view, observed, users)
    reasons: list[str] = []
    by_key = {(c.kind, c.key): c for c in changes}
    nesting = _Nesting(changes, observed, groups)
    for group in view.groups:
        # A group with `state: absent` is checked too: deleting it takes every member.
        if not (group.required_members or group.min_members):
            continue
        match = groups.get(group.key)
        if match is None or match.error:
            continue  # in error already: the plan says so, and writes nothing to it
        held = nesting.members(group, match, by_key.get((Kind.GROUP, group.key)))
        active = {m for m in held if after.active(m)}
        reasons += _check(
            f"group {group.key}", group.required_members, group.min_members, active, after
        )
    roles = view.assignment.roles if view.assignment else {}
    # Users in error are not written: they hold nothing this run gives.
    errors = {key for kind, key, _, _ in view.errors if kind is Kind.USER}
    errors |= {key for key, match in users.items() if match.error}
    for role in target.roles:
        if not (role.required_members or role.min_members):
            continue
        holders = {
            after.token(u.key)
            for u in view.users
            if u.present and role.name in roles.get(u.key, ()) and u.key not in errors
        }
        active = {m for m in holders if after.active(m)}
        reasons += _check(
            f"role {role.name}", role.required_members, role.min_members, active, after
        )
    return reasons


# A member as the checks see it: ("id", target id) for an account on the target, or
# ("key", declared key) for one this run creates.
Token = tuple[str, str]


class _Activity:
    """Who each member is, and whether they are active after the plan."""

    def __init__(
        self,
        changes: list[Change],
        view: TargetView,
        observed: Observed,
        users: Mapping[str, Match],
    ) -> None:
        self.users = users
        self.declared = {u.key: u for u in view.users}
        self.body = {r.id: r.body for r in observed.users}
        self.gone: dict[str, Action] = {}
        self.activity: dict[Token, Json] = {}
        for change in changes:
            if change.kind is not Kind.USER:
                continue
            token = self.token(change.key) if change.target_id is None else ("id", change.target_id)
            if change.action in DEPROVISIONS:
                self.gone[token[1]] = change.action
            for attr in change.attributes:
                if attr.path == "active":
                    self.activity[token] = attr.after

    def token(self, key: str) -> Token:
        match = self.users.get(key)
        if match is not None and match.resource is not None:
            return ("id", match.resource.id)
        return ("key", key)

    def active(self, token: Token) -> bool:
        if token[0] == "id" and token[1] in self.gone:
            return False
        if token in self.activity:
            return self.activity[token] is not False
        if token[0] == "id":
            return self.body.get(token[1], {}).get("active") is not False
        declared = self.declared.get(token[1])
        return declared is None or declared.attrs.get("active") is not False

    def why_not(self, key: str) -> str:
        token = self.token(key)
        if token[0] == "id" and token[1] in self.gone:
            return f"{key} would be {self.gone[token[1]].value}d by this run"
        if key not in self.declared:
            return f"{key} is not on this target (out of scope)"
        if not self.active(token):
            return f"{key} would be inactive"
        return f"{key} would not be a member"


# A group as the checks see it: ("id", target id) for a group on the target, or ("key",
# declared key) for one this run creates.
GroupRef = tuple[str, str]


class _Nesting:
    """Each group's members after the plan, those its nested groups hold among them."""

    def __init__(
        self, changes: list[Change], observed: Observed, groups: Mapping[str, Match]
    ) -> None:
        self.directory = Directory(observed)
        self.bodies = {g.id: g.body for g in observed.groups}
        self.matches = groups
        self.by_id = {c.target_id: c for c in changes if c.kind is Kind.GROUP and c.target_id}
        self.by_key = {c.key: c for c in changes if c.kind is Kind.GROUP}

    def members(self, group: Declared, match: Match, change: Change | None) -> set[Token]:
        """The users a group holds after the plan, directly or through the groups nested in
        it (`nested_groups: native`), at any depth: a member of a nested group keeps their
        access through it. Each nested group is taken as the plan leaves it: its removals,
        its delete, taken out of the group; one the plan creates holds what it adds."""
        found = match.resource
        root = ("id", found.id) if found is not None else ("key", group.key)
        first = self._direct(found.body if found is not None else None, change)
        sure, unsure, removed, nested = first
        done, todo = {root}, list(nested)
        while todo:  # on a stack of its own, and each group once: nesting may loop
            ref = todo.pop()
            if ref in done:
                continue
            done.add(ref)
            if ref[0] == "id":
                more = self._direct(self.bodies.get(ref[1]), self.by_id.get(ref[1]))
            else:
                more = self._direct(None, self.by_key.get(ref[1]))
            sure, unsure, removed = sure | more[0], unsure | more[1], removed | more[2]
            todo += more[3]
        # An entry only its `display` names (a stale copy of a name, maybe) keeps no user
        # the plan removes from any group it reaches: what is left is one it is not sure of.
        return sure | (unsure - removed)

    def _direct(
        self, body: Mapping[str, Json] | None, change: Change | None
    ) -> tuple[set[Token], set[Token], set[Token], set[GroupRef]]:
        """The users a group lists after its change, sure and not, those it removes, and
        the groups nested in it then."""
        # Each entry by its value as the target stores it, which is what a removal names:
        # some targets store the userName there, not the id it resolves to.
        entries: dict[str, tuple[Token, bool]] = {}
        nested: set[GroupRef] = set()
        for e in self.directory.entries(body or {}):
            if e.seen is Seen.USER and e.uid is not None:
                entries[e.value] = (("id", e.uid), e.sure)
            elif e.seen is Seen.GROUP and e.sure:
                # Only a sure one: an untyped entry with a group's id may be a user the read
                # did not show, and the group's members would count for that one user.
                nested.add(("id", e.value))
        if change is not None and change.action is Action.DELETE:
            return set(), set(), {token for token, _ in entries.values()}, set()
        removed: set[Token] = set()
        if change is not None:
            for member in change.members_remove:
                # A nested group's removal takes no user with its id.
                if member.type == "User" and (gone := entries.pop(member.id or "", None)):
                    removed.add(gone[0])
            nested -= {("id", m.id or "") for m in change.members_remove if m.type == "Group"}
        # A user whose entry goes is no member after it, whatever other entry seemed to name
        # them: the plan removes every entry it is sure of, so what is left is one it is not
        # (a `display` alone, which may be a stale copy of the name: Entry.sure).
        sure = {token for token, certain in entries.values() if certain} - removed
        unsure = {token for token, certain in entries.values() if not certain}
        for member in change.members_add if change is not None else ():
            if member.type == "User":
                sure.add(("id", member.id) if member.id else ("key", member.key or ""))
            elif member.type == "Group":
                nested.add(self._ref(member.key, member.id))
        return sure, unsure, removed, nested

    def _ref(self, key: str | None, gid: str | None) -> GroupRef:
        """A nested group the plan adds, by its id wherever it has one, so that each group
        is one reference however it is named (and a loop is seen as one)."""
        if gid:
            return ("id", gid)
        match = self.matches.get(key or "")
        if match is not None and match.resource is not None:
            return ("id", match.resource.id)
        change = self.by_key.get(key or "")
        if change is not None and change.target_id:
            return ("id", change.target_id)
        return ("key", key or "")


def _check(
    what: str, required: tuple[str, ...], least: int | None, active: set[Token], after: _Activity
) -> list[str]:
    reasons: list[str] = []
    for key in required:
        if after.token(key) not in active:
            reasons.append(f"{what} requires {key} as a member: {after.why_not(key)}; {FIX}")
    if least is not None and len(active) < least:
        reasons.append(
            f"{what} must keep at least {least} active member(s); after this run it would have "
            f"{len(active)}; {FIX}"
        )
    return reasons
