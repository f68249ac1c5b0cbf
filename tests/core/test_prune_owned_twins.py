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


# A user renamed in the YAML who keeps his externalId, with matching that cannot find the
# account by it: (route, target settings, the user declared).
RENAMED = "  - {userName: alice.wong@example.com, externalId: sr-alice}\n"
HELD_ROUTES: list[tuple[str, str, str]] = [
    ("owned-disable", OWNED + "    deprovision: disable\n", RENAMED),
    ("owned-delete", OWNED + "    deprovision: delete\n", RENAMED),
    ("all-delete", "    prune: all\n    ownership: {external_id_prefix: 'sr-'}\n", RENAMED),
    ("none", "    ownership: {external_id_prefix: 'sr-'}\n", RENAMED),
    (
        "email-matching",
        OWNED + "    matching: {user: [emails.value, userName]}\n",
        "  - {userName: alice.wong@example.com, externalId: sr-alice,"
        " emails: [{value: alice.wong@example.com, primary: true}]}\n",
    ),
]


@pytest.mark.parametrize(
    ("settings", "declared"), [r[1:] for r in HELD_ROUTES], ids=[r[0] for r in HELD_ROUTES]
)
def test_an_unmatched_user_whose_owned_external_id_an_account_holds_is_in_error(
    tmp_path: Path, settings: str, declared: str
) -> None:
    # Matching on userName finds nothing for the new name; the account holding her
    # externalId is hers: created again, she would have two, and prune took the first.
    text = TARGET + settings + "users:\n" + declared
    text += "groups:\n  - {displayName: Eng, externalId: sr-eng, members: []}\n"
    spec = load(tmp_path, text)
    mine = user_res("X", "alice@example.com", externalId="sr-alice", active=True)
    eng = group_res("G", "Eng", ["X"], externalId="sr-eng")
    plan = make_plan(spec, spec.targets["t"], Observed((mine,), (eng,)))
    assert plan.changes == ()
    [error] = plan.errors
    assert error.key == "alice.wong@example.com"
    assert error.message.startswith(
        'OwnedExternalIdMatch: externalId "sr-alice" is held by target object X '
        '(userName "alice@example.com"), which matching on '
    )
    assert error.message.endswith(
        ' did not find; to rename that account add previously: ["alice@example.com"] '
        "(or match on externalId), or else free the externalId on the target"
    )


def test_an_account_holding_an_absent_users_external_id_is_not_pruned(tmp_path: Path) -> None:
    # Not matched, the account is no stray either: the spec names its externalId.
    declared = "  - {userName: alice.wong@example.com, externalId: sr-alice, state: absent}\n"
    spec = load(tmp_path, TARGET + OWNED + "users:\n" + declared)
    mine = user_res("X", "alice@example.com", externalId="sr-alice", active=True)
    plan = make_plan(spec, spec.targets["t"], Observed((mine,), ()))
    assert plan.changes == ()
    assert [e.key for e in plan.errors] == ["alice.wong@example.com"]


@pytest.mark.parametrize("matching", ["[userName, externalId]", "[externalId, userName]"])
def test_matching_on_external_id_renames_the_account_in_place(
    tmp_path: Path, matching: str
) -> None:
    settings = OWNED + f"    matching: {{user: {matching}}}\n"
    spec = load(tmp_path, TARGET + settings + "users:\n" + RENAMED)
    mine = user_res("X", "alice@example.com", externalId="sr-alice", active=True)
    plan = make_plan(spec, spec.targets["t"], Observed((mine,), ()))
    assert plan.errors == ()
    assert [(c.action, c.target_id) for c in plan.changes] == [(Action.UPDATE, "X")]


def test_a_former_name_renames_the_account_holding_the_external_id(tmp_path: Path) -> None:
    declared = (
        "  - {userName: alice.wong@example.com, externalId: sr-alice,"
        " previously: [alice@example.com]}\n"
    )
    spec = load(tmp_path, TARGET + OWNED + "users:\n" + declared)
    mine = user_res("X", "alice@example.com", externalId="sr-alice", active=True)
    plan = make_plan(spec, spec.targets["t"], Observed((mine,), ()))
    assert plan.errors == ()
    assert [(c.action, c.target_id) for c in plan.changes] == [(Action.UPDATE, "X")]


def test_an_account_another_declared_user_holds_is_not_given_a_second_holder(
    tmp_path: Path,
) -> None:
    # bob's account still carries sr-alice: a create now would leave two accounts with it.
    declared = RENAMED + "  - {userName: bob@example.com, externalId: sr-bob}\n"
    spec = load(tmp_path, TARGET + OWNED + "users:\n" + declared)
    bob = user_res("B", "bob@example.com", externalId="sr-alice", active=True)
    plan = make_plan(spec, spec.targets["t"], Observed((bob,), ()))
    assert [e.key for e in plan.errors] == ["alice.wong@example.com"]
    assert [(c.action, c.target_id) for c in plan.changes] == [(Action.UPDATE, "B")]


@pytest.mark.parametrize(
    "settings",
    [
        OWNED + "    deprovision: delete\n",
        "    prune: all\n    ownership: {external_id_prefix: 'sr-'}\n",
    ],
    ids=["owned", "all"],
)
def test_a_renamed_group_keeping_its_external_id_is_in_error_not_deleted(
    tmp_path: Path, settings: str
) -> None:
    text = TARGET + settings + ALICE
    text += "groups:\n  - {displayName: Platform, externalId: sr-eng, members: []}\n"
    spec = load(tmp_path, text)
    mine = user_res("X", "alice@example.com", externalId="sr-alice", active=True)
    eng = group_res("G", "Eng", ["X"], externalId="sr-eng")
    plan = make_plan(spec, spec.targets["t"], Observed((mine,), (eng,)))
    assert plan.changes == ()
    [error] = plan.errors
    assert error.key == "Platform"
    assert 'externalId "sr-eng" is held by target object G (displayName "Eng")' in error.message
    assert 'previously: ["Eng"]' in error.message


def test_several_accounts_holding_the_external_id_are_all_kept(tmp_path: Path) -> None:
    spec = load(tmp_path, TARGET + OWNED + "    deprovision: delete\nusers:\n" + RENAMED)
    one = user_res("X", "alice@example.com", externalId="sr-alice", active=True)
    two = user_res("Y", "a.wong@example.com", externalId="sr-alice", active=True)
    plan = make_plan(spec, spec.targets["t"], Observed((one, two), ()))
    assert plan.changes == ()
    [error] = plan.errors
    assert "held by target objects X (userName" in error.message
    assert "keep one account on the target, then declare its name in previously" in error.message


@pytest.mark.parametrize("held", [" sr-alice", "\uff53\uff52-alice", "sr-alice\u200b"])
def test_an_owned_external_id_is_held_in_any_form_matching_reads_as_equal(
    tmp_path: Path, held: str
) -> None:
    # The prefix is looked for as matching compares values: a leading space or a
    # full-width prefix is the same externalId, and a create would be her second account.
    spec = load(tmp_path, TARGET + OWNED + ALICE)
    mine = user_res("X", "alice.renamed@example.com", externalId=held, active=True)
    plan = make_plan(spec, spec.targets["t"], Observed((mine,), ()))
    assert plan.changes == ()
    [error] = plan.errors
    assert (error.key, error.message.split(":")[0]) == ("alice@example.com", "OwnedExternalIdMatch")


def test_an_account_with_a_declared_accounts_external_id_in_another_form_is_its_twin(
    tmp_path: Path,
) -> None:
    # Under prune: all, her account holding her owned externalId written full-width, the
    # second account holding it plainly is hers too: in error, never deprovisioned.
    settings = "    prune: all\n    ownership: {external_id_prefix: 'sr-'}\n"
    spec = load(tmp_path, TARGET + settings + ALICE)
    mine = user_res("X", "alice@example.com", externalId="\uff53\uff52-alice", active=True)
    other = user_res("Y", "alice.old@example.com", externalId="sr-alice", active=True)
    plan = make_plan(spec, spec.targets["t"], Observed((mine, other), ()))
    assert [c for c in plan.changes if c.action is Action.DISABLE] == []
    assert [e.key for e in plan.errors] == ["Y"]
