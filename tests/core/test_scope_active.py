"""`active IS TRUE` in a scoping filter (as the README's example has it) reads a declared
user who leaves `active` out as active: SCIM targets create accounts active, and the spec
says `active: false` where it means otherwise. Before, such a user had no value there, so
the clause was false: never provisioned, and under `out_of_scope: deprovision`, disabled."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.core.finish import finish
from reconciler.core.lifecycle import Dormant
from reconciler.core.model import ENTERPRISE_URN, Json, Observed
from reconciler.core.plan import Action, PlanOptions, make_plan
from tests.core.test_lifecycle import NOW, days_ago, disabled
from tests.core.test_plan import TARGET, load, plan_for, user_res

SCOPED = (
    TARGET
    + "    out_of_scope: deprovision\n"
    + "    scope:\n"
    + "      - - {attribute: enterprise.department, operator: EQUALS, value: Eng}\n"
    + "        - {attribute: active, operator: IS TRUE}\n"
    + "users:\n"
    + "  - {userName: ana@example.com, enterprise: {department: Eng}}\n"
    + "  - {userName: ben@example.com, enterprise: {department: Eng}}\n"
    + "  - {userName: cy@example.com, enterprise: {department: Eng}, active: false}\n"
    + "  - {userName: dee@example.com, enterprise: {department: Ops}}\n"
)


def test_a_user_who_leaves_active_out_is_in_scope_of_active_is_true(tmp_path: Path) -> None:
    spec = load(tmp_path, SCOPED)
    eng: dict[str, Json] = {ENTERPRISE_URN: {"department": "Eng"}}
    held = [
        user_res("1", "ana@example.com", active=True, **eng),
        user_res("3", "cy@example.com", active=True),
        user_res("4", "dee@example.com", active=True),
    ]
    plan = plan_for(spec, held)
    actions = {c.key: c.action for c in plan.changes}
    assert actions == {
        "ben@example.com": Action.CREATE,  # in scope: provisioned
        # Out of scope, and so deprovisioned: cy says active: false, dee is in Ops.
        "cy@example.com": Action.DISABLE,
        "dee@example.com": Action.DISABLE,
    }
    assert "ana@example.com" not in actions  # in scope, unchanged: never disabled


# A user the spec keeps with `active: false` is out of scope of `active IS TRUE`: under
# `out_of_scope: deprovision` it is disabled, as the spec says, and never deleted, whatever
# the deprovision action or the clause that rules it out. (route, target settings, user)
ACTIVE = "    scope: [[{attribute: active, operator: IS TRUE}]]\n"
TITLE = "    scope: [[{attribute: title, operator: EQUALS, value: Here}]]\n"
LATER = "    deprovision: {action: disable, delete_after: 30d}\n"
ON_LEAVE = "{userName: leave@example.com, active: false}"
KEPT_ROUTES: list[tuple[str, str, str]] = [
    ("disable-later", ACTIVE + LATER, ON_LEAVE),
    ("delete", ACTIVE + "    deprovision: delete\n", ON_LEAVE),
    ("user-delete", ACTIVE, "{userName: leave@example.com, active: false, deprovision: delete}"),
    ("another-clause", TITLE + LATER, "{userName: leave@example.com, active: false, title: Gone}"),
    (
        "active-not-mapped",
        ACTIVE + LATER + "    mappings: {user: {active: {constant: null}}}\n",
        ON_LEAVE,
    ),
    (
        "active-mapped-false",
        TITLE + LATER + "    mappings: {user: {active: {constant: false}}}\n",
        "{userName: leave@example.com, title: Gone}",
    ),
]


@pytest.mark.parametrize(
    ("settings", "declared"), [r[1:] for r in KEPT_ROUTES], ids=[r[0] for r in KEPT_ROUTES]
)
def test_a_user_kept_with_active_false_out_of_scope_is_never_deleted(
    tmp_path: Path, settings: str, declared: str
) -> None:
    text = TARGET + "    out_of_scope: deprovision\n" + settings + "users:\n  - " + declared
    spec = load(tmp_path, text + "\n")
    now = PlanOptions(now=NOW)
    active = (user_res("u-1", "leave@example.com", active=True),)
    first = make_plan(spec, spec.targets["t"], Observed(active, ()), now)
    # Disabled, with no time of disabling written and nothing scheduled.
    assert [(c.action, [a.path for a in c.attributes]) for c in first.changes] == [
        (Action.DISABLE, ["active"])
    ]
    assert first.scheduled == ()
    for since in (days_ago(400), None):
        held = (disabled("u-1", "leave@example.com", since),)
        later = make_plan(spec, spec.targets["t"], Observed(held, ()), now)
        assert (later.changes, later.scheduled, later.errors) == ((), (), ())
        assert not any("no time of disabling" in note for note in later.notes)


def test_a_user_out_of_scope_without_active_false_is_still_deleted_when_due(
    tmp_path: Path,
) -> None:
    # The README's delete later for `out_of_scope: deprovision` holds for the others.
    text = TARGET + "    out_of_scope: deprovision\n" + TITLE + LATER
    spec = load(tmp_path, text + "users:\n  - {userName: gone@example.com, title: Gone}\n")
    held = (disabled("u-1", "gone@example.com", days_ago(45)),)
    plan = make_plan(spec, spec.targets["t"], Observed(held, ()), PlanOptions(now=NOW))
    assert [(c.action, c.target_id) for c in plan.changes] == [(Action.DELETE, "u-1")]


def test_finish_never_deletes_an_account_the_spec_keeps(tmp_path: Path) -> None:
    # The chokepoint: whatever route made an account dormant, a kept one is not deleted.
    spec = load(tmp_path, TARGET + LATER + "users: []\n")
    held = disabled("u-1", "leave@example.com", days_ago(400))
    dormant = [Dormant("leave@example.com", held, "not declared")]
    target, observed = spec.targets["t"], Observed((held,), ())
    assert finish([], target, observed, dormant, frozenset(), NOW).deleted
    done = finish([], target, observed, dormant, frozenset({"u-1"}), NOW)
    assert (done.changes, done.scheduled, done.deleted) == ([], (), frozenset())
