"""Fixtures: real SCIM servers on loopback, and a way to write spec trees for them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
import stamina
import yaml

from tests.servers.launch import Server, start_django_scim, start_scim2_server, wipe

TOKEN_ENV = "E2E_SCIM_TOKEN"


@dataclass
class Target:
    """One clean target for one test: the server's flavour, SCIM URL and token."""

    flavour: str
    url: str
    token: str

    def http(self) -> httpx2.Client:
        return httpx2.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=10
        )


@pytest.fixture(autouse=True)
def _fast_retries() -> Iterator[None]:
    # Retries back off for real in production; in tests only their count matters.
    stamina.set_testing(True, attempts=3)
    yield
    stamina.set_testing(False)


@pytest.fixture(scope="session")
def scim2_server() -> Iterator[Server]:
    server = start_scim2_server()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def django_scim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_django_scim(tmp_path_factory.mktemp("django") / "scim.sqlite3")
    yield server
    server.stop()


@pytest.fixture(params=["scim2-server", "django-scim2"])
def target(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Target:
    """A fresh, empty target on each real server; its token is in $E2E_SCIM_TOKEN."""
    if request.param == "scim2-server":
        server: Server = request.getfixturevalue("scim2_server")
        # A tenant per test: scim2-server keeps each tenant's resources apart.
        url = f"{server.url}/t{uuid.uuid4().hex[:12]}/v2"
    else:
        server = request.getfixturevalue("django_scim")
        url = server.url
        wipe(url, server.token)
    monkeypatch.setenv(TOKEN_ENV, server.token)
    return Target(request.param, url, server.token)


def write_spec(
    root: Path,
    target: Target,
    users: Sequence[Mapping[str, Any]],
    groups: Sequence[Mapping[str, Any]] | None = None,
    **settings: Any,
) -> Path:
    """Write a one-target spec tree for `target`; returns the directory."""
    root.mkdir(parents=True, exist_ok=True)
    doc = {
        "version": 1,
        "targets": {
            "e2e": {
                "url": target.url,
                "auth": {"type": "bearer", "token_env": TOKEN_ENV},
                **settings,
            }
        },
        "users": [dict(u) for u in users],
        "groups": [dict(g) for g in groups or []],
    }
    (root / "spec.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return root
