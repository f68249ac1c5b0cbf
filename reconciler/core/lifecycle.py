"""Disable now, delete later (`deprovision: {action: disable, delete_after: 30d}`): the time
of disabling is recorded on the target itself, and an account scimrec deprovisions is
deleted once the period has passed since then. No local state: what the plan knows of a
disabled account is what the target holds.

Where the time is (the target's `disabled_at`):

- an attribute of a schema extension (scimrec's own by default, or one the app serves),
  written by scimrec with the disable, in the same request. Only scimrec writes it, so it
  says when scimrec disabled the account. A target that refuses it still gets the disable
  (scim/apply/deprovision.py); one that drops it silently holds no time: either way the
  account is then never deleted automatically, and each plan says so.
- `meta.lastModified`, for a target that keeps it honestly: any later change to the
  account moves it, which can only postpone the deletion. A target whose lastModified
  never moves (django-scim2 keeps the creation time) would have accounts deleted at once:
  choose it only for a target known to keep it.

Which accounts: those scimrec deprovisions (`state: absent`, prune, `out_of_scope:
deprovision`), never a declared user kept with `active: false`. Pure: the run's clock is
passed in.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from reconciler.core import attributes as A
from reconciler.core.changes import Action, Change, ObjectError
from reconciler.core.config import LAST_MODIFIED, Target
from reconciler.core.diff import AttrChange
from reconciler.core.model import Json, Kind, Resource
from reconciler.core.prune import protected

# How many accounts without a recorded time a plan names before it counts the rest.
NAMED = 10


@dataclass(frozen=True, slots=True)
class Scheduled:
    """A disabled account and when it will be deleted."""

    key: str
    target_id: str
    disabled_at: str
    delete_on: str

    def to_json(self) -> dict[str, Json]:
        return {
            "kind": "user",
            "key": self.key,
            "target_id": self.target_id,
            "disabled_at": self.disabled_at,
            "delete_on": self.delete_on,
        }


@dataclass(frozen=True, slots=True)
class Dormant:
    """An account scimrec deprovisions that is already disabled: deleted when its time is
    up, else scheduled."""

    key: str
    resource: Resource
    reason: str


@dataclass
class Lifecycle:
    changes: list[Change]
    scheduled: list[Scheduled]
    notes: list[str]
    errors: list[ObjectError]


def moment(value: datetime) -> str:
    """A time as RFC 7643 §2.3.5 writes it (xsd:dateTime), in UTC."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def read_time(value: Json) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("z", "Z"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def deadline(since: datetime, after: timedelta) -> tuple[datetime, datetime] | None:
    """`since` in UTC and `since + after`; None when either falls outside the calendar
    Python counts in (years 1 to 9999). A target's time can be anywhere in xsd:dateTime:
    `9999-12-31T23:00:00Z` plus 30 days, or `0001-01-01T00:00:00+01:00` in UTC, overflows."""
    try:
        start = since.astimezone(UTC)
        return start, start + after
    except OverflowError:
        return None


def period(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def expire(dormant: Iterable[Dormant], target: Target, now: datetime | None) -> Lifecycle:
    """Deletes for disabled accounts whose period has passed; the others scheduled."""
    out = Lifecycle([], [], [], [])
    after = target.delete_after
    if after is None:
        return out
    if now is None:
        out.notes.append("delete_after needs the run's clock: no account is deleted in this plan")
        return out
    unknown: list[str] = []
    for item in dormant:
        body = item.resource.body
        shielded = protected(target, item.key) or protected(target, _name(body))
        recorded = _disabled_at(item.resource, target)
        since = read_time(recorded)
        if since is None:
            if not shielded:
                unknown.append(item.key)
            continue
        counted = deadline(since, after)
        if counted is None:
            # No deletion can be counted from it, and guessing one (now, or never) from a
            # time that is plainly wrong is what must not happen: the account is in error
            # until the target holds a time that can be read.
            if not shielded:
                out.errors.append(_out_of_range(item.key, target, recorded))
            continue
        since, due = counted
        changed = read_time(item.resource.modified)
        if (
            target.disabled_at != LAST_MODIFIED
            and changed is not None
            and changed > since + SAME_WRITE
            and (later := deadline(changed, after)) is not None
        ):
            # Changed since that time (enabled and disabled again, where the target kept the
            # first time): counted from the change, which can only postpone the deletion.
            since, due = later
        if _implausible(since, item.resource):
            # .NET's unset DateTime (0001-01-01), or a time before the account existed: not
            # a time scimrec wrote, and counted from it the account would go at once.
            if not shielded:
                out.errors.append(_out_of_range(item.key, target, recorded, "implausible"))
            continue
        if due <= now:
            # Protected or not: core/spare.py spare_protected takes it out, and says so.
            reason = f"disabled since {moment(since)}: delete_after {period(after)} has passed"
            out.changes.append(
                Change(
                    kind=Kind.USER,
                    key=item.key,
                    action=Action.DELETE,
                    reason=reason,
                    target_id=item.resource.id,
                    version=item.resource.version,
                )
            )
        elif not shielded:  # a protected account is never deleted: never scheduled either
            out.scheduled.append(Scheduled(item.key, item.resource.id, moment(since), moment(due)))
    if unknown:
        more = len(unknown) - NAMED
        named = ", ".join(unknown[:NAMED]) + (f" and {more} more" if more > 0 else "")
        out.notes.append(
            f"{len(unknown)} disabled user(s) have no time of disabling on the target "
            f"({target.disabled_at}), so delete_after never deletes them: {named}"
        )
    return out


def stamp(
    changes: list[Change],
    target: Target,
    now: datetime | None,
    observed: Mapping[str, Resource],
    kept: frozenset[str],
) -> tuple[list[Change], list[Scheduled]]:
    """Every disable of an account scimrec deprovisions also writes the time of disabling
    (where scimrec writes it), and is scheduled for deletion. `kept` are the ids of
    declared users the target keeps: their `active: false` is no deprovision."""
    after = target.delete_after
    if after is None or now is None:
        return changes, []
    out: list[Change] = []
    scheduled: list[Scheduled] = []
    for change in changes:
        target_id = change.target_id
        if (
            change.kind is not Kind.USER
            or change.action is not Action.DISABLE
            or target_id is None
            or target_id in kept
        ):
            out.append(change)
            continue
        if target.disabled_at != LAST_MODIFIED:
            found = observed.get(target_id)
            before = None if found is None else _disabled_at(found, target)
            when = AttrChange(target.disabled_at, before, moment(now))
            change = dataclasses.replace(change, attributes=(*change.attributes, when))  # noqa: PLW2901
        out.append(change)
        scheduled.append(Scheduled(change.key, target_id, moment(now), moment(now + after)))
    return out, scheduled


# A lastModified this close after the time of disabling is the disable's own write (the
# target stamps it a moment later, to the millisecond, on its own clock), not a change since.
SAME_WRITE = timedelta(minutes=1)
# No account was disabled before Unix time began; an earlier time is a placeholder.
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)


def _implausible(since: datetime, resource: Resource) -> bool:
    """A time of disabling before 1970, or before the target says the account was made."""
    created = read_time(resource.created)
    if created is not None:
        # The time is written to the second (`moment`): an account disabled within the
        # second it was made holds a time a fraction before its meta.created.
        created = created.replace(microsecond=0)
    try:
        return since < _EARLIEST or (created is not None and since < created)
    except OverflowError:  # a created time at the calendar's edge compares as unknown
        return since < _EARLIEST


def _out_of_range(
    key: str, target: Target, recorded: Json, what: str = "out of range"
) -> ObjectError:
    return ObjectError(
        Kind.USER,
        key,
        "action",
        f"the time of disabling on the target ({target.disabled_at}: {recorded!r}) is {what}, "
        "so delete_after cannot count from it: correct it on the target",
    )


def _disabled_at(resource: Resource, target: Target) -> Json:
    if target.disabled_at == LAST_MODIFIED:
        return resource.modified
    return A.read(resource.body, target.disabled_at)


def _name(body: Mapping[str, Json]) -> str | None:
    name = body.get("userName")
    return name if isinstance(name, str) else None
