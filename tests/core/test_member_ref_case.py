"""A nested group a target refers to in lower case (`$ref: .../groups/2`), where each kind
is counted from 1 so user "2" exists too, is that nested group: before, it was read as user
2, and the plan removed "bob@example.com (id 2)" from the group, a removal that, sent as
`members[value eq "2"]`, took the nested group (and every member's access through it) out."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.core.test_plan import TARGET, group_res, load, plan_for, user_res

SPEC = (
    TARGET
    + "users:\n  - userName: alice@example.com\n  - userName: bob@example.com\n"
    + "groups:\n  - {displayName: Eng, members: [alice@example.com]}\n"
    + "  - {displayName: Sub}\n"
)


@pytest.mark.parametrize("endpoint", ["groups", "GROUPS", "Groups"])
def test_a_nested_group_by_a_ref_in_any_case_is_never_removed_as_a_user(
    tmp_path: Path, endpoint: str
) -> None:
    spec = load(tmp_path, SPEC)
    ref = f"https://scim.example.com/v2/{endpoint}/2"
    users = [user_res("1", "alice@example.com"), user_res("2", "bob@example.com")]
    groups = [
        group_res("1", "Eng", [{"value": "1"}, {"value": "2", "$ref": ref}]),
        group_res("2", "Sub"),
    ]
    plan = plan_for(spec, users, groups)
    assert [c for c in plan.changes if c.members_remove] == []
