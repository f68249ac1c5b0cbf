"""What a mapping reads and calls is asked of its parsed expression, never searched for in
its text: the parser takes `[ groups ]` as `[groups]` and `Now ()` as `Now()`, and a string
constant that spells `"[groups]"` reads nothing."""

from __future__ import annotations

import pytest

from reconciler.core.config import Target
from reconciler.core.diff import AttrChange
from reconciler.core.mapping import AttrMapping, compile_one, sources_read
from reconciler.core.roles_held import lost_roles, role_paths
from tests.core.test_plan import URL


def mapped(target: str, raw: dict[str, str] | str) -> AttrMapping:
    mapping, problems = compile_one(target, raw)
    assert problems == []
    assert mapping is not None
    return mapping


@pytest.mark.parametrize(
    ("mapping", "held"),
    [
        (AttrMapping("userType", source="groups"), True),
        (mapped("userType", 'IIF(InStr(Join(",", [groups]), "Admins") > 0, "a", "m")'), True),
        (mapped("userType", 'IIF(InStr(Join(",", [Groups]), "Admins") > 0, "a", "m")'), True),
        (mapped("userType", 'IIF(IsPresent([ groups ]), "Admin", "User")'), True),
        (mapped("userType", 'IIF(IsPresent([\tgroups  ]), "Admin", "User")'), True),
        (mapped("userType", 'IIF(IsPresent([groups.value]), "Admin", "User")'), True),
        (mapped("title", "SingleAppRoleAssignment([appRoleAssignments])"), True),
        (mapped("title", "SingleAppRoleAssignment([ appRoleAssignments ])"), True),
        (mapped("title", 'Join(" ", [name.givenName], [department])'), False),
        # Only text: a constant that spells the reference reads nothing.
        (mapped("title", 'Join(" ", "[groups]", "appRoleAssignments", [title])'), False),
        (mapped("title", "[custom.groups]"), False),
        (AttrMapping("nickName", source="displayName"), False),
    ],
)
def test_an_attribute_computed_from_access_holds_roles(mapping: AttrMapping, held: bool) -> None:
    # An access level computed from the groups a user is in (Okta's isMemberOfGroupName
    # way) is access: demoted, it is a role lost, which guards count and `protected` keeps.
    target = Target("t", URL, user_mappings=(mapping,))
    demoted = AttrChange(mapping.target, "admin", "member")
    assert (lost_roles(demoted, role_paths(target)) == {"admin"}) is held


def test_a_reference_reads_the_attribute_the_evaluator_looks_it_up_by() -> None:
    mapping = mapped("title", 'Join(" ", [ name.givenName ], [department], [ groups ])')
    assert sources_read(mapping) == {"name.givenName", "name", "department", "groups"}
    assert sources_read(AttrMapping("title", source="department")) == {"department"}
    assert sources_read(AttrMapping("title", constant="x")) == set()


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        ("Now()", True),
        ("Now ()", True),
        ('Join("-", "hire", Guid ( ))', True),
        ('Join(" ", "Guid(", "Now(", [title])', False),
    ],
)
def test_a_value_new_on_every_run_needs_on_create(text: str, refused: bool) -> None:
    # Asked of the calls the parser read: `Now ()` is a call, "Now(" in a constant is not.
    _, problems = compile_one("nickName", {"expression": text})
    expected = [("apply", "Guid() and Now() change on every run: use apply: on_create", -1)]
    assert problems == (expected if refused else [])
    assert compile_one("nickName", {"expression": text, "apply": "on_create"})[1] == []
