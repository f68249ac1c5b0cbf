"""`doctor --write-probe` disables its temporary user and reads it back (doctor/disable_probe
.py): the one place a target that leaves `active` out of disabled users (Snipe-IT, Go
servers with `omitempty`) can be told from one that never shows `active` (Sentry), so
that `quirks: {inactive: absent}` is named where it is needed and nowhere else."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx2
import pytest

from reconciler.core.config import Target as Config
from reconciler.doctor.report import Report
from reconciler.scim.client import ScimClient
from tests.doctor.test_doctor import TINY, doctor
from tests.fakescim import BASE_URL, FakeScim, json_response

Shown = Callable[[dict[str, Any]], dict[str, Any]]


def _omitempty(user: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in user.items() if not (k == "active" and v is False)}


def _never(user: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in user.items() if k != "active"}


def _run(shown: Shown, *, ignores: bool = False, quirks: dict[str, Any] | None = None) -> Report:
    """doctor against the fake, each user it answers with shown as `shown` makes it; with
    `ignores`, a PATCH setting `active: false` answered 200 and not made."""
    fake = FakeScim()
    fake.add_user("someone@example.com")

    def handle(request: httpx2.Request) -> httpx2.Response:
        if ignores and request.method == "PATCH" and "/Users/" in request.url.path:
            ops = json.loads(request.content)["Operations"]
            if any(op.get("path") == "active" and op.get("value") is False for op in ops):
                return json_response(200, fake.users[request.url.path.rpartition("/")[2]])
        response = fake.handle(request)
        if "/Users" not in request.url.path or not response.content:
            return response
        body = json.loads(response.content)
        if "Resources" in body:
            body["Resources"] = [shown(u) for u in body["Resources"]]
        elif "userName" in body:
            body = shown(body)
        return json_response(response.status_code, body)

    client = ScimClient(httpx2.Client(transport=httpx2.MockTransport(handle)), BASE_URL, retry=TINY)
    config = Config("fake", BASE_URL, quirks=quirks or {})
    report, _ = doctor(client, config, write_probe=True)
    return report


def test_a_disable_shown_as_active_false_is_ok() -> None:
    finding = _run(lambda user: user).finding("lifecycle", "disable")

    assert (finding.status, finding.observed) == (
        "ok",
        "a disabled user reads back as active: false",
    )


def test_active_left_out_of_a_disabled_user_names_the_quirk() -> None:
    finding = _run(_omitempty).finding("lifecycle", "disable")

    assert finding.status == "warn"
    assert finding.observed == "a disabled user reads back without `active` (shown only when true)"
    assert finding.action.startswith("set quirks: {inactive: absent} on this target")


def _null(user: dict[str, Any]) -> dict[str, Any]:
    return {**user, "active": None} if user.get("active") is False else user


def test_active_shown_null_for_a_disabled_user_names_the_quirk_that_reads_it() -> None:
    # RFC 7643 §2.5: null is unassigned, which the quirk reads as disabled (core/inactive.py).
    finding = _run(_null).finding("lifecycle", "disable")

    assert finding.status == "warn"
    assert finding.observed == "a disabled user reads back as active: null (shown only when true)"
    assert finding.action.startswith("set quirks: {inactive: absent} on this target")


def test_with_the_quirk_set_active_left_out_is_ok() -> None:
    report = _run(_omitempty, quirks={"inactive": "absent"})

    finding = report.finding("lifecycle", "disable")
    assert (finding.status, finding.action) == (
        "ok",
        "quirks: {inactive: absent} is set: read as disabled",
    )


@pytest.mark.parametrize("quirks", [None, {"inactive": "absent"}])
def test_a_target_that_never_shows_active_is_not_told_to_set_the_quirk(
    quirks: dict[str, Any] | None,
) -> None:
    finding = _run(_never, quirks=quirks).finding("lifecycle", "disable")

    assert (finding.status, finding.observed) == (
        "info",
        "users are shown without `active`, disabled or not",
    )
    assert "inactive" not in finding.action


def test_a_disable_the_target_ignores_fails_and_names_deletes() -> None:
    finding = _run(lambda user: user, ignores=True).finding("lifecycle", "disable")

    assert finding.status == "fail"
    assert finding.observed == "a disable answered success, but the user reads back as active: True"
    assert finding.action == "this target ignores disables: set deprovision: delete on this target"
