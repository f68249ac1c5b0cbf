"""A ListResponse whose `Resources` is no list ends a run on one line, never exit 3.

`Resources: 5` (or true, a string, an object) is legal JSON. Read as "no resources", it
would prove objects absent (and a create would follow a search that found "nothing"); it
once made test_connection iterate a number (TypeError, exit 3). Every reader of a listing
now takes its Resources through paging.listed: a one-line protocol error, except where a
listing is only advisory (/Schemas, whose check is skipped with a warning).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest
import yaml

from reconciler.cli import main
from tests.fakescim import BASE_URL, FakeScim

TOKEN_ENV = "HOSTILE_LISTING_TOKEN"
TOKEN = "tok-hostile-listing-0123456789"
EXTENSION = "urn:example:params:scim:schemas:extension:acme:2.0:User"
RESOURCES = ["5", "true", "1e400", '"zz"', '{"id": "zz"}']


def _serving(resources: str, where: str) -> httpx2.MockTransport:
    """A target whose listings of `where` (an endpoint) answer with `resources`."""
    fake = FakeScim(token=TOKEN)
    fake.add_user("alice@example.com", active=True)
    fake.add_user("bob@example.com", active=True)

    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.method == "GET" and request.url.path.endswith(where):
            text = json.dumps({"schemas": [], "totalResults": 1})[:-1]
            text += f', "Resources": {resources}}}'
            headers = {"Content-Type": "application/json"}
            return httpx2.Response(200, content=text.encode(), headers=headers)
        return fake.handle(request)

    return httpx2.MockTransport(handle)


def _specs(root: Path, **target: Any) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    settings = {"url": BASE_URL, "auth": {"type": "bearer", "token_env": TOKEN_ENV}, **target}
    users = [{"userName": "alice@example.com", "acme": {"costCode": "1"}}]
    doc = {"version": 1, "targets": {"t": settings}, "users": users}
    (root / "spec.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    return root


def _run(
    transport: httpx2.BaseTransport, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str]:
    code = main([*args, "--log-level", "error"], transport=transport)
    err = capsys.readouterr().err
    assert "Internal error" not in err, err
    return code, err


@pytest.mark.parametrize("resources", RESOURCES)
@pytest.mark.parametrize("command", ["plan", "apply", "doctor"])
def test_a_user_listing_whose_resources_are_no_list_is_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    resources: str,
    command: str,
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    specs = _specs(tmp_path / "specs", extensions={"acme": EXTENSION})
    extra = ["--auto-approve"] if command == "apply" else []
    code, err = _run(
        _serving(resources, "/Users"), capsys, command, str(specs), "--target", "t", *extra
    )
    if command == "doctor":
        assert code in (0, 1)
    else:
        assert code == 1
        assert "GET /Users: Resources is not a list" in err


@pytest.mark.parametrize("resources", RESOURCES)
def test_a_schemas_listing_whose_resources_are_no_list_skips_the_check(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    resources: str,
) -> None:
    # /Schemas only lets a plan check declared extension attributes early: not fatal.
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    specs = _specs(tmp_path / "specs", extensions={"acme": EXTENSION})
    code, _ = _run(_serving(resources, "/Schemas"), capsys, "plan", str(specs), "--target", "t")
    assert code in (0, 2)
