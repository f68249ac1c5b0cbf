"""Saved plans: what `plan --out` writes and `apply --plan` reads, checked before it is trusted.

A plan file records the plan, the target's settings (environment variable names, never
secrets), the spec's digest, when it was made, and a fingerprint of every object the plan
touches: the target's `meta.version` where it has one, else a hash of the observed body.
It carries a digest of all of that: a SHA-256, or with a key (`SCIMREC_PLAN_KEY`) an
HMAC-SHA256, so a file edited between the plan job and the apply job is refused. The
file is read strictly (plan_json.py): whatever is malformed is named, never a crash.
What apply then checks against the spec and the target is in plancheck.py.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from reconciler.core.config import Target
from reconciler.core.model import Json, Kind, Observed, Resource
from reconciler.core.plan import Action, Plan
from reconciler.core.plan_json import KINDS, Malformed, choice, mapping, plan_from_json, text
from reconciler.errors import UsageError

FILE_VERSION = 2
# The earliest year a plan file's created_at may name: none was made before.
EARLIEST = 2000
SHA256 = "sha256"
HMAC_SHA256 = "hmac-sha256"
# What a target's settings leave out of a plan file: where they were declared, and what was
# used up by planning (mappings, scope, assignment and roles are the spec's; the spec's
# digest covers them).
NOT_RECORDED = ("location", "user_mappings", "group_mappings", "scope", "assign_groups", "roles")


@dataclass(frozen=True)
class Seen:
    """What the plan saw of one object it changes: its id and fingerprint, or its absence."""

    kind: Kind
    key: str
    id: str | None
    fingerprint: str | None


@dataclass(frozen=True)
class SavedPlan:
    plan: Plan
    settings: Mapping[str, Json]  # the target's settings when the plan was made
    created_at: datetime
    spec_digest: str
    seen: tuple[Seen, ...]
    signed: bool  # an HMAC (with a key), not only a digest

    @property
    def target(self) -> str:
        return self.plan.target


def fingerprint(resource: Resource) -> str:
    if resource.version:
        return f"version:{resource.version}"
    body = dict(resource.body)
    members = body.get("members")
    if isinstance(members, list):  # order carries no meaning (RFC 7643 §2.4)
        body["members"] = sorted(members, key=lambda m: json.dumps(m, sort_keys=True))
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    return f"sha256:{digest}"


def by_id(observed: Observed) -> dict[tuple[Kind, str], Resource]:
    table = {(Kind.USER, r.id): r for r in observed.users}
    table |= {(Kind.GROUP, r.id): r for r in observed.groups}
    return table


def settings_of(target: Target) -> dict[str, Json]:
    """A target's settings as a plan file records them, in their JSON form."""
    settings = dataclasses.asdict(target)
    for key in NOT_RECORDED:
        settings.pop(key, None)
    if target.delete_after is not None:  # a period, in seconds
        settings["delete_after"] = target.delete_after.total_seconds()
    result: dict[str, Json] = json.loads(json.dumps(settings))
    return result


def to_json(
    plan: Plan,
    target: Target,
    observed: Observed,
    spec_digest: str,
    created_at: datetime,
    key: bytes | None = None,
) -> dict[str, Json]:
    """The content of a plan file, with its digest (an HMAC when a `key` is given)."""
    resources = by_id(observed)
    seen: list[Json] = []
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
    content: dict[str, Json] = {
        "scimrec_plan": FILE_VERSION,
        "created_at": created_at.isoformat(),
        "target": settings_of(target),
        "spec_digest": spec_digest,
        "seen": seen,
        "plan": plan.to_json(),
    }
    return content | {"digest": digest_of(content, key)}


def canonical(content: Mapping[str, Json]) -> bytes:
    """The bytes a digest covers: the whole file but the digest, in one fixed form.

    A plan can name an object by a target's id that holds a lone surrogate (that object is
    in error): surrogatepass gives it bytes where UTF-8 has none, and leaves every other
    text's bytes as they were. The file holds it as a JSON escape (cli/output.py), which
    reads back as the same text, so the digest still matches.
    """
    return json.dumps(
        content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8", "surrogatepass")


def digest_of(content: Mapping[str, Json], key: bytes | None) -> dict[str, Json]:
    data = canonical(content)
    if key is None:
        return {"algorithm": SHA256, "value": hashlib.sha256(data).hexdigest()}
    return {"algorithm": HMAC_SHA256, "value": hmac.new(key, data, hashlib.sha256).hexdigest()}


def dumps(data: Mapping[str, Json]) -> str:
    """The text of a plan file (the caller writes it)."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def parse(text_: str, path: str, key: bytes | None = None) -> SavedPlan:
    """A saved plan from the text of the file at `path` (named in every message).

    The digest is checked before anything in the file is used: with a key, the file must
    carry an HMAC made with it; without one, a file that carries an HMAC is refused too,
    since it cannot be checked.
    """
    try:
        data: Any = json.loads(text_, parse_constant=_no_constant, parse_float=_finite)
    except (ValueError, RecursionError):
        raise UsageError(f"{path} is not a scimrec plan file (not JSON)") from None
    if not isinstance(data, dict) or "scimrec_plan" not in data:
        raise UsageError(f"{path} is not a scimrec plan file")
    if data["scimrec_plan"] != FILE_VERSION:
        raise UsageError(
            f"{path} is a scimrec plan file of format {short(data['scimrec_plan'])}, not "
            f"{FILE_VERSION} (made by another version of scimrec): make a new plan"
        )
    _check_digest(data, path, key)
    try:
        return _saved(data)
    except Malformed as exc:
        raise UsageError(f"{path} is a damaged scimrec plan file: {exc}") from None


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _finite(text_: str) -> float:
    """A float as JSON holds it: `1e999` reads as infinity, which no digest's fixed form
    (canonical) can hold, so it is refused here, as NaN is, instead of crashing there."""
    value = float(text_)
    if not math.isfinite(value):
        raise ValueError(f"{text_} is out of range")
    return value


def _check_digest(data: dict[str, Any], path: str, key: bytes | None) -> None:
    digest = data.get("digest")
    if not isinstance(digest, dict) or set(digest) != {"algorithm", "value"}:
        raise UsageError(f"{path} carries no digest: refusing a plan file that cannot be checked")
    algorithm, value = digest["algorithm"], digest["value"]
    if algorithm not in (SHA256, HMAC_SHA256) or not isinstance(value, str):
        raise UsageError(f"{path} carries a digest scimrec does not know: {short(algorithm)}")
    if key is not None and algorithm != HMAC_SHA256:
        raise UsageError(
            f"refusing {path}: SCIMREC_PLAN_KEY is set but the file carries no HMAC, so it "
            "may have been replaced; make the plan with the same key"
        )
    if key is None and algorithm == HMAC_SHA256:
        raise UsageError(
            f"refusing {path}: the file carries an HMAC; set SCIMREC_PLAN_KEY to the key it "
            "was made with, so it can be checked"
        )
    content = {k: v for k, v in data.items() if k != "digest"}
    expected = digest_of(content, key)["value"]
    if not hmac.compare_digest(str(expected), value):
        what, cause = ("HMAC", "another key, or the file") if key else ("digest", "the file")
        raise UsageError(
            f"refusing {path}: its {what} does not match ({cause} was edited or damaged since "
            "the plan was made)"
        )


def _saved(data: dict[str, Any]) -> SavedPlan:
    mapping(
        data,
        "file",
        required={"created_at", "target", "spec_digest", "seen", "plan"},
        allowed={"scimrec_plan", "created_at", "target", "spec_digest", "seen", "plan", "digest"},
    )
    plan = plan_from_json(data["plan"])
    settings = mapping(data["target"], "target", required={"name", "url"})
    if settings["name"] != plan.target or settings["url"] != plan.url:
        raise Malformed("target: the name and url differ from the plan's")
    try:
        created_at = datetime.fromisoformat(text(data["created_at"], "created_at"))
    except ValueError:
        got = short(data["created_at"])
        raise Malformed(f"created_at: expected a date and time, got {got}") from None
    if created_at.tzinfo is None:
        raise Malformed("created_at: expected a time zone (as scimrec writes it)")
    if not _in_range(created_at):
        got = short(data["created_at"])
        raise Malformed(f"created_at: out of range (a UTC time from {EARLIEST} on), got {got}")
    if not isinstance(data["seen"], list):
        raise Malformed("seen: expected a list")
    seen = tuple(_seen(item, f"seen[{i}]") for i, item in enumerate(data["seen"]))
    _check_seen(plan, seen)
    return SavedPlan(
        plan=plan,
        settings=settings,
        created_at=created_at,
        spec_digest=text(data["spec_digest"], "spec_digest"),
        seen=seen,
        signed=data["digest"]["algorithm"] == HMAC_SHA256,
    )


def _in_range(created_at: datetime) -> bool:
    """Whether `created_at` is a time in UTC (0001-01-01T00:00+14:00 is not: in UTC it is
    before year 1, and every comparison or clock reading of it would overflow) and not
    before scimrec could have made a plan."""
    try:
        return created_at.astimezone(UTC).year >= EARLIEST
    except OverflowError:
        return False


def _seen(data: Json, where: str) -> Seen:
    item = mapping(data, where, required={"kind", "key"})
    kind = Kind(choice(item["kind"], f"{where}.kind", KINDS))
    key = text(item["key"], f"{where}.key")
    if item.get("absent") is True:
        mapping(item, where, allowed={"kind", "key", "absent"})
        return Seen(kind, key, None, None)
    mapping(
        item, where, required={"id", "fingerprint"}, allowed={"kind", "key", "id", "fingerprint"}
    )
    return Seen(
        kind,
        key,
        text(item["id"], f"{where}.id"),
        text(item["fingerprint"], f"{where}.fingerprint"),
    )


def _check_seen(plan: Plan, seen: tuple[Seen, ...]) -> None:
    """One `seen` entry per change, and each consistent with it: a change the staleness
    check would not cover, or two changes to one object, make the file malformed."""
    changes: dict[tuple[Kind, str], int] = {}
    ids: set[tuple[Kind, str]] = set()
    for index, change in enumerate(plan.changes):
        where = f"plan.changes[{index}]"
        if (change.kind, change.key) in changes:
            raise Malformed(f"{where}: a second change for {change.kind.value} {change.key}")
        changes[(change.kind, change.key)] = index
        if change.target_id is None and change.action is not Action.CREATE:
            raise Malformed(f"{where}: a {change.action.value} needs the object's target_id")
        if change.target_id is not None:
            if change.action is Action.CREATE:
                raise Malformed(f"{where}: a create has no target_id")
            if (change.kind, change.target_id) in ids:
                raise Malformed(f"{where}: a second change for id {change.target_id}")
            ids.add((change.kind, change.target_id))
    covered: set[tuple[Kind, str]] = set()
    for index, entry in enumerate(seen):
        where = f"seen[{index}]"
        found = changes.get((entry.kind, entry.key))
        if found is None or (entry.kind, entry.key) in covered:
            raise Malformed(
                f"{where}: no change (or a second entry) for {entry.kind.value} {entry.key}"
            )
        covered.add((entry.kind, entry.key))
        if entry.id != plan.changes[found].target_id:
            raise Malformed(f"{where}: the id differs from the change's target_id")
    missing = sorted(set(changes) - covered)
    if missing:
        kind, key = missing[0]
        raise Malformed(f"seen: nothing recorded for the change to {kind.value} {key}")


def short(data: Any) -> str:
    shown = repr(data)
    return shown if len(shown) <= 40 else shown[:37] + "..."


def parse_duration(text_: str) -> timedelta:
    """`90s`, `30m`, `12h`, `2d`: the maximum age of a plan file."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    number, unit = text_[:-1], text_[-1:]
    # ASCII digits ("²" passes isdigit() and fails int()), and few enough that any unit
    # stays within what a timedelta holds (999,999,999 days).
    if unit not in units or not (number.isascii() and number.isdigit()) or len(number) > 9:
        raise UsageError(
            f"expected a duration such as 30m, 12h or 2d (at most 9 digits), got '{text_}'"
        )
    return timedelta(seconds=int(number) * units[unit])


def duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds >= 3600:
        return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"
