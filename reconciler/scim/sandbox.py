"""A local SCIM 2.0 target to try scimrec on, built on the scim2-server package."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

PREFIX = "/scim"  # scim2-server serves /v2/...; the sandbox answers on /scim/v2/...
# The optional `scimrec[sandbox]` extra: scim2-server and what it is built on.
STACK = frozenset({"scim2_server", "scim2_models", "scim2_filter_parser", "pydantic", "lark"})
INSTALL_HINT = "pip install 'scimrec[sandbox]'"


def missing_stack(exc: ModuleNotFoundError) -> bool:
    """Whether an import failed because the sandbox extra is not installed."""
    return (exc.name or "").split(".")[0] in STACK


WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Requests are not logged: the sandbox's output is the URL it serves."""


def make_app(token: str | None) -> WSGIApp:
    """scim2-server WSGI applications with every RFC 7643 default, mounted under /scim.

    More targets can share one sandbox: /apps/NAME/scim/v2 is another, separate store.
    """
    from scim2_models import ScimProvider
    from scim2_server.memory import InMemoryStorage
    from scim2_server.service import ScimService
    from scim2_server.testserver.application import BEARER_TOKEN_SCHEME, BearerTokenApplication
    from scim2_server.utils import (
        load_default_resource_types,
        load_default_schemas,
        load_default_service_provider_config,
    )

    config = load_default_service_provider_config()
    if token:
        config.authentication_schemes = [
            *(config.authentication_schemes or []),
            BEARER_TOKEN_SCHEME,
        ]
    provider = ScimProvider.from_discovery(
        load_default_schemas().values(), load_default_resource_types().values(), config=config
    )
    service = ScimService(provider, secret=secrets.token_urlsafe(32))
    apps: dict[str, WSGIApp] = {}
    lock = threading.Lock()

    def store(prefix: str) -> WSGIApp:
        """Each prefix (/scim, or /apps/NAME/scim) is a separate in-memory target."""
        with lock:
            if prefix not in apps:
                apps[prefix] = BearerTokenApplication(
                    InMemoryStorage(),
                    provider,
                    service=service,
                    bearer_tokens=[token] if token else [],
                )
            return apps[prefix]

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        prefix = _prefix(path)
        if prefix is None:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found: the SCIM API is under /scim/v2 (or /apps/NAME/scim/v2)\n"]
        environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + prefix
        environ["PATH_INFO"] = path[len(prefix) :]
        return store(prefix)(environ, start_response)

    return app


def _prefix(path: str) -> str | None:
    """`/scim` for the main target; `/apps/NAME/scim` for more targets on one sandbox."""
    if path.startswith(PREFIX + "/"):
        return PREFIX
    parts = path.split("/")
    if len(parts) > 4 and parts[1] == "apps" and parts[2] and parts[3] == "scim":
        return f"/apps/{parts[2]}/scim"
    return None


class Sandbox:
    """A running sandbox server; `url` is its SCIM base URL."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, token: str | None = None) -> None:
        self._server = make_server(
            host, port, make_app(token), server_class=_Server, handler_class=_QuietHandler
        )
        self.url = f"http://{host}:{self._server.server_port}{PREFIX}/v2"
        self._thread: threading.Thread | None = None

    def start(self) -> Sandbox:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
