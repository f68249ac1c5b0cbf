"""Required members (peribolos's `--required-admins` and `--min-admins`): a group or a role
that must keep named members, or a number of them, after the run.

Checked on the final list of changes, like the guards, whatever produced each one: a
member removed from the group, the group deleted, a member disabled or deleted (by
`state: absent`, prune, `out_of_scope`, `active: false`, a mapping or `delete_after`), or
a role lost. Only active members count: a disabled admin administers nothing.

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
    directory = Directory(observed)
    for group in view.groups:
        # A group with `state: absent` is checked too: deleting it takes every member.
        if not (group.required_members or group.min_members):
            continue
        match = groups.get(group.key)
        if match is None or match.error:
            continue  # in error already: the plan says so, and writes nothing to it
        held = _members_after(group, match, by_key.get((Kind.GROUP, group.key)), directory)
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


def _members_after(
    group: Declared, match: Match, change: Change | None, directory: Directory
) -> set[Token]:
    found = match.resource
    # Each entry by its value as the target stores it, which is what a removal names: some
    # targets store the userName there, not the id it resolves to.
    entries: dict[str, Token] = {}
    if found is not None:
        entries = {
            e.value: ("id", e.uid)
            for e in directory.entries(found.body)
            if e.seen is Seen.USER and e.uid is not None
        }
    if change is None:
        return set(entries.values())
    if change.action is Action.DELETE:
        return set()
    removed = {
        entries.pop(member.id or "", None)
        for member in change.members_remove
        if member.type == "User"  # a nested group's removal takes no user with its id
    }
    # A user whose entry goes is no member after it, whatever other entry seemed to name
    # them: the plan removes every entry it is sure of, so what is left is one it is not
    # (a `display` alone, which may be a stale copy of the name: Entry.sure).
    held = set(entries.values()) - removed
    for member in change.members_add:
        if member.type == "User":
            held.add(("id", member.id) if member.id else ("key", member.key or ""))
    return held


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
