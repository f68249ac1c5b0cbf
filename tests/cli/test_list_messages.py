"""A listing is read as a ListResponse or refused, never read as "nothing there".

RFC 7643 §2.1 makes attribute names case-insensitive: a target may answer with
`resources` and `totalresults`. Read by their exact names only, that listing held no
resources, every declared user and group looked missing, and apply created each one a
second time beside the one the target held. A 200 whose body is no ListResponse at all
(`{}`, another API's `items`) was read the same way, and so was a SCIM error sent with
200, which now stands for the error it states.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest
import yaml

from reconciler.cli import main
from tests.fakescim import BASE_URL, FakeScim

TOKEN_ENV = "LIST_MESSAGE_TOKEN"
TOKEN = "tok-list-message-0123456789"
Rewrite = Callable[[dict[str, Any]], dict[str, Any]]


def _seeded() -> FakeScim:
    fake = FakeScim(token=TOKEN)
    fake.unique_names = False  # a target that would take a duplicate
    alice = fake.add_user("alice@example.com", active=True)
    fake.add_user("bob@example.com", active=True)
    fake.add_group("Eng", [alice])
    return fake


def _rewriting(fake: FakeScim, rewrite: Rewrite) -> httpx2.MockTransport:
    """The fake, with every ListResponse it sends passed through `rewrite`."""

    def handle(request: httpx2.Request) -> httpx2.Response:
        response = fake.handle(request)
        body = json.loads(response.content) if response.content else None
        if not isinstance(body, dict) or "Resources" not in body:
            return response
        return httpx2.Response(response.status_code, json=rewrite(body))

    return httpx2.MockTransport(handle)


def _specs(root: Path, **target: Any) -> str:
    root.mkdir(parents=True, exist_ok=True)
    settings = {"url": BASE_URL, "auth": {"type": "bearer", "token_env": TOKEN_ENV}, **target}
    users = [
        {"userName": "alice@example.com", "title": "Staff"},
        {"userName": "bob@example.com"},
    ]
    groups = [{"displayName": "Eng", "members": ["alice@example.com", "bob@example.com"]}]
    doc = {"version": 1, "targets": {"t": settings}, "users": users, "groups": groups}
    (root / "spec.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    return str(root)


def _respelled(spelling: dict[str, str]) -> Rewrite:
    return lambda body: {spelling.get(k, k): v for k, v in body.items()}


SPELLINGS = [
    {"Resources": "resources", "totalResults": "totalresults"},
    {"Resources": "RESOURCES", "totalResults": "TotalResults", "itemsPerPage": "ItemsPerPage"},
    {"Resources": "resources"},
]


@pytest.mark.parametrize("spelling", SPELLINGS)
@pytest.mark.parametrize("cursor", [False, True])
def test_a_listing_in_other_cases_is_read_and_nothing_is_created_twice(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    spelling: dict[str, str],
    cursor: bool,
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    fake = _seeded()
    if cursor:
        fake.paging(cursor=True, index=False, max_page=1)  # one user a page: nextCursor
        spelling = {**spelling, "nextCursor": "nextcursor"}
    transport = _rewriting(fake, _respelled(spelling))
    specs = _specs(tmp_path / "specs", prune="all")
    code = main(
        ["apply", specs, "--target", "t", "--auto-approve", "--log-level", "error"],
        transport=transport,
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "to create" in out and "Plan: 0 to create, 2 to update" in out
    assert sorted(u["userName"] for u in fake.users.values()) == [
        "alice@example.com",
        "bob@example.com",
    ]
    assert [g["displayName"] for g in fake.groups.values()] == ["Eng"]
    assert fake.count("POST") == 0 and fake.count("DELETE") == 0


NOT_LISTINGS: list[tuple[str, Rewrite]] = [
    ("an empty object", lambda body: {}),
    ("another API's items", lambda body: {"items": body["Resources"]}),
    (
        "a ListResponse holding them elsewhere",
        lambda body: {"schemas": body["schemas"], "data": body["Resources"]},
    ),
]


@pytest.mark.parametrize(("what", "rewrite"), NOT_LISTINGS, ids=[w for w, _ in NOT_LISTINGS])
@pytest.mark.parametrize("command", ["plan", "apply"])
def test_a_listing_that_is_no_list_response_ends_the_run_on_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    what: str,
    rewrite: Rewrite,
    command: str,
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    fake = _seeded()
    extra = ["--auto-approve"] if command == "apply" else []
    code = main(
        [command, _specs(tmp_path / "specs"), "--target", "t", *extra, "--log-level", "error"],
        transport=_rewriting(fake, rewrite),
    )
    err = capsys.readouterr().err
    assert code == 1, err
    assert "did not answer a ListResponse" in err and "Internal error" not in err
    assert [s.method for s in fake.requests if s.method != "GET"] == []


def test_a_listing_with_resources_in_two_cases_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Which of the two the target meant cannot be told: the run stops, nothing written.
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    fake = _seeded()
    transport = _rewriting(fake, lambda body: {**body, "resources": []})
    code = main(
        ["apply", _specs(tmp_path / "specs"), "--target", "t", "--auto-approve"],
        transport=transport,
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "answered with both 'Resources' and 'resources'" in err
    assert [s.method for s in fake.requests if s.method != "GET"] == []


def test_an_empty_list_response_without_resources_is_an_empty_listing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # RFC 7644 §3.4.2: Resources is required only when totalResults is not zero.
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    fake = FakeScim(token=TOKEN)

    def bare(body: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in body.items() if k != "Resources" or v}

    code = main(
        ["apply", _specs(tmp_path / "specs"), "--target", "t", "--auto-approve"],
        transport=_rewriting(fake, bare),
    )
    assert code == 0, capsys.readouterr().err
    assert sorted(u["userName"] for u in fake.users.values()) == [
        "alice@example.com",
        "bob@example.com",
    ]


def _pascal(value: Any) -> Any:
    """Every attribute name as a .NET serializer writes it: `UserName`, `Members`, `Id`
    (schema URNs and `$ref` as they are)."""
    if isinstance(value, list):
        return [_pascal(item) for item in value]
    if not isinstance(value, dict):
        return value
    return {
        (k if k.startswith(("urn:", "$")) or k == "schemas" else k[:1].upper() + k[1:]): (
            _pascal(v)
        )
        for k, v in value.items()
    }


def _pascal_target(fake: FakeScim) -> httpx2.MockTransport:
    def handle(request: httpx2.Request) -> httpx2.Response:
        response = fake.handle(request)
        if not response.content or request.url.path.endswith("/ServiceProviderConfig"):
            return response
        return httpx2.Response(response.status_code, json=_pascal(json.loads(response.content)))

    return httpx2.MockTransport(handle)


def test_a_target_that_writes_every_name_in_another_case_gets_no_duplicates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: no user had a userName, no group a displayName, no resource an id; each
    # apply created alice, bob and Eng once more beside the ones the target held.
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    fake = _seeded()
    specs = _specs(tmp_path / "specs", prune="all")
    for _ in range(2):
        code = main(
            ["apply", specs, "--target", "t", "--auto-approve", "--log-level", "error"],
            transport=_pascal_target(fake),
        )
        assert code == 0, capsys.readouterr().err
    assert fake.count("POST") == 0 and fake.count("DELETE") == 0
    assert sorted(u["userName"] for u in fake.users.values()) == [
        "alice@example.com",
        "bob@example.com",
    ]
    [eng] = fake.groups.values()
    assert sorted(m["value"] for m in eng["members"]) == sorted(fake.users)
    assert [u.get("title") for u in fake.users.values()] == ["Staff", None]
    capsys.readouterr()
    code = main(
        ["plan", specs, "--target", "t", "--detailed-exitcode"], transport=_pascal_target(fake)
    )
    assert code == 0, capsys.readouterr().out


def test_a_name_held_in_two_cases_within_a_resource_is_read_in_its_own_spelling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    fake = _seeded()
    for user in fake.users.values():
        user["UserName"] = "someone-else@example.com"
    code = main(
        ["plan", _specs(tmp_path / "specs"), "--target", "t", "--format", "json"],
        transport=fake.transport,
    )
    assert code == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["summary"]["create"] == 0


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_a_scim_error_sent_with_200_for_a_listing_is_that_error(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    fake = _seeded()
    error = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": "400",
        "scimType": "tooMany",
        "detail": "too many users to list",
    }
    extra = ["--auto-approve"] if command == "apply" else []
    code = main(
        [command, _specs(tmp_path / "specs"), "--target", "t", *extra, "--log-level", "error"],
        transport=_rewriting(fake, lambda body: error),
    )
    err = capsys.readouterr().err
    assert code == 1, err
    # Refused as a 400 is: neither the listing nor a filter can be read there.
    assert "the /Users listing is refused (400)" in err
    assert "Internal error" not in err
    assert [s.method for s in fake.requests if s.method != "GET"] == []
