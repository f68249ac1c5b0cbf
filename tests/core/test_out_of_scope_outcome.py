"""The outcome a plan lists for each object out of scope is what the finished plan does,
not what `out_of_scope: deprovision` asked: the plan's last passes (core/finish.py) spare a
protected account, withhold a deprovision after a short read, and delete an account already
disabled once `delete_after` has passed. A reviewer, or a tool reading
`out_of_scope[].outcome`, must not be told the break-glass admin is about to be disabled."""

from __future__ import annotations

from pathlib import Path

from reconciler.core.model import Capabilities, Observed
from reconciler.core.plan import Plan, PlanOptions, make_plan
from reconciler.report.explain import explain
from reconciler.report.render import plan_text
from tests.core.test_lifecycle import NOW, days_ago, disabled
from tests.core.test_plan import TARGET, group_res, load, user_res

OUT = (
    TARGET
    + "    out_of_scope: deprovision\n"
    + "    scope: [[{attribute: userType, operator: EQUALS, value: Employee}]]\n"
)
USERS = (
    "users:\n"
    + "  - {userName: admin@example.com, userType: Contractor}\n"
    + "  - {userName: b@example.com, userType: Contractor}\n"
)
HELD = (
    user_res("u-admin", "admin@example.com", active=True),
    user_res("u-b", "b@example.com", active=True),
)


def planned(tmp_path: Path, text: str, observed: Observed) -> Plan:
    spec = load(tmp_path, text)
    return make_plan(spec, spec.targets["t"], observed, PlanOptions(now=NOW))


def outcomes(plan: Plan) -> dict[str, str]:
    return {key: outcome for key, _, outcome in (*plan.out_of_scope, *plan.out_of_scope_groups)}


def test_a_protected_account_spared_is_left_alone_in_every_form(tmp_path: Path) -> None:
    spec = load(tmp_path, OUT + "    protected: ['admin@*']\n" + USERS)
    plan = make_plan(spec, spec.targets["t"], Observed(HELD, ()))
    assert [(c.key, c.action.value) for c in plan.changes] == [("b@example.com", "disable")]
    assert "user admin@example.com is protected: not disabled" in plan.notes
    assert outcomes(plan) == {
        "admin@example.com": "left alone (protected)",
        "b@example.com": "disable",
    }
    listed = plan.to_json()["out_of_scope"]
    assert isinstance(listed, list)
    assert [(e["key"], e["outcome"]) for e in listed if isinstance(e, dict)] == [
        ("admin@example.com", "left alone (protected)"),
        ("b@example.com", "disable"),
    ]
    text = plan_text(plan.to_json())
    assert "Out of scope: user admin@example.com (left alone (protected)): out of scope" in text
    assert "Out of scope: user b@example.com (disable)" in text
    declared = {(o.kind, o.key): o for o in spec.users}
    told = explain(plan, declared, spec.targets["t"], Capabilities(), Observed(HELD, ()))
    assert "→ left alone (protected) on this target" in told
    assert "→ deprovisioned on this target" in told  # b@, disabled


def test_a_deprovision_withheld_after_a_short_read_says_so(tmp_path: Path) -> None:
    plan = planned(tmp_path, OUT + USERS, Observed(HELD, (), complete=False))
    assert plan.changes == ()
    assert outcomes(plan) == {
        "admin@example.com": "withheld (incomplete read)",
        "b@example.com": "withheld (incomplete read)",
    }


def test_an_account_already_disabled_past_delete_after_is_deleted(tmp_path: Path) -> None:
    later = "    deprovision: {action: disable, delete_after: 30d}\n"
    held = (
        disabled("u-admin", "admin@example.com", days_ago(31)),
        disabled("u-b", "b@example.com", days_ago(5)),
    )
    plan = planned(tmp_path, OUT + later + USERS, Observed(held, ()))
    assert [(c.key, c.action.value) for c in plan.changes] == [("admin@example.com", "delete")]
    # b@ stays disabled, as this policy asks: scheduled for deletion later.
    assert outcomes(plan) == {"admin@example.com": "delete", "b@example.com": "disable"}


def test_a_group_kept_for_its_protected_member_is_left_alone(tmp_path: Path) -> None:
    text = (
        TARGET
        + "    out_of_scope: deprovision\n"
        + "    protected: ['admin@*']\n"
        + "    assign: {groups: [Engineering]}\n"
        + "users:\n  - {userName: admin@example.com}\n"
        + "groups:\n"
        + "  - {displayName: Engineering, members: [admin@example.com]}\n"
        + "  - {displayName: Ops, members: [admin@example.com]}\n"
    )
    users = (user_res("u-admin", "admin@example.com", active=True),)
    groups = (
        group_res("g-eng", "Engineering", ["u-admin"]),
        group_res("g-ops", "Ops", ["u-admin"]),
    )
    plan = planned(tmp_path, text, Observed(users, groups))
    assert not [c for c in plan.changes if c.key == "Ops"]
    assert outcomes(plan) == {"Ops": "left alone (protected)"}
