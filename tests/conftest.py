"""Fixtures: real SCIM servers on loopback, and a way to write spec trees for them."""

from __future__ import annotations

import signal
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
import stamina
import yaml

from reconciler.scim.redact import forget_secrets
from reconciler.scim.sandbox import Sandbox
from tests.servers.better_auth_scim.launch import Spares
from tests.servers.canaille.launch import Canaille, start_canaille
from tests.servers.launch import Server, start_django_scim, start_scim2_server, wipe
from tests.servers.scimmy.launch import start_scimmy

TOKEN_ENV = "E2E_SCIM_TOKEN"
SANDBOX_TOKEN = "sandbox-test-token"
# Fixtures that start a SCIM server. A test that uses one, directly or through another
# fixture, lives in tests/e2e/ and carries the e2e marker; no other test does (see
# pytest_collection_modifyitems, and tests/test_layout.py for servers started by hand).
SERVER_FIXTURES = frozenset(
    {
        "target",
        "scim2_server",
        "scim2_cursor_server",
        "django_scim",
        "better_auth_scim",
        "scimmy",
        "canaille",
        "sandbox",
        "tls_sandbox",
        "acme_server",
        "lifecycle_server",
        "terminal_specs",
    }
)
E2E = Path(__file__).resolve().parent / "e2e"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the tests under tests/e2e/ as e2e, and refuse any test on the wrong side."""
    wrong: list[str] = []
    for item in items:
        in_e2e = E2E in Path(str(item.fspath)).resolve().parents
        starts = bool(SERVER_FIXTURES & set(getattr(item, "fixturenames", ())))
        if in_e2e:
            item.add_marker(pytest.mark.e2e)
        if in_e2e != starts:
            where = "outside tests/e2e/" if starts else "in tests/e2e/ without a server"
            wrong.append(f"{item.nodeid} ({where})")
    if wrong:
        raise pytest.UsageError(
            "tests that start a SCIM server belong in tests/e2e/, and only they: "
            + ", ".join(wrong)
        )


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


@pytest.fixture
def ctrl_c_raises() -> Iterator[None]:
    """Ctrl-C (SIGINT) raises KeyboardInterrupt in the main thread, as in a terminal, for
    the test's duration: a runner may handle SIGINT itself (mutmut's stats run does)."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


@pytest.fixture(autouse=True)
def _fast_retries(request: pytest.FixtureRequest) -> Iterator[None]:
    # Retries back off for real in production, and against the real servers, where a
    # briefly overloaded target must be waited for, as users see it; against fakes only
    # their count matters.
    if request.node.get_closest_marker("e2e") is not None:
        yield
        return
    stamina.set_testing(True, attempts=3)
    yield
    stamina.set_testing(False)


@pytest.fixture(autouse=True, scope="session")
def _spec_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    # The spec cache (reconciler/spec/cache.py) lives in the user's cache directory; the
    # tests keep theirs apart, so they neither read nor leave entries there.
    patch = pytest.MonkeyPatch()
    patch.setenv("SCIMREC_CACHE_DIR", str(tmp_path_factory.mktemp("spec-cache")))
    yield
    patch.undo()


@pytest.fixture(autouse=True)
def _forget_secrets() -> Iterator[None]:
    # Secrets are registered process-wide as a run reads them; each test is its own run.
    yield
    forget_secrets()


@pytest.fixture(scope="session")
def scim2_server() -> Iterator[Server]:
    server = start_scim2_server()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def scim2_cursor_server() -> Iterator[Server]:
    """scim2-server paging by RFC 9865 cursors only (startIndex is answered 501)."""
    config = (
        Path(__file__).resolve().parent / "servers" / "scim2_cursor" / "ServiceProviderConfig.json"
    )
    server = start_scim2_server("--service-provider-config", str(config))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def django_scim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_django_scim(tmp_path_factory.mktemp("django") / "scim.sqlite3")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _better_auth_spares() -> Iterator[Spares]:
    spares = Spares()
    yield spares
    spares.stop()


@pytest.fixture
def better_auth_scim(_better_auth_spares: Spares) -> Iterator[Server]:
    """Better Auth's SCIM plugin on Node.js, a fresh (empty) server per test.

    A deleted SCIM user's email stays taken there (QUIRKS.md §4), so wiping is not enough.
    tests/servers/better_auth_scim/install.sh must have run (make test runs it).
    """
    server = _better_auth_spares.take()
    yield server
    _better_auth_spares.give_back(server)


@pytest.fixture(scope="session", params=[5, 4], ids=["express5", "express4"])
def _scimmy_server(request: pytest.FixtureRequest) -> Iterator[Server]:
    server = start_scimmy(request.param)
    yield server
    server.stop()


@pytest.fixture
def scimmy(_scimmy_server: Server, monkeypatch: pytest.MonkeyPatch) -> Target:
    """SCIMMY on Node.js, on Express 5 and on Express 4, emptied for each test; its token is
    in $E2E_SCIM_TOKEN. tests/servers/scimmy/install.sh must have run (make test runs it).
    """
    wipe(_scimmy_server.url, _scimmy_server.token)
    monkeypatch.setenv(TOKEN_ENV, _scimmy_server.token)
    return Target(_scimmy_server.name, _scimmy_server.url, _scimmy_server.token)


@pytest.fixture
def canaille() -> Iterator[Canaille]:
    """Canaille, an identity server with its own SCIM endpoints and OAuth2 server, fresh
    (empty) per test. tests/servers/canaille/install.sh must have run (make test runs it)."""
    running = start_canaille()
    yield running
    running.server.stop()


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    """scimrec's own sandbox target, started fresh; its token is in $SANDBOX_SCIM_TOKEN."""
    monkeypatch.setenv("SANDBOX_SCIM_TOKEN", SANDBOX_TOKEN)
    server = Sandbox(port=0, token=SANDBOX_TOKEN).start()
    yield server
    server.stop()


# The real servers every end-to-end scenario runs on, and the fixture that starts each.
SERVERS = {
    "scim2-server": "scim2_server",
    "django-scim2": "django_scim",
    "better-auth-scim": "better_auth_scim",
}


@pytest.fixture(params=list(SERVERS))
def target(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Target:
    """A fresh, empty target on each real server; its token is in $E2E_SCIM_TOKEN."""
    server: Server = request.getfixturevalue(SERVERS[request.param])
    if request.param == "scim2-server":
        # A tenant per test: scim2-server keeps each tenant's resources apart.
        url = f"{server.url}/t{uuid.uuid4().hex[:12]}/v2"
    elif request.param == "better-auth-scim":
        url = server.url  # a fresh server per test
    else:
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
