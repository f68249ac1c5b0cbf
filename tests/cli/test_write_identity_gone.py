"""An id that answers 404 when read by it before the first write is never written to
(scim/apply/identity.py, `Session.not_written`), in apply through the CLI.

Lookup mode reads objects by `eq` filter, and before writing reads every id a change
names by that id. A target that pairs a declared name with the protected admin's id in a
filter answer, and then hides the admin from a read by id (404), while it still takes a
DELETE or a PATCH to that id, had the admin deleted or disabled: a 404 passed the check.
Now a write naming such an id is not sent, and its object fails, a delete of it too:
reported done, a delete a target with no read by id never made would be said done every
run. An honest target that lost the object since the plan's read gets a failure it can
plan again from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.cli.test_write_identity import (
    LOOKUP,
    TOKEN,
    TOKEN_ENV,
    _apply,
    _as,
    _filtered,
    _listed,
    _lying,
    _specs,
    _writes_to,
)
from tests.fakescim import FakeScim, json_response


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)


def _hides(fake: FakeScim, request: httpx2.Request, rid: str, store: str) -> bool:
    endpoint = {"users": "/Users/", "groups": "/Groups/"}[store]
    return request.method == "GET" and request.url.path.endswith(endpoint + rid)


def _not_found() -> httpx2.Response:
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "404"}
    return json_response(404, body)


def _admin(fake: FakeScim) -> str:
    return next(u for u in fake.users if fake.users[u]["userName"].startswith("admin"))


def _bob_is_the_hidden_admin(fake: FakeScim, request: httpx2.Request) -> httpx2.Response | None:
    """The filter for bob answers the admin renamed bob; the admin's id reads 404."""
    admin = _admin(fake)
    if _filtered(request, "/Users", "bob@example.com"):
        return _listed(_as(fake, admin, "users", userName="bob@example.com"))
    return _not_found() if _hides(fake, request, admin, "users") else None


BOB: dict[str, tuple[dict[str, Any], dict[str, Any], int]] = {
    # name: (target settings, declared bob, the exit code)
    "state absent, disable": (
        {**LOOKUP, "deprovision": "disable"},
        {"userName": "bob@example.com", "state": "absent"},
        1,
    ),
    "state absent, delete": (
        {**LOOKUP, "deprovision": "delete"},
        {"userName": "bob@example.com", "state": "absent"},
        1,
    ),
    "declared active false": (LOOKUP, {"userName": "bob@example.com", "active": False}, 1),
    "an attribute updated": (LOOKUP, {"userName": "bob@example.com", "title": "Intern"}, 1),
}


@pytest.mark.parametrize("route", BOB)
def test_an_id_that_reads_404_is_never_written_to(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], route: str
) -> None:
    target, bob, exit_code = BOB[route]
    fake = FakeScim(token=TOKEN)
    admin = fake.add_user("admin@example.com", active=True, title="Admin")
    specs = _specs(tmp_path, target, [bob], [])

    code = _apply(specs, _lying(fake, _bob_is_the_hidden_admin))

    err = capsys.readouterr().err
    assert code == exit_code
    assert exit_code == 1
    assert f"not written: user 'bob@example.com' ({admin}) answers 404" in err
    assert _writes_to(fake, f"/Users/{admin}") == []
    assert admin in fake.users
    assert (fake.users[admin]["active"], fake.users[admin]["title"]) == (True, "Admin")


def test_a_member_whose_id_reads_404_is_never_added(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # bob's filter answer is the admin renamed bob, whose id reads 404. Adding bob to Eng
    # would add the admin: nothing of Eng's change is sent, and Ops' change goes on.
    fake = FakeScim(token=TOKEN)
    admin = fake.add_user("admin@example.com", active=True)
    carol = fake.add_user("carol@example.com", active=True)
    eng = fake.add_group("Eng", [])
    ops = fake.add_group("Ops", [])
    users = [{"userName": "bob@example.com"}, {"userName": "carol@example.com"}]
    groups = [
        {"displayName": "Eng", "members": ["bob@example.com", "carol@example.com"]},
        {"displayName": "Ops", "members": ["carol@example.com"]},
    ]
    specs = _specs(tmp_path, LOOKUP, users, groups)

    code = _apply(specs, _lying(fake, _bob_is_the_hidden_admin))

    err = capsys.readouterr().err
    assert code == 1
    assert f"not written: user 'bob@example.com' ({admin}) answers 404" in err
    assert _writes_to(fake, f"/Groups/{eng}") == []
    assert not fake.groups[eng].get("members")
    assert [m["value"] for m in fake.groups[ops]["members"]] == [carol]


def test_an_object_gone_since_the_plan_fails_unsent_and_is_never_reported_done(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # An honest target: bob and dave were read by the plan, then deleted by someone else.
    fake = FakeScim(token=TOKEN)
    bob = fake.add_user("bob@example.com", active=True)
    dave = fake.add_user("dave@example.com", active=True)
    users = [{"userName": "bob@example.com", "state": "absent"},
             {"userName": "dave@example.com", "active": False}]  # fmt: skip
    specs = _specs(tmp_path, {**LOOKUP, "deprovision": "delete"}, users, [])
    reads = [0]

    def vanish(fake: FakeScim, request: httpx2.Request) -> httpx2.Response | None:
        # The plan reads bob by his id once (does the listing show users bare?); the
        # apply's first read by id finds both gone.
        if request.method == "GET" and request.url.path.endswith((f"/{bob}", f"/{dave}")):
            reads[0] += 1
            if reads[0] == 2:
                del fake.users[bob], fake.users[dave]
        return None

    code = _apply(specs, _lying(fake, vanish))

    err = capsys.readouterr().err
    assert code == 1
    assert f"user 'dave@example.com' ({dave}) answers 404" in err
    assert f"user 'bob@example.com' ({bob}) answers 404" in err  # the delete too
    assert [s for s in fake.requests if s.method != "GET"] == []


def test_a_create_look_up_finding_an_id_that_reads_404_adopts_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The plan's look-up for Eng finds none; the look before its create finds the
    # protected Admins group renamed Eng, whose id reads 404. Adopted, Eng's members would
    # be written into Admins.
    fake = FakeScim(token=TOKEN)
    fake.add_user("carol@example.com", active=True)
    admins = fake.add_group("Admins", [])
    looks = [0]

    def lie(fake: FakeScim, request: httpx2.Request) -> httpx2.Response | None:
        if _filtered(request, "/Groups", "Eng"):
            looks[0] += 1
            if looks[0] > 1:
                return _listed(_as(fake, admins, "groups", displayName="Eng"))
        return _not_found() if _hides(fake, request, admins, "groups") else None

    users = [{"userName": "carol@example.com"}]
    groups = [{"displayName": "Eng", "members": ["carol@example.com"]}]
    specs = _specs(tmp_path, LOOKUP, users, groups)

    code = _apply(specs, _lying(fake, lie))

    err = capsys.readouterr().err
    assert code == 1
    assert f"not written: group 'Eng' ({admins}) answers 404 when read by its id" in err
    assert _writes_to(fake, f"/Groups/{admins}") == []
    assert not fake.groups[admins].get("members")
    assert [g for g in fake.groups.values() if g["displayName"] == "Eng"] == []
