"""The groups a plan takes away, read for the members their listing left out
(scim/unlisted_members.py): each group it deletes or nests no more, and the groups nested
in those, read once each by id, up to a bound; a read that fails or answers for another
group leaves the group as the listing showed it, and nothing else is read."""

from __future__ import annotations

import dataclasses
from typing import Any

from reconciler.core.changes import Action, Change, Member
from reconciler.core.model import Kind, Observed, Resource
from reconciler.scim.client import ScimClient
from reconciler.scim.retries import RetryPolicy
from reconciler.scim.unlisted_members import MAX_GROUP_READS, with_members_read
from tests.fakescim import BASE_URL, FakeScim

TINY = RetryPolicy(attempts=1, timeout=5.0, wait_initial=0.001, wait_max=0.002)


class Log:
    """Records what would be logged (the one thing the module logs is a warning)."""

    def __init__(self) -> None:
        self.warnings: list[dict[str, Any]] = []

    def warning(self, event: str, **fields: Any) -> None:
        self.warnings.append({"event": event, **fields})


def listed(fake: FakeScim, *whole: str) -> Observed:
    """The fake's groups as a listing that leaves out the members of all but `whole`."""
    return Observed(
        tuple(Resource(uid, {"userName": u["userName"]}) for uid, u in fake.users.items()),
        tuple(
            Resource(gid, g if gid in whole else {k: v for k, v in g.items() if k != "members"})
            for gid, g in fake.groups.items()
        ),
    )


def delete(gid: str, key: str = "Ops") -> Change:
    return Change(Kind.GROUP, key, Action.DELETE, "state: absent", target_id=gid)


def unnest(parent: str, child: str) -> Change:
    removed = (Member("Inner", child, "Group"),)
    return Change(Kind.GROUP, "Outer", Action.UPDATE, "members", parent, members_remove=removed)


def run(fake: FakeScim, observed: Observed, *changes: Change) -> tuple[Observed, Log]:
    log = Log()
    client = ScimClient(fake.client(), BASE_URL, retry=TINY)
    return with_members_read(client, observed, changes, log), log


def members(observed: Observed, gid: str) -> list[str] | None:
    body = next(g.body for g in observed.groups if g.id == gid)
    found = body.get("members")
    return None if found is None else [str(m["value"]) for m in found]


def reads(fake: FakeScim) -> list[str]:
    return [s.path for s in fake.requests if s.method == "GET"]


def test_a_deleted_group_is_read_and_nothing_else_changes() -> None:
    fake = FakeScim()
    users = [fake.add_user(f"u{i}@example.com") for i in range(3)]
    ops, eng = fake.add_group("Ops", users), fake.add_group("Eng", users[:1])
    observed = listed(fake)
    out, log = run(fake, observed, delete(ops))
    assert members(out, ops) == users
    assert members(out, eng) is None  # not taken away: not read
    assert out.users == observed.users
    assert [g.id for g in out.groups] == [g.id for g in observed.groups]
    assert out.notes == ()
    assert reads(fake) == [f"/Groups/{ops}"]
    assert log.warnings == []


def test_nothing_to_read_gives_back_what_was_listed() -> None:
    fake = FakeScim()
    user = fake.add_user("u@example.com")
    ops = fake.add_group("Ops", [user])
    whole = listed(fake, ops)
    assert run(fake, whole, delete(ops))[0] is whole  # listed with its members
    renamed = Change(Kind.GROUP, "Ops", Action.UPDATE, "displayName", target_id=ops)
    observed = listed(fake)
    assert run(fake, observed, renamed)[0] is observed  # not taken away
    user_gone = Change(Kind.USER, "u@example.com", Action.DELETE, "absent", target_id=user)
    assert run(fake, observed, user_gone)[0] is observed  # a user's delete takes no group
    unknown = delete("no-such-group")
    assert run(fake, observed, unknown)[0] is observed  # not in the read: nothing to count
    assert reads(fake) == []


def test_a_nested_group_taken_out_is_read_with_the_groups_nested_in_it() -> None:
    fake = FakeScim()
    users = [fake.add_user(f"u{i}@example.com") for i in range(2)]
    deepest = fake.add_group("Deepest", users[1:])
    inner = fake.add_group("Inner", users[:1])
    fake.groups[inner]["members"].append({"value": deepest, "type": "Group"})
    outer = fake.add_group("Outer", [])
    fake.groups[outer]["members"] = [{"value": inner, "type": "Group"}]
    out, _ = run(fake, listed(fake), unnest(outer, inner))
    assert members(out, inner) == [users[0], deepest]
    assert members(out, deepest) == users[1:]
    assert members(out, outer) is None  # it stays: only what it nests no more is read
    assert sorted(reads(fake)) == sorted([f"/Groups/{inner}", f"/Groups/{deepest}"])


def test_each_group_is_read_once_however_often_it_is_reached() -> None:
    fake = FakeScim()
    user = fake.add_user("u@example.com")
    shared = fake.add_group("Shared", [user])
    a, b = fake.add_group("A", []), fake.add_group("B", [])
    for gid in (a, b):
        fake.groups[gid]["members"] = [{"value": shared, "type": "Group"}]
    fake.groups[shared]["members"].append({"value": a, "type": "Group"})  # a cycle
    out, _ = run(fake, listed(fake), delete(a, "A"), delete(b, "B"), delete(a, "A"))
    assert members(out, shared) == [user, a]
    assert sorted(reads(fake)) == sorted(f"/Groups/{g}" for g in (a, b, shared))


def test_a_group_listed_with_its_members_is_not_read_but_its_nested_groups_are() -> None:
    fake = FakeScim()
    user = fake.add_user("u@example.com")
    inner = fake.add_group("Inner", [user])
    ops = fake.add_group("Ops", [])
    fake.groups[ops]["members"] = [{"value": inner, "type": "Group"}]
    out, _ = run(fake, listed(fake, ops), delete(ops))
    assert members(out, inner) == [user]
    assert reads(fake) == [f"/Groups/{inner}"]


def test_a_read_that_fails_leaves_the_group_as_listed() -> None:
    fake = FakeScim()
    user = fake.add_user("u@example.com")
    ops, eng = fake.add_group("Ops", [user]), fake.add_group("Eng", [user])
    fake.fail("GET", f"/Groups/{ops}", status=403)
    # Read in turn (last first): the failure comes before Eng and Dev, and stops neither.
    dev = fake.add_group("Dev", [user])
    out, log = run(fake, listed(fake), delete(dev, "Dev"), delete(eng, "Eng"), delete(ops))
    assert members(out, ops) is None
    assert members(out, eng) == members(out, dev) == [user]
    assert len(log.warnings) == 1
    warning = log.warnings[0]
    assert warning["event"] == "members unread"
    assert warning["step"] == "import"
    assert warning["kind"] == "group"
    assert warning["target_id"] == ops
    assert "403" in warning["detail"]


def test_an_answer_for_another_group_or_without_members_leaves_it_as_listed() -> None:
    fake = FakeScim()
    user = fake.add_user("u@example.com")
    ops, other = fake.add_group("Ops", [user]), fake.add_group("Other", [user])
    fake.fail("GET", f"/Groups/{ops}", status=200, body=dict(fake.groups[other]))
    out, _ = run(fake, listed(fake), delete(ops))
    assert members(out, ops) is None
    bare = fake.add_group("Bare")  # no members attribute even when read by its id
    out, log = run(fake, listed(fake), delete(bare, "Bare"))
    assert members(out, bare) is None
    assert out.notes == ()
    assert log.warnings == []


def test_past_the_bound_the_rest_are_counted_as_listed_and_a_note_says_so() -> None:
    fake = FakeScim()
    user = fake.add_user("u@example.com")
    gids = [fake.add_group(f"G{i:03d}", [user]) for i in range(MAX_GROUP_READS + 2)]
    out, log = run(fake, listed(fake), *(delete(g, g) for g in gids))
    read = [g for g in gids if members(out, g) is not None]
    assert len(read) == MAX_GROUP_READS
    assert len(reads(fake)) == MAX_GROUP_READS
    note = (
        f"more than {MAX_GROUP_READS} groups to take away were listed without their "
        "members: the rest are counted as the listing showed them"
    )
    assert out.notes == (note,)
    assert log.warnings == [{"event": "members unread", "step": "import", "detail": note}]


def test_a_user_is_never_read_as_a_group_though_it_shares_its_id() -> None:
    # Users and groups may share ids (ids per kind): a user removed, or a user a group
    # holds, names no group, whatever group has that id.
    fake = FakeScim()
    fake.ids_per_kind = True
    user = fake.add_user("u@example.com")
    fake.add_user("v@example.com")
    ops, eng = fake.add_group("Ops", [user]), fake.add_group("Eng", [user])
    assert (user, ops) == ("1", "1")
    fake.groups[ops]["members"] = [{"value": "2", "type": "User"}, "not an entry"]
    observed = listed(fake)
    removal = (Member("v@example.com", "2", "User"),)
    update = Change(Kind.GROUP, "Eng", Action.UPDATE, "members", eng, members_remove=removal)
    assert run(fake, observed, update)[0] is observed
    assert reads(fake) == []
    out, _ = run(fake, observed, delete(ops))
    assert members(out, eng) is None  # group "2" is not the user "2"
    assert reads(fake) == [f"/Groups/{ops}"]


def test_a_nested_group_is_followed_whatever_its_id() -> None:
    fake = FakeScim()
    user = fake.add_user("u@example.com")
    ops = fake.add_group("Ops", [])
    for gid in ("0", "XXXX"):
        fake.groups[gid] = {**fake.groups[ops], "id": gid, "members": [{"value": user}]}
        fake.groups[ops]["members"].append({"value": gid, "type": "Group"})
    out, _ = run(fake, listed(fake), delete(ops))
    assert members(out, "0") == members(out, "XXXX") == [user]


def test_members_read_by_id_are_checked_as_any_body_read_one_by_one() -> None:
    """A listing proven plain (representable, nothing masked) says nothing of the members
    read later by a group's id: the plan made again with them checks every body
    (core/shape.py), as after any read one by one."""
    fake = FakeScim()
    users = [fake.add_user(f"u{i}@example.com") for i in range(2)]
    ops = fake.add_group("Ops", users)
    observed = dataclasses.replace(listed(fake), representable=True, unmasked=True)
    out, _ = run(fake, observed, delete(ops))
    assert members(out, ops) == users
    assert (out.representable, out.unmasked) == (False, False)
    untouched, _ = run(fake, observed)  # nothing read: the listing's proof stands
    assert (untouched.representable, untouched.unmasked) == (True, True)


def test_an_entry_users_said_names_no_one_is_read_as_the_group_the_listing_left_out() -> None:
    # Untyped, or typed User: a nested group left out of the /Groups listing is read by id,
    # held apart from the listed groups (never matched or pruned), and no longer dangling.
    fake = FakeScim()
    user = fake.add_user("u@example.com")
    hid, typed = fake.add_group("Hidden", [user]), fake.add_group("Typed", [])
    ops = fake.add_group("Ops", [])
    fake.groups[ops]["members"] = [{"value": hid}, {"value": typed, "type": "User"}]
    whole = listed(fake, ops)
    observed = dataclasses.replace(
        whole,
        groups=tuple(g for g in whole.groups if g.id == ops),
        dangling=frozenset({hid, typed, "gone-1"}),
    )
    out, log = run(fake, observed, delete(ops))
    assert [g.id for g in out.groups] == [ops]
    assert sorted(g.id for g in out.unlisted_groups) == sorted([hid, typed])
    assert next(g.body for g in out.unlisted_groups if g.id == hid)["members"] == [{"value": user}]
    assert out.dangling == {"gone-1"}
    assert sorted(reads(fake)) == sorted([f"/Groups/{hid}", f"/Groups/{typed}"])
    assert log.warnings == []


def test_a_dangling_entry_a_plan_removes_is_read_at_groups_and_nothing_else() -> None:
    fake = FakeScim()
    hid = fake.add_group("Hidden", [fake.add_user("u@example.com")])
    ops = fake.add_group("Ops", [])
    fake.groups[ops]["members"] = [{"value": hid}, {"value": "gone-1"}]
    observed = dataclasses.replace(
        listed(fake, ops),
        groups=tuple(g for g in listed(fake, ops).groups if g.id == ops),
        dangling=frozenset({hid, "gone-1"}),
    )
    removed = (Member(None, hid), Member(None, "gone-1"))
    update = Change(Kind.GROUP, "Ops", Action.UPDATE, "members", ops, members_remove=removed)
    out, log = run(fake, observed, update)
    assert [g.id for g in out.unlisted_groups] == [hid]
    assert out.dangling == {"gone-1"}
    # A 404 for an id no group has is no news: no warning.
    assert sorted(reads(fake)) == sorted([f"/Groups/{hid}", "/Groups/gone-1"])
    assert log.warnings == []
