"""A member removal the target answers success for and does not make is never reported as
done: the group is read after it (scim/apply/members_removed.py `still_held`). A target that
does not parse `members[value eq "x"]` (RFC 7644 §3.5.2.2) and answers success fails the
group, naming the member whose access stays and `quirks: {member_removal: value}`: never
sent the value-list form unasked, which a target that reads it as "remove all" (or a
read that lags) would turn into an emptied group."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest
import yaml

from reconciler.cli import main
from tests.fakescim import BASE_URL, FakeScim, json_response

TOKEN_ENV = "REMOVAL_KEPT_TOKEN"
TOKEN = "tok-removal-kept-0123456789"


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)


def _ignoring(fake: FakeScim, forms: set[str], status: int) -> httpx2.MockTransport:
    """The fake, answering `status` to a removal in one of `forms` ("filter": a path with
    a filter; "value": a value list) without making it; a 200 shows the group as it is."""

    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.method == "PATCH" and "/Groups/" in request.url.path:
            ops = json.loads(request.content).get("Operations", [])
            removes = [op for op in ops if op.get("op", "").lower() == "remove"]
            form = {"filter" if "[" in str(op.get("path")) else "value" for op in removes}
            if removes and form <= forms:
                group = fake.groups[request.url.path.rpartition("/")[2]]
                return json_response(200, group) if status == 200 else httpx2.Response(204)
        return fake.handle(request)

    return httpx2.MockTransport(handle)


def _setup(tmp_path: Path, quirks: dict[str, Any]) -> tuple[FakeScim, str, str, str]:
    fake = FakeScim(token=TOKEN)
    alice = fake.add_user("alice@example.com", active=True)
    bob = fake.add_user("bob@example.com", active=True)
    eng = fake.add_group("Eng", [alice, bob])
    target = {"url": BASE_URL, "auth": {"type": "bearer", "token_env": TOKEN_ENV},
              "quirks": quirks}  # fmt: skip
    doc = {
        "version": 1,
        "targets": {"t": target},
        "users": [{"userName": "alice@example.com"}, {"userName": "bob@example.com"}],
        "groups": [{"displayName": "Eng", "members": ["alice@example.com"]}],
    }
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    return fake, str(tmp_path), eng, bob


def _members(fake: FakeScim, gid: str) -> list[str]:
    return sorted(m["value"] for m in fake.groups[gid].get("members") or [])


@pytest.mark.parametrize("status", [200, 204])
def test_a_filter_path_removal_answered_success_and_ignored_fails_and_names_the_way_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], status: int
) -> None:
    # Never sent again as a value list unasked: a lagging read looks the same, and a
    # target that reads a value list as "remove all" would lose every member.
    fake, specs, eng, bob = _setup(tmp_path, {})
    transport = _ignoring(fake, {"filter"}, status)

    code = main(["apply", specs, "--target", "t", "--auto-approve"], transport=transport)

    out = capsys.readouterr().out
    assert code == 1
    assert bob in _members(fake, eng)
    assert "may take quirks: {member_removal: value})" in out
    assert not [s for s in fake.requests if s.method == "PATCH" and "[" not in str(s.body)]
    # The way out it names works: the value list removes bob, and the next plan is clean.
    fake2, specs2, eng2, bob2 = _setup(tmp_path / "again", {"member_removal": "value"})
    transport = _ignoring(fake2, {"filter"}, status)
    assert main(["apply", specs2, "--target", "t", "--auto-approve"], transport=transport) == 0
    assert bob2 not in _members(fake2, eng2)
    capsys.readouterr()
    assert main(["plan", specs2, "--target", "t"], transport=fake2.transport) == 0
    assert "No changes." in capsys.readouterr().out


@pytest.mark.parametrize(
    ("quirks", "forms"),
    [
        ({}, {"filter", "value"}),
        ({"member_removal": "filter"}, {"filter"}),
        ({"member_removal": "value"}, {"value"}),
    ],
    ids=["both-forms-ignored", "filter-fixed", "value-fixed"],
)
@pytest.mark.parametrize("status", [200, 204])
def test_a_removal_the_target_keeps_fails_the_group_and_names_the_member(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    quirks: dict[str, Any],
    forms: set[str],
    status: int,
) -> None:
    fake, specs, eng, bob = _setup(tmp_path, quirks)

    code = main(["apply", specs, "--target", "t", "--auto-approve"],
                transport=_ignoring(fake, forms, status))  # fmt: skip

    out = capsys.readouterr().out
    assert code == 1
    assert bob in _members(fake, eng)
    [failed] = [line for line in out.splitlines() if line.startswith("Failed:")]
    assert failed.startswith("Failed: group Eng: PATCH /Groups/")
    assert "still shows member bob@example.com it removed: not removed" in failed
    assert "Apply finished with failures" in out
