"""A learned value-list member removal never empties a group the plan did not empty.

When a target refuses `members[value eq "x"]`, apply falls back to Entra's form, `remove`
of `members` with a value list. RFC 7644 §3.5.2.2 says a `remove` of a multi-valued
attribute without a filter removes all its values, and a target that reads it so (ignoring
`value`) removed every member of the group: one planned removal became all of them.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx2

from reconciler.run import prepare
from reconciler.scim.apply.runner import Applier
from reconciler.scim.transfer import RunDeadline
from tests.fakescim import FakeScim, Seen, json_response
from tests.scim.test_bounds import Clock
from tests.scim.test_faults import outcomes, plan_and_apply, user, write_spec


def test_a_value_list_removal_that_removes_everyone_is_undone(token: str, tmp_path: Path) -> None:
    fake = FakeScim(token=token)
    names = [f"u{i}@example.com" for i in range(5)]
    ids = [fake.add_user(n) for n in names]
    eng = fake.add_group("Engineering", ids)
    fake.reject_member_filter_path = True
    fake.remove_ignores_value = True
    specs = write_spec(
        tmp_path,
        [user(n) for n in names],
        [{"displayName": "Engineering", "members": names[1:]}],
    )
    prepared, result = plan_and_apply(specs, fake)
    assert [m.id for c in prepared.plan.changes for m in c.members_remove] == [ids[0]]
    held = {m["value"] for m in fake.groups[eng].get("members", [])}
    assert set(ids[1:]) <= held, outcomes(result)
    assert result.failed  # the removal did not happen as planned: said so


def test_what_is_added_back_keeps_its_kind(token: str, tmp_path: Path) -> None:
    # Ids counted per kind: Engineering nests group "3", and carl is user "3". The wiped
    # group gets back group "3", never user carl in its place.
    fake = FakeScim(token=token)
    fake.ids_per_kind = True
    names = ["ben@example.com", "ann@example.com", "carl@example.com"]
    ben, ann, carl = (fake.add_user(n) for n in names)
    nested = [fake.add_group(name) for name in ("A", "B", "C")][-1]
    eng = fake.add_group("Engineering", [ben, ann])
    fake.groups[eng]["members"].append({"value": nested, "type": "Group"})
    fake.reject_member_filter_path = True
    fake.remove_ignores_value = True
    groups = [{"displayName": "Engineering", "members": ["ben@example.com"]}]
    specs = write_spec(tmp_path, [user(n) for n in names], groups)
    _, result = plan_and_apply(specs, fake)
    held = sorted((m.get("type", "User"), m["value"]) for m in fake.groups[eng]["members"])
    assert (carl, nested) == ("3", "3")
    assert held == [("Group", nested), ("User", ben)], outcomes(result)
    assert result.failed


def test_a_planned_nested_group_removal_is_not_added_back(token: str, tmp_path: Path) -> None:
    # The removal planned is of nested group "1", which the check must not take for a
    # user "1" (ann, in no group here) that went unplanned, and add back.
    fake = FakeScim(token=token)
    fake.ids_per_kind = True
    fake.add_user("ann@example.com")
    ben = fake.add_user("ben@example.com")
    inner = fake.add_group("Inner", [ben])
    outer = fake.add_group("Outer", [ben])
    fake.groups[outer]["members"].append({"value": inner, "type": "Group"})
    fake.reject_member_filter_path = True
    groups = [
        {"displayName": "Outer", "members": ["ben@example.com"]},
        {"displayName": "Inner", "members": ["ben@example.com"]},
    ]
    specs = write_spec(tmp_path, [user("ben@example.com")], groups, nested_groups="native")
    _, result = plan_and_apply(specs, fake)
    assert result.failed == ()
    assert fake.groups[outer]["members"] == [{"value": ben}]


class ShowsAnExtraBefore(FakeScim):
    """Once a filter-path removal was refused, the group's GET shows one more member (a
    user it never held) until the value-list removal is sent."""

    def __init__(self, token: str, extra: str = "") -> None:
        super().__init__(token=token)
        self.extra = extra
        self.armed = self.sent = False

    def _serve(self, seen: Seen) -> httpx2.Response:
        if seen.method == "PATCH" and seen.path.startswith("/Groups/"):
            ops = (seen.body or {}).get("Operations", [])
            if any(o.get("op") == "remove" and o.get("path") == "members" for o in ops):
                self.sent = True
            else:
                self.armed = True
        response = super()._serve(seen)
        if (
            seen.method == "GET"
            and seen.path.startswith("/Groups/")
            and self.armed
            and not self.sent
        ):
            body = json.loads(response.content)
            body["members"] = [*body.get("members", []), {"value": self.extra}]
            return json_response(200, body)
        return response


def test_a_member_only_the_targets_own_read_showed_is_never_added_back(
    token: str, tmp_path: Path
) -> None:
    # The plan removes bob; the target's read just before the value-list removal shows
    # admin too, and the read after does not. admin was in no read the plan made: adding
    # it "back" would be access no plan held.
    fake = ShowsAnExtraBefore(token)
    alice, bob, admin = (fake.add_user(f"{n}@example.com") for n in ("alice", "bob", "admin"))
    fake.extra = admin
    eng = fake.add_group("Engineering", [alice, bob])
    fake.reject_member_filter_path = True
    users = [user(f"{n}@example.com") for n in ("alice", "bob", "admin")]
    specs = write_spec(
        tmp_path, users, [{"displayName": "Engineering", "members": ["alice@example.com"]}]
    )
    _, result = plan_and_apply(specs, fake)
    (failed,) = result.failed
    assert failed.message == (
        "the target removed 1 member(s) more than planned when sent a value-list removal; "
        "the 0 the plan read were added back, and 1 it did not read were not, and no member "
        "is removed in this run"
    )
    assert [m["value"] for m in fake.groups[eng]["members"]] == [alice]
    assert not any(
        op.get("op") == "add" for s in fake.requests if s.method == "PATCH"
        for op in s.body.get("Operations", [])
    )  # fmt: skip


# -- a value-list removal whose outcome is unknown -----------------------------------------


def _removes(seen: Seen) -> bool:
    ops = (seen.body or {}).get("Operations", [])
    return any(o.get("op") == "remove" and o.get("path") == "members" for o in ops)


def _admin_group(token: str, tmp_path: Path) -> tuple[FakeScim, Path, str, list[str]]:
    # Eng holds alice, carol and a protected admin; the spec keeps alice: carol goes, by a
    # value list (the filter path is refused) that this target reads as "remove all".
    fake = FakeScim(token=token)
    fake.reject_member_filter_path = True
    fake.remove_ignores_value = True
    names = ["alice@example.com", "carol@example.com", "admin@example.com"]
    ids = [fake.add_user(n) for n in names]
    eng = fake.add_group("Eng", ids)
    groups = [{"displayName": "Eng", "members": names[:1]}]
    specs = write_spec(tmp_path, [user(n) for n in names[:2]], groups, protected=["admin@*"])
    return fake, specs, eng, ids


def test_a_removal_answered_5xx_is_still_checked_and_undone(token: str, tmp_path: Path) -> None:
    # The gateway answers 504 to each attempt; the target removed everyone each time.
    fake, specs, eng, (alice, _, admin) = _admin_group(token, tmp_path)
    fake.fail("PATCH", "/Groups/*", after=True, status=504, text="gateway timeout", times=9,
              when=_removes)  # fmt: skip
    _, result = plan_and_apply(specs, fake)
    assert sorted(m["value"] for m in fake.groups[eng]["members"]) == sorted([alice, admin])
    (failed,) = result.failed
    assert failed.message.endswith(
        "the target removed 2 member(s) more than planned when sent a value-list removal; "
        "they were added back, and no member is removed in this run"
    )


def test_a_removal_cut_by_the_deadline_is_undone_past_it(token: str, tmp_path: Path) -> None:
    fake, specs, eng, (alice, _, admin) = _admin_group(token, tmp_path)
    clock = Clock()

    def late(seen: Seen) -> bool:
        if _removes(seen):
            clock.now += 3600  # the answer never comes before the run's deadline
        return _removes(seen)

    fake.fail("PATCH", "/Groups/*", after=True, exc=httpx2.ReadTimeout("slow"), when=late)
    prepared = prepare(specs, "fake", transport=fake.transport)
    prepared.client.deadline = RunDeadline(60, clock)
    try:
        result = Applier(prepared.client, prepared.target, prepared.caps, prepared.log).run(
            prepared.plan
        )
    finally:
        prepared.client.close()
    assert sorted(m["value"] for m in fake.groups[eng]["members"]) == sorted([alice, admin])
    assert result.timed_out
    assert "they were added back" in result.failed[0].message


def test_a_removal_that_cannot_be_checked_names_what_it_may_have_taken(
    token: str, tmp_path: Path
) -> None:
    fake, specs, eng, _ = _admin_group(token, tmp_path)
    fake.fail("PATCH", "/Groups/*", after=True, status=502, times=9, when=_removes)
    sent = fake.faults[-1]
    # Once the removal was sent, the group can no longer be read.
    fake.fail("GET", "/Groups/*", status=503, times=99, when=lambda _: sent.times < 9)
    _, result = plan_and_apply(specs, fake)
    assert fake.groups[eng]["members"] == []
    (failed,) = result.failed
    assert "check that it still holds admin@example.com, alice@example.com" in failed.message
