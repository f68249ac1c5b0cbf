"""What `apply --plan` checks of a saved plan (core/plancheck.py), one check at a time: a
plan made again later from the same spec and target is the plan reviewed, and any edit of
what a change does, or of the target's settings, is named."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path

import pytest

from reconciler.core import plancheck, planfile
from reconciler.core.changes import Action, Change, Member
from reconciler.core.config import DISABLED_AT, Spec
from reconciler.core.diff import AttrChange
from reconciler.core.masking import MASK
from reconciler.core.model import Json, Kind, Observed
from reconciler.core.plan import Plan, PlanOptions, make_plan
from tests.core.test_plan import TARGET, group_res, load, user_res

SPEC = (
    TARGET
    + "    deprovision: {action: disable, delete_after: 30d}\n"
    + "    mappings:\n      user:\n"
    + "        externalId: {expression: 'Guid()', apply: on_create}\n"
    + "        title: {source: title}\n"
    + "users:\n"
    + "  - userName: new@example.com\n    title: New\n"
    + "    emails: [{value: new@example.com, type: work}]\n"
    + "  - userName: gone@example.com\n    state: absent\n"
    + "  - userName: old@example.com\n    state: absent\n"
    + "  - userName: kept@example.com\n"
    + "groups:\n  - displayName: G\n    members: [kept@example.com]\n"
)
OBSERVED = Observed(
    (
        user_res("u-g", "gone@example.com", active=True),
        user_res("u-o", "old@example.com", active=True),
        user_res("u-k", "kept@example.com", active=True),
    ),
    (group_res("g-1", "G", ["u-g"]),),
)
MADE = datetime(2030, 1, 1, tzinfo=UTC)
GUIDS = count()


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> Spec:
    return load(tmp_path_factory.mktemp("spec"), SPEC)


def plan_at(spec: Spec, when: datetime) -> Plan:
    """The plan, with the clock and the GUIDs of one run."""
    options = PlanOptions(now=when, new_guid=lambda: str(uuid.UUID(int=next(GUIDS))))
    return make_plan(spec, spec.targets["t"], OBSERVED, options)


def edited(plan: Plan, key: str, **fields: object) -> Plan:
    changes = tuple(
        dataclasses.replace(c, **fields) if c.key == key else c  # type: ignore[arg-type]
        for c in plan.changes
    )
    return dataclasses.replace(plan, changes=changes)


def change(plan: Plan, key: str) -> Change:
    (found,) = (c for c in plan.changes if c.key == key)
    return found


def with_after(c: Change, path: str, after: Json) -> tuple[object, ...]:
    return tuple(dataclasses.replace(a, after=after) if a.path == path else a for a in c.attributes)


def unreviewed(spec: Spec, saved: Plan) -> list[str]:
    fresh = plan_at(spec, MADE + timedelta(minutes=7))
    return plancheck.unreviewed(saved, fresh, spec.targets["t"], MADE)


def test_the_plan_made_again_later_is_the_plan_reviewed(spec: Spec) -> None:
    saved = plan_at(spec, MADE)
    # What differs from run to run, the new user's GUID and the time of disabling, differs.
    fresh = plan_at(spec, MADE + timedelta(minutes=7))
    assert change(saved, "new@example.com") != change(fresh, "new@example.com")
    assert change(saved, "gone@example.com") != change(fresh, "gone@example.com")
    assert {c.action for c in saved.changes} == {Action.CREATE, Action.DISABLE, Action.UPDATE}
    assert plancheck.unreviewed(saved, fresh, spec.targets["t"], MADE) == []


def test_a_value_reordered_in_the_file_is_the_same_change(spec: Spec) -> None:
    # The digest covers the file with sorted keys, so a tool that sorts them changes nothing.
    saved = plan_at(spec, MADE)
    new = change(saved, "new@example.com")
    (emails,) = (a.after for a in new.attributes if a.path == "emails")
    assert isinstance(emails, list) and isinstance(emails[0], dict)
    reordered: Json = [dict(reversed(list(e.items()))) for e in emails if isinstance(e, dict)]
    assert [list(e) for e in reordered] != [list(e) for e in emails]
    saved = edited(saved, "new@example.com", attributes=with_after(new, "emails", reordered))
    assert unreviewed(spec, saved) == []


def test_an_edited_value_of_a_create_is_refused(spec: Spec) -> None:
    saved = plan_at(spec, MADE)
    new = change(saved, "new@example.com")
    saved = edited(saved, "new@example.com", attributes=with_after(new, "title", "Admin"))
    assert unreviewed(spec, saved) == [
        "user new@example.com: the plan's create differs from what the spec and the target "
        "call for now"
    ]


@pytest.mark.parametrize("field", ["members_add", "members_remove"])
def test_an_edited_member_is_refused(spec: Spec, field: str) -> None:
    saved = plan_at(spec, MADE)
    assert getattr(change(saved, "G"), field)  # the group both gains and loses one
    saved = edited(saved, "G", **{field: (Member("other@example.com", "u-other"),)})
    assert unreviewed(spec, saved) == [
        "group G: the plan's update differs from what the spec and the target call for now"
    ]


def test_a_time_of_disabling_not_the_plan_s_own_is_named_and_the_rest_still_checked(
    spec: Spec,
) -> None:
    saved = plan_at(spec, MADE)
    for key in ("gone@example.com", "old@example.com"):
        forged = with_after(change(saved, key), DISABLED_AT, "2000-01-01T00:00:00Z")
        saved = edited(saved, key, attributes=forged)
    assert unreviewed(spec, saved) == [
        "user gone@example.com: the time of disabling it records is not the plan's own time",
        "user old@example.com: the time of disabling it records is not the plan's own time",
    ]


def test_without_delete_after_a_time_of_disabling_is_an_edit(spec: Spec) -> None:
    # The spec records no time: a disable carrying one was edited, whatever time it names.
    target = dataclasses.replace(spec.targets["t"], delete_after=None)
    plain = dataclasses.replace(spec, targets={"t": target})
    saved = make_plan(plain, target, OBSERVED, PlanOptions(now=MADE))
    gone = change(saved, "gone@example.com")
    assert all(a.path != DISABLED_AT for a in gone.attributes)
    forged = dataclasses.replace(gone.attributes[0], path=DISABLED_AT, after="2000")
    saved = edited(saved, "gone@example.com", attributes=(*gone.attributes, forged))
    fresh = make_plan(plain, target, OBSERVED, PlanOptions(now=MADE))
    assert plancheck.unreviewed(saved, fresh, target, MADE) == [
        "user gone@example.com: the plan's disable differs from what the spec and the target "
        "call for now"
    ]


def saved_file(spec: Spec, observed: Observed = OBSERVED) -> planfile.SavedPlan:
    target = spec.targets["t"]
    data = planfile.to_json(plan_at(spec, MADE), target, observed, spec.digest, MADE)
    return planfile.parse(planfile.dumps(data), "p.json")


def test_each_object_changed_on_the_target_since_the_plan_is_named(spec: Spec) -> None:
    saved = saved_file(spec)
    target = spec.targets["t"]
    assert plancheck.stale_reasons(saved, OBSERVED, target) == []
    now = Observed(
        (
            user_res("u-n", "new@example.com"),
            user_res("u-g", "gone@example.com", active=True, title="Moved"),
            user_res("u-o", "old@example.com", active=True),
        ),
        (),
    )
    assert plancheck.stale_reasons(saved, now, target) == [
        "user new@example.com now exists on the target",
        "group G (id g-1) no longer exists on the target",
        "user gone@example.com (id u-g) changed on the target since the plan",
    ]
    assert next((e.kind, e.id) for e in saved.seen) == (Kind.USER, None)  # a create first


def test_a_setting_only_one_side_has_is_a_difference(spec: Spec) -> None:
    saved = saved_file(spec)
    target = spec.targets["t"]
    assert plancheck.setting_differences(saved, target) == []
    added = dataclasses.replace(saved, settings={**saved.settings, "proxy": "http://x"})
    assert plancheck.setting_differences(added, target) == ["proxy"]
    dropped = {k: v for k, v in saved.settings.items() if k != "url"}
    assert plancheck.setting_differences(dataclasses.replace(saved, settings=dropped), target) == [
        "url"
    ]


def test_the_age_and_the_clock_skew_are_limits_that_still_pass(spec: Spec) -> None:
    saved = saved_file(spec)
    day = timedelta(days=1)
    assert plancheck.too_old(saved, MADE + day, day) is None
    older = day + timedelta(minutes=1)
    assert plancheck.too_old(saved, MADE + older, day) == (
        f"the plan is {planfile.duration(older)} old, older than the maximum "
        f"{planfile.duration(day)}"
    )
    skew = plancheck.CLOCK_SKEW
    assert plancheck.from_the_future(saved, MADE - skew) is None
    later = MADE - skew - timedelta(seconds=1)
    assert plancheck.from_the_future(saved, later) == (
        f"the plan says it was made at {MADE.isoformat()}, in the future "
        f"(it is now {later.isoformat()})"
    )


def test_a_time_of_disabling_an_update_writes_is_compared_by_value(tmp_path: Path) -> None:
    # Only a disable's time is the plan's clock; a spec that writes the attribute itself
    # (here a mapping) decides its value, and an edit of that value is an edit.
    life = "urn:example:params:scim:schemas:extension:life:2.0:User"
    spec = load(
        tmp_path,
        TARGET
        + f"    extensions: {{life: '{life}'}}\n"
        + "    deprovision: {action: disable, delete_after: 30d, disabled_at: life.disabledAt}\n"
        + "    mappings: {user: {life.disabledAt: {constant: '2029-01-01T00:00:00Z'}}}\n"
        + "users:\n  - userName: kept@example.com\n",
    )
    target = spec.targets["t"]
    observed = Observed((user_res("u-k", "kept@example.com"),), ())
    saved = make_plan(spec, target, observed, PlanOptions(now=MADE))
    kept = change(saved, "kept@example.com")
    assert (kept.action, [a.path for a in kept.attributes]) == (Action.UPDATE, [target.disabled_at])
    saved = edited(saved, kept.key, attributes=with_after(kept, target.disabled_at, "2000"))
    fresh = make_plan(spec, target, observed, PlanOptions(now=MADE))
    assert plancheck.unreviewed(saved, fresh, target, MADE) == [
        "user kept@example.com: the plan's update differs from what the spec and the target "
        "call for now"
    ]


def test_a_saved_plan_s_role_holders_are_the_accounts_the_target_holds(tmp_path: Path) -> None:
    # ana holds the role by her group, but her account on the target is disabled, and
    # nothing declares her active: the role has one active holder of the two it needs.
    spec = load(
        tmp_path,
        TARGET
        + "    roles: {admin: {groups: [Admins], min_members: 2}}\n"
        + "users:\n  - userName: ana@example.com\n  - userName: ben@example.com\n"
        + "groups:\n  - {displayName: Admins, members: [ana@example.com, ben@example.com]}\n",
    )
    target = spec.targets["t"]
    users = (
        user_res("u-a", "ana@example.com", active=False),
        user_res("u-b", "ben@example.com", active=True),
    )
    observed = Observed(users, (group_res("g-1", "Admins", ["u-a", "u-b"]),))
    fresh = make_plan(spec, target, observed)
    assert plancheck.requirements(fresh, fresh, observed, target) == (
        "role admin must keep at least 2 active member(s); after this run it would have 1; "
        "change the spec (requirements have no override)",
    )


# -- nothing reviewed is left out: the fresh plan's changes, each in the saved plan ----------

EVERY_KIND = (
    TARGET
    + "    deprovision: {action: delete}\n"
    + "    prune: all\n"
    + "users:\n"
    + "  - userName: upd@example.com\n    title: New\n"
    + "  - userName: dis@example.com\n    active: false\n"
    + "  - userName: del@example.com\n    state: absent\n"
    + "groups:\n  - displayName: G\n    members: [upd@example.com]\n"
)
EVERY_KIND_OBSERVED = Observed(
    (
        user_res("u-u", "upd@example.com", active=True, title="Old"),
        user_res("u-d", "dis@example.com", active=True),
        user_res("u-x", "del@example.com", active=True),
    ),
    (group_res("g-1", "G", ["u-u", "u-d"]),),
)


@pytest.fixture(scope="module")
def every_kind(tmp_path_factory: pytest.TempPathFactory) -> Spec:
    return load(tmp_path_factory.mktemp("every"), EVERY_KIND)


def every_kind_plan(spec: Spec, observed: Observed = EVERY_KIND_OBSERVED) -> Plan:
    return make_plan(spec, spec.targets["t"], observed, PlanOptions(now=MADE))


def without(plan: Plan, *keys: str) -> Plan:
    return dataclasses.replace(plan, changes=tuple(c for c in plan.changes if c.key not in keys))


def test_a_plan_made_again_later_leaves_nothing_out(spec: Spec) -> None:
    # Its GUIDs and times of disabling differ, and a file's changes may come in any order.
    saved = plan_at(spec, MADE)
    fresh = plan_at(spec, MADE + timedelta(minutes=7))
    assert saved.changes != fresh.changes
    assert len(fresh.changes) == 4
    assert plancheck.left_out(saved, fresh) == []
    backwards = dataclasses.replace(saved, changes=saved.changes[::-1])
    assert plancheck.left_out(backwards, fresh) == []


def test_every_kind_of_change_is_in_the_plan_to_take_out(every_kind: Spec) -> None:
    plan = every_kind_plan(every_kind)
    assert {(c.key, c.action) for c in plan.changes} == {
        ("upd@example.com", Action.UPDATE),
        ("dis@example.com", Action.DISABLE),
        ("del@example.com", Action.DELETE),
        ("G", Action.UPDATE),
    }
    (group,) = (c for c in plan.changes if c.kind is Kind.GROUP)
    assert (group.members_add, [m.id for m in group.members_remove]) == ((), ["u-d"])
    assert plancheck.left_out(plan, plan) == []


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("dis@example.com", "user dis@example.com: the plan leaves out the disable"),
        ("del@example.com", "user del@example.com: the plan leaves out the delete"),
        ("upd@example.com", "user upd@example.com: the plan leaves out the update"),
        ("G", "group G: the plan leaves out the update"),  # its one member removal
    ],
)
def test_a_change_taken_out_of_the_file_is_named(every_kind: Spec, key: str, message: str) -> None:
    fresh = every_kind_plan(every_kind)
    saved = without(fresh, key)
    assert plancheck.left_out(saved, fresh) == [f"{message} the spec and the target call for"]
    # What is left of the file is exactly what a plan made now holds: only this check sees it.
    assert plancheck.unreviewed(saved, fresh, every_kind.targets["t"], MADE) == []


def test_every_change_left_out_is_named_in_the_fresh_plan_s_order(every_kind: Spec) -> None:
    fresh = every_kind_plan(every_kind)
    saved = without(fresh, "del@example.com", "G", "dis@example.com")
    assert plancheck.left_out(saved, fresh) == [
        f"{c.kind.value} {c.key}: the plan leaves out the {c.action.value} the spec and the "
        "target call for"
        for c in fresh.changes
        if c.key != "upd@example.com"
    ]
    assert len(plancheck.left_out(saved, fresh)) == 3


def test_a_change_of_the_same_key_but_another_kind_does_not_stand_in(tmp_path: Path) -> None:
    # A user and a group may share a key: each is its own change.
    spec = load(
        tmp_path,
        TARGET
        + "users:\n  - userName: ops\n    title: New\n"
        + "groups:\n  - displayName: ops\n    members: [ops]\n",
    )
    observed = Observed((user_res("u-1", "ops", title="Old"),), (group_res("g-1", "ops"),))
    fresh = make_plan(spec, spec.targets["t"], observed, PlanOptions(now=MADE))
    assert sorted((c.kind, c.key) for c in fresh.changes) == [
        (Kind.GROUP, "ops"),
        (Kind.USER, "ops"),
    ]
    saved = dataclasses.replace(
        fresh, changes=tuple(c for c in fresh.changes if c.kind is Kind.USER)
    )
    assert plancheck.left_out(saved, fresh) == [
        "group ops: the plan leaves out the update the spec and the target call for"
    ]


def test_a_stray_that_appeared_since_the_plan_is_named(every_kind: Spec) -> None:
    # Drift that calls for a change the plan never held: the plan is not what would run.
    saved = every_kind_plan(every_kind)
    stray = user_res("u-s", "stray@example.com", active=True)
    now = dataclasses.replace(EVERY_KIND_OBSERVED, users=(*EVERY_KIND_OBSERVED.users, stray))
    fresh = every_kind_plan(every_kind, now)
    assert plancheck.left_out(saved, fresh) == [
        "user stray@example.com: the plan leaves out the delete the spec and the target call for"
    ]


def test_write_only_values_masked_in_the_file_are_the_spec_s() -> None:
    # A plan file holds them masked (core/masking.py); apply writes what the spec gives now.
    pin = "urn:example:acme:2.0:User:pin"

    def plan(*attributes: AttrChange, write_only: frozenset[str] = frozenset()) -> Plan:
        made = Change(Kind.USER, "a", Action.UPDATE, "r", "u1", attributes=attributes)
        return Plan("t", "https://t.example", (made,), write_only=write_only)

    saved = plan(AttrChange(pin, None, MASK), AttrChange("title", "x", MASK))
    fresh = plan(
        AttrChange(pin, None, "1234"),
        AttrChange("title", "x", "y"),
        write_only=frozenset({pin.casefold()}),
    )
    (restored,) = plancheck.unmasked(saved, fresh).changes
    # Only a write-only attribute's: a title edited to the mask stays an edit, refused.
    assert restored.attributes == (AttrChange(pin, None, "1234"), AttrChange("title", "x", MASK))
    assert plancheck.unmasked(saved, plan()).changes == saved.changes
