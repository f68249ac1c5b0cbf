"""A target that leaves `active` out of a disabled user (shows it only when true: Snipe-IT,
Go servers tagged `json:"active,omitempty"`) with `quirks: {inactive: absent}`.

Read as shown, each disabled user was `active: null`: every plan disabled it again, the
guards counted each one, and past max_deletes every apply was refused; the advice after a
disable (`quirks: {not_kept: [active]}`) could not help. With the quirk, a user shown without
`active` is a disabled one; without it (Sentry never shows `active`), such a user is still
disabled and counted, and the output names the quirk instead of not_kept.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest

from reconciler.core.changes import Action
from reconciler.report import render
from tests.fakescim import FakeScim
from tests.scim.conftest import TOKEN
from tests.scim.test_faults import outcomes, plan_and_apply, replan, user, write_spec

pytestmark = pytest.mark.usefixtures("token")


def _left_out(value: Any, shown: tuple[bool, ...], null: bool = False) -> Any:
    """Every user in an answer without `active` (`null`: shown as null, which RFC 7643
    §2.5 makes the same) unless it is one of `shown`."""
    if isinstance(value, dict):
        out = {k: _left_out(v, shown, null) for k, v in value.items()}
        if "userName" in out and out.get("active") not in shown:
            if null:
                out["active"] = None
            else:
                out.pop("active", None)
        return out
    if isinstance(value, list):
        return [_left_out(v, shown, null) for v in value]
    return value


class OmitsFalse(FakeScim):
    """The fake, showing `active` only when it is true (`shown`: (True,)), or never (())."""

    shown: tuple[bool, ...] = (True,)
    null = False

    @property
    def transport(self) -> httpx2.MockTransport:
        def handle(request: httpx2.Request) -> httpx2.Response:
            answer = self.handle(request)
            answer.read()
            if not answer.content:
                return answer
            body = _left_out(json.loads(answer.content), self.shown, self.null)
            headers = {k: v for k, v in answer.headers.items() if k.lower() != "content-length"}
            return httpx2.Response(answer.status_code, json=body, headers=headers)

        return httpx2.MockTransport(handle)


def _target(disabled: int) -> OmitsFalse:
    fake = OmitsFalse(token=TOKEN)
    fake.add_user("alice@example.com", active=True)
    fake.add_user("bob@example.com", active=True)  # undeclared, active: prune disables it
    for n in range(disabled):  # disabled before, by scimrec or by hand
        fake.add_user(f"gone{n}@example.com", active=False)
    return fake


@pytest.mark.parametrize("null", [False, True], ids=["left-out", "null"])
def test_with_the_quirk_disabled_users_are_left_alone_and_the_plan_converges(
    tmp_path: Path, null: bool
) -> None:
    fake = _target(disabled=12)  # more than max_deletes (10), were they counted
    fake.null = null
    specs = write_spec(
        tmp_path,
        [user("alice@example.com", title="CEO"), user("newhire@example.com")],
        prune="all",
        deprovision="disable",
        quirks={"inactive": "absent"},
    )
    prepared, result = plan_and_apply(specs, fake)
    assert prepared.plan.guards == ()
    assert outcomes(result) == {
        "alice@example.com": (Action.UPDATE, True),
        "newhire@example.com": (Action.CREATE, True),
        "bob@example.com": (Action.DISABLE, True),
    }
    # bob's disable reads back without `active`: done, as the quirk reads it.
    assert (result.not_kept, result.unshown) == ((), ())
    assert fake.users[fake.user_named("bob@example.com")[0]["id"]]["active"] is False
    again, _ = plan_and_apply(specs, fake)
    assert (again.plan.changes, again.plan.errors, again.plan.guards) == ((), (), ())


def test_with_the_quirk_a_put_sends_a_disabled_user_back_disabled(tmp_path: Path) -> None:
    fake = _target(disabled=1)
    specs = write_spec(
        tmp_path,
        [user("alice@example.com"), user("gone0@example.com", active=False, title="Ex")],
        quirks={"inactive": "absent", "patch": "never"},
    )
    prepared, result = plan_and_apply(specs, fake)
    [change] = prepared.plan.changes
    assert (change.key, [a.path for a in change.attributes]) == ("gone0@example.com", ["title"])
    assert outcomes(result) == {"gone0@example.com": (Action.UPDATE, True)}
    held = fake.users[fake.user_named("gone0@example.com")[0]["id"]]
    assert (held["active"], held["title"]) == (False, "Ex")


def test_without_the_quirk_such_users_are_still_counted_and_the_refusal_names_it(
    tmp_path: Path,
) -> None:
    fake = _target(disabled=12)
    specs = write_spec(tmp_path, [user("alice@example.com")], prune="all")
    prepared = replan(specs, fake)
    # No proof that a user without `active` is disabled: each is a disable, and counted.
    assert sum(c.action is Action.DISABLE for c in prepared.plan.changes) == 13
    [refusal] = prepared.plan.guards
    assert "13 deprovisions" in refusal
    assert "12 of them shown without `active`" in refusal
    assert "quirks: {inactive: absent}" in refusal


@pytest.mark.parametrize(
    ("shown", "fix"),
    [((True,), "declare quirks: {inactive: absent}"), ((), "set deprovision: delete")],
)
def test_a_disable_read_back_without_active_names_a_fix_that_helps(
    tmp_path: Path, shown: tuple[bool, ...], fix: str
) -> None:
    fake = _target(disabled=0)
    fake.shown = shown  # () shows `active` on no user, as Sentry
    specs = write_spec(tmp_path, [user("alice@example.com")], prune="all")
    _, result = plan_and_apply(specs, fake)
    assert outcomes(result) == {"bob@example.com": (Action.DISABLE, True)}
    # `not_kept: [active]` stops no disable: it is not what the output suggests.
    assert (result.not_kept, result.unshown) == ((), ("bob@example.com",))
    warning = render.unshown_warning(result.unshown, result.shows_active)
    assert "user bob@example.com" in warning
    assert fix in warning
    assert "not_kept" not in warning
