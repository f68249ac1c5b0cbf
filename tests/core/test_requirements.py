"""Required members (peribolos's required and minimum admins): a plan that would leave a
group or a role without them is refused with the reason, whatever route takes them away,
and no allowance overrides it."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reconciler.core import plancheck, planfile
from reconciler.core.guards import Allowances, check_guards
from reconciler.core.model import Observed, Resource
from reconciler.core.plan import Plan, make_plan
from reconciler.report.render import plan_text
from tests.core.test_plan import TARGET, group_res, load, user_res

ON_TARGET = (
    user_res("u-a", "ana@example.com", active=True),
    user_res("u-b", "ben@example.com", active=True),
)
ADMINS = group_res("g-1", "Admins", ["u-a", "u-b"])
PEOPLE = "users:\n  - userName: ana@example.com\n  - userName: ben@example.com\n"
FIX = "change the spec (requirements have no override)"
NOW = datetime(2025, 3, 1, tzinfo=UTC)
EMPTY = "must keep at least {n} active member(s); after this run it would have {m}; " + FIX
ANA = "requires ana@example.com as a member: ana@example.com would be disabled by this run; " + FIX


def plan(root: Path, text: str, groups: tuple[Resource, ...] = (ADMINS,)) -> Plan:
    spec = load(root, TARGET + text)
    observed = Observed(ON_TARGET, groups)
    # Whatever the operator allows, a requirement holds.
    return check_guards(
        make_plan(spec, spec.targets["t"], observed),
        spec.targets["t"],
        observed,
        Allowances(deletes=99, member_removals=99),
    )


# (id, settings and users, groups, the reasons)
BREAKS: list[tuple[str, str, str, list[str]]] = [
    (
        "emptied",
        PEOPLE,
        "  - {displayName: Admins, members: [], min_members: 1}\n",
        ["group Admins " + EMPTY.format(n=1, m=0)],
    ),
    (
        "required-member-removed",
        PEOPLE,
        "  - {displayName: Admins, members: [ben@example.com],\n"
        "     required_members: [ana@example.com]}\n",
        [
            "group Admins requires ana@example.com as a member: ana@example.com would not be "
            "a member; " + FIX
        ],
    ),
    (
        "required-member-disabled",
        "users:\n  - {userName: ana@example.com, active: false}\n  - userName: ben@example.com\n",
        "  - displayName: Admins\n    members: [ana@example.com, ben@example.com]\n"
        "    required_members: [ana@example.com]\n    min_members: 2\n",
        ["group Admins " + ANA, "group Admins " + EMPTY.format(n=2, m=1)],
    ),
    (
        "required-member-out-of-scope",
        "    scope: [[{attribute: userName, operator: EQUALS, value: ben@example.com}]]\n"
        "    out_of_scope: deprovision\n" + PEOPLE,
        "  - {displayName: Admins, members: [ben@example.com],\n"
        "     required_members: [ana@example.com]}\n",
        ["group Admins " + ANA],
    ),
    (
        "group-deleted",
        PEOPLE,
        "  - {displayName: Admins, state: absent, min_members: 1}\n",
        ["group Admins " + EMPTY.format(n=1, m=0)],
    ),
    (
        "required-member-deleted",
        "    scope: [[{attribute: userName, operator: EQUALS, value: ben@example.com}]]\n"
        "    out_of_scope: deprovision\n    deprovision: delete\n" + PEOPLE,
        "  - {displayName: Admins, members: [ben@example.com],\n"
        "     required_members: [ana@example.com]}\n",
        [
            "group Admins requires ana@example.com as a member: ana@example.com would be "
            "deleted by this run; " + FIX
        ],
    ),
    (
        "required-member-created-inactive",
        PEOPLE + "  - {userName: cy@example.com, active: false}\n",
        "  - {displayName: Ops, members: [cy@example.com], required_members: [cy@example.com]}\n",
        ["group Ops requires cy@example.com as a member: cy@example.com would be inactive; " + FIX],
    ),
    (
        "role-emptied",
        "    roles: {admin: {groups: [Admins], min_members: 1}}\n" + PEOPLE,
        "  - {displayName: Admins, members: []}\n",
        ["role admin " + EMPTY.format(n=1, m=0)],
    ),
    (
        "role-required-member-disabled",
        "    roles: {admin: {groups: [Admins], required_members: [ana@example.com]}}\n"
        "users:\n  - {userName: ana@example.com, active: false}\n  - userName: ben@example.com\n",
        "  - {displayName: Admins, members: [ana@example.com, ben@example.com]}\n",
        ["role admin " + ANA],
    ),
]


@pytest.mark.parametrize(
    ("settings", "groups", "reasons"), [b[1:] for b in BREAKS], ids=[b[0] for b in BREAKS]
)
def test_a_plan_that_breaks_a_requirement_is_refused(
    tmp_path: Path, settings: str, groups: str, reasons: list[str]
) -> None:
    result = plan(tmp_path, settings + "groups:\n" + groups)
    assert list(result.guards) == reasons
    assert result.to_json()["guards"] == reasons
    assert f"Guard: {reasons[0]}\n" in plan_text(result.to_json())


# (id, settings and users, groups, observed groups)
KEEPS: list[tuple[str, str, str, tuple[Resource, ...]]] = [
    (
        "kept",
        PEOPLE,
        "  - displayName: Admins\n    members: [ana@example.com, ben@example.com]\n"
        "    required_members: [ana@example.com]\n    min_members: 2\n",
        (ADMINS,),
    ),
    (
        # Created in this run, with a member created in this run.
        "created-with-a-new-member",
        PEOPLE + "  - userName: cy@example.com\n",
        "  - {displayName: Ops, members: [cy@example.com], required_members: [cy@example.com]}\n",
        (),
    ),
    (
        # additive never removes: who else the target holds counts.
        "additive-keeps-the-others",
        PEOPLE,
        "  - {displayName: Admins, members: [], members_policy: additive, min_members: 2}\n",
        (ADMINS,),
    ),
    (
        # ana is on the target, not yet in the group: this run adds her.
        "required-member-added",
        PEOPLE,
        "  - displayName: Admins\n    members: [ana@example.com, ben@example.com]\n"
        "    required_members: [ana@example.com]\n    min_members: 2\n",
        (group_res("g-1", "Admins", ["u-b"]),),
    ),
    (
        "role-held",
        "    roles:\n"
        "      admin: {groups: [Admins], required_members: [ben@example.com], min_members: 1}\n"
        + PEOPLE,
        "  - {displayName: Admins, members: [ben@example.com]}\n",
        (ADMINS,),
    ),
]


@pytest.mark.parametrize(
    ("settings", "groups", "observed"), [k[1:] for k in KEEPS], ids=[k[0] for k in KEEPS]
)
def test_a_plan_that_keeps_them_passes(
    tmp_path: Path, settings: str, groups: str, observed: tuple[Resource, ...]
) -> None:
    assert plan(tmp_path, settings + "groups:\n" + groups, observed).guards == ()


def test_a_disabled_member_does_not_count(tmp_path: Path) -> None:
    inactive = (user_res("u-a", "ana@example.com", active=False), ON_TARGET[1])
    spec = load(
        tmp_path,
        TARGET
        + PEOPLE
        + "groups:\n  - {displayName: Admins, members_policy: additive, min_members: 2}\n",
    )
    result = make_plan(spec, spec.targets["t"], Observed(inactive, (ADMINS,)))
    assert result.guards == ("group Admins " + EMPTY.format(n=2, m=1),)


def test_requirements_come_first_among_the_guards(tmp_path: Path) -> None:
    spec = load(
        tmp_path,
        TARGET
        + "    guards: {max_member_removals: 0}\n"
        + PEOPLE
        + "groups:\n  - {displayName: Admins, members: [], min_members: 1}\n",
    )
    observed = Observed(ON_TARGET, (ADMINS,))
    result = check_guards(make_plan(spec, spec.targets["t"], observed), spec.targets["t"], observed)
    assert result.guards[0].startswith("group Admins must keep at least 1")
    assert result.guards[1].startswith("2 member removals in one run")


def test_a_saved_plan_is_held_to_the_requirements_again(tmp_path: Path) -> None:
    # A plan file carries its guards, not its requirements: apply computes both again, with
    # what a plan made now sees, on exactly the saved changes.
    spec = load(
        tmp_path,
        TARGET + PEOPLE + "groups:\n  - {displayName: Admins, members: [], min_members: 1}\n",
    )
    target = spec.targets["t"]
    observed = Observed(ON_TARGET, (ADMINS,))
    made = make_plan(spec, target, observed)
    saved = planfile.parse(
        planfile.dumps(planfile.to_json(made, target, observed, spec.digest, NOW)), "p.plan"
    )
    assert saved.plan.requirements == ()
    fresh = make_plan(spec, target, observed)
    required = plancheck.requirements(saved.plan, fresh, observed, target)
    assert required == ("group Admins " + EMPTY.format(n=1, m=0),)
    again = check_guards(dataclasses.replace(saved.plan, requirements=required), target, observed)
    assert again.guards[0] == required[0]


def test_a_holder_in_error_does_not_count(tmp_path: Path) -> None:
    # ben matches two accounts: he is in error, nothing is written for him, he holds nothing.
    twins = (*ON_TARGET, user_res("u-b2", "BEN@example.com", active=True))
    spec = load(
        tmp_path,
        TARGET
        + "    roles: {admin: {groups: [Admins], min_members: 1}}\n"
        + PEOPLE
        + "groups:\n  - {displayName: Admins, members: [ben@example.com]}\n",
    )
    result = make_plan(spec, spec.targets["t"], Observed(twins, ()))
    assert result.errors[0].key == "ben@example.com"
    assert result.guards == ("role admin " + EMPTY.format(n=1, m=0),)


def test_a_member_this_run_enables_counts(tmp_path: Path) -> None:
    asleep = (user_res("u-a", "ana@example.com", active=False), ON_TARGET[1])
    spec = load(
        tmp_path,
        TARGET
        + "users:\n  - {userName: ana@example.com, active: true}\n  - userName: ben@example.com\n"
        + "groups:\n  - displayName: Admins\n    members: [ana@example.com, ben@example.com]\n"
        + "    required_members: [ana@example.com]\n    min_members: 2\n",
    )
    result = make_plan(spec, spec.targets["t"], Observed(asleep, (ADMINS,)))
    assert [(c.key, c.action.value) for c in result.changes] == [("ana@example.com", "update")]
    assert result.guards == ()


def test_a_removal_is_seen_where_the_target_stores_user_names_as_members(
    tmp_path: Path,
) -> None:
    # Some targets store the userName as a member's value: the removal names that value,
    # and the required member is gone all the same.
    by_name = group_res(
        "g-1", "Admins", [{"value": "ana@example.com"}, {"value": "ben@example.com"}]
    )
    result = plan(
        tmp_path,
        PEOPLE
        + "groups:\n  - {displayName: Admins, members: [ben@example.com],\n"
        + "     required_members: [ana@example.com], min_members: 2}\n",
        (by_name,),
    )
    [change] = result.changes
    assert [m.id for m in change.members_remove] == ["ana@example.com"]
    assert list(result.guards) == [
        "group Admins requires ana@example.com as a member: ana@example.com would not be a "
        "member; " + FIX,
        "group Admins " + EMPTY.format(n=2, m=1),
    ]


def test_a_nested_groups_removal_takes_no_user_with_its_id(tmp_path: Path) -> None:
    # Ids counted per kind: Admins nests group "1", which the spec drops; user ana is "1"
    # too, and stays a member, so her requirement holds.
    users = (user_res("1", "ana@example.com", active=True),)
    nested = {"value": "1", "type": "Group"}
    groups = (group_res("1", "Old"), group_res("2", "Admins", ["1", nested]))
    text = (
        "    nested_groups: native\nusers:\n  - userName: ana@example.com\ngroups:\n"
        "  - {displayName: Admins, members: [ana@example.com], groups: [],\n"
        "     required_members: [ana@example.com]}\n"
    )
    spec = load(tmp_path, TARGET + text)
    result = make_plan(spec, spec.targets["t"], Observed(users, groups))
    removed = [(m.id, m.type) for c in result.changes for m in c.members_remove]
    assert removed == [("1", "Group")]
    assert result.guards == ()


def test_a_stale_copy_of_a_removed_members_name_keeps_no_requirement(tmp_path: Path) -> None:
    # Admins also lists an entry whose value names no user and whose `display` is ana's
    # name (the account she had before it was made again, say): enough not to add her
    # again, never enough to remove. When the spec removes her real entry, that copy must
    # not count as her staying a member.
    stale = {"value": "u-old", "display": "ana@example.com"}
    admins = group_res("g-1", "Admins", ["u-a", "u-b", stale])
    result = plan(
        tmp_path,
        PEOPLE
        + "groups:\n  - {displayName: Admins, members: [ben@example.com],\n"
        + "     required_members: [ana@example.com]}\n",
        (admins,),
    )
    [change] = result.changes
    assert [m.id for m in change.members_remove] == ["u-a"]
    assert list(result.guards) == [
        "group Admins requires ana@example.com as a member: ana@example.com would not be a "
        "member; " + FIX
    ]


def test_a_stale_copy_of_a_kept_members_name_changes_nothing(tmp_path: Path) -> None:
    stale = {"value": "u-old", "display": "ana@example.com"}
    admins = group_res("g-1", "Admins", ["u-a", "u-b", stale])
    result = plan(
        tmp_path,
        PEOPLE
        + "groups:\n  - {displayName: Admins, members: [ana@example.com, ben@example.com],\n"
        + "     required_members: [ana@example.com], min_members: 2}\n",
        (admins,),
    )
    assert result.changes == ()
    assert result.guards == ()
