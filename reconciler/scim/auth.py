"""Credentials for a target: secrets read from the environment (or files it names), and the
Authorization header they make; every secret is registered for redaction as it is read."""

from __future__ import annotations

import os

import httpx2

from reconciler.core.config import Target
from reconciler.errors import TargetError, UsageError
from reconciler.scim.redact import register_secret


def secret_from_env(name: str, what: str, target: str) -> str:
    """Read a secret from the environment (or the file named by NAME_FILE)."""
    value = os.environ.get(name)
    if value is None and os.environ.get(f"{name}_FILE"):
        path = os.environ[f"{name}_FILE"]
        try:
            with open(path, encoding="utf-8") as handle:  # noqa: PTH123 - plain read of a secret file
                value = handle.read().strip()
        except OSError as exc:
            message = f"cannot read {name}_FILE for target '{target}': {exc.strerror}"
            raise UsageError(message) from None
    if not value:
        raise UsageError(f"environment variable {name} ({what} of target '{target}') is not set")
    register_secret(value)
    return value


def auth_headers(target: Target, transport: httpx2.BaseTransport | None = None) -> dict[str, str]:
    """The Authorization header for a target, from secrets held in the environment."""
    auth = target.auth
    if auth.type == "none":
        return {}
    if auth.type == "bearer":
        token = secret_from_env(auth.token_env or "", "token_env", target.name)
        return {"Authorization": f"Bearer {token}"}
    if auth.type == "basic":
        user = secret_from_env(auth.username_env or "", "username_env", target.name)
        password = secret_from_env(auth.password_env or "", "password_env", target.name)
        basic = httpx2.BasicAuth(user, password)
        request = basic.sync_auth_flow(httpx2.Request("GET", target.url)).__next__()
        header = request.headers["Authorization"]
        register_secret(header.split(" ", 1)[-1])
        return {"Authorization": header}
    # OAuth 2.0 client credentials grant (RFC 6749 §4.4).
    client_id = secret_from_env(auth.client_id_env or "", "client_id_env", target.name)
    secret = secret_from_env(auth.client_secret_env or "", "client_secret_env", target.name)
    data = {"grant_type": "client_credentials"}
    if auth.scope:
        data["scope"] = auth.scope
    with httpx2.Client(transport=transport, timeout=target.timeout_seconds) as http:
        try:
            reply = http.post(str(auth.token_url), data=data, auth=(client_id, secret))
        except httpx2.HTTPError as exc:
            raise TargetError(f"cannot get an OAuth token from {auth.token_url}: {exc}") from None
    if reply.status_code != 200:
        raise TargetError(f"the token endpoint {auth.token_url} answered {reply.status_code}")
    try:
        token = reply.json()["access_token"]
    except (ValueError, KeyError, TypeError):
        raise TargetError(f"the token endpoint {auth.token_url} sent no access_token") from None
    register_secret(str(token))
    return {"Authorization": f"Bearer {token}"}
