"""A declared object whose mapping fails is in error, and then left alone.

DESIGN §6: "one failing object never stops the others" and an object in error is named,
with nothing decided from it. Such an object was once dropped from the target's view, so its account
went unclaimed: prune deprovisioned it as undeclared and `exact` groups removed it. One bad
value in one person's `custom:` data (`enabled: "yes"` where the mapping wants a Boolean)
locked that person out. It is now matched as declared, and its match is a failed one.
"""

from __future__ import annotations

from pathlib import Path

from reconciler.core.model import Observed
from reconciler.core.plan import Plan, make_plan
from tests.core.test_plan import TARGET, group_res, keyed, load, user_res

# `active` comes from each user's `custom.enabled`; "yes" is not a Boolean, so alice's
# mapping fails (README: "a value that is not a Boolean there puts the object in error").
MAPPED = "    mappings:\n      user:\n        active: {source: custom.enabled}\n"
USERS = (
    "users:\n"
    "  - userName: alice@example.com\n"
    "    custom: {enabled: 'yes'}\n"
    "  - userName: bob@example.com\n"
    "    custom: {enabled: 'true'}\n"
)
GROUPS = "groups:\n  - displayName: Eng\n    members: [alice@example.com, bob@example.com]\n"
OBSERVED = Observed(
    (
        user_res("u1", "alice@example.com", active=True),
        user_res("u2", "bob@example.com", active=True),
    ),
    (group_res("g1", "Eng", ["u1", "u2"]),),
)


def _alice_errors(plan: Plan) -> list[str]:
    return [e.key for e in plan.errors]


def test_a_user_whose_mapping_fails_is_not_pruned(tmp_path: Path) -> None:
    spec = load(tmp_path, TARGET + "    prune: all\n" + MAPPED + USERS)
    plan = make_plan(spec, spec.targets["t"], OBSERVED)
    assert _alice_errors(plan) == ["alice@example.com"]
    # In error, so nothing is decided about her account: certainly not a disable.
    assert [c for c in plan.changes if c.target_id == "u1"] == []


def test_a_user_whose_mapping_fails_keeps_their_group_memberships(tmp_path: Path) -> None:
    spec = load(tmp_path, TARGET + MAPPED + USERS + GROUPS)
    plan = make_plan(spec, spec.targets["t"], OBSERVED)
    assert _alice_errors(plan) == ["alice@example.com"]
    removed = [m.id for c in plan.changes for m in c.members_remove]
    assert "u1" not in removed, keyed(plan)


def test_a_group_whose_mapping_fails_is_not_deleted(tmp_path: Path) -> None:
    # The group's displayName comes from an expression that gives a list for this group,
    # which is not a string: the mapping fails ("expected a string").
    text = (
        TARGET
        + "    prune: all\n"
        + "    mappings:\n"
        + "      group:\n"
        + "        displayName: 'Split([displayName], \",\")'\n"
        + "users:\n  - userName: bob@example.com\n"
        + "groups:\n  - displayName: Eng,Ops\n"
    )
    spec = load(tmp_path, text)
    observed = Observed((user_res("u2", "bob@example.com"),), (group_res("g1", "Eng,Ops"),))
    plan = make_plan(spec, spec.targets["t"], observed)
    assert [e.key for e in plan.errors] == ["Eng,Ops"]
    assert [c for c in plan.changes if c.target_id == "g1"] == []
