"""`active IS TRUE` in a scoping filter (as the README's example has it) reads a declared
user who leaves `active` out as active: SCIM targets create accounts active, and the spec
says `active: false` where it means otherwise. Before, such a user had no value there, so
the clause was false: never provisioned, and under `out_of_scope: deprovision`, disabled."""

from __future__ import annotations

from pathlib import Path

from reconciler.core.model import ENTERPRISE_URN, Json
from reconciler.core.plan import Action
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
