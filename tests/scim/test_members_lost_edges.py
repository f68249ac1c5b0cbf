"""What `members_lost.lost_with` counts as members a membership write took unasked, and
what it cannot judge. tests/scim/test_members_lost.py holds the routes through apply;
these hold the edges: which read is believed, members named by userName or of the other
kind, a group the listing shows whole, reads that fail or are another object."""

from __future__ import annotations

import json
from typing import Any

import pytest

from reconciler.core.config import Auth, Target
from reconciler.core.model import Capabilities
from reconciler.scim.apply.members_lost import lost_failure, lost_with
from reconciler.scim.apply.session import Session
from reconciler.scim.client import Reply
from tests.fakescim import BASE_URL, FakeScim
from tests.scim.test_faults import RecordingLog, scim_client
from tests.scim.test_removal_verified import _answer, _change

TARGET = Target("fake", BASE_URL, Auth())


def _world(held: str, shown: str) -> tuple[FakeScim, Session, RecordingLog, str, dict[str, str]]:
    """A group that held `held` (by user letter) when planned and holds `shown` now."""
    fake = FakeScim()
    ids = {c: fake.add_user(f"{c}@example.com") for c in "abcde"}
    gid = fake.add_group("Eng", [ids[c] for c in shown])
    log = RecordingLog()
    s = Session(scim_client(fake), TARGET, Capabilities(), log)
    s.members_held[gid] = frozenset((ids[c], False) for c in held)
    s.user_names.update({uid: f"{c}@example.com" for c, uid in ids.items()})
    return fake, s, log, gid, ids


def test_an_answer_showing_one_of_the_others_is_believed_without_a_read() -> None:
    fake, s, _, gid, ids = _world("ab", "")  # the target says otherwise, and is not asked
    reply = _answer(gid, [{"value": ids["a"]}, {"value": ids["c"]}])
    assert lost_with(s, _change(gid), f"/Groups/{gid}", reply, {(ids["c"], False)}) == []
    assert fake.requests == []


def test_an_answer_showing_none_of_them_is_confirmed_by_a_read_and_the_listing() -> None:
    fake, s, _, gid, ids = _world("ab", "c")
    reply = _answer(gid, [{"value": ids["c"]}])
    lost = lost_with(s, _change(gid), f"/Groups/{gid}", reply, {(ids["c"], False)})
    assert lost == sorted([(ids["a"], False), (ids["b"], False)])
    assert [(r.method, r.path, r.params.get("filter")) for r in fake.requests] == [
        ("GET", f"/Groups/{gid}", None),
        ("GET", "/Groups", f'id eq "{gid}"'),
    ]


def test_a_read_that_shows_the_others_overrules_a_short_answer() -> None:
    fake, s, _, gid, ids = _world("ab", "abc")
    reply = _answer(gid, [{"value": ids["c"]}])
    assert lost_with(s, _change(gid), f"/Groups/{gid}", reply, {(ids["c"], False)}) == []
    assert fake.count("GET", "/Groups") == 0  # no listing asked: the GET settled it


@pytest.mark.parametrize(
    "reply", [Reply(204, None, {}), _answer("other", [])], ids=["no-body", "another-object"]
)
def test_an_answer_that_is_not_this_group_is_not_believed(reply: Reply) -> None:
    fake, s, _, gid, ids = _world("ab", "abc")
    assert lost_with(s, _change(gid), f"/Groups/{gid}", reply, {(ids["c"], False)}) == []
    assert fake.count("GET", f"/Groups/{gid}") == 1


def test_a_read_made_since_is_judged_without_another() -> None:
    fake, s, _, gid, ids = _world("ab", "abc")
    read = {"id": gid, "members": [{"value": ids["c"]}]}
    lost = lost_with(s, _change(gid), f"/Groups/{gid}", Reply(204, None, {}), set(), read)
    # The target holds them (its listing shows them): not lost, and no GET by id made.
    assert lost == []
    assert fake.count("GET", f"/Groups/{gid}") == 0
    assert fake.count("GET", "/Groups") == 1


def test_members_named_by_username_in_another_case_are_shown() -> None:
    _, s, _, gid, _ = _world("ab", "")
    reply = _answer(gid, [{"value": "A@Example.COM"}])
    assert lost_with(s, _change(gid), f"/Groups/{gid}", reply, set()) == []


def test_an_entry_of_the_same_id_counts_as_shown_whatever_its_type() -> None:
    # Lenient on purpose, as members_kept reads lists: a member shown with no `type`, or
    # another, still counts as shown, so no loss is claimed that the list may not show.
    fake, s, _, gid, ids = _world("a", "")
    fake.groups[gid]["members"] = [{"value": ids["a"], "type": "Group"}]
    reply = _answer(gid, [{"value": ids["a"], "type": "Group"}])
    assert lost_with(s, _change(gid), f"/Groups/{gid}", reply, set()) == []


def test_nothing_held_besides_is_nothing_to_lose() -> None:
    fake, s, _, gid, ids = _world("a", "")
    assert lost_with(s, _change(gid), f"/Groups/{gid}", _answer(gid, []), {(ids["a"], False)}) == []
    assert fake.requests == []


def test_a_group_shown_without_a_member_list_is_not_judged() -> None:
    fake, s, _, gid, _ = _world("ab", "ab")
    fake.members_shown = "asked"
    assert lost_with(s, _change(gid), f"/Groups/{gid}", _answer(gid, None), set()) == []


def test_a_read_that_fails_is_warned_about_and_not_judged() -> None:
    fake, s, log, gid, _ = _world("ab", "")
    fake.fail("GET", f"/Groups/{gid}", status=500, times=100)
    assert lost_with(s, _change(gid), f"/Groups/{gid}", _answer(gid, []), set()) == []
    (event,) = [e for e in log.events if e[1] == "members not verified"]
    assert (event[0], event[2]["step"], event[2]["kind"], event[2]["key"]) == (
        "warning",
        "action",
        "group",
        "Eng",
    )
    assert event[2]["detail"].startswith(f"GET /Groups/{gid} failed: ")


def test_a_listing_that_fails_or_is_not_the_group_leaves_the_loss_standing() -> None:
    fake, s, _, gid, ids = _world("ab", "")
    fake.fail("GET", "/Groups", status=400, times=1)
    assert lost_with(s, _change(gid), f"/Groups/{gid}", _answer(gid, []), set()) == sorted(
        [(ids["a"], False), (ids["b"], False)]
    )


def test_the_failure_names_the_first_by_username_and_counts_the_rest() -> None:
    _, s, _, gid, ids = _world("ab", "")
    reply = Reply(200, None, {})
    one = lost_failure(s, f"/Groups/{gid}", reply, [(ids["a"], False)], "so it goes")
    assert str(one) == (
        f"PATCH /Groups/{gid} answered 200, but the group no longer shows member "
        "a@example.com it held and the write did not name: the target took them away with "
        "it; so it goes"
    )
    more = lost_failure(s, f"/Groups/{gid}", reply, [("g9", True), (ids["a"], False)], "x")
    assert "no longer shows member g9 and 1 more it held" in str(more)


def test_an_answer_that_is_another_group_showing_the_others_is_not_believed() -> None:
    _, s, _, gid, ids = _world("ab", "")
    reply = _answer("g-other", [{"value": ids["a"]}, {"value": ids["b"]}])
    lost = lost_with(s, _change(gid), f"/Groups/{gid}", reply, set())
    assert lost == sorted([(ids["a"], False), (ids["b"], False)])


def test_a_name_held_in_another_case_is_the_member_shown() -> None:
    _, s, _, gid, ids = _world("ab", "")
    s.user_names[ids["a"]] = "A@Example.com"  # as the plan's read spelled it
    reply = _answer(gid, [{"value": "a@EXAMPLE.com"}])
    assert lost_with(s, _change(gid), f"/Groups/{gid}", reply, set()) == []


@pytest.mark.parametrize(
    "listing",
    [
        {"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 0},
        {"Resources": [{"id": "GID", "displayName": "Eng"}], "totalResults": 1},
    ],
    ids=["no-resources", "no-member-list"],
)
def test_a_listing_that_shows_no_member_list_leaves_the_loss_standing(
    listing: dict[str, Any],
) -> None:
    fake, s, _, gid, ids = _world("ab", "")
    body = json.loads(json.dumps(listing).replace("GID", gid))
    fake.fail("GET", "/Groups", status=200, body=body, times=1)
    lost = lost_with(s, _change(gid), f"/Groups/{gid}", _answer(gid, []), set())
    assert lost == sorted([(ids["a"], False), (ids["b"], False)])


def test_a_listing_of_another_group_says_nothing_of_this_one() -> None:
    fake, s, _, gid, ids = _world("ab", "")
    other = {"id": "g-other", "displayName": "Eng", "members": [{"value": ids["a"]}]}
    fake.fail("GET", "/Groups", status=200, body={"Resources": [other], "totalResults": 1})
    lost = lost_with(s, _change(gid), f"/Groups/{gid}", _answer(gid, []), set())
    assert lost == sorted([(ids["a"], False), (ids["b"], False)])


def test_the_failure_names_a_nested_group_by_its_id_and_an_unknown_user_by_its_id() -> None:
    _, s, _, gid, ids = _world("ab", "")
    reply = Reply(200, None, {})
    # Group "a"'s id is also user a's: named as the group it is, not as a@example.com.
    nested = lost_failure(s, f"/Groups/{gid}", reply, [(ids["a"], True)], "x")
    assert f"no longer shows member {ids['a']} it held" in str(nested)
    unknown = lost_failure(s, f"/Groups/{gid}", reply, [("u-unknown", False)], "x")
    assert "no longer shows member u-unknown it held" in str(unknown)


def test_a_listing_answered_with_no_object_leaves_the_loss_standing() -> None:
    fake, s, _, gid, ids = _world("ab", "")
    fake.fail("GET", "/Groups", status=200, body=["not", "a", "listing"])
    lost = lost_with(s, _change(gid), f"/Groups/{gid}", _answer(gid, []), set())
    assert lost == sorted([(ids["a"], False), (ids["b"], False)])


def test_a_nested_group_is_not_shown_by_the_username_of_a_user_of_its_id() -> None:
    # Group "u1" held, user u1 (a@example.com) shown by name: the group is still lost.
    _, s, _, gid, ids = _world("", "")
    s.members_held[gid] = frozenset({(ids["a"], True)})
    reply = _answer(gid, [{"value": "a@example.com"}])
    s.client.get = lambda *_a, **_k: Reply(200, reply.body, {})  # type: ignore[method-assign]
    assert lost_with(s, _change(gid), f"/Groups/{gid}", reply, set()) == [(ids["a"], True)]
