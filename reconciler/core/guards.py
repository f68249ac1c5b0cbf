"""Guards that refuse mass deprovisioning (DESIGN §6): pure checks over a plan."""

from __future__ import annotations

import dataclasses

from reconciler.core.config import Target
from reconciler.core.model import Kind, Observed
from reconciler.core.plan import DEPROVISIONS, Plan

DEFAULT_MAX_DELETES = 10


def check_guards(plan: Plan, target: Target, observed: Observed, allow_deletes: int = 0) -> Plan:
    """Return the plan with the reasons any guard refuses its deprovisions.

    Disables count as deprovisions too: a disabled account locks a person out just the
    same. `allow_deletes` is the operator's explicit override for this run.
    """
    reasons: list[str] = []
    for kind, observed_count in (
        (Kind.USER, len(observed.users)),
        (Kind.GROUP, len(observed.groups)),
    ):
        count = sum(1 for c in plan.changes if c.kind is kind and c.action in DEPROVISIONS)
        if not count or count <= allow_deletes:
            continue
        limit = target.max_deletes if target.max_deletes is not None else DEFAULT_MAX_DELETES
        if count > limit:
            reasons.append(
                f"{_count(count, kind.value)} would be deprovisioned, more than guards.max_deletes "
                f"({limit}); re-run with --allow-deletes {count} if that is intended"
            )
        percent = target.max_delete_percent
        if percent is not None and observed_count and count * 100 / observed_count > percent:
            share = round(count * 100 / observed_count, 1)
            of = _count(observed_count, kind.value)
            reasons.append(
                f"{count} of {of} ({share}%) would be deprovisioned, "
                f"more than guards.max_delete_percent ({percent}%); re-run with "
                f"--allow-deletes {count} if that is intended"
            )
    return dataclasses.replace(plan, guards=tuple(reasons))


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
