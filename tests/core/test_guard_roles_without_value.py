"""A role the target holds without a `value` (named only by its `display` or `type`, as
some targets keep roles) is access like any other: a change that takes it away counts
toward max_member_removals, or the guard passes a run that strips every such role."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.core.config import Target
from reconciler.core.diff import AttrChange
from reconciler.core.guards import check_guards
from reconciler.core.model import Json, Observed
from reconciler.core.plan import make_plan
from reconciler.core.roles_held import lost_roles, role_paths
from tests.core.test_plan import TARGET, URL, load, user_res


@pytest.mark.parametrize(
    "held",
    [
        [{"display": "Administrator"}],
        [{"type": "admin", "primary": True}],
        [{"value": "admin"}],  # as before
    ],
    ids=["display only", "type only", "value"],
)
def test_taking_a_role_without_a_value_away_counts(tmp_path: Path, held: list[Json]) -> None:
    users = tuple(user_res(f"u{i}", f"p{i}@example.com", roles=held) for i in range(2))
    observed = Observed(users, ())
    declared = "".join(f"  - userName: p{i}@example.com\n    roles: []\n" for i in range(2))
    spec = load(tmp_path, TARGET + "    guards: {max_member_removals: 1}\n" + "users:\n" + declared)
    target = spec.targets["t"]
    plan = check_guards(make_plan(spec, target, observed), target, observed)
    assert len(plan.changes) == 2
    assert plan.guards == (
        "2 member removals (2 of them roles lost) in one run, more than "
        "guards.max_member_removals (1); re-run with --allow-member-removals 2 if that is "
        "intended",
    )


ROLES = frozenset({"roles"})


def test_a_role_whose_value_is_empty_is_named_by_its_display() -> None:
    taken = AttrChange("roles", [{"value": "", "display": "Administrator"}], [])
    assert lost_roles(taken, ROLES) == {"display=Administrator"}


def test_an_empty_display_does_not_make_a_role_another_one() -> None:
    # The same role, read once with an empty display and once without: nothing is lost.
    kept = AttrChange("roles", [{"display": "", "type": "admin"}], [{"type": "admin"}])
    assert lost_roles(kept, ROLES) == set()


def test_an_empty_role_is_no_role() -> None:
    assert lost_roles(AttrChange("roles", ["", "admin"], ["admin"]), ROLES) == set()
    assert lost_roles(AttrChange("roles", ["admin", ""], [""]), ROLES) == {"admin"}


def test_a_protected_account_keeps_a_role_named_by_display_and_type(tmp_path: Path) -> None:
    # The name is what the plan's note shows: both parts, as the target holds them.
    held: list[Json] = [{"display": "Administrator", "type": "admin"}]
    observed = Observed((user_res("u0", "root@example.com", roles=held),), ())
    declared = "users:\n  - userName: root@example.com\n    roles: []\n"
    spec = load(tmp_path, TARGET + "    protected: ['root@*']\n" + declared)
    plan = make_plan(spec, spec.targets["t"], observed)
    assert plan.changes == ()
    assert plan.notes == (
        "user root@example.com is protected: keeps its roles (display=Administrator type=admin)",
    )


@pytest.mark.parametrize("path", ["entitlements", 'entitlements[value eq "billing"].value'])
def test_an_entitlement_taken_away_is_a_role_lost(path: str) -> None:
    # RFC 7643 §4.1.2: an entitlement is a thing the user has, access as a role is.
    before: Json = [{"value": "billing"}] if path == "entitlements" else "billing"
    taken = AttrChange(path, before, [] if path == "entitlements" else None)
    assert lost_roles(taken, role_paths(Target("t", URL))) == {"billing"}


def test_stripping_entitlements_is_guarded_and_spares_a_protected_account(
    tmp_path: Path,
) -> None:
    held: list[Json] = [{"value": "billing"}, {"value": "admin-console"}]
    names = ["root@example.com", *(f"p{i}@example.com" for i in range(3))]
    observed = Observed(
        tuple(user_res(f"u{i}", n, entitlements=held) for i, n in enumerate(names)), ()
    )
    declared = "".join(f"  - userName: {n}\n    entitlements: []\n" for n in names)
    settings = "    protected: ['root@*']\n    guards: {max_member_removals: 2}\n"
    spec = load(tmp_path, TARGET + settings + "users:\n" + declared)
    target = spec.targets["t"]
    plan = check_guards(make_plan(spec, target, observed), target, observed)
    assert "root@example.com" not in {c.key for c in plan.changes}
    assert plan.notes == (
        "user root@example.com is protected: keeps its roles (admin-console, billing)",
    )
    assert plan.guards == (
        "6 member removals (6 of them roles lost) in one run, more than "
        "guards.max_member_removals (2); re-run with --allow-member-removals 6 if that is "
        "intended",
    )
