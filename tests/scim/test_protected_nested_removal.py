"""The last line of protection for a nested group taken out of another
(scim/apply/protection.py `refuse_protected_removals`): it looks through the groups the
nested one holds, at any depth, and at nothing else: not at a user removed (though a group
has its id), nor back into the group it is taken from."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reconciler.run import prepare
from reconciler.scim.apply.protection import MAX_MEMBER_READS
from reconciler.scim.apply.runner import Applier, ApplyResult
from tests.fakescim import FakeScim
from tests.scim.test_faults import write_spec


def group(gid: str) -> dict[str, Any]:
    return {"value": gid, "type": "Group"}


def apply(
    fake: FakeScim,
    tmp_path: Path,
    groups: list[dict[str, Any]],
    between: Callable[[], object] = lambda: None,
    **kw: Any,
) -> ApplyResult:
    """Planned with no `protected` (and no guard to stop it), applied with admin@*
    protected; `between` changes the target after the plan's read."""
    guards = {"max_member_removals": 1000, "max_member_removal_percent": 100}
    tmp_path.mkdir(exist_ok=True)
    specs = write_spec(tmp_path, **kw, groups=groups, guards=guards)
    prepared = prepare(specs, "fake", transport=fake.transport)
    target = dataclasses.replace(prepared.target, protected=("admin@*",))
    between()
    try:
        return Applier(prepared.client, target, prepared.caps, prepared.log).run(prepared.plan)
    finally:
        prepared.client.close()


def test_a_nested_group_holding_only_others_at_any_depth_is_taken_out(
    tmp_path: Path, token: str
) -> None:
    fake = FakeScim(token=token)
    bob = fake.add_user("bob@example.com")
    deeper = fake.add_group("Deeper", [bob])
    inner = fake.add_group("Inner", [])
    fake.groups[inner]["members"] = [group(deeper)]
    outer = fake.add_group("Outer", [])
    fake.groups[outer]["members"] = [group(inner)]
    groups = [{"displayName": "Outer", "members": [], "groups": []}]
    result = apply(fake, tmp_path, groups, users=[], nested_groups="native")
    assert result.failed == ()
    assert fake.groups[outer]["members"] == []


def test_the_group_it_is_taken_from_is_not_judged_again(tmp_path: Path, token: str) -> None:
    # Inner holds Outer (a cycle): the protected admin in Outer keeps Outer whatever is
    # taken out of it, so Inner may go.
    fake = FakeScim(token=token)
    admin, bob = fake.add_user("admin@example.com"), fake.add_user("bob@example.com")
    outer = fake.add_group("Outer", [admin])
    inner = fake.add_group("Inner", [bob])
    fake.groups[outer]["members"].append(group(inner))
    fake.groups[inner]["members"].append(group(outer))
    users = [{"userName": "admin@example.com"}]
    groups = [{"displayName": "Outer", "members": ["admin@example.com"], "groups": []}]
    result = apply(fake, tmp_path, groups, users=users, nested_groups="native")
    assert result.failed == ()
    assert [m["value"] for m in fake.groups[outer]["members"]] == [admin]


def test_a_user_removed_is_not_read_as_the_group_that_shares_its_id(
    tmp_path: Path, token: str
) -> None:
    fake = FakeScim(token=token)
    fake.ids_per_kind = True
    admin, bob = fake.add_user("admin@example.com"), fake.add_user("bob@example.com")
    ops = fake.add_group("Ops", [admin, bob])
    admins = fake.add_group("Admins", [admin])
    assert (bob, admins) == ("2", "2")
    users = [{"userName": "admin@example.com"}, {"userName": "bob@example.com"}]
    groups: list[dict[str, Any]] = [
        {"displayName": "Ops", "members": ["admin@example.com"]},
        {"displayName": "Admins"},
    ]
    result = apply(fake, tmp_path, groups, users=users)
    assert result.failed == ()
    assert [m["value"] for m in fake.groups[ops]["members"]] == [admin]


def test_a_group_deleted_is_read_once_though_a_group_in_it_holds_it(
    tmp_path: Path, token: str
) -> None:
    # Ops holds Inner, which holds Ops: each is judged once, so a cycle costs no read
    # (reads are bounded: each one wasted brings a refusal closer).
    fake = FakeScim(token=token)
    bob = fake.add_user("bob@example.com")
    inner = fake.add_group("Inner", [bob])
    ops = fake.add_group("Ops", [])
    fake.groups[ops]["members"] = [group(inner)]
    fake.groups[inner]["members"].append(group(ops))
    groups = [{"displayName": "Ops", "state": "absent"}]
    result = apply(fake, tmp_path, groups, users=[], nested_groups="native")
    assert result.failed == ()
    assert ops not in fake.groups
    sent = [(seen.method, seen.path) for seen in fake.requests]
    before = sent[: sent.index(("DELETE", f"/Groups/{ops}"))]
    assert before.count(("GET", f"/Groups/{ops}")) == 1
    assert before.count(("GET", f"/Groups/{inner}")) == 1


def nesting(fake: FakeScim, depth: int, count: int) -> str:
    """Ops, holding `count` groups, each the top of a chain of `depth` groups."""
    tops = []
    for i in range(count):
        below: list[dict[str, Any]] = []
        for level in range(depth, 0, -1):
            gid = fake.add_group(f"N{i}-{level}", [])
            fake.groups[gid]["members"] = below
            below = [group(gid)]
        tops += below
    ops = fake.add_group("Ops", [])
    fake.groups[ops]["members"] = tops
    return ops


def refused(result: ApplyResult) -> list[str]:
    return [o.message for o in result.failed if o.key == "Ops"]


DELETE_OPS = [{"displayName": "Ops", "state": "absent"}]


def test_nested_groups_each_count_as_a_read_up_to_the_bound(tmp_path: Path, token: str) -> None:
    # Known to the plan's read by name, each is still read by id for what it holds.
    fake = FakeScim(token=token)
    ops = nesting(fake, 1, MAX_MEMBER_READS)
    fake.groups[next(iter(fake.groups))]["members"] = [group(ops)]  # a cycle reads nothing
    result = apply(fake, tmp_path / "a", DELETE_OPS, users=[], nested_groups="native")
    assert result.failed == ()
    assert ops not in fake.groups
    fake = FakeScim(token=token)
    ops = nesting(fake, 1, MAX_MEMBER_READS + 1)
    result = apply(fake, tmp_path / "b", DELETE_OPS, users=[], nested_groups="native")
    assert refused(result) == [
        f"{MAX_MEMBER_READS + 1} of its members were not in the plan's read, more than "
        f"{MAX_MEMBER_READS} to read one by one: whether one is protected is not known, so "
        "the group is not deleted"
    ]
    assert ops in fake.groups


def test_reads_add_up_through_every_level(tmp_path: Path, token: str) -> None:
    # 60 groups, each holding one more: 120 reads, past the bound after 101 of them.
    fake = FakeScim(token=token)
    ops = nesting(fake, 2, 60)
    result = apply(fake, tmp_path, DELETE_OPS, users=[], nested_groups="native")
    assert [m.split(" of its")[0] for m in refused(result)] == [str(MAX_MEMBER_READS + 1)]
    assert ops in fake.groups


def gets_before_delete(fake: FakeScim, gid: str, deleted: str) -> int:
    sent = [(seen.method, seen.path) for seen in fake.requests]
    return sent[: sent.index(("DELETE", f"/Groups/{deleted}"))].count(("GET", f"/Groups/{gid}"))


def test_groups_nested_in_a_cycle_below_the_group_deleted_are_each_read_once(
    tmp_path: Path, token: str
) -> None:
    fake = FakeScim(token=token)
    ops = nesting(fake, 2, 1)  # Ops > N0-1 > N0-2, and N0-2 holds N0-1 again
    named = {g["displayName"]: gid for gid, g in fake.groups.items()}
    top, bottom = named["N0-1"], named["N0-2"]
    fake.groups[bottom]["members"] = [group(top)]
    result = apply(fake, tmp_path, DELETE_OPS, users=[], nested_groups="native")
    assert result.failed == ()
    assert [gets_before_delete(fake, g, ops) for g in (top, bottom)] == [1, 1]


def test_a_group_the_plan_did_not_read_is_read_once_for_its_name_and_members(
    tmp_path: Path, token: str
) -> None:
    fake = FakeScim(token=token)
    ops = fake.add_group("Ops", [])
    late: list[str] = []

    def nest_a_new_group() -> None:
        late.append(fake.add_group("Late", [fake.add_user("bob@example.com")]))
        fake.groups[ops]["members"] = [group(late[0])]

    result = apply(fake, tmp_path, DELETE_OPS, nest_a_new_group, users=[], nested_groups="native")
    assert result.failed == ()
    assert gets_before_delete(fake, late[0], ops) == 1
