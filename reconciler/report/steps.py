"""The plan's steps as log events (DESIGN §4): the scope, match and action of each object."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from reconciler.core.config import Spec
from reconciler.core.match import Match
from reconciler.core.model import Kind
from reconciler.core.plan import Plan


def log_steps(plan: Plan, spec: Spec, log: Any) -> None:
    """The scope, match and action events of every object (DESIGN §4).

    An object that changes or fails gets its three events at info: with the writes, that is
    the run's audit trail. An unchanged one gets them at debug; at info, each step instead
    says how many unchanged objects had each outcome, so a no-op plan of 100,000 users
    logs three lines rather than 300,000 (which cost a sixth of such a run).
    """
    actions = {(c.kind, c.key): c for c in plan.changes}
    errors = {(e.kind, e.key): e for e in plan.errors}
    if not _enabled(log, logging.INFO):
        # Only the errors are written: no need to look at every other object.
        for pair in [p for p in plan.matches if p in errors]:
            _errored(log, pair, errors[pair].message)
        return
    groups_out = {key: reason for key, reason, _ in plan.out_of_scope_groups}
    reasons = plan.view.scope_reasons if plan.view else {}
    detailed = _enabled(log, logging.DEBUG)
    # What an unchanged object's scope outcome needs, decided for all of them at once.
    absent = {(o.kind, o.key) for o in (*spec.users, *spec.groups) if not o.present}
    outside = {
        Kind.USER: {k for k, r in reasons.items() if r.startswith("out of scope")},
        Kind.GROUP: {k for k, r in groups_out.items() if r.startswith("out of scope")},
    }
    # Unchanged objects by (scope outcome, match outcome): one count each, summed per step
    # below (three counters per object cost more than the rest of this loop).
    quiet_outcomes: Counter[tuple[str, str]] = Counter()
    for pair, match in plan.matches.items():
        change = actions.get(pair)
        error = errors.get(pair)
        kind, key = pair
        quiet = change is None and error is None
        if pair in absent:
            scoped = "deprovision"
        else:
            scoped = "out_of_scope" if key in outside[kind] else "in_scope"
        if quiet and not detailed:
            quiet_outcomes[scoped, _match_outcome(match)] += 1
            continue
        matched = _match_fields(match)
        if quiet:
            quiet_outcomes[scoped, matched["outcome"]] += 1
        emit = log.debug if quiet else log.info
        common = {"kind": kind.value, "key": key}
        if pair in absent:
            shown = "state: absent"
        else:
            shown = (
                groups_out.get(key, "declared")
                if kind is Kind.GROUP
                else reasons.get(key, "declared")
            )
        emit("scope", step="scope", outcome=scoped, reason=shown, **common)
        emit("match", step="match", **common, **matched)
        if error is not None:
            _errored(log, pair, error.message)
        else:
            outcome = change.action.value if change else "noop"
            emit("action", step="action", outcome=outcome, planned=True, **common)
    unchanged: Counter[tuple[str, str]] = Counter()
    for (scoped, matched_outcome), count in quiet_outcomes.items():
        unchanged["scope", scoped] += count
        unchanged["match", matched_outcome] += count
        unchanged["action", "noop"] += count
    for step in ("scope", "match", "action"):
        outcomes = {o: n for (s, o), n in sorted(unchanged.items()) if s == step}
        if outcomes:
            log.info(
                "unchanged objects",
                step=step,
                outcome="summary",
                objects=sum(outcomes.values()),
                outcomes=outcomes,
            )


def _errored(log: Any, pair: tuple[Kind, str], message: str) -> None:
    kind, key = pair
    log.error("action", step="action", outcome="error", error=message, kind=kind.value, key=key)


def _enabled(log: Any, level: int) -> bool:
    """Whether `log` writes events of `level` (a logger without levels writes them all)."""
    check = getattr(log, "is_enabled_for", None)
    return True if check is None else bool(check(level))


def _match_outcome(match: Match) -> str:
    if match.error:
        return "error"
    return "unmatched" if match.resource is None else "matched"


def _match_fields(match: Match) -> dict[str, Any]:
    outcome = _match_outcome(match)
    if outcome == "error":
        return {"outcome": outcome, "error": match.error}
    if match.resource is None:
        return {"outcome": outcome}
    return {"outcome": outcome, "matched_on": match.matched_on, "target_id": match.resource.id}
