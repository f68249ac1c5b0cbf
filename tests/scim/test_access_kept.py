"""A write that takes access away, answered with success by a target that ignores it,
fails its object (scim/apply/verify.py `access_kept`): a disable the account still shows
active, a role the account still holds. Reported done, the account would keep the access
run after run while every apply said "disabled" (targets whose `active: false` is a no-op
exist: a PATCH handler that passes over `active`, a PUT that skips it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.core.diff import AttrChange
from reconciler.core.plan import Action
from reconciler.scim.apply.verify import access_kept
from tests.fakescim import FakeScim
from tests.scim.conftest import TOKEN, TOKEN_ENV
from tests.scim.test_faults import outcomes, plan_and_apply, user, write_spec


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)


DISABLES: dict[str, tuple[dict[str, Any] | None, dict[str, Any]]] = {
    # name: (declared mallory, target settings)
    "state absent": ({"state": "absent"}, {"deprovision": "disable"}),
    "active false": ({"active": False}, {}),
    "pruned": (None, {"prune": "all", "deprovision": "disable"}),
    "through PUT": ({"state": "absent"}, {"deprovision": "disable", "quirks": {"patch": "never"}}),
}


@pytest.mark.parametrize("route", DISABLES)
def test_a_disable_the_target_ignores_fails(
    tmp_path: Path, route: str, caplog: pytest.LogCaptureFixture
) -> None:
    declared, target = DISABLES[route]
    fake = FakeScim(token=TOKEN)
    fake.add_user("alice@example.com", active=True)
    mallory = fake.add_user("mallory@example.com", active=True)
    fake.ignores = {"active"}
    users = [user("alice@example.com")]
    if declared is not None:
        users.append(user("mallory@example.com", **declared))
    specs = write_spec(tmp_path, users, **target)

    _, result = plan_and_apply(specs, fake)

    assert outcomes(result) == {"mallory@example.com": (Action.DISABLE, False)}
    [failed] = result.failed
    assert "still shows the account active: not disabled" in failed.message
    assert fake.users[mallory]["active"] is True
    assert any(s.method in ("PATCH", "PUT") for s in fake.requests)  # it was sent


def test_a_disable_the_target_keeps_succeeds(tmp_path: Path) -> None:
    fake = FakeScim(token=TOKEN)
    mallory = fake.add_user("mallory@example.com", active=True)
    fake.ignores = {"title"}  # ignores something else
    specs = write_spec(tmp_path, [user("mallory@example.com", active=False)])
    _, result = plan_and_apply(specs, fake)
    assert outcomes(result) == {"mallory@example.com": (Action.DISABLE, True)}
    assert fake.users[mallory]["active"] is False


@pytest.mark.parametrize("path", ["roles", "entitlements"])
def test_a_role_removal_the_target_ignores_fails(tmp_path: Path, path: str) -> None:
    fake = FakeScim(token=TOKEN)
    held = [{"value": "admin"}, {"value": "billing"}]
    dan = fake.add_user("dan@example.com", active=True, **{path: held})
    fake.ignores = {path}
    specs = write_spec(tmp_path, [user("dan@example.com", **{path: [{"value": "billing"}]})])

    _, result = plan_and_apply(specs, fake)

    assert outcomes(result) == {"dan@example.com": (Action.UPDATE, False)}
    [failed] = result.failed
    assert f"still holds {path} admin: not taken away" in failed.message
    assert fake.users[dan][path] == held


def test_a_role_added_that_the_target_ignores_is_only_not_kept(tmp_path: Path) -> None:
    # Nothing is taken away: the next plan proposes it again, as for any attribute.
    fake = FakeScim(token=TOKEN)
    dan = fake.add_user("dan@example.com", active=True, roles=[{"value": "billing"}])
    fake.ignores = {"roles"}
    roles = [{"value": "billing"}, {"value": "audit"}]
    specs = write_spec(tmp_path, [user("dan@example.com", roles=roles)])
    _, result = plan_and_apply(specs, fake)
    assert outcomes(result) == {"dan@example.com": (Action.UPDATE, True)}
    assert fake.users[dan]["roles"] == [{"value": "billing"}]


# -- verify.access_kept on its own: which answers keep access ---------------------------

ROLES = frozenset({"roles", "entitlements"})


def _kept(sent: list[AttrChange], held: dict[str, Any]) -> str | None:
    return access_kept(sent, held, [a.path for a in sent if a.path != "title"], ROLES)


def test_a_disable_past_an_attribute_that_was_kept_is_judged() -> None:
    sent = [AttrChange("title", "A", "B"), AttrChange("active", True, False)]
    held = {"title": "B", "active": True}
    assert _kept(sent, held) == (
        "the target answered success but still shows the account active: not disabled; "
        "use deprovision: delete, or disable it in the application"
    )


@pytest.mark.parametrize("shown", [True, "true", "True"])
def test_active_shown_as_text_is_read_as_a_boolean(shown: Any) -> None:
    assert _kept([AttrChange("active", True, False)], {"active": shown}) is not None


@pytest.mark.parametrize("shown", [False, "false", None])
def test_an_account_shown_inactive_or_without_active_keeps_nothing(shown: Any) -> None:
    assert _kept([AttrChange("active", True, False)], {"active": shown}) is None


def test_an_enable_the_target_ignores_takes_no_access_away() -> None:
    # Not kept, it is a warning: the next plan proposes it again; no access was kept.
    assert _kept([AttrChange("active", False, True)], {"active": False}) is None


def test_every_role_still_held_is_named() -> None:
    held = [{"value": "admin"}, {"value": "audit"}, {"value": "billing"}]
    sent = [AttrChange("roles", held, [{"value": "billing"}])]
    assert _kept(sent, {"roles": held}) == (
        "the target answered success but still holds roles admin, audit: not taken away"
    )
