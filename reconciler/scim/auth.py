"""Credentials for a target: values read from the environment (or files it names), and what
they make: a static Authorization header, or an OAuth client (oauth.py). Every secret is
registered for redaction as it is read; user names and client ids are not secrets, and are
left alone (masking `user` would garble every `"kind": "user"` in the logs)."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable

import httpx2

from reconciler.core.config import Target
from reconciler.errors import UsageError
from reconciler.scim.http_client import token_client
from reconciler.scim.local_files import FileTooLarge, NotRegularFile, read_regular_file
from reconciler.scim.oauth import ClientCredentials
from reconciler.scim.redact import register_secret
from reconciler.scim.socket_deadline import bound_exchanges

# How environment variable names are written (upper case, digits and _): any other name is
# not echoed when it is not set (core/spec checks refuse what is no name at all).
_CONVENTIONAL = re.compile(r"[A-Z_][A-Z0-9_]*")


def from_env(
    name: str, what: str, target: str, *, secret: bool = True, header: bool = False
) -> str:
    """A value from the environment (or the file named by NAME_FILE); registered for
    redaction when it is a `secret`. What every credential passes through: each refusal is a
    UsageError naming the variable, never quoting the value. A `header` value is sent as it
    is in a request header, and must be printable ASCII."""
    value = os.environ.get(name)
    source = f"environment variable {name}"
    if value is None and os.environ.get(f"{name}_FILE"):
        source = f"the file {name}_FILE names"
        try:
            value = _read_file(f"{name}_FILE")
        except _Unreadable as exc:
            raise UsageError(f"{name}_FILE ({what} of target '{target}'): {exc}") from None
    if not value:
        # A name not written as names usually are may be the secret itself, pasted into
        # the spec by mistake: the message names the setting instead.
        if not _CONVENTIONAL.fullmatch(name):
            raise UsageError(
                f"the environment variable that {what} of target '{target}' names is not set "
                "(its name is not shown: not in upper case, it may be a secret written there "
                "by mistake)"
            )
        raise UsageError(f"environment variable {name} ({what} of target '{target}') is not set")
    if not _text(value):
        # Bytes that are no UTF-8 reach Python as lone surrogates: no request can carry
        # them, and no output could show them to mask.
        raise UsageError(
            f"environment variable {name} ({what} of target '{target}') is not UTF-8 text"
        )
    if secret:
        register_secret(value)
    if header and not (value.isascii() and value.isprintable()):
        # HTTP sends header values as ASCII: a pasted curly quote or accent cannot be
        # encoded, and a control character makes the HTTP library refuse the header in an
        # error that quotes it (RFC 9110 §5.5). Refused here, before any request.
        raise UsageError(
            f"{source} ({what} of target '{target}') holds a character that is not printable "
            "ASCII (an accent, a curly quote, a control character): no HTTP header can carry "
            "it; check how it was copied"
        )
    return value


class _Unreadable(Exception):
    """Why a secret file cannot be read; says nothing of what it holds."""


# A token, a password or a key is at most a few KiB; a file far larger is the wrong file (a
# log, /dev/zero), and is not read into memory whole.
MAX_SECRET_FILE_BYTES = 64 * 1024


def _read_file(variable: str) -> str:
    """The text, stripped, of the file that `variable` names; _Unreadable if it is no regular
    file, is larger than MAX_SECRET_FILE_BYTES, or is not UTF-8."""
    try:
        raw = read_regular_file(os.environ[variable], MAX_SECRET_FILE_BYTES)
    except NotRegularFile:
        raise _Unreadable("names no regular file (a FIFO, a device, a directory)") from None
    except FileTooLarge:
        limit = MAX_SECRET_FILE_BYTES // 1024
        raise _Unreadable(f"names a file larger than {limit} KiB, more than any secret") from None
    except OSError as exc:
        raise _Unreadable(f"cannot be read: {exc.strerror}") from None
    try:
        return raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise _Unreadable("names a file that is not UTF-8 text") from None


def _text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def register_named(names: Iterable[str]) -> None:
    """Register the secrets these variables hold (those set), before any is needed: a secret
    pasted into the spec (a key, a member, a title) is masked in spec errors, reported
    before credentials are read, and in the output of every target, not only its own."""
    for name in names:
        value = os.environ.get(name)
        if value is None and os.environ.get(f"{name}_FILE"):
            with contextlib.suppress(_Unreadable):  # refused when its target reads it
                value = _read_file(f"{name}_FILE")
        if value and _text(value):  # one that is not is refused when its target reads it
            register_secret(value)


def secret_from_env(name: str, what: str, target: str, *, header: bool = False) -> str:
    """A secret from the environment, registered for redaction."""
    return from_env(name, what, target, secret=True, header=header)


def credentials(
    target: Target, transport: httpx2.BaseTransport | None = None
) -> tuple[dict[str, str], httpx2.Auth | None]:
    """The headers every request carries, and the Auth that sets a changing one (OAuth)."""
    auth = target.auth
    if auth.type == "none":
        return {}, None
    if auth.type == "bearer":
        token = secret_from_env(auth.token_env or "", "token_env", target.name, header=True)
        return {"Authorization": f"Bearer {token}"}, None
    if auth.type == "basic":
        user = from_env(auth.username_env or "", "username_env", target.name, secret=False)
        password = secret_from_env(auth.password_env or "", "password_env", target.name)
        basic = httpx2.BasicAuth(user, password)
        request = basic.sync_auth_flow(httpx2.Request("GET", target.url)).__next__()
        header = request.headers["Authorization"]
        register_secret(header.split(" ", 1)[-1])  # base64 of user:password
        return {"Authorization": header}, None
    # OAuth 2.0 client credentials grant (RFC 6749 §4.4).
    client_id = from_env(auth.client_id_env or "", "client_id_env", target.name, secret=False)
    secret = secret_from_env(auth.client_secret_env or "", "client_secret_env", target.name)
    http = token_client(target, transport)
    bound_exchanges(http)
    oauth = ClientCredentials(
        str(auth.token_url),
        client_id,
        secret,
        scope=auth.scope,
        method=auth.token_endpoint_auth_method or "client_secret_basic",
        http=http,
        request_seconds=target.request_timeout_seconds,
    )
    oauth.token()  # fail now, with a clear message, rather than on the first request
    return {}, oauth
