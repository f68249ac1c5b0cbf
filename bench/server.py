"""The benchmark's SCIM target: scim2-server's in-memory store, seeded directly, in its own process.

Run as `python bench/server.py --users N --groups G --fill matching|empty [--http wsgiref|cheroot]`;
it prints one JSON line ({"url", "seed_s", "http"}) once it serves, and stops when its
stdin closes, so a crashed benchmark never leaves a server behind. `GET /_bench/stats`
answers the server's own request count and CPU seconds, so a run can tell where time went.
"""

from __future__ import annotations

import argparse
import gc
import json
import secrets
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import dataset

PREFIX = "/scim"  # the same mount point as scimrec's sandbox (reconciler/sandbox.py)
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def build(token: str) -> tuple[Any, Any, Any]:
    """The scim2-server application, its storage and its provider (as reconciler.sandbox does,
    but keeping a handle on the storage so it can be seeded without HTTP)."""
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
    config.authentication_schemes = [*(config.authentication_schemes or []), BEARER_TOKEN_SCHEME]
    provider = ScimProvider.from_discovery(
        load_default_schemas().values(), load_default_resource_types().values(), config=config
    )
    service = ScimService(provider, secret=secrets.token_urlsafe(32))
    storage = InMemoryStorage()
    app = BearerTokenApplication(storage, provider, service=service, bearer_tokens=[token])
    return app, storage, provider


def seed(storage: Any, provider: Any, sizes: dataset.Sizes) -> None:
    """Insert users and groups straight into the store, ids and meta included.

    The models are validated by the server's own classes, so what the server answers is
    what it would answer after the same objects had been POSTed.
    """
    from scim2_models import Meta

    with provider:
        types = {rt.name: rt for rt in provider.resource_types}
        user_model = provider.model_for(types["User"])
        group_model = provider.model_for(types["Group"])
        now = time.time()
        import datetime

        stamp = datetime.datetime.fromtimestamp(now, datetime.UTC)
        resources: list[Any] = []
        for i in range(sizes.users):
            user = user_model.model_validate(dataset.scim_user(i))
            user.meta = Meta(
                resource_type="User", created=stamp, last_modified=stamp, version='W/"1"'
            )
            resources.append(user)
        for j, member_indexes in enumerate(dataset.members(sizes)):
            group = group_model.model_validate(dataset.scim_group(j, member_indexes))
            group.meta = Meta(
                resource_type="Group", created=stamp, last_modified=stamp, version='W/"1"'
            )
            resources.append(group)
        storage.resources = resources


class _Threaded(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No access log: the benchmark reads /_bench/stats instead."""


class Stats:
    """Counts requests by method; reads the process CPU clock on demand."""

    def __init__(self, bucket: Any = None) -> None:
        self.lock = threading.Lock()
        self.by_method: Counter[str] = Counter()
        self.bucket = bucket  # P5's token bucket (bench/throttle.py), if the target has one

    def wrap(self, inner: WSGIApp) -> WSGIApp:
        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            path = environ.get("PATH_INFO", "")
            if path == "/_bench/stats":
                with self.lock:
                    body = {"by_method": dict(self.by_method), "cpu_s": time.process_time()}
                if self.bucket is not None:
                    body["refused"] = self.bucket.refused
                    body["admitted"] = self.bucket.admitted
                start_response("200 OK", [("Content-Type", "application/json")])
                return [json.dumps(body).encode()]
            if path == "/_bench/reset":
                with self.lock:
                    self.by_method.clear()
                if self.bucket is not None:
                    self.bucket.reset()
                start_response("204 No Content", [])
                return []
            with self.lock:
                self.by_method[environ.get("REQUEST_METHOD", "?")] += 1
            if not path.startswith(PREFIX + "/"):
                start_response("404 Not Found", [("Content-Type", "text/plain")])
                return [b"not found\n"]
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + PREFIX
            environ["PATH_INFO"] = path[len(PREFIX) :]
            return inner(environ, start_response)

        return app


def serve(app: WSGIApp, http: str, host: str, port: int) -> tuple[int, Callable[[], None]]:
    """Start serving in a thread; return the bound port and a stop function."""
    if http == "cheroot":
        from cheroot import wsgi  # optional: `pip install cheroot` (see bench/README.md)

        server = wsgi.Server((host, port), app, numthreads=16, request_queue_size=128)
        server.prepare()
        thread = threading.Thread(target=server.serve, daemon=True)
        thread.start()
        return int(server.bind_addr[1]), server.stop
    simple = make_server(host, port, app, server_class=_Threaded, handler_class=_Quiet)
    thread = threading.Thread(target=simple.serve_forever, daemon=True)
    thread.start()
    return int(simple.server_port), simple.shutdown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=0)
    parser.add_argument("--groups", type=int, default=0)
    parser.add_argument("--fill", choices=("matching", "empty"), default="matching")
    parser.add_argument(
        "--app",
        choices=("scim2-server", "pages"),
        default="scim2-server",
        help="pages: pre-serialised pages of the matching population (bench/pages.py, P1-fast)",
    )
    parser.add_argument("--http", choices=("wsgiref", "cheroot"), default="wsgiref")
    parser.add_argument("--token", required=True)
    parser.add_argument(
        "--rate", type=float, default=0.0, help="P5: admit this many requests per second, 429 above"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    sizes = dataset.Sizes(args.users, args.groups)
    if args.app == "pages":
        import pages

        app = pages.build(sizes, args.token)
    else:
        app, storage, provider = build(args.token)
        if args.fill == "matching":
            seed(storage, provider, sizes)
    # The seeded store lives as long as the server: keep the collector from walking it again
    # and again. Without this, the first full read after seeding paid ~12% more server CPU
    # (full collections over 100,000 models), which made whichever client ran first slower.
    gc.collect()
    gc.freeze()
    seeded = time.perf_counter() - started
    bucket = None
    if args.rate > 0:
        import throttle

        bucket = throttle.TokenBucket(args.rate)
        app = bucket.wrap(app)
    port, stop = serve(Stats(bucket).wrap(app), args.http, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{port}{PREFIX}/v2"
    print(json.dumps({"url": url, "seed_s": round(seeded, 3), "http": args.http}), flush=True)
    sys.stdin.read()  # the parent closes our stdin to stop us
    stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
