"""Step 3's consequence: what happens to declared objects a target does not take (a scoping
filter leaves them out, or no assigned group holds them): left alone, or deprovisioned, as
the target's `out_of_scope` says (Entra's "skip out of scope deletions" equivalent).

A user the spec keeps with `active: false` is the exception: Entra's usual `active IS TRUE`
puts it out of scope, yet the spec keeps the account. It is disabled, never deleted, now
or by `delete_after` (the README's Disable now, delete later)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from reconciler.core.action import make_change
from reconciler.core.changes import DEPROVISIONS, Action, Change
from reconciler.core.config import Target
from reconciler.core.diff import AttrChange
from reconciler.core.match import Match
from reconciler.core.model import Declared, Kind, Resource

_DEPROVISIONED = frozenset(a.value for a in DEPROVISIONS)


@dataclass
class Outside:
    changes: list[Change] = field(default_factory=list)
    # (kind, key, reason, outcome) for the plan's `out_of_scope` list.
    entries: list[tuple[Kind, str, str, str]] = field(default_factory=list)
    # Users already disabled that this policy deprovisions: candidates for `delete_after`.
    dormant: list[tuple[Declared, Resource, str]] = field(default_factory=list)

    def outcomes(
        self, changes: Iterable[Change], taken: Mapping[tuple[Kind, str], str]
    ) -> tuple[tuple[str, str, str], ...]:
        """(key, reason, outcome) for the plan, each outcome what the finished plan does: the
        outcome recorded here is what this policy asks, and the plan's last passes may
        change it (core/finish.py): a protected account spared, a deprovision withheld after
        a short read, an account already disabled deleted for `delete_after`."""
        done = {(c.kind, c.key): c.action.value for c in changes if c.action in DEPROVISIONS}
        return tuple(
            (key, reason, _final(outcome, done.get((kind, key)), taken.get((kind, key))))
            for kind, key, reason, outcome in self.entries
        )


def _final(asked: str, done: str | None, taken: str | None) -> str:
    if asked not in _DEPROVISIONED:
        return asked  # left alone: nothing of this policy's to take back
    return done or taken or asked


def plan_outside(
    outside: list[tuple[Declared, str]],
    matches: Mapping[str, Match],
    target: Target,
    inactive: frozenset[str] = frozenset(),
) -> Outside:
    """Objects out of scope: deprovisioned only if the target's policy says so, and the
    plan says why either way. Groups are deleted; users disabled or deleted, but those in
    `inactive` (kept with `active: false`: TargetView.inactive) only disabled."""
    out = Outside()
    for obj, reason in outside:
        kept = obj.key in inactive
        match = matches[obj.key]
        found = match.resource
        if found is None or match.error or target.out_of_scope == "skip":
            outcome = "left alone" if found else "not provisioned"
            out.entries.append((obj.kind, obj.key, reason, outcome))
            continue
        deletes = (obj.deprovision or target.deprovision) == "delete" and not kept
        if obj.kind is Kind.GROUP or deletes:
            out.changes.append(make_change(obj, match, Action.DELETE, reason))
            out.entries.append((obj.kind, obj.key, reason, "delete"))
            continue
        if found.body.get("active") is False:
            if not kept:  # already as the spec keeps it: nothing to delete later
                out.dormant.append((obj, found, reason))
        else:
            disable = (AttrChange("active", found.body.get("active"), False),)
            out.changes.append(make_change(obj, match, Action.DISABLE, reason, disable))
        out.entries.append((obj.kind, obj.key, reason, "disable"))
    return out
