"""Renames keep identity: an object matched by an immutable key or by a former name
(`previously`) is renamed in place, never created anew with the old one deprovisioned."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.core.model import Kind, Observed, Resource
from reconciler.core.plan import Plan, make_plan
from reconciler.core.plan_json import Malformed, plan_from_json
from reconciler.report.markdown import plan_markdown
from reconciler.report.render import plan_text
from tests.core.test_plan import TARGET, group_res, keyed, load, user_res

OLD_ALICE = user_res("u-1", "alice@old.example", externalId="alice", active=True)
OLD_ENG = group_res("g-1", "Eng", ["u-1"], externalId="eng")


def plan(
    root: Path, text: str, users: tuple[Resource, ...], groups: tuple[Resource, ...] = ()
) -> Plan:
    spec = load(root, TARGET + text)
    return make_plan(spec, spec.targets["t"], Observed(users, groups))


@pytest.mark.parametrize(
    ("settings", "user"),
    [
        (
            "    matching: {user: [userName, externalId]}\n",
            "  - {userName: alice@new.example, externalId: alice}\n",
        ),
        ("", "  - {userName: alice@new.example, previously: [Alice@Old.example]}\n"),
    ],
    ids=["immutable-key", "previously"],
)
def test_a_renamed_user_is_updated_in_place_never_replaced(
    tmp_path: Path, settings: str, user: str
) -> None:
    # prune: all would deprovision the old account if the new one were a create.
    result = plan(tmp_path, settings + "    prune: all\nusers:\n" + user, (OLD_ALICE,))
    assert keyed(result) == [("user", "alice@new.example", "update")]
    change = result.changes[0]
    assert change.target_id == "u-1"
    assert change.renamed_from == "alice@old.example"
    assert [(a.path, a.before, a.after) for a in change.attributes] == [
        ("userName", "alice@old.example", "alice@new.example")
    ]
    assert change.to_json()["rename"] == {"from": "alice@old.example", "to": "alice@new.example"}
    assert "  ~ rename user alice@old.example → alice@new.example  (id u-1)\n" in plan_text(
        result.to_json()
    )
    assert "~ rename user alice@old.example → alice@new.example (id u-1)" in plan_markdown(
        result.to_json()
    )


def test_previously_names_the_match_attempt(tmp_path: Path) -> None:
    result = plan(
        tmp_path,
        "users:\n  - userName: alice@new.example\n"
        "    previously: [x@old.example, alice@old.example]\n",
        (OLD_ALICE,),
    )
    match = result.matches[(Kind.USER, "alice@new.example")]
    assert match.matched_on == "previously (userName)"
    assert [(a.attribute, a.value, a.candidates) for a in match.attempts] == [
        ("userName", "alice@new.example", ()),
        ("previously (userName)", "x@old.example", ()),
        ("previously (userName)", "alice@old.example", ("u-1",)),
    ]


def test_the_new_name_wins_over_a_former_one(tmp_path: Path) -> None:
    # Both accounts exist: the declared name is matched, the former name is not taken over.
    both = (OLD_ALICE, user_res("u-2", "alice@new.example", active=True))
    result = plan(
        tmp_path,
        "users:\n  - {userName: alice@new.example, previously: [alice@old.example]}\n",
        both,
    )
    assert result.changes == ()
    assert result.matches[(Kind.USER, "alice@new.example")].resource == both[1]


def test_a_renamed_group_keeps_its_id_and_members(tmp_path: Path) -> None:
    text = (
        "users:\n  - {userName: alice@old.example}\n"
        "groups:\n  - {displayName: Engineering, previously: [Eng], members: [alice@old.example]}\n"
    )
    result = plan(tmp_path, text, (OLD_ALICE,), (OLD_ENG,))
    assert keyed(result) == [("group", "Engineering", "update")]
    change = result.changes[0]
    assert (change.target_id, change.renamed_from) == ("g-1", "Eng")
    assert [(a.path, a.after) for a in change.attributes] == [("displayName", "Engineering")]
    assert change.members_add == () and change.members_remove == ()


def test_a_case_only_difference_is_a_correction_not_a_rename(tmp_path: Path) -> None:
    shouting = user_res("u-1", "ALICE@old.example", active=True)
    result = plan(
        tmp_path, "users:\n  - {userName: alice@old.example, displayName: A}\n", (shouting,)
    )
    assert result.changes[0].renamed_from is None


def test_without_a_key_or_a_former_name_it_is_a_new_account(tmp_path: Path) -> None:
    result = plan(
        tmp_path, "    prune: all\nusers:\n  - {userName: alice@new.example}\n", (OLD_ALICE,)
    )
    assert keyed(result) == [
        ("user", "alice@new.example", "create"),
        ("user", "alice@old.example", "disable"),
    ]


def test_two_accounts_with_the_former_name_are_an_error_not_a_guess(tmp_path: Path) -> None:
    twins = (OLD_ALICE, user_res("u-2", "ALICE@old.example"))
    result = plan(
        tmp_path,
        "users:\n  - {userName: alice@new.example, previously: [alice@old.example]}\n",
        twins,
    )
    assert result.changes == ()
    assert result.errors[0].message.startswith("DuplicateTargetEntries: 2 target objects have")


def test_a_rename_survives_the_plan_file(tmp_path: Path) -> None:
    result = plan(
        tmp_path,
        "users:\n  - {userName: alice@new.example, previously: [alice@old.example]}\n",
        (OLD_ALICE,),
    )
    again = plan_from_json(result.to_json())
    assert again.changes[0].renamed_from == "alice@old.example"
    assert again.to_json() == result.to_json()


def test_a_plan_file_cannot_rename_to_another_name(tmp_path: Path) -> None:
    result = plan(
        tmp_path,
        "users:\n  - {userName: alice@new.example, previously: [alice@old.example]}\n",
        (OLD_ALICE,),
    )
    data = result.to_json()
    data["changes"][0]["rename"]["to"] = "mallory@example.com"
    with pytest.raises(Malformed, match=r"plan.changes\[0\].rename.to: expected the change's key"):
        plan_from_json(data)


@pytest.mark.parametrize("deprovision", ["disable", "delete"])
def test_an_account_under_a_former_name_is_never_pruned_when_the_new_one_exists(
    tmp_path: Path, deprovision: str
) -> None:
    # `previously` says the old name was this person's: with both accounts on the target,
    # the new one is matched and the old one is still hers (a rename half done elsewhere),
    # so it is an error to resolve, never a stray to disable.
    both = (OLD_ALICE, user_res("u-2", "alice@new.example", active=True))
    result = plan(
        tmp_path,
        f"    prune: all\n    deprovision: {deprovision}\n"
        "users:\n  - {userName: alice@new.example, previously: [alice@old.example]}\n",
        both,
    )
    assert result.changes == ()
    assert result.matches[(Kind.USER, "alice@new.example")].resource == both[1]
    assert [(e.key, e.message) for e in result.errors] == [
        (
            "u-1",
            "not deprovisioned: it has the former userName of user alice@new.example's "
            "account (id u-2); remove the duplicate on the target, or declare it",
        )
    ]


def test_a_group_under_a_former_name_is_never_pruned_when_the_new_one_exists(
    tmp_path: Path,
) -> None:
    text = (
        "    prune: all\nusers:\n  - {userName: alice@old.example}\n"
        "groups:\n  - {displayName: Engineering, previously: [Eng], members: [alice@old.example]}\n"
    )
    new = group_res("g-2", "Engineering", ["u-1"])
    result = plan(tmp_path, text, (OLD_ALICE,), (OLD_ENG, new))
    assert [c for c in result.changes if c.target_id == "g-1"] == []
    assert [e.key for e in result.errors] == ["g-1"]


def test_a_match_records_what_each_former_name_found_and_nothing_more(tmp_path: Path) -> None:
    # What the match shows (explain, and the duplicate check) is each former name as
    # written with what it found; attributes after the one that matched are not tried.
    both = (OLD_ALICE, user_res("u-2", "alice@new.example", externalId="a", active=True))
    result = plan(
        tmp_path,
        "    matching: {user: [userName, externalId]}\nusers:\n"
        "  - {userName: alice@new.example, externalId: a, previously: [alice@old.example]}\n",
        both,
    )
    match = result.matches[(Kind.USER, "alice@new.example")]
    assert match.resource == both[1]
    assert [(a.attribute, a.value, a.candidates) for a in match.attempts] == [
        ("userName", "alice@new.example", ("u-2",)),
        ("previously (userName)", "alice@old.example", ("u-1",)),
    ]
