"""Saved plans: what `plan --out` writes and `apply --plan` checks before it runs.

A plan file records the target's settings (environment variable names, never secrets),
the spec's digest, when it was made, and a fingerprint of every object the plan touches:
the target's `meta.version` where it has one, else a hash of the observed body. Apply
re-reads the target and refuses the plan if any of those objects changed since.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from reconciler.core.config import Auth, Target
from reconciler.core.match import Index, match_one
from reconciler.core.model import Declared, Json, Kind, Observed, Resource
from reconciler.core.plan import Action, Plan, plan_from_json
from reconciler.errors import UsageError

FILE_VERSION = 1


@dataclass(frozen=True)
class SavedPlan:
    target: Target
    plan: Plan
    created_at: datetime
    spec_digest: str
    seen: tuple[Mapping[str, Json], ...]


def fingerprint(resource: Resource) -> str:
    if resource.version:
        return f"version:{resource.version}"
    body = dict(resource.body)
    members = body.get("members")
    if isinstance(members, list):  # order carries no meaning (RFC 7643 §2.4)
        body["members"] = sorted(members, key=lambda m: json.dumps(m, sort_keys=True))
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    return f"sha256:{digest}"


def _by_id(observed: Observed) -> dict[tuple[Kind, str], Resource]:
    table = {(Kind.USER, r.id): r for r in observed.users}
    table |= {(Kind.GROUP, r.id): r for r in observed.groups}
    return table


def to_json(
    plan: Plan, target: Target, observed: Observed, spec_digest: str, created_at: datetime
) -> dict[str, Json]:
    resources = _by_id(observed)
    seen: list[dict[str, Json]] = []
    for change in plan.changes:
        if change.target_id is None:
            seen.append({"kind": change.kind.value, "key": change.key, "absent": True})
            continue
        found = resources[(change.kind, change.target_id)]
        seen.append(
            {
                "kind": change.kind.value,
                "key": change.key,
                "id": found.id,
                "fingerprint": fingerprint(found),
            }
        )
    settings = dataclasses.asdict(target)
    # What apply needs to reach the target; mappings and scope were used up by the plan.
    for key in ("location", "user_mappings", "group_mappings", "scope"):
        settings.pop(key, None)
    return {
        "scimrec_plan": FILE_VERSION,
        "created_at": created_at.isoformat(),
        "target": settings,
        "spec_digest": spec_digest,
        "seen": seen,
        "plan": plan.to_json(),
    }


def dumps(data: Mapping[str, Json]) -> str:
    """The text of a plan file (the caller writes it)."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def parse(text: str, path: str) -> SavedPlan:
    """A saved plan from the text of the file at `path` (named in every message)."""
    try:
        data: Any = json.loads(text)
    except ValueError:
        raise UsageError(f"{path} is not a scimrec plan file (not JSON)") from None
    if not isinstance(data, dict) or data.get("scimrec_plan") != FILE_VERSION:
        raise UsageError(f"{path} is not a scimrec plan file (format {FILE_VERSION})")
    try:
        settings = dict(data["target"])
        auth = Auth(**settings.pop("auth"))
        for key in ("user_matching", "group_matching"):
            settings[key] = tuple(settings[key])
        target = Target(**settings, auth=auth)
        return SavedPlan(
            target=target,
            plan=plan_from_json(data["plan"]),
            created_at=datetime.fromisoformat(data["created_at"]),
            spec_digest=str(data["spec_digest"]),
            seen=tuple(data["seen"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"{path} is a damaged scimrec plan file ({exc})") from None


def stale_reasons(
    saved: SavedPlan, observed: Observed, now: datetime, max_age: timedelta
) -> list[str]:
    """Why a saved plan must not be applied now; empty when it is still exactly right."""
    reasons = []
    age = now - saved.created_at
    if age > max_age:
        reasons.append(
            f"the plan is {_duration(age)} old, older than the maximum {_duration(max_age)}"
        )
    resources = _by_id(observed)
    changes = {(c.kind, c.key): c for c in saved.plan.changes}
    indexes = {
        Kind.USER: Index(observed.users, saved.target.user_matching),
        Kind.GROUP: Index(observed.groups, saved.target.group_matching),
    }
    for entry in saved.seen:
        kind, key = Kind(entry["kind"]), str(entry["key"])
        if entry.get("absent"):
            change = changes[(kind, key)]
            attrs = {a.path: a.after for a in change.attributes}
            probe = Declared(kind=kind, key=key, attrs=attrs)
            if (
                match_one(probe, indexes[kind]).resource is not None
                or change.action is not Action.CREATE
            ):
                reasons.append(f"{kind.value} {key} now exists on the target")
            continue
        found = resources.get((kind, str(entry["id"])))
        if found is None:
            reasons.append(f"{kind.value} {key} (id {entry['id']}) no longer exists on the target")
        elif fingerprint(found) != entry["fingerprint"]:
            reasons.append(
                f"{kind.value} {key} (id {entry['id']}) changed on the target since the plan"
            )
    return reasons


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds >= 3600:
        return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


def parse_duration(text: str) -> timedelta:
    """`90s`, `30m`, `12h`, `2d`: the maximum age of a plan file."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    number, unit = text[:-1], text[-1:]
    if unit not in units or not number.isdigit():
        raise UsageError(f"expected a duration such as 30m, 12h or 2d, got '{text}'")
    return timedelta(seconds=int(number) * units[unit])
