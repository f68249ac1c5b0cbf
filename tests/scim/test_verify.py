"""Write verification (issue 14 item 3): a target that answers success but drops attributes
is caught after the write, on every route that writes attributes, reported as a warning
naming the fix, never retried; `quirks: {not_kept: [...]}` then makes the plan converge."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import stamina
import structlog

from reconciler import logs
from reconciler.core.diff import AttrChange
from reconciler.core.model import ENTERPRISE_URN, Kind
from reconciler.core.plan import Action
from reconciler.report.render import not_kept_warning
from reconciler.scim.apply.verify import lost
from tests.fakescim import FakeScim
from tests.scim.conftest import TOKEN, TOKEN_ENV
from tests.scim.test_faults import (
    outcomes,
    plan_and_apply,
    replan,
    user,
    write_spec,
)


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)


@pytest.fixture(autouse=True)
def _fast() -> Iterator[None]:
    with stamina.set_testing(True, attempts=3):
        yield


def dropping(*attributes: str) -> FakeScim:
    fake = FakeScim(token=TOKEN)
    fake.drops = set(attributes)
    return fake


def writes_to(fake: FakeScim, path: str) -> list[str]:
    return [s.method for s in fake.requests if s.path == path and s.method != "GET"]


@pytest.mark.parametrize(
    ("sent", "held", "expected"),
    [
        ([AttrChange("title", None, "Eng")], {"title": "Eng"}, []),
        ([AttrChange("title", None, "Eng")], {}, ["title"]),
        ([AttrChange("title", "Eng", None)], {}, []),  # a clear that cleared
        ([AttrChange("title", "Eng", None)], {"title": "Eng"}, ["title"]),
        ([AttrChange("userName", None, "A@x.com")], {"userName": "a@x.com"}, []),  # caseExact
        (
            [AttrChange("emails", None, [{"value": "a@x.com", "primary": True}])],
            {"emails": [{"value": "a@x.com", "primary": True, "type": "work"}]},
            [],  # compared on the sub-attributes sent, as the plan compares
        ),
        (
            [AttrChange("emails", None, [{"value": "a@x.com"}, {"value": "b@x.com"}])],
            {"emails": [{"value": "a@x.com"}]},
            ["emails"],
        ),
        ([AttrChange("enterprise.manager", None, "u9", "bob")], {}, ["enterprise.manager"]),
        (
            [AttrChange("enterprise.manager", None, None, "bob")],
            {ENTERPRISE_URN: {"manager": {"value": "u9"}}},
            [],  # bob's id comes from the run
        ),
        ([AttrChange("enterprise.manager", None, None, "carol")], {}, []),  # not sent yet
        ([AttrChange("password", None, "secret")], {}, []),  # write-only: never read back
        (
            # An answer no plan could read (mixed types cannot be sorted into a set; once a
            # TypeError, exit 3) holds nothing as sent.
            [AttrChange("emails", None, [{"value": "a@x.com"}])],
            {"emails": [None, 1, {"value": "a@x.com"}]},
            ["emails"],
        ),
        (
            [AttrChange("emails", None, [{"value": "a@x.com"}])],
            {"emails": [{"value": "a@x.com"}, {"value": 1}]},
            ["emails"],
        ),
    ],
)
def test_what_counts_as_lost(sent: list[AttrChange], held: dict[str, Any], expected: Any) -> None:
    assert lost(sent, held, {"bob": "u9"}) == expected


def test_a_create_that_drops_attributes_is_reported_not_retried(tmp_path: Path) -> None:
    fake = dropping("title", ENTERPRISE_URN)
    specs = write_spec(
        tmp_path, [user("alice@example.com", title="Eng", enterprise={"department": "R&D"})]
    )
    _, result = plan_and_apply(specs, fake)
    assert outcomes(result) == {"alice@example.com": (Action.CREATE, True)}
    assert result.not_kept == (
        (Kind.USER, "alice@example.com", ("enterprise.department", "title")),
    )
    assert writes_to(fake, "/Users") == ["POST"]  # once: never retried
    assert fake.count("PATCH") == 0
    # The next plan would propose them again: that is what the warning is for.
    changes = replan(specs, fake).plan.changes
    assert [a.path for a in changes[0].attributes] == ["enterprise.department", "title"]


@pytest.mark.parametrize("patch_status", [200, 204])
def test_an_update_that_drops_an_attribute_is_reported(tmp_path: Path, patch_status: int) -> None:
    fake = dropping("title")
    fake.patch_status = patch_status
    alice = fake.add_user("alice@example.com", displayName="A")
    specs = write_spec(tmp_path, [user("alice@example.com", displayName="Alice", title="Eng")])
    _, result = plan_and_apply(specs, fake)
    assert result.not_kept == ((Kind.USER, "alice@example.com", ("title",)),)
    assert writes_to(fake, f"/Users/{alice}") == ["PATCH"]
    on_alice = [s.method for s in fake.requests if s.path == f"/Users/{alice}"]
    after = on_alice[on_alice.index("PATCH") + 1 :]
    # Read back once: an answer without a body, or one that lacks what was sent (which a
    # target answering with the resource as it was before would show: test_stale_answers).
    assert after == ["GET"]


def test_a_put_that_drops_an_attribute_is_reported(tmp_path: Path) -> None:
    fake = dropping("title")
    fake.patch_unsupported = True
    alice = fake.add_user("alice@example.com")
    specs = write_spec(tmp_path, [user("alice@example.com", title="Eng")])
    _, result = plan_and_apply(specs, fake)
    assert outcomes(result) == {"alice@example.com": (Action.UPDATE, True)}
    assert result.not_kept == ((Kind.USER, "alice@example.com", ("title",)),)
    assert writes_to(fake, f"/Users/{alice}") == ["PATCH", "PUT"]


def test_a_second_email_dropped_is_reported(tmp_path: Path) -> None:
    fake = FakeScim(token=TOKEN)
    fake.one_email = True
    emails = [{"value": "a@example.com", "primary": True}, {"value": "a2@example.com"}]
    specs = write_spec(tmp_path, [user("alice@example.com", emails=emails)])
    _, result = plan_and_apply(specs, fake)
    assert result.not_kept == ((Kind.USER, "alice@example.com", ("emails",)),)


def test_a_group_attribute_dropped_is_reported(tmp_path: Path) -> None:
    fake = dropping("externalId")
    specs = write_spec(tmp_path, [], [{"displayName": "Eng", "externalId": "eng"}])
    _, result = plan_and_apply(specs, fake)
    assert result.not_kept == ((Kind.GROUP, "Eng", ("externalId",)),)


def test_a_target_that_keeps_everything_gets_no_warning(tmp_path: Path) -> None:
    fake = FakeScim(token=TOKEN)
    fake.add_user("bob@example.com")
    specs = write_spec(
        tmp_path,
        [
            user("alice@example.com", title="Eng", enterprise={"manager": "bob@example.com"}),
            user("bob@example.com", title="Boss"),
        ],
    )
    _, result = plan_and_apply(specs, fake)
    assert result.failed == ()
    assert result.not_kept == ()


def test_not_kept_stops_managing_the_attribute_so_the_plan_converges(tmp_path: Path) -> None:
    fake = dropping("title")
    users = [user("alice@example.com", title="Eng", displayName="Alice")]
    plan_and_apply(write_spec(tmp_path, users), fake)
    assert replan(tmp_path, fake).plan.has_changes  # title, every time
    specs = write_spec(tmp_path, users, quirks={"not_kept": ["title"]})
    plan = replan(specs, fake).plan
    assert not plan.has_changes
    assert plan.notes == (
        "not managed on this target, which does not keep them (quirks: not_kept): title",
    )
    # A new user on such a target is created without it, so nothing is lost or reported.
    users.append(user("bob@example.com", title="Eng"))
    _, result = plan_and_apply(write_spec(tmp_path, users, quirks={"not_kept": ["title"]}), fake)
    assert result.not_kept == ()
    (post,) = [s for s in fake.requests if s.method == "POST"][-1:]
    assert "title" not in post.body


def test_the_warning_names_each_object_and_the_fix() -> None:
    text = not_kept_warning(
        [(Kind.USER, "alice@example.com", ("title", "ims")), (Kind.USER, "bob@x.com", ("title",))]
    )
    assert text.splitlines() == [
        "Warning: the target did not keep what it was sent, so the next plan would propose "
        "it again:",
        "  user alice@example.com: not kept by the target: title, ims",
        "  user bob@x.com: not kept by the target: title",
        "Stop managing them on this target with quirks: {not_kept: [title, ims]} (or map a "
        "single-valued one to {constant: null}).",
    ]


def test_the_log_says_what_was_not_kept(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("info", json_lines=True)
    try:
        fake = dropping("title")
        plan_and_apply(write_spec(tmp_path, [user("alice@example.com", title="Eng")]), fake)
    finally:
        structlog.reset_defaults()
    events = [json.loads(x) for x in capsys.readouterr().err.splitlines() if x.startswith("{")]
    (event,) = [e for e in events if e["event"] == "not kept by the target"]
    assert (event["key"], event["attributes"], event["fix"]) == (
        "alice@example.com",
        ["title"],
        "quirks: {not_kept: [title]}",
    )
