"""What `apply --plan` checks before it runs a saved plan, against the spec and the target.

A plan file travels between CI jobs as an artifact; whoever can edit it must gain nothing a
reviewer did not approve. So the target's settings (URL, credentials, TLS, guards,
`protected`) come from the spec, and the plan must agree with them; the spec must be the
one the plan was made from; the objects it touches must be as they were; protection and
the guards are applied again, through the functions planning uses, to exactly the changes
that will run; every change must be one the spec and the target still call for (a plan
made now would contain it, identically), so an edited change is refused even without a key;
and the plan must leave out none of the changes a plan made now holds, so neither is a
change taken out of the file.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from reconciler.core.changes import Action, Change
from reconciler.core.config import Target
from reconciler.core.diff import AttrChange
from reconciler.core.lifecycle import moment
from reconciler.core.mapping import AttrMapping
from reconciler.core.masking import write_only
from reconciler.core.match import Index, match_one
from reconciler.core.model import Declared, Json, Kind, Observed
from reconciler.core.plan import Plan
from reconciler.core.planfile import SavedPlan, by_id, duration, fingerprint, settings_of
from reconciler.core.requirements import broken
from reconciler.core.spare import spare_protected
from reconciler.core.targetview import extension_path
from reconciler.expressions.syntax import Call, walk

# How far in the future a plan's creation time may be, for clocks that disagree a little.
CLOCK_SKEW = timedelta(minutes=5)
# A GUID as Guid() gives it (8-4-4-4-12 hex digits), in either case, with or without its
# hyphens: the one part of a mapped value that differs between two plans of one time.
GUID = re.compile(
    r"(?<![0-9a-f])[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}(?![0-9a-f])",
    re.IGNORECASE,
)


def too_old(saved: SavedPlan, now: datetime, max_age: timedelta) -> str | None:
    age = now - saved.created_at
    if age > max_age:
        return f"the plan is {duration(age)} old, older than the maximum {duration(max_age)}"
    return None


def from_the_future(saved: SavedPlan, now: datetime) -> str | None:
    if saved.created_at > now + CLOCK_SKEW:
        return (
            f"the plan says it was made at {saved.created_at.isoformat()}, in the future "
            f"(it is now {now.isoformat()})"
        )
    return None


def setting_differences(saved: SavedPlan, target: Target) -> list[str]:
    """The target settings the plan recorded that the spec's target does not have."""
    now = settings_of(target)
    return sorted(k for k in set(now) | set(saved.settings) if now.get(k) != saved.settings.get(k))


def stale_reasons(saved: SavedPlan, observed: Observed, target: Target) -> list[str]:
    """Objects the plan touches that changed on the target since; empty when none did."""
    reasons = []
    resources = by_id(observed)
    changes = {(c.kind, c.key): c for c in saved.plan.changes}
    indexes = {
        Kind.USER: Index(observed.users, target.user_matching),
        Kind.GROUP: Index(observed.groups, target.group_matching),
    }
    for entry in saved.seen:
        if entry.id is None:  # a planned create: it must still be missing
            change = changes[(entry.kind, entry.key)]
            attrs = {a.path: a.after for a in change.attributes}
            probe = Declared(kind=entry.kind, key=entry.key, attrs=attrs)
            if match_one(probe, indexes[entry.kind]).resource is not None:
                reasons.append(f"{entry.kind.value} {entry.key} now exists on the target")
            continue
        found = resources.get((entry.kind, entry.id))
        if found is None:
            reasons.append(
                f"{entry.kind.value} {entry.key} (id {entry.id}) no longer exists on the target"
            )
        elif fingerprint(found) != entry.fingerprint:
            reasons.append(
                f"{entry.kind.value} {entry.key} (id {entry.id}) changed on the target since "
                "the plan"
            )
    return reasons


def protection_problems(
    changes: tuple[Change, ...], target: Target, observed: Observed
) -> list[str]:
    """Protection, through the function planning applies it with, on exactly these changes:
    whatever it would take out of a plan, a saved plan must not hold."""
    # Every note says what protection took out (the object's delete, disable or rename, or
    # a protected member's removal); there is one exactly where the plan goes past it.
    _, notes = spare_protected(target, changes, observed)
    return [f"the plan goes past the spec's `protected`: {note}" for note in notes]


def unmasked(saved: Plan, fresh: Plan) -> Plan:
    """`saved` with the values its file holds masked (write-only attributes, never written
    to a file: core/masking.py) taken from `fresh`, a plan made now from the same spec: a
    value generated at plan time (`Guid()`) is then one no reader saw. One that `fresh`
    does not hold stays masked, and `unreviewed` refuses its change."""
    now = {(c.kind, c.key): {a.path: a for a in c.attributes} for c in fresh.changes}
    changes = []
    for change in saved.changes:
        held = now.get((change.kind, change.key), {})
        # A write-only value is always the fresh plan's, masked in the file or not: one
        # written in clear there was put by someone editing the file (a password of their
        # choosing); the file never holds one (core/masking.py).
        attributes = tuple(
            held.get(a.path, a) if write_only(a.path, fresh.write_only) else a
            for a in change.attributes
        )
        changes.append(dataclasses.replace(change, attributes=attributes))
    return dataclasses.replace(saved, changes=tuple(changes), write_only=fresh.write_only)


def unreviewed(
    saved: Plan, fresh: Plan, target: Target, created_at: datetime | None = None
) -> list[str]:
    """Saved changes that a plan made now, from the spec and the target, does not contain
    as they are: edited, added, or no longer called for.

    `fresh` must be made with the saved plan's own time as its clock (`created_at`), so
    that what a mapping computes from Now() is computed again, and compared: only the
    GUIDs Guid() draws are new in it.
    """
    now = {(c.kind, c.key): c for c in fresh.changes}
    random = _draws_guids(target)
    # The time of disabling a disable writes is the clock of the plan that made it: it is
    # compared by presence, and it must be the saved plan's own creation time (an edit
    # there would decide when accounts are deleted).
    stamp = target.disabled_at if target.delete_after is not None else None
    expected = moment(created_at) if created_at is not None else None
    reasons = []
    for change in saved.changes:
        when = [a.after for a in change.attributes if stamp is not None and a.path == stamp]
        if change.action is Action.DISABLE and when and expected and when != [expected]:
            reasons.append(
                f"{change.kind.value} {change.key}: the time of disabling it records is not "
                "the plan's own time"
            )
            continue
        other = now.get((change.kind, change.key))
        if other is None:
            reasons.append(
                f"{change.kind.value} {change.key}: the plan would {change.action.value} it, "
                "but the spec and the target no longer call for that"
            )
        elif _form(change, random[change.kind], stamp) != _form(other, random[change.kind], stamp):
            reasons.append(
                f"{change.kind.value} {change.key}: the plan's {change.action.value} differs "
                "from what the spec and the target call for now"
            )
    return reasons


def left_out(saved: Plan, fresh: Plan) -> list[str]:
    """Changes a plan made now, from the spec and the target, holds that the saved plan
    does not: taken out of the file, or called for by drift since the plan.

    Without a key anyone can delete a change (with its `seen` entry: planfile.py refuses
    one without the other) and digest the file again; `unreviewed` alone then applies the
    rest, and a reviewed disable or member removal silently never happens. Changes are
    matched by kind and key, never by position or value: the order may differ, and so may
    the values new on every run (GUIDs, the time of disabling), which `unreviewed` already
    compares for the changes both plans hold. Nothing else may legitimately differ: a saved
    plan is never resumed (an object an interrupted apply of it changed, or created, is
    stale: stale_reasons), an object created on the target since is either a planned
    create (stale) or drift that calls for a change nobody reviewed, and a plan saved with
    `--only` is indistinguishable, without a key, from one with changes taken out.
    """
    held = {(c.kind, c.key) for c in saved.changes}
    return [
        f"{c.kind.value} {c.key}: the plan leaves out the {c.action.value} the spec and the "
        "target call for"
        for c in fresh.changes
        if (c.kind, c.key) not in held
    ]


def requirements(saved: Plan, fresh: Plan, observed: Observed, target: Target) -> tuple[str, ...]:
    """The groups' and roles' requirements the saved plan's changes break, judged with what
    a plan made now sees (core/requirements.py; a plan file does not carry them apart from
    its guards, which apply computes again)."""
    if fresh.view is None:
        return ()
    users = {key: m for (kind, key), m in fresh.matches.items() if kind is Kind.USER}
    groups = {key: m for (kind, key), m in fresh.matches.items() if kind is Kind.GROUP}
    return tuple(broken(saved.changes, fresh.view, observed, users, groups, target))


def _draws_guids(target: Target) -> Mapping[Kind, frozenset[str]]:
    """Attributes mapped by an expression that calls Guid(): new in every plan.

    Such mappings are allowed only with `apply: on_create`, so only creates carry them.
    Now() is not among them: the fresh plan reads the saved plan's own time, so a value
    computed from the clock (a pre-hire's `active`) must be the one reviewed.
    """

    def of(mappings: Iterable[AttrMapping]) -> frozenset[str]:
        return frozenset(
            extension_path(m.target, target.extensions)  # as changes name it
            for m in mappings
            if m.expression is not None
            and any(isinstance(n, Call) and n.name == "Guid" for n in walk(m.expression))
        )

    return {Kind.USER: of(target.user_mappings), Kind.GROUP: of(target.group_mappings)}


def _form(change: Change, random: frozenset[str], stamp: str | None = None) -> Json:
    """What a change does, in one comparable form (exact JSON, so true is not 1)."""
    attributes = sorted(
        _exact([a.path, a.before, _after(change, a, random, stamp), a.ref])
        for a in change.attributes
    )
    return [
        change.kind.value,
        change.key,
        change.action.value,
        change.target_id,
        change.version,
        attributes,
        sorted(_exact([m.key, m.id, m.type]) for m in change.members_add),
        sorted(_exact([m.key, m.id, m.type]) for m in change.members_remove),
    ]


def _after(change: Change, attr: AttrChange, random: frozenset[str], stamp: str | None) -> Json:
    """An attribute's new value as it is compared, with what differs between runs left out.

    A disable's time of disabling is compared by its presence (unreviewed checks it is
    the plan's own). A create's value mapped with Guid() is compared with each GUID in it
    masked: one GUID may stand for another, but its type and every character Guid() did
    not draw (text around the GUID, a flag a comparison decided) must be as reviewed.
    """
    if change.action is Action.DISABLE and attr.path == stamp:
        return "*"
    if change.action is Action.CREATE and attr.path in random:
        return GUID.sub("<guid>", _exact(attr.after))
    return attr.after


def _exact(value: Json) -> str:
    return json.dumps(value, sort_keys=True)
