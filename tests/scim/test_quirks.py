"""A target's `quirks:` block forces behaviours a target misreports, through the fake target."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler import logs
from tests.fakescim import FakeScim
from tests.scim.conftest import TOKEN, TOKEN_ENV
from tests.scim.test_faults import plan_and_apply, replan, user, write_spec


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    logs.configure("critical")


def test_patch_never_updates_with_get_merge_put(tmp_path: Path) -> None:
    fake = FakeScim()
    fake.add_user("a@example.com", title="Old", nickName="keep me")
    specs = write_spec(tmp_path, [user("a@example.com", title="New")], quirks={"patch": "never"})
    _, result = plan_and_apply(specs, fake)
    assert not result.failed
    assert fake.count("PATCH") == 0
    assert fake.count("PUT") == 1
    (stored,) = fake.user_named("a@example.com")
    assert (stored["title"], stored["nickName"]) == ("New", "keep me")
    assert not replan(specs, fake).plan.has_changes


def test_member_removal_value_and_members_after_create(tmp_path: Path) -> None:
    fake = FakeScim()
    a = fake.add_user("a@example.com")
    b = fake.add_user("b@example.com")
    fake.add_group("Old", members=[a, b])
    specs = write_spec(
        tmp_path,
        [user("a@example.com"), user("b@example.com")],
        [
            {"displayName": "Old", "members": ["a@example.com"]},
            {"displayName": "New", "members": ["a@example.com", "b@example.com"]},
        ],
        quirks={"member_removal": "value", "members_on_create": "never"},
    )
    _, result = plan_and_apply(specs, fake)
    assert not result.failed
    removals = [
        s.body
        for s in fake.requests
        if s.method == "PATCH" and any(op["op"] == "remove" for op in s.body["Operations"])
    ]
    assert removals == [
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "remove", "path": "members", "value": [{"value": b}]}],
        }
    ]
    (create,) = [s.body for s in fake.requests if s.method == "POST" and s.path == "/Groups"]
    assert "members" not in create
    assert not replan(specs, fake).plan.has_changes


def test_etag_never_sends_no_if_match(tmp_path: Path) -> None:
    fake = FakeScim()
    fake.config["etag"] = {"supported": True}
    fake.add_user("a@example.com", title="Old")
    specs = write_spec(tmp_path, [user("a@example.com", title="New")], quirks={"etag": "never"})
    assert not plan_and_apply(specs, fake)[1].failed
    assert all("if-match" not in s.headers for s in fake.requests)
    specs = write_spec(tmp_path, [user("a@example.com", title="Newer")])
    assert not plan_and_apply(specs, fake)[1].failed
    assert any("if-match" in s.headers for s in fake.requests if s.method == "PATCH")


def test_filter_never_looks_up_by_listing(tmp_path: Path) -> None:
    fake = FakeScim()
    fake.create_without_body = True  # the id must be looked up after the create
    specs = write_spec(tmp_path, [user("a@example.com")], quirks={"filter": "never"})
    assert not plan_and_apply(specs, fake)[1].failed
    assert all(
        "filter" not in s.params
        for s in fake.requests
        if s.path == "/Users" and s.method == "GET" and "startIndex" in s.params
    )
    lookups = [
        s
        for s in fake.requests
        if s.method == "GET"
        and "filter" in s.params
        and "scimrec" not in s.params["filter"]
        and "a@example.com" in s.params["filter"]
    ]
    assert lookups == []


def test_unknown_quirk_is_a_spec_error(tmp_path: Path) -> None:
    from reconciler.errors import SpecError
    from reconciler.spec.load import load_spec

    specs = write_spec(tmp_path, [user("a@example.com")], quirks={"pach": "never"})
    with pytest.raises(SpecError) as info:
        load_spec(specs)
    assert "unknown quirk 'pach' (did you mean 'patch'?)" in str(info.value)
