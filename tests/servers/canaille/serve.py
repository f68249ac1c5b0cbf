"""Canaille in memory, with one OAuth2 client allowed the client-credentials grant.

Run by the Python of the virtualenv install.sh builds (Canaille's pinned set cannot share
the project's): `serve.py PORT CLIENT_ID CLIENT_SECRET`. Prints `ready` once it listens.
SCIM requests carry a bearer token that Canaille's own token endpoint (/oauth/token) issues
to that client, which is how scimrec's `oauth2_client_credentials` auth gets one.
"""

from __future__ import annotations

import datetime
import os
import sys
import uuid
import wsgiref.simple_server

os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"  # plain HTTP on loopback, for tests only

from canaille import create_app
from canaille.app import models
from canaille.backends import Backend
from joserfc.jwk import JWKRegistry


class _Quiet(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    port, client_id, secret = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    jwk = JWKRegistry.generate_key("RSA", 2048)
    jwk.ensure_kid()
    everything = ["use_oidc", "manage_oidc", "manage_users", "manage_all_groups"]
    config = {
        "TESTING": True,
        "SECRET_KEY": uuid.uuid4().hex,
        "WTF_CSRF_ENABLED": False,
        "SERVER_NAME": f"127.0.0.1:{port}",
        "PREFERRED_URL_SCHEME": "http",
        "CANAILLE": {
            "DATABASE": "memory",
            "JAVASCRIPT": False,
            "ACL": {"DEFAULT": {"PERMISSIONS": everything}},
        },
        "CANAILLE_SCIM": {"ENABLE_SERVER": True},
        "CANAILLE_OIDC": {"ACTIVE_JWKS": [jwk.as_dict(private=True)]},
    }
    app = create_app(config=config, env_file=None, env_prefix="SCIMREC_CANAILLE_")
    with app.app_context():
        client = models.Client(
            client_id=client_id,
            client_secret=secret,
            client_name="scimrec",
            grant_types=["client_credentials"],
            response_types=["token"],
            token_endpoint_auth_method="client_secret_basic",
            scope=["openid"],
            redirect_uris=[f"http://127.0.0.1:{port}/"],
            client_id_issued_at=datetime.datetime.now(datetime.UTC),
        )
        Backend.instance.save(client)
        client.audience = [client]
        Backend.instance.save(client)
    server = wsgiref.simple_server.make_server("127.0.0.1", port, app, handler_class=_Quiet)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
