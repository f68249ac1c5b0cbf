"""What `members_removed.still_held` counts as a member still shown after a removal, and what
it cannot judge; and whom `identity` takes a write's answer and a read by id to be.
The CLI tests (tests/cli/test_member_removal_kept.py, test_write_identity.py) hold the
routes; these hold the edges: a member named by userName, a nested group beside a user of
the same id, a group shown without members, an answer that is another object, a read
that fails."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.core.changes import Action, Change, Member
from reconciler.core.config import Auth, Target
from reconciler.core.diff import AttrChange
from reconciler.core.model import Capabilities, Kind
from reconciler.errors import ScimrecError
from reconciler.scim.apply.identity import Gone, confirm_plan_ids, misdirected, named_by
from reconciler.scim.apply.members_removed import not_removed, still_held
from reconciler.scim.apply.session import Session
from reconciler.scim.apply.verify import answers_as
from reconciler.scim.client import Reply
from tests.fakescim import BASE_URL, FakeScim
from tests.scim.test_faults import RecordingLog, scim_client

TARGET = Target("fake", BASE_URL, Auth())


def _session(fake: FakeScim) -> tuple[Session, RecordingLog]:
    log = RecordingLog()
    return Session(scim_client(fake), TARGET, Capabilities(), log), log


def _change(gid: str) -> Change:
    return Change(Kind.GROUP, "Eng", Action.UPDATE, "members", gid)


def _answer(gid: str, members: list[dict[str, Any]] | None) -> Reply:
    body: dict[str, Any] = {"id": gid, "displayName": "Eng"}
    if members is not None:
        body["members"] = members
    return Reply(200, body, {})


def test_a_member_still_in_the_answer_and_in_a_read_is_still_held() -> None:
    fake = FakeScim()
    bob = fake.add_user("bob@example.com")
    gid = fake.add_group("Eng", [bob])
    s, _ = _session(fake)
    reply = _answer(gid, [{"value": bob}])
    assert still_held(s, _change(gid), f"/Groups/{gid}", reply, [bob], False) == [bob]


def test_an_answer_without_the_member_is_believed_without_a_read() -> None:
    fake = FakeScim()
    bob = fake.add_user("bob@example.com")
    gid = fake.add_group("Eng", [bob])  # the target says otherwise, and is not asked
    s, _ = _session(fake)
    assert still_held(s, _change(gid), f"/Groups/{gid}", _answer(gid, []), [bob], False) == []
    assert fake.count("GET") == 0


@pytest.mark.parametrize(
    "reply",
    [Reply(204, None, {}), Reply(200, {"displayName": "Eng", "members": []}, {})],
    ids=["no-body", "no-id"],
)
def test_an_answer_that_shows_no_group_is_checked_by_a_read(reply: Reply) -> None:
    fake = FakeScim()
    bob = fake.add_user("bob@example.com")
    gid = fake.add_group("Eng", [bob])
    s, _ = _session(fake)
    assert still_held(s, _change(gid), f"/Groups/{gid}", reply, [bob], False) == [bob]
    assert fake.count("GET", f"/Groups/{gid}") == 2  # still shown: read once more, later


def test_a_member_named_by_username_counts_as_shown() -> None:
    # Canaille names members by userName: "bob@EXAMPLE.com" is Bob@Example.com, in any case.
    fake = FakeScim()
    bob = fake.add_user("bob@example.com")
    gid = fake.add_group("Eng", [])
    fake.groups[gid]["members"] = [{"value": "bob@EXAMPLE.com"}]
    s, _ = _session(fake)
    s.user_names[bob] = "Bob@Example.com"
    assert still_held(s, _change(gid), f"/Groups/{gid}", Reply(204, None, {}), [bob], False) == [
        bob
    ]


def test_a_nested_group_and_a_user_of_one_id_are_told_apart() -> None:
    # Ids counted per kind: user "7" stays while nested group "7" goes, and the other way.
    fake = FakeScim()
    gid = fake.add_group("Eng", [])
    fake.groups[gid]["members"] = [{"value": "7", "type": "User"}]
    s, _ = _session(fake)
    s.user_names["7"] = "seven@example.com"
    path, gone = f"/Groups/{gid}", Reply(204, None, {})
    assert still_held(s, _change(gid), path, gone, ["7"], True) == []
    assert still_held(s, _change(gid), path, gone, ["7"], False) == ["7"]
    fake.groups[gid]["members"] = [{"value": "7", "type": "Group"}]
    assert still_held(s, _change(gid), path, gone, ["7"], True) == ["7"]
    assert still_held(s, _change(gid), path, gone, ["7"], False) == []
    # A user named by userName is no nested group, whatever its id.
    fake.groups[gid]["members"] = [{"value": "seven@example.com"}]
    assert still_held(s, _change(gid), path, gone, ["7"], True) == []
    assert still_held(s, _change(gid), path, gone, ["7"], False) == ["7"]


def test_a_group_read_that_is_no_object_is_not_judged() -> None:
    fake = FakeScim()
    bob = fake.add_user("bob@example.com")
    gid = fake.add_group("Eng", [bob])
    fake.fail("GET", "/Groups/*", status=200, body=[{"value": bob}], times=10)
    s, _ = _session(fake)
    assert still_held(s, _change(gid), f"/Groups/{gid}", Reply(204, None, {}), [bob], False) == []


def test_a_read_that_lags_the_removal_is_read_again_later() -> None:
    fake = FakeScim()
    bob = fake.add_user("bob@example.com")
    gid = fake.add_group("Eng", [])  # removed; the first read still shows bob
    fake.fail("GET", "/Groups/*", status=200, body={"id": gid, "members": [{"value": bob}]})
    s, _ = _session(fake)
    assert still_held(s, _change(gid), f"/Groups/{gid}", Reply(204, None, {}), [bob], False) == []
    assert fake.count("GET", f"/Groups/{gid}") == 2


def test_a_group_shown_without_members_is_not_judged() -> None:
    fake = FakeScim()
    bob = fake.add_user("bob@example.com")
    gid = fake.add_group("Eng", [bob])
    fake.members_shown = "never"
    s, _ = _session(fake)
    assert still_held(s, _change(gid), f"/Groups/{gid}", Reply(204, None, {}), [bob], False) == []


def test_a_read_that_fails_is_warned_and_not_judged() -> None:
    fake = FakeScim()
    bob = fake.add_user("bob@example.com")
    gid = fake.add_group("Eng", [bob])
    fake.fail("GET", "/Groups/*", status=500, times=100)
    s, log = _session(fake)
    assert still_held(s, _change(gid), f"/Groups/{gid}", Reply(204, None, {}), [bob], False) == []
    [(level, _, fields)] = [e for e in log.events if e[1] == "member removal not verified"]
    assert (level, fields["key"], fields["kind"], fields["step"]) == (
        "warning",
        "Eng",
        "group",
        "action",
    )
    assert fields["detail"].startswith(f"GET /Groups/{gid} failed: GET /Groups/{gid} answered 500")


def test_the_failure_names_a_user_by_name_and_a_nested_group_by_id() -> None:
    s, _ = _session(FakeScim())
    s.user_names.update({"u1": "bob@example.com", "g1": "not-a-user@example.com"})
    reply = Reply(200, None, {})
    assert str(not_removed(s, "/Groups/g9", reply, ["u1", "u2"], False, "value")) == (
        "PATCH /Groups/g9 answered 200, but the group still shows member bob@example.com and "
        "1 more it removed: not removed, so that access stays; remove it in the application "
        "itself"
    )
    nested = str(not_removed(s, "/G/g9", reply, ["g1"], True, "filter"))
    assert "still shows member g1 it removed" in nested
    assert nested.endswith(
        "(one that does not parse `members[value eq ...]` may take quirks: {member_removal: value})"
    )
    unknown = str(not_removed(s, "/G/g9", reply, ["u7"], False, "value"))
    assert "still shows member u7 it removed" in unknown


# -- identity -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "same"),
    [
        ("/Users/u1", {"id": "u1"}, True),
        ("/Users/a%20b", {"id": "a b"}, True),  # the path's id, encoded
        ("/Users/u1", {"id": "u2"}, False),
        ("/Users/u1", {"userName": "u1"}, False),  # no id: no object named
        ("/Users/u1", ["u1"], False),
        ("/Groups/x/u1", {"id": "x"}, False),  # the last segment is the id
    ],
)
def test_an_answer_is_the_object_written_only_by_the_id_at_the_end_of_its_path(
    path: str, body: Any, same: bool
) -> None:
    assert answers_as(path, body) is same


def test_a_read_by_id_that_shows_the_name_the_plan_read_lets_the_write_go() -> None:
    fake = FakeScim()
    uid = fake.add_user("Bob@Example.com")
    s, _ = _session(fake)
    assert misdirected(s.client, Kind.USER, uid, "bob@example.com") is None  # any case


def test_a_read_by_id_that_shows_another_name_refuses_the_write() -> None:
    fake = FakeScim()
    uid = fake.add_user("admin@example.com")
    s, _ = _session(fake)
    assert misdirected(s.client, Kind.USER, uid, "bob@example.com") == (
        f"read by its id ({uid}), user 'bob@example.com' is userName 'admin@example.com': "
        "the target's answers disagree on whom this id is"
    )


def test_an_object_that_reads_404_is_gone_and_not_written_to() -> None:
    # A target may answer a GET 404 and take a write to the same id (identity.py).
    s, _ = _session(FakeScim())
    refusal = misdirected(s.client, Kind.USER, "u404", "bob@example.com")
    assert isinstance(refusal, Gone)
    assert refusal == "user 'bob@example.com' (u404) answers 404 when read by its id"


@pytest.mark.parametrize("status", [400, 500])
def test_a_read_by_id_that_fails_refuses_the_write(status: int) -> None:
    fake = FakeScim()
    uid = fake.add_user("bob@example.com")
    fake.fail("GET", "/Users/*", status=status, times=100)
    s, _ = _session(fake)
    refusal = misdirected(s.client, Kind.USER, uid, "bob@example.com")
    assert refusal is not None
    assert refusal.startswith(f"user {uid} could not be read by its id, to see whom it is")


def test_a_read_by_id_that_holds_no_name_refuses_the_write() -> None:
    fake = FakeScim()
    gid = fake.add_group("Eng", [])
    del fake.groups[gid]["displayName"]
    s, _ = _session(fake)
    assert misdirected(s.client, Kind.GROUP, gid, "Eng") == (
        f"read by its id ({gid}), the target's answer holds no displayName"
    )


def test_a_read_by_id_that_is_no_object_refuses_the_write() -> None:
    fake = FakeScim()
    uid = fake.add_user("bob@example.com")
    fake.fail("GET", "/Users/*", status=200, body=["bob@example.com"], times=10)
    s, _ = _session(fake)
    assert misdirected(s.client, Kind.USER, uid, "bob@example.com") == (
        f"read by its id ({uid}), the target's answer holds no userName"
    )


def test_every_id_a_change_names_is_confirmed() -> None:
    changes = [
        Change(Kind.USER, "bob", Action.DISABLE, "absent", "u1"),
        Change(Kind.USER, "new", Action.CREATE, "declared", None, attributes=(
            AttrChange("enterprise.manager", None, "u2", ref="boss"),
            AttrChange("title", None, "Dev"),
        )),
        Change(Kind.GROUP, "Eng", Action.UPDATE, "members", "g1",
               members_add=(Member("carol", "u3"), Member("Sub", "g2", "Group"),
                            Member("later", None)),
               members_remove=(Member("dan", "u4"),)),
    ]  # fmt: skip
    assert named_by(changes) == {
        (Kind.USER, "u1"), (Kind.USER, "u2"), (Kind.USER, "u3"), (Kind.USER, "u4"),
        (Kind.GROUP, "g1"), (Kind.GROUP, "g2"),
    }  # fmt: skip


def test_the_plan_ids_are_read_only_after_a_read_no_listing_vouched_for() -> None:
    fake = FakeScim()
    admin = fake.add_user("admin@example.com")
    mallory = fake.add_user("mallory@example.com")
    carol = fake.add_user("carol@example.com")
    s, _ = _session(fake)
    s.names_read.update({(Kind.USER, admin): "bob@example.com",
                         (Kind.USER, mallory): "dan@example.com",
                         (Kind.USER, carol): "carol@example.com"})  # fmt: skip
    changes = [
        Change(Kind.USER, "bob", Action.DISABLE, "absent", admin),
        Change(Kind.GROUP, "Eng", Action.CREATE, "declared", None,
               members_add=(Member("dan", mallory), Member("carol", carol))),
    ]  # fmt: skip
    confirm_plan_ids(s, changes)  # a complete listing: its word stands, nothing is read
    assert fake.requests == []
    s.look_before_create = True
    with pytest.raises(ScimrecError) as caught:
        confirm_plan_ids(s, changes)
    assert str(caught.value) == (
        f"refusing to apply: read by its id ({admin}), user 'bob@example.com' is userName "
        "'admin@example.com': the target's answers disagree on whom this id is (and 1 more); "
        "nothing was written"
    )
    assert sorted(r.path for r in fake.requests) == sorted(
        f"/Users/{i}" for i in (admin, mallory, carol)
    )
