"""Under `prune: owned`, an undeclared account carrying the externalId of a declared
object's account is that object's twin, never a stray: each one in error, nothing pruned.

The ownership prefix says scimrec wrote the value: two accounts holding it are one
declared person's accounts (a rename made on the target, an account created again), and
which one the person uses is a guess. With the default matching (userName alone) the
second account was undeclared and owned, and prune disabled it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.core.changes import Action
from reconciler.core.model import Observed
from reconciler.core.plan import make_plan
from tests.core.test_plan import TARGET, group_res, load, user_res

OWNED = "    prune: owned\n    ownership: {external_id_prefix: 'sr-'}\n"
ALICE = "users:\n  - {userName: alice@example.com, externalId: sr-alice}\n"


@pytest.mark.parametrize("deprovision", ["disable", "delete"])
def test_an_owned_account_with_a_declared_accounts_external_id_is_never_pruned(
    tmp_path: Path, deprovision: str
) -> None:
    spec = load(tmp_path, TARGET + OWNED + f"    deprovision: {deprovision}\n" + ALICE)
    mine = user_res("X", "alice@example.com", externalId="sr-alice", active=True)
    other = user_res("Y", "alice.old@example.com", externalId="sr-alice", active=True)
    stray = user_res("Z", "bob@example.com", externalId="sr-bob", active=True)
    plan = make_plan(spec, spec.targets["t"], Observed((mine, other, stray), ()))
    gone = [c.target_id for c in plan.changes if c.action in (Action.DISABLE, Action.DELETE)]
    assert gone == ["Z"]
    [error] = plan.errors
    assert error.key == "Y"
    assert "externalId of user alice@example.com's account (id X)" in error.message


def test_an_external_id_outside_the_prefix_makes_no_twin(tmp_path: Path) -> None:
    # A value scimrec does not control (a constant some targets write on every account)
    # says nothing about who an account is: under prune: all, the other one is a stray.
    settings = "    prune: all\n    ownership: {external_id_prefix: 'sr-'}\n"
    spec = load(tmp_path, TARGET + settings + "users:\n  - {userName: alice@example.com}\n")
    mine = user_res("X", "alice@example.com", externalId="tenant-1", active=True)
    other = user_res("Y", "bob@example.com", externalId="tenant-1", active=True)
    plan = make_plan(spec, spec.targets["t"], Observed((mine, other), ()))
    assert plan.errors == ()
    assert [c.target_id for c in plan.changes if c.action is Action.DISABLE] == ["Y"]


def test_a_groups_former_name_is_found_when_no_user_is_left_unmatched(tmp_path: Path) -> None:
    # Every user matched (nothing to look for among them), then the groups: the account
    # still under a renamed group's former name is that group's, never a stray to delete.
    spec = load(
        tmp_path,
        TARGET
        + OWNED
        + "    deprovision: delete\n"
        + ALICE
        + "groups:\n  - {displayName: Eng, externalId: sr-eng, previously: [Engineering]}\n",
    )
    mine = user_res("X", "alice@example.com", externalId="sr-alice", active=True)
    eng = group_res("G1", "Eng", externalId="sr-eng")
    old = group_res("G2", "Engineering", externalId="sr-eng-old")
    plan = make_plan(spec, spec.targets["t"], Observed((mine,), (eng, old)))
    assert [c.target_id for c in plan.changes if c.action is Action.DELETE] == []
    assert [e.key for e in plan.errors] == ["G2"]


def test_an_owned_stray_listed_after_one_not_owned_is_pruned_too(tmp_path: Path) -> None:
    spec = load(tmp_path, TARGET + OWNED + ALICE)
    mine = user_res("X", "alice@example.com", externalId="sr-alice", active=True)
    theirs = user_res("Y", "carol@example.com", externalId="hr-carol", active=True)
    stray = user_res("Z", "bob@example.com", externalId="sr-bob", active=True)
    for listed in ((mine, theirs, stray), (theirs, stray, mine), (stray, theirs, mine)):
        plan = make_plan(spec, spec.targets["t"], Observed(listed, ()))
        assert [c.target_id for c in plan.changes if c.action is Action.DISABLE] == ["Z"]
