"""References (enterprise.manager) resolve in the same run, even in a cycle."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler import logs
from reconciler.core.model import ENTERPRISE_URN
from tests.fakescim import FakeScim
from tests.scim.conftest import TOKEN, TOKEN_ENV
from tests.scim.test_faults import plan_and_apply, replan, user, write_spec


def test_manager_cycle_is_created_then_linked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    logs.configure("critical")
    fake = FakeScim()
    specs = write_spec(
        tmp_path,
        [
            user("a@example.com", enterprise={"manager": "b@example.com"}),
            user("b@example.com", enterprise={"manager": "a@example.com"}),
        ],
    )
    prepared, result = plan_and_apply(specs, fake)
    refs = [a.ref for c in prepared.plan.changes for a in c.attributes if a.ref]
    assert sorted(refs) == ["a@example.com", "b@example.com"]
    assert not result.failed
    (a,) = fake.user_named("a@example.com")
    (b,) = fake.user_named("b@example.com")
    assert a[ENTERPRISE_URN]["manager"]["value"] == b["id"]
    assert b[ENTERPRISE_URN]["manager"]["value"] == a["id"]
    assert not replan(specs, fake).plan.has_changes


def test_managers_are_created_first_so_reports_need_no_follow_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    logs.configure("critical")
    fake = FakeScim()
    chain = [
        user("a@example.com", enterprise={"manager": "b@example.com"}),
        user("b@example.com", enterprise={"manager": "c@example.com"}),
        user("c@example.com"),
    ]
    specs = write_spec(tmp_path, chain)
    _, result = plan_and_apply(specs, fake)
    assert not result.failed
    assert [s.body["userName"] for s in fake.requests if s.method == "POST"] == [
        "c@example.com",
        "b@example.com",
        "a@example.com",
    ]
    assert fake.count("PATCH") == 0  # every create carried its manager's id
    assert not replan(specs, fake).plan.has_changes
