"""A target that keeps `active` as text ("True", "false") is read as the Boolean it names.

Read as sent, such a target's every user was refused as unreadable (`active: expected true
or false`), so none could be managed; and had it been compared as text, a disabled account
would never look disabled, and every plan would disable it again, each time against the
guards. Other text in `active` is still refused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest

from reconciler.core.changes import Action
from reconciler.scim.resources import boolean
from tests.fakescim import FakeScim
from tests.scim.conftest import TOKEN
from tests.scim.test_faults import outcomes, plan_and_apply, user, write_spec

pytestmark = pytest.mark.usefixtures("token")


def _as_text(value: Any) -> Any:
    """Every `active` in an answer as the text such a target sends."""
    if isinstance(value, dict):
        out = {k: _as_text(v) for k, v in value.items()}
        if isinstance(out.get("active"), bool):
            out["active"] = "True" if out["active"] else "false"
        return out
    if isinstance(value, list):
        return [_as_text(v) for v in value]
    return value


def texting(fake: FakeScim) -> httpx2.MockTransport:
    def handle(request: httpx2.Request) -> httpx2.Response:
        answer = fake.handle(request)
        answer.read()
        if not answer.content:
            return answer
        body = _as_text(json.loads(answer.content))
        headers = {k: v for k, v in answer.headers.items() if k.lower() != "content-length"}
        return httpx2.Response(answer.status_code, json=body, headers=headers)

    return httpx2.MockTransport(handle)


class TextTarget(FakeScim):
    """The fake, answering every `active` as text."""

    @property
    def transport(self) -> httpx2.MockTransport:
        return texting(self)


def test_users_whose_active_is_text_are_managed_and_converge(tmp_path: Path) -> None:
    fake = TextTarget(token=TOKEN)
    fake.add_user("alice@example.com", active=True, title="Old")
    fake.add_user("bob@example.com", active=True)
    gone = fake.add_user("carol@example.com", active=False)
    specs = write_spec(
        tmp_path,
        [
            user("alice@example.com", active=True, title="New"),
            user("bob@example.com", state="absent"),
            user("carol@example.com", state="absent"),  # disabled already: nothing to do
        ],
    )
    prepared, result = plan_and_apply(specs, fake)
    assert prepared.plan.errors == ()
    planned = {c.key: c.action for c in prepared.plan.changes}
    assert planned == {"alice@example.com": Action.UPDATE, "bob@example.com": Action.DISABLE}
    assert outcomes(result) == {
        "alice@example.com": (Action.UPDATE, True),
        "bob@example.com": (Action.DISABLE, True),
    }
    assert result.not_kept == ()  # the answers' "false" holds what was sent
    assert fake.users[gone]["active"] is False
    again, _ = plan_and_apply(specs, fake)
    assert (again.plan.changes, again.plan.errors) == ((), ())


@pytest.mark.parametrize(
    ("text", "read"),
    [("true", True), ("False", False), (" TRUE ", True), ("yes", "yes"), ("", "")],
)
def test_only_true_and_false_are_read_as_booleans(text: str, read: object) -> None:
    assert boolean(text) == read


def test_other_text_in_active_is_still_an_object_in_error(tmp_path: Path) -> None:
    fake = FakeScim(token=TOKEN)
    uid = fake.add_user("alice@example.com")
    fake.users[uid]["active"] = "enabled"
    specs = write_spec(tmp_path, [user("alice@example.com", active=False)])
    prepared, _ = plan_and_apply(specs, fake)
    [error] = prepared.plan.errors
    assert "active: expected true or false, got a string" in error.message
    assert fake.users[uid]["active"] == "enabled"  # nothing written to it
