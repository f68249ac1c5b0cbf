"""A write reaches only the object the plan read at its id (scim/apply/identity.py), and a
new object's id is never another existing object's (scim/apply/creates.py): whatever the
target's answers say, through every route a write takes, in apply through the CLI.

The target here lies in one answer only: a filter answer or a listing that pairs a
declared name with another object's id (the protected admin's, the Admins group's), a
create answered with an existing object's id or Location, a write answered with another
object. Everything else it says is true, so the lie can be caught; the invariant is that
nothing is written to the object the lie points at."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest
import yaml

from reconciler.cli import main
from tests.bulkscim import BulkScim
from tests.fakescim import BASE_URL, LIST_RESPONSE, FakeScim, json_response

TOKEN_ENV = "WRITE_IDENTITY_TOKEN"
TOKEN = "tok-write-identity-0123456789"
Lie = Callable[[FakeScim, httpx2.Request], httpx2.Response | None]


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)


def _specs(root: Path, target: dict[str, Any], users: list[Any], groups: list[Any]) -> str:
    root.mkdir(parents=True, exist_ok=True)
    settings = {
        "url": BASE_URL,
        "auth": {"type": "bearer", "token_env": TOKEN_ENV},
        "protected": ["admin@*", "Admins"],
        **target,
    }
    doc = {"version": 1, "targets": {"t": settings}, "users": users, "groups": groups}
    (root / "spec.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    return str(root)


def _lying(fake: FakeScim, lie: Lie) -> httpx2.MockTransport:
    def handle(request: httpx2.Request) -> httpx2.Response:
        return lie(fake, request) or fake.handle(request)

    return httpx2.MockTransport(handle)


def _as(fake: FakeScim, rid: str, store: str, **renamed: Any) -> dict[str, Any]:
    body = copy.deepcopy(getattr(fake, store)[rid])
    return {**body, "id": rid, **renamed}


def _listed(*resources: dict[str, Any]) -> httpx2.Response:
    body = {"schemas": [LIST_RESPONSE], "totalResults": len(resources), "startIndex": 1,
            "itemsPerPage": len(resources), "Resources": list(resources)}  # fmt: skip
    return json_response(200, body)


def _filtered(request: httpx2.Request, endpoint: str, name: str) -> bool:
    return (
        request.method == "GET"
        and request.url.path.endswith(endpoint)
        and name in request.url.params.get("filter", "")
    )


def _writes_to(fake: FakeScim, path: str) -> list[str]:
    return [f"{s.method} {s.path}" for s in fake.requests if s.method != "GET" and s.path == path]


def _apply(specs: str, transport: httpx2.MockTransport) -> int:
    return main(["apply", specs, "--target", "t", "--auto-approve"], transport=transport)


# -- writes to an existing object, whose id the plan took from a lying answer --------------

LOOKUP = {"quirks": {"listing": "none"}}


def _bob_is_admin(fake: FakeScim, request: httpx2.Request) -> httpx2.Response | None:
    """The filter for bob answers the admin's resource, renamed bob."""
    if _filtered(request, "/Users", "bob@example.com"):
        admin = next(u for u in fake.users if fake.users[u]["userName"].startswith("admin"))
        return _listed(_as(fake, admin, "users", userName="bob@example.com"))
    return None


ROUTES: dict[str, tuple[dict[str, Any], dict[str, Any], Lie]] = {
    # name: (target settings, declared bob, the lie)
    "lookup, state absent, disable": (
        {**LOOKUP, "deprovision": "disable"},
        {"userName": "bob@example.com", "state": "absent"},
        _bob_is_admin,
    ),
    "lookup, state absent, delete": (
        {**LOOKUP, "deprovision": "delete"},
        {"userName": "bob@example.com", "state": "absent"},
        _bob_is_admin,
    ),
    "lookup, declared active false": (
        LOOKUP,
        {"userName": "bob@example.com", "active": False},
        _bob_is_admin,
    ),
    "lookup, an attribute updated": (
        LOOKUP,
        {"userName": "bob@example.com", "title": "Intern"},
        _bob_is_admin,
    ),
}


@pytest.mark.parametrize("route", ROUTES)
def test_a_write_never_reaches_the_object_a_lying_answer_points_at(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], route: str
) -> None:
    target, bob, lie = ROUTES[route]
    fake = FakeScim(token=TOKEN)
    admin = fake.add_user("admin@example.com", active=True, title="Admin")
    fake.add_user("bob@example.com", active=True, title="Engineer")
    specs = _specs(tmp_path, target, [bob], [])  # the admin is protected, not declared

    code = _apply(specs, _lying(fake, lie))

    err = capsys.readouterr().err
    assert code == 1
    assert "the target's answers disagree on whom this id is; nothing was written" in err
    assert _writes_to(fake, f"/Users/{admin}") == []
    assert (fake.users[admin]["active"], fake.users[admin]["title"]) == (True, "Admin")


def test_a_group_write_after_a_lying_filter_answer_never_reaches_the_other_group(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Lookup mode: the filter for Eng answers the protected Admins group, renamed Eng.
    fake = FakeScim(token=TOKEN)
    fake.add_user("carol@example.com", active=True)
    admins = fake.add_group("Admins", [])
    fake.add_group("Eng", [])
    users = [{"userName": "carol@example.com"}]
    groups = [{"displayName": "Eng", "members": ["carol@example.com"]}]
    specs = _specs(tmp_path, LOOKUP, users, groups)

    code = _apply(specs, _lying(fake, _eng_is_admins))

    assert code == 1
    assert "the target's answers disagree" in capsys.readouterr().err
    assert _writes_to(fake, f"/Groups/{admins}") == []
    assert not fake.groups[admins].get("members")


# -- a create answered with an existing object's id -------------------------------------


def _answered_with(kind: str, name: str, how: str) -> Lie:
    """The create is made, and answered with the id of the existing object `name`: in a
    body that echoes the new object (`body`), or in a Location alone (`location`)."""
    endpoint, store, attribute = {
        "user": ("/Users", "users", "userName"),
        "group": ("/Groups", "groups", "displayName"),
    }[kind]

    def lie(fake: FakeScim, request: httpx2.Request) -> httpx2.Response | None:
        if request.method != "POST" or not request.url.path.endswith(endpoint):
            return None
        made = json.loads(fake.handle(request).content)
        other = next(k for k, v in getattr(fake, store).items() if v[attribute] == name)
        if how == "location":
            return httpx2.Response(201, headers={"Location": f"{BASE_URL}{endpoint}/{other}"})
        return json_response(201, {**made, "id": other})

    return lie


CREATES: dict[str, tuple[dict[str, Any], Lie]] = {
    # name: (target settings, the lie); carol and Eng are new, and Eng holds carol
    "lookup, group answered with Admins' Location": (
        {**LOOKUP, "quirks": {"listing": "none", "members_on_create": "never"}},
        _answered_with("group", "Admins", "location"),
    ),
    "listing, group answered with Admins' Location": (
        {"quirks": {"members_on_create": "never"}},
        _answered_with("group", "Admins", "location"),
    ),
    "lookup, group answered with Admins' id in its body": (
        {**LOOKUP, "quirks": {"listing": "none", "members_on_create": "never"}},
        _answered_with("group", "Admins", "body"),
    ),
    "lookup, user answered with the admin's Location": (
        LOOKUP,
        _answered_with("user", "admin@example.com", "location"),
    ),
    "lookup, user answered with the admin's id in its body": (
        LOOKUP,
        _answered_with("user", "admin@example.com", "body"),
    ),
}


@pytest.mark.parametrize("route", CREATES)
def test_a_create_answered_with_an_existing_objects_id_never_takes_it(
    tmp_path: Path, route: str
) -> None:
    target, lie = CREATES[route]
    fake = FakeScim(token=TOKEN)
    admin = fake.add_user("admin@example.com", active=True)
    admins = fake.add_group("Admins", [admin])
    # The admin and Admins are protected, not declared: lookup mode never looks them up.
    users = [{"userName": "carol@example.com"}]
    groups = [{"displayName": "Eng", "members": ["carol@example.com"]}]
    specs = _specs(tmp_path, target, users, groups)

    code = _apply(specs, _lying(fake, lie))

    assert code == 0
    assert fake.groups[admins]["members"] == [{"value": admin}]
    [carol] = fake.user_named("carol@example.com")
    [eng] = [g for g in fake.groups.values() if g["displayName"] == "Eng"]
    assert [m["value"] for m in eng["members"]] == [carol["id"]]
    assert _writes_to(fake, f"/Users/{admin}") == []


def test_a_write_answered_with_another_object_is_verified_by_reading_its_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeScim(token=TOKEN)
    admin = fake.add_user("admin@example.com", active=True, title="Admin")
    bob = fake.add_user("bob@example.com", active=True, title="Engineer")

    def lie(fake: FakeScim, request: httpx2.Request) -> httpx2.Response | None:
        if request.method == "PATCH" and request.url.path.endswith(f"/Users/{bob}"):
            fake.handle(request)
            return json_response(200, _as(fake, admin, "users"))
        return None

    users = [{"userName": "admin@example.com"}, {"userName": "bob@example.com", "title": "Lead"}]
    specs = _specs(tmp_path, {}, users, [])

    code = _apply(specs, _lying(fake, lie))

    out, err = capsys.readouterr()
    assert code == 0
    assert fake.users[bob]["title"] == "Lead"
    assert "not kept by the target" not in out + err
    assert fake.count("GET", f"/Users/{bob}") == 1


def test_a_create_in_lookup_mode_is_read_once_by_the_id_its_answer_gave(tmp_path: Path) -> None:
    # A Location is read once to see it is the object sent, and once more to verify the
    # create (its answer held no resource), never again to confirm it; a body's id is read
    # once, and the body verifies the create. Each is read once more as the one group of
    # its name the race check finds (group_races.py), as anything a look-up finds is.
    fake = FakeScim(token=TOKEN)
    quirks = {"listing": "none", "members_on_create": "never"}
    specs = _specs(
        tmp_path, {"quirks": quirks}, [], [{"displayName": "Eng"}, {"displayName": "Ops"}]
    )

    def located(fake: FakeScim, request: httpx2.Request) -> httpx2.Response | None:
        if request.method != "POST" or not request.url.path.endswith("/Groups"):
            return None
        made = json.loads(fake.handle(request).content)
        if made["displayName"] == "Eng":
            return httpx2.Response(201, headers={"Location": f"{BASE_URL}/Groups/{made['id']}"})
        return json_response(201, made)

    assert _apply(specs, _lying(fake, located)) == 0
    ids = {g["displayName"]: gid for gid, g in fake.groups.items()}
    assert fake.count("GET", f"/Groups/{ids['Eng']}") == 3
    assert fake.count("GET", f"/Groups/{ids['Ops']}") == 2
    # Confirmed by those reads, neither is looked up by its name but as every group is: by
    # the plan, before its create, and after it for a racing run's (group_races.py).
    looks = [s.params.get("filter", "") for s in fake.requests if s.method == "GET"]
    assert (sum("Eng" in f for f in looks), sum("Ops" in f for f in looks)) == (3, 3)


def test_a_create_answered_with_an_id_that_reads_404_is_found_by_its_name(tmp_path: Path) -> None:
    fake = FakeScim(token=TOKEN)
    specs = _specs(tmp_path, LOOKUP, [{"userName": "carol@example.com"}], [])

    def ghost(fake: FakeScim, request: httpx2.Request) -> httpx2.Response | None:
        if request.method == "POST" and request.url.path.endswith("/Users"):
            return json_response(201, {**json.loads(fake.handle(request).content), "id": "ghost"})
        return None

    assert _apply(specs, _lying(fake, ghost)) == 0
    [carol] = fake.user_named("carol@example.com")
    assert fake.count("GET", "/Users/ghost") == 1
    assert fake.count("GET", f"/Users/{carol['id']}") >= 1  # verified as itself


def test_a_create_whose_answer_names_nothing_is_found_by_name_and_read_once(
    tmp_path: Path,
) -> None:
    # 201 with no body and no Location, in lookup mode: the object found by its name is
    # read by its id once to confirm it, and once to verify the create.
    fake = FakeScim(token=TOKEN)
    fake.create_without_body = True
    specs = _specs(tmp_path, LOOKUP, [{"userName": "carol@example.com", "title": "Dev"}], [])
    assert _apply(specs, fake.transport) == 0
    [carol] = fake.user_named("carol@example.com")
    assert fake.count("GET", f"/Users/{carol['id']}") == 2


# -- ids the apply itself finds by name, and ids the plan's changes name -------------------


def _after_first_write(lie: Lie) -> Lie:
    """`lie`, told only once the apply has written something (the plan's read is true)."""

    def told(fake: FakeScim, request: httpx2.Request) -> httpx2.Response | None:
        return lie(fake, request) if any(s.method != "GET" for s in fake.requests) else None

    return told


def _eng_is_admins(fake: FakeScim, request: httpx2.Request) -> httpx2.Response | None:
    if _filtered(request, "/Groups", "Eng"):
        admins = next(g for g in fake.groups if fake.groups[g]["displayName"] == "Admins")
        return _listed(_as(fake, admins, "groups", displayName="Eng"))
    return None


FOUND = {
    # name: (target settings, the lie, a fault): Eng is new; carol is new, or not
    "a group's look before its create": ({}, _after_first_write(_eng_is_admins), None),
    "a group's create answered with no id, then looked up": (
        {"quirks": {"listing": "none", "members_on_create": "never"}},
        _after_first_write(_eng_is_admins),
        "no-body",
    ),
}


@pytest.mark.parametrize("route", FOUND)
def test_an_object_found_by_name_during_apply_is_read_by_its_id_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], route: str
) -> None:
    target, lie, fault = FOUND[route]
    fake = FakeScim(token=TOKEN)
    admin = fake.add_user("admin@example.com", active=True)
    admins = fake.add_group("Admins", [admin])
    fake.create_without_body = fault == "no-body"
    users = [{"userName": "carol@example.com"}]
    groups = [{"displayName": "Eng", "members": ["carol@example.com"]}]
    specs = _specs(tmp_path, {"quirks": {"listing": "none"}, **target}, users, groups)

    code = _apply(specs, _lying(fake, lie))

    assert code == 1
    assert "group 'Eng' is displayName 'Admins'" in capsys.readouterr().out
    assert _writes_to(fake, f"/Groups/{admins}") == []
    assert fake.groups[admins]["members"] == [{"value": admin}]


def test_a_create_answered_409_never_adopts_the_object_a_lying_look_up_gives(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeScim(token=TOKEN)
    admin = fake.add_user("admin@example.com", active=True, title="Admin")

    posted: list[bool] = []

    def lie(fake: FakeScim, request: httpx2.Request) -> httpx2.Response | None:
        if request.method == "POST" and request.url.path.endswith("/Users"):
            posted.append(True)
            return httpx2.Response(409, json={"detail": "exists", "scimType": "uniqueness"})
        return _bob_is_admin(fake, request) if posted else None

    specs = _specs(tmp_path, LOOKUP, [{"userName": "bob@example.com", "title": "Intern"}], [])

    assert _apply(specs, _lying(fake, lie)) == 1
    assert "user 'bob@example.com' is userName 'admin@example.com'" in capsys.readouterr().out
    assert _writes_to(fake, f"/Users/{admin}") == []
    assert fake.users[admin]["title"] == "Admin"


def test_a_member_whose_id_a_lying_filter_gave_refuses_the_apply(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Nothing of carol changes, so no write reads her id; the group's add names it.
    fake = FakeScim(token=TOKEN)
    fake.add_user("carol@example.com", active=True)
    mallory = fake.add_user("mallory@example.com", active=True)
    eng = fake.add_group("Eng", [])

    def lie(fake: FakeScim, request: httpx2.Request) -> httpx2.Response | None:
        if _filtered(request, "/Users", "carol@example.com"):
            return _listed(_as(fake, mallory, "users", userName="carol@example.com"))
        return None

    users = [{"userName": "carol@example.com"}]
    groups = [{"displayName": "Eng", "members": ["carol@example.com"]}]
    specs = _specs(tmp_path, LOOKUP, users, groups)

    assert _apply(specs, _lying(fake, lie)) == 1
    err = capsys.readouterr().err
    assert f"read by its id ({mallory}), user 'carol@example.com' is userName" in err
    assert [s for s in fake.requests if s.method != "GET"] == []
    assert not fake.groups[eng].get("members")


def test_a_rename_in_lookup_mode_is_no_disagreement_for_the_writes_after_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The ids are read before the first write: a group this run renames, then fills, is
    # not taken for another by its new name.
    fake = FakeScim(token=TOKEN)
    fake.add_user("carol@example.com", active=True)
    eng = fake.add_group("Old Eng", [])
    users = [{"userName": "carol@example.com"}]
    groups = [{"displayName": "Eng", "previously": ["Old Eng"], "members": ["carol@example.com"]}]
    specs = _specs(tmp_path, {"quirks": {"listing": "none", "member_removal": "filter"}},
                   users, groups)  # fmt: skip

    assert _apply(specs, fake.transport) == 0, capsys.readouterr()
    assert fake.groups[eng]["displayName"] == "Eng"
    assert [m["value"] for m in fake.groups[eng]["members"]] == [
        fake.user_named("carol@example.com")[0]["id"]
    ]


def test_lookup_mode_sends_no_bulk_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A Bulk result's `location` is an id no listing vouches for, and nothing reads it
    # back before the members and managers that name it are written.
    fake = BulkScim(token=TOKEN)
    users = [{"userName": f"u{n}@example.com"} for n in range(12)]
    quirks = {"listing": "none", "bulk": "use"}
    specs = _specs(tmp_path, {"quirks": quirks}, users, [])

    explained = ["plan", specs, "--target", "t", "--explain", "--only", "user:u0@example.com"]
    assert main(explained, transport=fake.transport) == 0
    assert "Bulk" not in capsys.readouterr().out  # as apply decides it
    assert _apply(specs, fake.transport) == 0
    assert fake.count("POST", "/Bulk") == 0
    assert fake.count("POST", "/Users") == 12
