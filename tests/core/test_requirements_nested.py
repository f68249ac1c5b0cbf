"""Required members held through nested groups (`nested_groups: native`): a member of a
group nested in the required one, at any depth, keeps their access through it and counts;
each nested group is taken as the plan leaves it, so a member the plan takes away, from
the nested group or with it, never counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.core.model import Json, Resource
from tests.core.test_plan import group_res
from tests.core.test_requirements import ANA, EMPTY, FIX, PEOPLE, plan

NATIVE = "    nested_groups: native\n" + PEOPLE
SUB = group_res("g-sub", "Sub", ["u-a", "u-b"])
NESTS_SUB: Json = {"value": "g-sub", "type": "Group"}
ADMINS = group_res("g-1", "Admins", [NESTS_SUB])
ANA_NAME = "ana@example.com"
BOTH = "[ana@example.com, ben@example.com]"
NEEDS = "    required_members: [ana@example.com]\n    min_members: 2\n"
GONE = "group Admins requires ana@example.com as a member: ana@example.com would not be a member; "


def admins(nested: str) -> str:
    return f"  - displayName: Admins\n    members: []\n    groups: {nested}\n" + NEEDS


# (id, settings and users, groups, observed groups)
KEEPS: list[tuple[str, str, str, tuple[Resource, ...]]] = [
    ("through-a-nested-group", NATIVE, f"  - {{displayName: Sub, members: {BOTH}}}\n", (SUB,)),
    (
        # Sub nests Inner, which holds ana and nests Sub again: a loop, walked once.
        "at-depth-through-a-loop",
        NATIVE,
        "  - {displayName: Sub, members: [ben@example.com], members_policy: additive}\n",
        (
            group_res("g-sub", "Sub", ["u-b", {"value": "g-in", "type": "Group"}]),
            group_res("g-in", "Inner", ["u-a", NESTS_SUB]),
        ),
    ),
    (
        "nested-in-this-run",
        NATIVE,
        f"  - {{displayName: Sub, members: {BOTH}}}\n",
        (SUB, group_res("g-1", "Admins")),
    ),
    (
        "nested-group-created-in-this-run",
        NATIVE,
        f"  - {{displayName: Sub, members: {BOTH}}}\n",
        (group_res("g-1", "Admins"),),
    ),
    (
        "both-created-in-this-run",
        NATIVE,
        f"  - {{displayName: Sub, members: {BOTH}}}\n",
        (),
    ),
]


@pytest.mark.parametrize(
    ("settings", "groups", "observed"), [k[1:] for k in KEEPS], ids=[k[0] for k in KEEPS]
)
def test_a_member_held_through_a_nested_group_counts(
    tmp_path: Path, settings: str, groups: str, observed: tuple[Resource, ...]
) -> None:
    result = plan(tmp_path, settings + "groups:\n" + admins("[Sub]") + groups, observed)
    assert result.guards == ()


# (id, settings and users, groups, observed groups, the reasons)
BREAKS: list[tuple[str, str, str, tuple[Resource, ...], list[str]]] = [
    (
        "removed-from-the-nested-group",
        NATIVE,
        admins("[Sub]") + "  - {displayName: Sub, members: [ben@example.com]}\n",
        (SUB, ADMINS),
        [GONE + FIX, "group Admins " + EMPTY.format(n=2, m=1)],
    ),
    (
        "disabled-in-the-nested-group",
        "    nested_groups: native\nusers:\n  - {userName: ana@example.com, active: false}\n"
        "  - userName: ben@example.com\n",
        admins("[Sub]") + f"  - {{displayName: Sub, members: {BOTH}}}\n",
        (SUB, ADMINS),
        ["group Admins " + ANA, "group Admins " + EMPTY.format(n=2, m=1)],
    ),
    (
        "nested-group-taken-out",
        NATIVE,
        admins("[]") + f"  - {{displayName: Sub, members: {BOTH}}}\n",
        (SUB, ADMINS),
        [GONE + FIX, "group Admins " + EMPTY.format(n=2, m=0)],
    ),
    (
        "nested-group-deleted",
        NATIVE,
        admins("[]") + "  - {displayName: Sub, state: absent}\n",
        (SUB, ADMINS),
        [GONE + FIX, "group Admins " + EMPTY.format(n=2, m=0)],
    ),
    (
        # Admins also lists a stale copy of ana's name (a `display` alone), never removed:
        # it keeps her no more when the plan removes her from Sub than from Admins itself.
        "stale-copy-beside-a-nested-removal",
        NATIVE,
        admins("[Sub]") + "  - {displayName: Sub, members: [ben@example.com]}\n",
        (SUB, group_res("g-1", "Admins", [NESTS_SUB, {"value": "u-old", "display": ANA_NAME}])),
        [GONE + FIX, "group Admins " + EMPTY.format(n=2, m=1)],
    ),
    (
        # An untyped entry with a group's id may be a user the read did not show: Sub's
        # members are not counted for it.
        "untyped-entry-with-a-groups-id",
        NATIVE,
        admins("[Sub]") + f"  - {{displayName: Sub, members: {BOTH}}}\n",
        (SUB, group_res("g-1", "Admins", [{"value": "g-sub"}])),
        [GONE + FIX, "group Admins " + EMPTY.format(n=2, m=0)],
    ),
]


@pytest.mark.parametrize(
    ("settings", "groups", "observed", "reasons"),
    [b[1:] for b in BREAKS],
    ids=[b[0] for b in BREAKS],
)
def test_a_member_the_plan_takes_from_a_nested_group_does_not_count(
    tmp_path: Path,
    settings: str,
    groups: str,
    observed: tuple[Resource, ...],
    reasons: list[str],
) -> None:
    result = plan(tmp_path, settings + "groups:\n" + groups, observed)
    assert list(result.guards) == reasons
