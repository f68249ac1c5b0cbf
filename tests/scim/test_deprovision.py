"""The delete path of an apply (reconciler/scim/apply/deprovision.py): a delete is pinned to
the version the plan saw, and only "already gone" counts as done without one."""

from __future__ import annotations

import pytest

from reconciler.core.changes import Action, Change
from reconciler.core.config import Auth, Target
from reconciler.core.model import Capabilities, Kind
from reconciler.errors import ScimHTTPError
from reconciler.scim.apply.deprovision import delete
from reconciler.scim.apply.session import Session
from tests.fakescim import BASE_URL, FakeScim
from tests.scim.test_faults import RecordingLog, scim_client

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
    fake.fail("DELETE", "/Users/*", status=404, times=1)
    assert delete(session, change) == change.target_id  # already gone is what was wanted
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
