"""The delete path of an apply (reconciler/scim/apply/deprovision.py): a delete is pinned to
the version the plan saw, and only "already gone" counts as done without one."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest

from reconciler.core.changes import Action, Change
from reconciler.core.config import Auth, Target
from reconciler.core.model import Capabilities, Kind
from reconciler.errors import ScimHTTPError
from reconciler.scim.apply.deprovision import delete
from reconciler.scim.apply.session import Failed, Session
from reconciler.scim.client import ScimClient
from reconciler.scim.resources import LIST_RESPONSE
from reconciler.scim.transfer import RunDeadline
from tests.fakescim import BASE_URL, FakeScim
from tests.scim.conftest import TOKEN, TOKEN_ENV
from tests.scim.test_faults import (
    RecordingLog,
    plan_and_apply,
    replan,
    scim_client,
    user,
    write_spec,
)

TARGET = Target("fake", BASE_URL, Auth())


def deleting(fake: FakeScim, etag: bool = True) -> tuple[Session, Change]:
    uid = fake.add_user("gone@example.com")
    change = Change(
        Kind.USER, "gone@example.com", Action.DELETE, "state: absent", uid, version='W/"7"'
    )
    return Session(scim_client(fake), TARGET, Capabilities(etag=etag), RecordingLog()), change


def test_a_delete_is_sent_with_the_version_the_plan_saw() -> None:
    fake = FakeScim()
    session, change = deleting(fake)
    assert delete(session, change) == change.target_id
    [sent] = [s for s in fake.requests if s.method == "DELETE"]
    assert (sent.path, sent.headers.get("if-match")) == (f"/Users/{change.target_id}", 'W/"7"')


def test_a_delete_answered_404_is_done_and_any_other_refusal_fails() -> None:
    fake = FakeScim()
    session, change = deleting(fake)
    del fake.users[str(change.target_id)]
    assert delete(session, change) == change.target_id  # already gone is what was wanted
    # A 404 from a gateway, or a target with no DELETE route: the object is still served.
    fake = FakeScim()
    session, change = deleting(fake)
    fake.fail("DELETE", "/Users/*", status=404, times=1)
    with pytest.raises(Failed, match="answered 404, but the target still holds the user"):
        delete(session, change)
    for status in (405, 409, 412):
        fake = FakeScim()
        session, change = deleting(fake)
        fake.fail("DELETE", "/Users/*", status=status)
        with pytest.raises(ScimHTTPError):
            delete(session, change)


def test_a_delete_is_logged_with_its_method_and_path() -> None:
    fake = FakeScim()
    session, change = deleting(fake)
    delete(session, change)
    writes = [kw for _, _, kw in session.log.events if kw.get("method")]
    assert [(w["method"], w["path"]) for w in writes] == [("DELETE", f"/Users/{change.target_id}")]


def test_a_delete_the_target_answers_but_does_not_do_fails_and_names_the_fix() -> None:
    # A target that only deactivates on DELETE (answers 204, keeps serving the user):
    # RFC 7644 §3.6 wants 404 from then on; shown as done, every plan would delete it again.
    fake = FakeScim()
    session, change = deleting(fake)
    fake.users[str(change.target_id)]["active"] = False
    fake.fail("DELETE", "/Users/*", status=204)
    with pytest.raises(Failed) as caught:
        delete(session, change)
    assert str(caught.value) == (
        f"DELETE /Users/{change.target_id} answered 204, but the target still holds the user "
        "(active: false): it keeps what it deletes, so every plan would delete it again; "
        "set deprovision: disable for this target, or remove it on the target"
    )


def test_a_group_delete_that_leaves_the_group_fails_too() -> None:
    fake = FakeScim()
    gid = fake.add_group("Old")
    change = Change(Kind.GROUP, "Old", Action.DELETE, "state: absent", gid)
    session = Session(scim_client(fake), TARGET, Capabilities(), RecordingLog())
    fake.fail("DELETE", "/Groups/*", status=200, body={})
    with pytest.raises(Failed, match=r"still holds the group: .*; remove it on the target$"):
        delete(session, change)


def test_a_delete_is_read_back_once_and_a_failed_read_leaves_it_done() -> None:
    fake = FakeScim()
    session, change = deleting(fake)
    assert delete(session, change) == change.target_id
    path = f"/Users/{change.target_id}"
    assert [(s.method, s.path) for s in fake.requests] == [("DELETE", path), ("GET", path)]
    fake = FakeScim()
    session, change = deleting(fake)
    fake.fail("DELETE", "/Users/*", status=204)
    fake.fail("GET", "/Users/*", status=403)  # not readable: not known to be left behind
    assert delete(session, change) == change.target_id
    assert [e for _, e, _ in session.log.events if e == "delete not verified"]


def test_an_apply_reports_the_delete_that_was_not_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    fake = FakeScim(token=TOKEN)
    fake.add_user("gone@example.com", active=True)
    specs = write_spec(tmp_path, [user("gone@example.com", state="absent")], deprovision="delete")
    fake.fail("DELETE", "/Users/*", status=204)
    _, result = plan_and_apply(specs, fake)
    [outcome] = result.outcomes
    assert (outcome.action, outcome.ok) == (Action.DELETE, False)
    assert "still holds the user" in outcome.message
    assert [c.action for c in replan(specs, fake).plan.changes] == [Action.DELETE]


def test_a_delete_read_back_as_410_gone_is_done_without_a_warning() -> None:
    # 410 Gone says more plainly than 404 that the resource was deleted (RFC 9110 §15.5.11).
    fake = FakeScim()
    session, change = deleting(fake)
    fake.fail("DELETE", "/Users/*", status=204)
    fake.fail("GET", "/Users/*", status=410)
    assert delete(session, change) == change.target_id
    assert [e for _, e, _ in session.log.events if e == "delete not verified"] == []


def test_a_delete_accepted_for_later_is_not_failed_for_being_served_still() -> None:
    # 202 Accepted: the target deletes later (RFC 9110 §15.3.3), so a read at once still
    # finds the user; the next plan shows whether it went.
    fake = FakeScim()
    session, change = deleting(fake)
    fake.fail("DELETE", "/Users/*", status=202)
    assert delete(session, change) == change.target_id
    assert [e for _, e, _ in session.log.events if e == "delete not verified"]


def test_a_delete_after_delete_that_is_kept_names_delete_after_as_the_fix() -> None:
    # The delete came from `delete_after`: the target's deprovision is disable already.
    fake = FakeScim()
    uid = fake.add_user("gone@example.com", active=False)
    change = Change(Kind.USER, "gone@example.com", Action.DELETE, "delete_after", uid)
    target = Target("fake", BASE_URL, Auth(), delete_after=timedelta(days=30))
    session = Session(scim_client(fake), target, Capabilities(), RecordingLog())
    fake.fail("DELETE", "/Users/*", status=204)
    with pytest.raises(Failed) as caught:
        delete(session, change)
    assert str(caught.value).endswith(
        "it keeps what it deletes, so delete_after would delete it again; remove delete_after "
        "from this target's deprovision, or remove it on the target"
    )


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, None),  # no body: no resource held
        (200, {"schemas": [LIST_RESPONSE], "totalResults": 0, "Resources": []}),
        (302, None),  # a redirect is never followed
        (400, None),
        (401, None),
        (403, None),
        (500, None),
        (503, None),
    ],
)
def test_a_delete_whose_read_back_shows_no_resource_is_done(status: int, body: object) -> None:
    fake = FakeScim()
    session, change = deleting(fake)
    fake.fail("DELETE", "/Users/*", status=204)
    fake.fail("GET", "/Users/*", status=status, body=body, times=10)
    assert delete(session, change) == change.target_id


def test_a_delete_whose_read_back_passes_the_run_deadline_stays_done() -> None:
    # The DELETE was answered; only its check was cut short: done, with a warning that says
    # why it was not verified (the next change to start reports the deadline).
    fake = FakeScim()
    uid = fake.add_user("gone@example.com")
    now = [0.0]
    client = ScimClient(fake.client(), BASE_URL, deadline=RunDeadline(10, lambda: now[0]))
    session = Session(client, TARGET, Capabilities(), RecordingLog())
    change = Change(Kind.USER, "gone@example.com", Action.DELETE, "state: absent", uid)
    fake.fail("DELETE", "/Users/*", when=lambda _: bool(now.__setitem__(0, 11.0)))
    assert delete(session, change) == uid
    assert fake.count("GET") == 0 and uid not in fake.users
    [warned] = [kw for _, e, kw in session.log.events if e == "delete not verified"]
    assert "the run passed its deadline of 10 s before GET" in warned["detail"]


def test_a_delete_not_verified_is_warned_with_what_and_why() -> None:
    # Read back as gone (the usual case): nothing to warn of. Not readable, or accepted for
    # later and still held: one warning naming the object, its step, and the reason.
    fake = FakeScim()
    session, change = deleting(fake)
    assert delete(session, change) == change.target_id
    assert [e for _, e, _ in session.log.events if e == "delete not verified"] == []
    path = f"/Users/{change.target_id}"
    for status, read, detail in (
        (204, 403, f"GET {path} failed: "),
        (202, 200, f"DELETE {path} answered 202 (accepted, not yet done) and the target still "
                   "holds the user (active: true)"),
    ):  # fmt: skip
        fake = FakeScim()
        session, change = deleting(fake)
        fake.users[str(change.target_id)]["active"] = True
        fake.fail("DELETE", "/Users/*", status=status)
        if read != 200:
            fake.fail("GET", "/Users/*", status=read)
        assert delete(session, change) == change.target_id
        [(level, warned)] = [
            (lv, kw) for lv, e, kw in session.log.events if e == "delete not verified"
        ]
        assert level == "warning"
        assert warned.pop("detail").startswith(detail)
        assert warned == {"step": "action", "kind": "user", "key": "gone@example.com"}


def test_a_users_delete_reads_nothing_first_where_accounts_are_protected() -> None:
    # Only a group's delete is read first (it takes the group from everyone it holds):
    # a user's is not, so a read that fails never holds back an unprotected user's delete.
    fake = FakeScim()
    session, change = deleting(fake)
    guarded = dataclasses.replace(TARGET, protected=("admin@example.com",))
    session = Session(session.client, guarded, Capabilities(etag=True), RecordingLog())
    fake.fail("GET", "/Users/*", status=500, times=1)
    assert delete(session, change) == change.target_id
    # The delete first; the reads after it check that it is gone (the failed one retried).
    assert [r.method for r in fake.requests] == ["DELETE", "GET", "GET"]
