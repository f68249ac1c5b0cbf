"""Run the django-scim2 fixture: ``python -m tests.servers.django_scim.serve --port N --db PATH``.

Migrates a SQLite database at PATH, then serves on 127.0.0.1:N with a threaded
WSGI server and prints ``READY http://127.0.0.1:N/scim/v2`` once connections are
accepted. ``--port 0`` picks a free port (the READY line shows the real one).
Requests must carry ``Authorization: Bearer $DJANGO_SCIM_TOKEN``. SIGTERM and
SIGINT stop it with exit status 0.
"""

import argparse
import logging
import os
import signal
import sys
from types import FrameType


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.servers.django_scim.serve")
    parser.add_argument(
        "--port", type=int, required=True, help="TCP port on 127.0.0.1 (0 = any free port)"
    )
    parser.add_argument(
        "--db", required=True, help="SQLite file to create/migrate (use a fresh temp file)"
    )
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)

    if not os.environ.get("DJANGO_SCIM_TOKEN"):
        parser.error("DJANGO_SCIM_TOKEN must be set (it is the bearer token clients must send)")

    # Safe to import before settings are configured; nothing here touches them.
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    # Bind first so that --port 0 resolves to a real port before settings (which
    # bake host:port into every meta.location) are loaded. Connections arriving
    # during migration just wait in the listen backlog.
    httpd = ThreadedWSGIServer(("127.0.0.1", args.port), WSGIRequestHandler)
    port = httpd.server_address[1]

    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.servers.django_scim.settings"
    os.environ["DJANGO_SCIM_DB"] = os.path.abspath(args.db)
    os.environ["DJANGO_SCIM_NETLOC"] = f"127.0.0.1:{port}"

    import django
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application

    django.setup()
    # Real migrations ship in migrations/, so this works on a fresh checkout;
    # verbosity=0 keeps stdout clean for the READY line.
    call_command("migrate", interactive=False, verbosity=0)
    # Threads open their own connections; drop the main thread's one.
    from django.db import connections

    connections.close_all()

    httpd.set_app(get_wsgi_application())
    # After get_wsgi_application(): it re-runs django.setup(), which resets logging.
    logging.getLogger("django.server").setLevel(logging.INFO if args.verbose else logging.ERROR)

    def _stop(signum: int, frame: FrameType | None) -> None:
        # Raising out of serve_forever()'s select() ends the loop from the main
        # thread; httpd.shutdown() here would deadlock (it waits for that loop).
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)

    print(f"READY http://127.0.0.1:{port}/scim/v2", flush=True)
    try:
        httpd.serve_forever(poll_interval=0.2)
    finally:
        httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
