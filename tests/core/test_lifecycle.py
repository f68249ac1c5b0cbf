"""Disable now, delete later: the time of disabling written with each disable scimrec makes,
read back from the target, and a delete (through the guards) once `delete_after` has passed."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from reconciler.core import lifecycle, plancheck, planfile
from reconciler.core.changes import Action
from reconciler.core.config import DISABLED_AT, LIFECYCLE_URN
from reconciler.core.guards import refusals
from reconciler.core.model import Json, Observed, Resource
from reconciler.core.plan import Plan, PlanOptions, make_plan
from reconciler.core.plan_json import plan_from_json
from reconciler.report.markdown import plan_markdown
from reconciler.report.render import plan_text
from tests.core.test_plan import TARGET, keyed, load, user_res

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
LIFECYCLE = "    deprovision: {action: disable, delete_after: 30d}\n"
GONE = "users:\n  - {userName: gone@example.com, state: absent}\n"


def days_ago(days: int) -> str:
    return (NOW - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def disabled(rid: str, name: str, since: str | None, **attrs: Json) -> Resource:
    """A disabled account, with the time of disabling scimrec recorded (or none)."""
    stamp: dict[str, Json] = {LIFECYCLE_URN: {"disabledAt": since}} if since else {}
    return user_res(rid, name, None, active=False, **stamp, **attrs)


def plan(
    root: Path,
    text: str,
    users: tuple[Resource, ...],
    now: datetime | None = NOW,
    complete: bool = True,
) -> Plan:
    spec = load(root, TARGET + text)
    observed = Observed(users, (), complete=complete)
    return make_plan(spec, spec.targets["t"], observed, PlanOptions(now=now))


def test_a_disable_records_its_time_and_is_scheduled(tmp_path: Path) -> None:
    result = plan(tmp_path, LIFECYCLE + GONE, (user_res("u-1", "gone@example.com", active=True),))
    change = result.changes[0]
    assert change.action is Action.DISABLE
    assert [(a.path, a.before, a.after) for a in change.attributes] == [
        ("active", True, False),
        (DISABLED_AT, None, "2025-03-01T12:00:00Z"),
    ]
    assert result.to_json()["scheduled_deletes"] == [
        {
            "kind": "user",
            "key": "gone@example.com",
            "target_id": "u-1",
            "disabled_at": "2025-03-01T12:00:00Z",
            "delete_on": "2025-03-31T12:00:00Z",
        }
    ]
    line = (
        "Scheduled: user gone@example.com (id u-1) disabled 2025-03-01T12:00:00Z, "
        "deleted on or after 2025-03-31T12:00:00Z"
    )
    assert line in plan_text(result.to_json())
    assert line in plan_markdown(result.to_json())


def test_past_the_period_the_account_is_deleted_through_the_guards(tmp_path: Path) -> None:
    text = LIFECYCLE + "    guards: {max_deletes: 0}\n" + GONE
    users = (disabled("u-1", "gone@example.com", days_ago(31)),)
    result = plan(tmp_path, text, users)
    assert keyed(result) == [("user", "gone@example.com", "delete")]
    assert result.changes[0].reason == (
        f"disabled since {days_ago(31)}: delete_after 30d has passed"
    )
    # An already disabled absent user was a no-op; deleted, it is a change, not both.
    assert result.summary["noop"] == 0 and result.summary["delete"] == 1
    target = load(tmp_path, TARGET + text).targets["t"]
    assert refusals(result.changes, target, Observed(users, ()))[0].startswith(
        "1 deprovision (1 user delete) in one run, more than guards.max_deletes (0)"
    )


@pytest.mark.parametrize(("changed", "deleted"), [(40, True), (31, True), (10, False)])
def test_a_change_after_the_time_of_disabling_counts_from_the_change(
    tmp_path: Path, changed: int, deleted: bool
) -> None:
    # Enabled and disabled again where the target kept the first time: meta.lastModified
    # says the account changed since, so the deletion is counted from then, not at once.
    found = disabled("u-1", "gone@example.com", days_ago(31))
    found = dataclasses.replace(found, modified=days_ago(changed))
    result = plan(tmp_path, LIFECYCLE + GONE, (found,))
    assert keyed(result) == ([("user", "gone@example.com", "delete")] if deleted else [])
    if not deleted:
        assert [(s.disabled_at, s.delete_on) for s in result.scheduled] == [
            (days_ago(10), (NOW + timedelta(days=20)).strftime("%Y-%m-%dT%H:%M:%SZ"))
        ]


def test_the_disables_own_write_a_moment_later_is_no_change_since(tmp_path: Path) -> None:
    # The target stamps lastModified on its own clock as it takes the disable: seconds
    # later is that write, and the schedule stays counted from the time scimrec wrote.
    stamped = (NOW - timedelta(days=31, seconds=-30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    found = dataclasses.replace(disabled("u-1", "gone@example.com", days_ago(31)), modified=stamped)
    result = plan(tmp_path, LIFECYCLE + GONE, (found,))
    assert result.changes[0].reason == f"disabled since {days_ago(31)}: delete_after 30d has passed"


def test_within_the_period_it_is_only_scheduled(tmp_path: Path) -> None:
    result = plan(tmp_path, LIFECYCLE + GONE, (disabled("u-1", "gone@example.com", days_ago(10)),))
    assert result.changes == ()
    assert [(s.key, s.disabled_at, s.delete_on) for s in result.scheduled] == [
        (
            "gone@example.com",
            days_ago(10),
            (NOW + timedelta(days=20)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
    ]
    assert "No changes." in plan_text(result.to_json())


def test_an_account_without_a_recorded_time_is_never_deleted(tmp_path: Path) -> None:
    # Disabled by hand, or on a target that dropped the attribute: when is unknown.
    result = plan(tmp_path, LIFECYCLE + GONE, (disabled("u-1", "gone@example.com", None),))
    assert result.changes == () and result.scheduled == ()
    assert result.notes == (
        f"1 disabled user(s) have no time of disabling on the target ({DISABLED_AT}), so "
        "delete_after never deletes them: gone@example.com",
    )


@pytest.mark.parametrize(
    ("since", "meta"),
    [
        ("9999-12-31T23:00:00Z", False),  # plus 30 days is past the calendar
        ("0001-01-01T00:00:00+01:00", False),  # in UTC, the year before year 1
        ("9999-12-31T23:59:59-01:00", False),  # in UTC, the year after 9999
        ("9999-12-31T23:00:00Z", True),  # meta.lastModified, read the same way
    ],
)
def test_a_time_out_of_the_calendar_puts_the_account_in_error(
    tmp_path: Path, since: str, meta: bool
) -> None:
    where = "meta.lastModified" if meta else DISABLED_AT
    settings = f"    deprovision: {{action: disable, delete_after: 30d, disabled_at: {where}}}\n"

    def at(rid: str, name: str, when: str) -> Resource:
        if meta:
            return dataclasses.replace(disabled(rid, name, None), modified=when)
        return disabled(rid, name, when)

    users = (at("u-1", "gone@example.com", since), at("u-2", "old@example.com", days_ago(31)))
    gone = GONE + "  - {userName: old@example.com, state: absent}\n"
    result = plan(tmp_path, settings + gone, users)
    # Neither deleted at once nor never: in error, and every other account goes on.
    assert keyed(result) == [("user", "old@example.com", "delete")]
    assert result.scheduled == ()
    [error] = result.errors
    assert (error.kind.value, error.key, error.step) == ("user", "gone@example.com", "action")
    assert error.message == (
        f"the time of disabling on the target ({where}: {since!r}) is out of range, so "
        "delete_after cannot count from it: correct it on the target"
    )
    data = result.to_json()
    for render in (plan_text, plan_markdown):
        assert "gone@example.com" in render(data)


@pytest.mark.parametrize(
    ("since", "created"),
    [
        ("0001-01-01T00:00:00Z", None),  # .NET's unset DateTime, as some apps store it
        ("1969-12-31T23:59:59Z", None),
        (days_ago(40), days_ago(35)),  # disabled before the target made the account
    ],
)
def test_an_implausible_time_of_disabling_deletes_nobody(
    tmp_path: Path, since: str, created: str | None
) -> None:
    gone = dataclasses.replace(disabled("u-1", "gone@example.com", since), created=created)
    result = plan(tmp_path, LIFECYCLE + GONE, (gone,))
    assert keyed(result) == []
    assert result.scheduled == ()
    [error] = result.errors
    assert error.message == (
        f"the time of disabling on the target ({DISABLED_AT}: {since!r}) is implausible, so "
        "delete_after cannot count from it: correct it on the target"
    )


def test_a_time_of_disabling_in_the_second_the_account_was_made_counts(tmp_path: Path) -> None:
    # scimrec writes the time to the second; the target's meta.created has a fraction.
    made = days_ago(31).removesuffix("Z") + ".600000Z"
    gone = dataclasses.replace(disabled("u-1", "gone@example.com", days_ago(31)), created=made)
    result = plan(tmp_path, LIFECYCLE + GONE, (gone,))
    assert result.errors == ()
    assert keyed(result) == [("user", "gone@example.com", "delete")]


def test_a_time_of_disabling_after_the_account_was_made_counts(tmp_path: Path) -> None:
    gone = dataclasses.replace(
        disabled("u-1", "gone@example.com", days_ago(31)), created=days_ago(32)
    )
    result = plan(tmp_path, LIFECYCLE + GONE, (gone,))
    assert keyed(result) == [("user", "gone@example.com", "delete")]


@pytest.mark.parametrize(
    ("settings", "users", "old"),
    [
        ("    prune: all\n", "users: []\n", "stray@example.com"),
        (
            "    out_of_scope: deprovision\n"
            "    scope: [[{attribute: title, operator: EQUALS, value: Here}]]\n",
            "users:\n  - {userName: stray@example.com, title: Gone}\n",
            "stray@example.com",
        ),
        ("", "users:\n  - {userName: stray@example.com, state: absent}\n", "stray@example.com"),
    ],
    ids=["prune", "out-of-scope", "state-absent"],
)
def test_every_deprovisioning_route_deletes_when_due(
    tmp_path: Path, settings: str, users: str, old: str
) -> None:
    result = plan(tmp_path, LIFECYCLE + settings + users, (disabled("u-1", old, days_ago(45)),))
    assert keyed(result) == [("user", old, "delete")]


def test_a_declared_user_kept_disabled_is_never_scheduled(tmp_path: Path) -> None:
    # `active: false` on a declared user is a disable, not a deprovision: deleting it would
    # only make the next run create it again.
    text = LIFECYCLE + "users:\n  - {userName: leave@example.com, active: false}\n"
    result = plan(tmp_path, text, (user_res("u-1", "leave@example.com", active=True),))
    assert [(a.path, a.after) for a in result.changes[0].attributes] == [("active", False)]
    assert result.scheduled == ()
    kept = plan(tmp_path, text, (disabled("u-1", "leave@example.com", days_ago(400)),))
    assert kept.changes == ()


def test_meta_last_modified_is_read_and_nothing_is_written(tmp_path: Path) -> None:
    settings = (
        "    deprovision: {action: disable, delete_after: 30d, disabled_at: meta.lastModified}\n"
    )
    active = user_res("u-1", "gone@example.com", active=True)
    result = plan(tmp_path, settings + GONE, (active,))
    assert [a.path for a in result.changes[0].attributes] == ["active"]
    assert result.scheduled[0].delete_on == "2025-03-31T12:00:00Z"
    old = dataclasses.replace(
        user_res("u-1", "gone@example.com", active=False), modified=days_ago(31)
    )
    assert keyed(plan(tmp_path, settings + GONE, (old,))) == [
        ("user", "gone@example.com", "delete")
    ]


def test_a_protected_account_is_neither_deleted_nor_scheduled(tmp_path: Path) -> None:
    text = LIFECYCLE + "    protected: ['gone@*']\n" + GONE
    due = plan(tmp_path, text, (disabled("u-1", "gone@example.com", days_ago(31)),))
    assert due.changes == () and due.scheduled == ()
    assert due.notes == ("user gone@example.com is protected: not deleted",)
    later = plan(tmp_path, text, (disabled("u-1", "gone@example.com", days_ago(3)),))
    assert later.scheduled == ()
    # Its disable is spared too, and writes no time of disabling.
    spared = plan(tmp_path, text, (user_res("u-1", "gone@example.com", active=True),))
    assert spared.changes == () and spared.scheduled == ()


def test_a_short_read_withholds_the_deletes_and_the_schedule(tmp_path: Path) -> None:
    users = (
        disabled("u-1", "gone@example.com", days_ago(31)),
        user_res("u-2", "also@example.com", active=True),
    )
    text = LIFECYCLE + GONE + "  - {userName: also@example.com, state: absent}\n"
    result = plan(tmp_path, text, users, complete=False)
    assert result.changes == () and result.scheduled == ()


def test_without_the_run_clock_nothing_is_deleted(tmp_path: Path) -> None:
    result = plan(
        tmp_path, LIFECYCLE + GONE, (disabled("u-1", "gone@example.com", days_ago(99)),), now=None
    )
    assert result.changes == ()
    assert "delete_after needs the run's clock" in result.notes[0]


def test_the_schedule_survives_the_plan_file(tmp_path: Path) -> None:
    result = plan(tmp_path, LIFECYCLE + GONE, (user_res("u-1", "gone@example.com", active=True),))
    again = plan_from_json(result.to_json())
    assert again.scheduled == result.scheduled
    assert again.to_json() == result.to_json()
    # A plan with nothing scheduled keeps its JSON form (no new key).
    assert "scheduled_deletes" not in plan(tmp_path, GONE, ()).to_json()


def test_a_saved_plan_records_the_lifecycle_settings(tmp_path: Path) -> None:
    # apply --plan compares the settings a plan file records with the spec's: the period
    # is recorded (in seconds, as JSON has no durations), so changing it makes the plan stale.
    text = (
        "    deprovision: {action: disable, delete_after: 12h, disabled_at: meta.lastModified}\n"
        "    assign: {groups: [G]}\n    roles: {admin: [G]}\n"
        + GONE
        + "groups:\n  - {displayName: G}\n"
    )
    target = load(tmp_path, TARGET + text).targets["t"]
    users = (user_res("u-1", "gone@example.com", active=True),)
    result = plan(tmp_path, text, users)
    saved = planfile.parse(
        planfile.dumps(planfile.to_json(result, target, Observed(users, ()), "d", NOW)), "p.plan"
    )
    assert saved.settings["delete_after"] == 43200.0
    assert saved.settings["disabled_at"] == "meta.lastModified"
    assert "roles" not in saved.settings and "assign_groups" not in saved.settings
    assert saved.plan.scheduled == result.scheduled


def test_a_saved_disable_is_applied_with_the_time_it_was_planned(tmp_path: Path) -> None:
    # apply --plan compares each saved change with a plan made now: the time of disabling
    # differs by the plan's age and only its presence must agree.
    text = LIFECYCLE + GONE
    spec = load(tmp_path, TARGET + text)
    target = spec.targets["t"]
    observed = Observed((user_res("u-1", "gone@example.com", active=True),), ())
    saved = make_plan(spec, target, observed, PlanOptions(now=NOW))
    later = make_plan(spec, target, observed, PlanOptions(now=NOW + timedelta(hours=3)))
    assert plancheck.unreviewed(saved, later, target) == []
    unstamped = dataclasses.replace(saved.changes[0], attributes=saved.changes[0].attributes[:1])
    edited = dataclasses.replace(saved, changes=(unstamped,))
    assert plancheck.unreviewed(edited, later, target) == [
        "user gone@example.com: the plan's disable differs from what the spec and the target "
        "call for now"
    ]


def test_an_account_protected_by_its_name_on_the_target_is_never_deleted(
    tmp_path: Path,
) -> None:
    # Declared under another name, matched on externalId: the name the target holds is
    # protected, and protection reads that name too.
    text = (
        LIFECYCLE
        + "    matching: {user: [externalId, userName]}\n    protected: ['admin@*']\n"
        + "users:\n  - {userName: gone@example.com, externalId: e-1, state: absent}\n"
    )
    for days in (31, 3):
        held = disabled("u-1", "admin@example.com", days_ago(days), externalId="e-1")
        result = plan(tmp_path, text, (held,))
        assert (result.changes, result.scheduled) == ((), ()), days


@pytest.mark.parametrize(
    ("value", "read"),
    [
        ("2025-01-02T03:04:05Z", datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2025-01-02T03:04:05z", datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)),
        (" 2025-01-02T03:04:05Z ", datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2025-01-02T03:04:05", datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)),  # no zone: UTC
        ("2025-01-02T05:04:05+02:00", datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2025-01-02", datetime(2025, 1, 2, tzinfo=UTC)),
        ("", None),
        ("  ", None),
        ("yesterday", None),
        (1735787045, None),
        (None, None),
    ],
)
def test_a_time_of_disabling_is_read_as_the_target_wrote_it(value: Json, read: object) -> None:
    found = lifecycle.read_time(value)
    assert found == read
    if found is not None:  # and always comparable with the run's clock
        assert found.utcoffset() is not None


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(30 * 86400, "30d"), (36 * 3600, "36h"), (5400, "90m"), (3600, "1h"), (90, "90s")],
)
def test_a_period_is_shown_in_its_largest_whole_unit(seconds: int, shown: str) -> None:
    assert lifecycle.period(timedelta(seconds=seconds)) == shown


def test_a_time_is_written_in_utc_whatever_the_machine_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A runner set to another zone must not write its local time with a "Z".
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        assert lifecycle.moment(datetime(2025, 3, 1, 12, 0, tzinfo=UTC)) == "2025-03-01T12:00:00Z"
        plus_one = timezone(timedelta(hours=1))
        assert lifecycle.moment(datetime(2025, 3, 1, 13, 0, tzinfo=plus_one)) == (
            "2025-03-01T12:00:00Z"
        )
    finally:
        monkeypatch.undo()
        time.tzset()
