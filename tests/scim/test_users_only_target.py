"""A target that takes users only (no /Groups endpoint: 404, 405 or 501) is planned and
applied for its users; the plan says declared groups cannot be created there."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.core.model import Capabilities
from reconciler.errors import ScimHTTPError
from reconciler.scim.client import ScimClient
from reconciler.scim.observe import observe
from tests.fakescim import BASE_URL, FakeScim
from tests.scim.test_faults import (
    TARGET,
    RecordingLog,
    plan_and_apply,
    replan,
    user,
    write_spec,
)

pytestmark = pytest.mark.usefixtures("token")
NOTE = "the target has no /Groups endpoint (GET /Groups answered {}): it holds no groups, "


@pytest.mark.parametrize("status", [404, 405, 501])
def test_users_are_managed_on_a_target_without_groups(tmp_path: Path, status: int) -> None:
    fake = FakeScim()
    fake.add_user("a@example.com", title="Old")
    fake.fail("GET", "/Groups", status=status, times=100)
    specs = write_spec(tmp_path, [user("a@example.com", title="New"), user("b@example.com")])
    prepared, result = plan_and_apply(specs, fake)
    assert any(n.startswith(NOTE.format(status)) for n in prepared.plan.notes)
    assert result.failed == ()
    assert [u["title"] for u in fake.user_named("a@example.com")] == ["New"]
    assert not replan(specs, fake).plan.has_changes


def test_a_group_declared_for_such_a_target_is_in_error_and_never_sent(tmp_path: Path) -> None:
    fake = FakeScim()
    fake.fail("GET", "/Groups", status=404, times=100)
    fake.fail("POST", "/Groups", status=404, times=100, body={"detail": "no such endpoint"})
    specs = write_spec(
        tmp_path, [user("a@example.com")], [{"displayName": "Eng", "members": ["a@example.com"]}]
    )
    prepared, result = plan_and_apply(specs, fake)
    assert [(e.key, "GET /Groups answered 404" in e.message) for e in prepared.plan.errors] == [
        ("Eng", True)
    ]
    assert result.failed == ()
    assert fake.count("POST", "/Groups") == 0
    assert len(fake.user_named("a@example.com")) == 1


def test_groups_a_passing_404_hides_are_not_planned_as_new(tmp_path: Path) -> None:
    # A /Groups that answers 404 for a moment (a deploy, a proxy) must not turn groups
    # that exist into creates of every group and adds of every member.
    fake = FakeScim()
    a = fake.add_user("a@example.com")
    fake.add_group("Eng", [a])
    fake.fail("GET", "/Groups", status=404, times=1)
    specs = write_spec(
        tmp_path, [user("a@example.com")], [{"displayName": "Eng", "members": ["a@example.com"]}]
    )
    prepared = replan(specs, fake)
    assert prepared.plan.changes == ()
    assert [e.key for e in prepared.plan.errors] == ["Eng"]
    assert not replan(specs, fake).plan.errors


def test_groups_refused_to_the_credentials_still_fail_the_read(tmp_path: Path) -> None:
    fake = FakeScim()
    fake.fail("GET", "/Groups", status=403, times=100, body={"detail": "forbidden"})
    specs = write_spec(tmp_path, [user("a@example.com")])
    with pytest.raises(ScimHTTPError, match="403"):
        replan(specs, fake)


def test_a_target_without_groups_is_logged_as_read_whole_with_no_groups() -> None:
    fake = FakeScim()
    fake.add_user("a@example.com")
    fake.fail("GET", "/Groups", status=404, times=100)
    log = RecordingLog()
    observed = observe(ScimClient(fake.client(), BASE_URL), TARGET, Capabilities(), log)
    # Nothing read to doubt: the users' proof that every value is representable stands.
    assert (observed.groups, observed.complete, observed.representable) == ((), True, True)
    [warned] = log.named("no groups endpoint")
    assert warned == {"step": "import", "detail": observed.notes[0]}
    assert observed.notes[0].startswith(NOTE.format(404))
    read = {kw["kind"]: kw for kw in log.named("read target")}
    assert read["group"] == {
        "step": "import",
        "kind": "group",
        "outcome": "complete",
        "count": 0,
        "pages": 0,
    }


def test_in_lookup_mode_a_group_on_such_a_target_is_not_planned_as_new(tmp_path: Path) -> None:
    # Lookup mode reads no listing: a 404 to the group's filter is the missing endpoint's,
    # never a "no match" that plans a create.
    fake = FakeScim()
    fake.fail("GET", "/Groups", status=404, times=100)
    fake.fail("POST", "/Groups", status=404, times=100, body={"detail": "no such endpoint"})
    specs = write_spec(
        tmp_path,
        [user("a@example.com")],
        [{"displayName": "Eng", "members": ["a@example.com"]}],
        quirks={"listing": "none"},
    )
    with pytest.raises(ScimHTTPError, match="GET /Groups answered 404"):
        replan(specs, fake)
    assert [s.method for s in fake.requests if s.method != "GET"] == []
