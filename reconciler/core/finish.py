"""The last passes over a plan's changes, in order, whatever produced them: deletes of
accounts whose `delete_after` has passed, protection, the time of disabling written with
each disable, and, after a short read of the target, every removal withheld."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from reconciler.core.changes import DEPROVISIONS, Action, Change, ObjectError
from reconciler.core.config import Target
from reconciler.core.lifecycle import Dormant, Scheduled, expire, stamp
from reconciler.core.model import Kind, Observed
from reconciler.core.spare import spare_protected

# What becomes of an object whose deprovision these passes take out of the plan, in the
# words of the plan's `out_of_scope` outcomes (core/outside.py).
SPARED = "left alone (protected)"
WITHHELD = "withheld (incomplete read)"


@dataclass(frozen=True)
class Finished:
    changes: list[Change]
    notes: list[str]
    scheduled: tuple[Scheduled, ...]
    deleted: frozenset[str]  # keys of the accounts deleted for `delete_after`
    # Accounts whose time of disabling cannot be counted from (lifecycle.deadline).
    errors: tuple[ObjectError, ...]
    # Each object a deprovision was planned for and is no longer: SPARED or WITHHELD.
    taken: dict[tuple[Kind, str], str]


def finish(
    changes: list[Change],
    target: Target,
    observed: Observed,
    dormant: list[Dormant],
    kept: frozenset[str],
    now: datetime | None,
) -> Finished:
    """`kept`: the ids of the declared users the target keeps (their `active: false` is not
    a deprovision, so never scheduled for deletion)."""
    # Whatever route made an account dormant, one the spec keeps is never deleted.
    expired = expire([d for d in dormant if d.resource.id not in kept], target, now)
    changes = changes + expired.changes
    notes = list(expired.notes)
    planned = _deprovisioned(changes)
    # Protection before the time is written: a spared disable writes nothing of it.
    changes, spared = spare_protected(target, changes, observed)
    notes += spared
    taken = dict.fromkeys(planned - _deprovisioned(changes), SPARED)
    changes, stamped = stamp(changes, target, now, {r.id: r for r in observed.users}, kept)
    if not observed.complete:
        changes, withheld = _withhold_removals(changes)
        taken |= dict.fromkeys(planned - taken.keys() - _deprovisioned(changes), WITHHELD)
        if withheld:
            notes.append(
                f"the target's listing was incomplete, so {withheld} deprovision(s) and member "
                "removal(s) are withheld from this plan; creates are checked on the target first"
            )
    disabled = {c.target_id for c in changes if c.action is Action.DISABLE}
    scheduled = expired.scheduled + [s for s in stamped if s.target_id in disabled]
    return Finished(
        changes,
        notes,
        tuple(sorted(scheduled, key=lambda s: (s.delete_on, s.key))),
        frozenset(c.key for c in expired.changes if c in changes),
        tuple(expired.errors),
        taken,
    )


def _deprovisioned(changes: list[Change]) -> set[tuple[Kind, str]]:
    return {(c.kind, c.key) for c in changes if c.action in DEPROVISIONS}


def _withhold_removals(changes: list[Change]) -> tuple[list[Change], int]:
    """An object missing from a short read may exist: never remove or deprovision from one."""
    kept: list[Change] = []
    withheld = 0
    for change in changes:
        if change.action in DEPROVISIONS:
            withheld += 1
            continue
        if change.members_remove:
            withheld += len(change.members_remove)
            trimmed = dataclasses.replace(change, members_remove=())
            empty = not trimmed.attributes and not trimmed.members_add
            if trimmed.action is Action.UPDATE and empty:
                continue
            kept.append(trimmed)
            continue
        kept.append(change)
    return kept, withheld
