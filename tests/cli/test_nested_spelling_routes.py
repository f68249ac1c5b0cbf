"""Every route a name in another case takes into a decision, each through the CLI: a plan
of a target that spells a name another way in a later resource only is the plan of the
target spelled as the RFC does (RFC 7643 §2.1), and a name that is not one scimrec
reads, or cannot be told, is not read as one.

Each route was found reading a raw body before core/shape.py respelled it, or respelling
where it should not: member entries sorted as plain (scim/sharing.py), members checked
against a listing that hid a user (scim/members.py), lookup-mode filter answers
(scim/search.py), the enterprise extension's URN, a target's own extension."""

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
from reconciler.core.model import ENTERPRISE_URN
from tests.fakescim import BASE_URL, FakeScim

TOKEN_ENV = "NESTED_ROUTES_TOKEN"
TOKEN = "tok-nested-routes-0123456789"
Change = Callable[[dict[str, Any]], None]


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)


def _specs(root: Path, target: dict[str, Any], users: list[Any], groups: list[Any]) -> str:
    root.mkdir(parents=True, exist_ok=True)
    settings = {"url": BASE_URL, "auth": {"type": "bearer", "token_env": TOKEN_ENV}, **target}
    doc = {"version": 1, "targets": {"t": settings}, "users": users, "groups": groups}
    (root / "spec.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    return str(root)


def _later(fake: FakeScim, change: Change) -> httpx2.MockTransport:
    """The fake, with `change` made to every resource but the first of each listing."""

    def handle(request: httpx2.Request) -> httpx2.Response:
        response = fake.handle(request)
        body: dict[str, Any] = json.loads(response.content or b"{}")
        resources = body.get("Resources") if isinstance(body, dict) else None
        if not isinstance(resources, list) or len(resources) < 2:
            return response
        resources = copy.deepcopy(resources)
        for item in resources[1:]:
            change(item)
        return httpx2.Response(response.status_code, json={**body, "Resources": resources})

    return httpx2.MockTransport(handle)


def _plan(specs: str, transport: httpx2.MockTransport, capsys: pytest.CaptureFixture[str]) -> Any:
    code = main(["plan", specs, "--target", "t", "--format", "json"], transport=transport)
    out = capsys.readouterr().out
    plan = json.loads(out)
    plan.pop("generated_at", None)
    return code, plan


def _renamed(holder: str, old: str, new: str) -> Change:
    def change(item: dict[str, Any]) -> None:
        for entry in item.get(holder) or ():
            if isinstance(entry, dict) and old in entry:
                entry[new] = entry.pop(old)

    return change


def _nested_groups(tmp: Path) -> tuple[Callable[[], FakeScim], str]:
    # Users and groups numbered each from 1 (as django-scim2 does): nested group "1" and
    # user "1" share an id, so a member entry's `type` alone tells them apart.
    def build() -> FakeScim:
        fake = FakeScim(token=TOKEN)
        fake.ids_per_kind = True
        alice = fake.add_user("alice@example.com", active=True)
        bob = fake.add_user("bob@example.com", active=True)
        sub = fake.add_group("Sub", [alice])
        parent = fake.add_group("Parent", [bob])
        fake.groups[parent]["members"].append({"value": sub, "type": "Group"})
        return fake

    specs = _specs(
        tmp,
        {"nested_groups": "native", "prune": "all", "deprovision": "disable"},
        [{"userName": "alice@example.com"}, {"userName": "bob@example.com"}],
        [
            {"displayName": "Sub", "members": ["alice@example.com"]},
            {"displayName": "Parent", "members": ["bob@example.com"], "groups": ["Sub"]},
        ],
    )
    return build, specs


def _hidden_member(tmp: Path) -> tuple[Callable[[], FakeScim], str]:
    # The /Users listing hides hank; a group holds him, so he is read by id, not created.
    def build() -> FakeScim:
        fake = FakeScim(token=TOKEN)
        fake.unique_names = False
        for name in ("alice", "carol", "old-hank"):
            mail = name.removeprefix("old-")
            fake.add_user(f"{name}@example.com", active=True,
                          emails=[{"value": f"{mail}@corp.example", "primary": True}])  # fmt: skip
        ids = sorted(fake.users)
        fake.hidden = {ids[2]}
        fake.add_group("Admins", [ids[0]])
        fake.add_group("Eng", [ids[1], ids[2]])
        return fake

    users = [
        {
            "userName": f"{n}@example.com",
            "emails": [{"value": f"{n}@corp.example", "primary": True}],
        }
        for n in ("alice", "carol", "hank")
    ]
    groups = [
        {"displayName": "Admins", "members": ["alice@example.com"]},
        {"displayName": "Eng", "members": ["carol@example.com", "hank@example.com"]},
    ]
    target = {"matching": {"user": ["emails.value"]}, "prune": "all", "deprovision": "disable"}
    return build, _specs(tmp, target, users, groups)


TEAM = {"value": "team@corp.example", "type": "work", "primary": True}


def _lookup(tmp: Path) -> tuple[Callable[[], FakeScim], str]:
    # Lookup mode: the filter answers alice (a second address) and old-bob, in that order.
    def build() -> FakeScim:
        fake = FakeScim(token=TOKEN)
        own = {"value": "alice@corp.example", "primary": True}
        fake.add_user("alice@example.com", active=True, emails=[own, {**TEAM, "primary": False}])
        fake.add_user("old-bob@example.com", active=True, emails=[TEAM])
        return fake

    users = [{"userName": "bob@example.com", "emails": [TEAM]}]
    target = {"matching": {"user": ["emails.value"]}, "quirks": {"listing": "none"}}
    return build, _specs(tmp, target, users, [])


def _urn(tmp: Path) -> tuple[Callable[[], FakeScim], str]:
    def build() -> FakeScim:
        fake = FakeScim(token=TOKEN)
        fake.unique_names = False
        for i in range(3):
            fake.add_user(f"old-u{i}@example.com", active=True,
                          **{ENTERPRISE_URN: {"employeeNumber": str(100 + i)}})  # fmt: skip
        return fake

    users = [{"userName": f"u{i}@example.com", "enterprise": {"employeeNumber": str(100 + i)}}
             for i in range(3)]  # fmt: skip
    target = {"matching": {"user": ["enterprise.employeeNumber"]}, "prune": "all"}
    return build, _specs(tmp, target, users, [])


def _urn_in_lower_case(item: dict[str, Any]) -> None:
    if ENTERPRISE_URN in item:
        item[ENTERPRISE_URN.lower()] = item.pop(ENTERPRISE_URN)


ROUTES: list[tuple[str, Callable[[Path], tuple[Callable[[], FakeScim], str]], list[Change]]] = [
    (
        "member-type",
        _nested_groups,
        [_renamed("members", "type", "Type"), _renamed("members", "type", "TYPE")],
    ),
    ("hidden-member", _hidden_member, [_renamed("members", "value", "Value")]),
    ("lookup-answer", _lookup, [_renamed("emails", "value", "Value")]),
    ("enterprise-urn", _urn, [_urn_in_lower_case]),
]


@pytest.mark.parametrize(("what", "scenario", "changes"), ROUTES, ids=[r[0] for r in ROUTES])
def test_a_later_resource_in_another_case_is_planned_as_in_the_rfc_spelling(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    what: str,
    scenario: Callable[[Path], tuple[Callable[[], FakeScim], str]],
    changes: list[Change],
) -> None:
    build, specs = scenario(tmp_path / what)
    code, expected = _plan(specs, build().transport, capsys)
    assert code == 0 and not expected["errors"], expected
    assert expected["summary"]["create"] == 0, expected
    for change in changes:
        assert _plan(specs, _later(build(), change), capsys) == (code, expected)


def test_a_name_of_the_targets_own_extension_is_never_respelled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `Location` in an extension of the target's own is its own name, not meta's
    # `location`: respelled, it read as absent and was written again on every run.
    custom = "urn:example:params:scim:schemas:extension:acme:2.0:User"
    fake = FakeScim(token=TOKEN)
    for i in range(3):
        fake.add_user(f"u{i}@example.com", active=True, **{custom: {"Location": "Berlin"}},
                      emails=[{"value": f"u{i}@corp.example", "verified": "true"}])  # fmt: skip
    users = [{"userName": f"u{i}@example.com", "acme": {"Location": "Berlin"}} for i in range(3)]
    specs = _specs(tmp_path / "s", {"extensions": {"acme": custom}}, users, [])
    code, plan = _plan(specs, fake.transport, capsys)
    assert code == 0 and plan["summary"]["update"] == 0 and not plan["errors"], plan


def test_a_name_that_folds_onto_an_rfc_name_outside_ascii_is_not_read_as_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `str.casefold` reads a long s as `s`: `emails` with one, a free-form attribute,
    # matched dave's address and renamed mallory's account to dave.
    fake = FakeScim(token=TOKEN)
    fake.add_user("mallory@example.com", active=True,
                  **{"email\u017f": [{"value": "dave@corp.example"}]})  # fmt: skip
    users = [{"userName": "dave@example.com", "emails": [{"value": "dave@corp.example"}]}]
    specs = _specs(tmp_path / "s", {"matching": {"user": ["emails.value"]}}, users, [])
    code, plan = _plan(specs, fake.transport, capsys)
    assert code == 0
    assert [(c["action"], c["key"]) for c in plan["changes"]] == [("create", "dave@example.com")]


def test_a_name_in_two_other_spellings_puts_the_object_in_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Which of `Value` and `VALUE` the target meant cannot be told: read as either, the
    # wrong guess disabled the account; the object is in error instead, and not pruned.
    fake = FakeScim(token=TOKEN)
    fake.add_user("old-u0@example.com", active=True, emails=[{"value": "u0@corp.example"}])
    fake.add_user("old-u1@example.com", active=True,
                  emails=[{"Value": "u1@corp.example", "VALUE": "u9@corp.example"}])  # fmt: skip
    users = [{"userName": f"u{i}@example.com", "emails": [{"value": f"u{i}@corp.example"}]}
             for i in range(2)]  # fmt: skip
    target = {"matching": {"user": ["emails.value"]}, "prune": "all", "deprovision": "disable"}
    specs = _specs(tmp_path / "s", target, users, [])
    code, plan = _plan(specs, fake.transport, capsys)
    assert code == 1
    assert [e["message"] for e in plan["errors"]] == [
        "the target's user u2 cannot be read: emails[0].VALUE: a name scimrec reads, in a "
        "spelling other than the RFC's (or in two)"
    ]
    assert all(c["action"] not in ("disable", "delete") for c in plan["changes"]), plan


def _twice(fake: FakeScim, name: str, which: str) -> httpx2.MockTransport:
    """The fake, with `name` of the resource named `which` held as two other spellings,
    in every answer."""

    def handle(request: httpx2.Request) -> httpx2.Response:
        response = fake.handle(request)
        body: dict[str, Any] = json.loads(response.content or b"{}")
        for item in body.get("Resources") or [body]:
            if isinstance(item, dict) and which in (item.get("displayName"), item.get("userName")):
                held = item.pop(name)
                item[name[0].upper() + name[1:]], item[name.upper()] = held, copy.deepcopy(held)
        return httpx2.Response(response.status_code, json=body)

    return httpx2.MockTransport(handle)


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_a_resource_name_held_in_two_other_spellings_stops_the_run_and_deletes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    # Read as neither, BreakGlass's `Members` and `MEMBERS` looked like no members: the
    # group holding the protected admin was deleted as an empty undeclared group.
    fake = FakeScim(token=TOKEN)
    admin = fake.add_user("admin@example.com", active=True)
    bob = fake.add_user("bob@example.com", active=True)
    fake.add_group("Eng", [bob])
    fake.add_group("BreakGlass", [admin])
    target = {"prune": "all", "deprovision": "disable", "protected": ["admin@example.com"]}
    users = [{"userName": "admin@example.com"}, {"userName": "bob@example.com"}]
    specs = _specs(
        tmp_path / "s", target, users, [{"displayName": "Eng", "members": ["bob@example.com"]}]
    )
    args = [command, specs, "--target", "t", *(["--auto-approve"] if command == "apply" else [])]
    code = main(args, transport=_twice(fake, "members", "BreakGlass"))
    out, err = capsys.readouterr()
    assert code == 1 and "delete" not in out
    assert "holds 'MEMBERS' and another spelling of it" in err, err
    assert sorted(g["displayName"] for g in fake.groups.values()) == ["BreakGlass", "Eng"]
    assert fake.count("DELETE") == 0 and fake.count("PATCH") == 0


def test_a_schemas_attribute_names_are_read_in_any_case(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # /Schemas read by exact names: `Name` made every declared extension attribute look
    # unknown to the target, and the plan refused to run.
    custom = "urn:example:params:scim:schemas:extension:acme:2.0:User"
    fake = FakeScim(token=TOKEN)
    fake.add_user("alice@example.com", active=True, **{custom: {"badge": "7"}})
    listing = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 1,
        "Resources": [{"id": custom, "Name": "Acme", "Attributes": [{"Name": "badge"}]}],
    }

    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("/Schemas"):
            return httpx2.Response(200, json=listing)
        return fake.handle(request)

    users = [{"userName": "alice@example.com", "acme": {"badge": "7"}}]
    specs = _specs(tmp_path / "s", {"extensions": {"acme": custom}}, users, [])
    code, plan = _plan(specs, httpx2.MockTransport(handle), capsys)
    assert code == 0 and plan["summary"]["update"] == 0 and not plan["errors"], plan


def test_one_account_on_two_overlapping_pages_is_one_whatever_its_spelling(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A user created while the listing is read moves every later one a place on: page 2
    # shows the last user of page 1 again, first on its page (respelled with the page),
    # where page 1 showed it later (spelled `Value`). Compared as sent, the two copies of
    # one account differed, and the account was in error.
    fake = FakeScim(token=TOKEN)
    for i in range(6):
        fake.add_user(f"u{i}@example.com", active=True,
                      emails=[{"value": f"u{i}@corp.example", "primary": True}])  # fmt: skip
    rename = _renamed("emails", "value", "Value")

    def handle(request: httpx2.Request) -> httpx2.Response:
        start = int(request.url.params.get("startIndex", 1))
        if request.url.params.get("count") == "3" and start > 1:  # the plan's pages only
            moved = request.url.copy_set_param("startIndex", str(start - 1))
            request = httpx2.Request("GET", moved, headers=request.headers)
        return _later(fake, rename).handle_request(request)

    users = [
        {
            "userName": f"u{i}@example.com",
            "emails": [{"value": f"u{i}@corp.example", "primary": True}],
        }
        for i in range(6)
    ]
    target = {"page_size": 3, "prune": "all", "matching": {"user": ["emails.value"]}}
    specs = _specs(tmp_path / "s", target, users, [])
    code, plan = _plan(specs, httpx2.MockTransport(handle), capsys)
    assert code == 0 and plan["summary"] == {**plan["summary"], "noop": 6}, plan
    assert not plan["errors"] and not plan["changes"]
