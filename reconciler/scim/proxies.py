"""The proxies the environment names (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, and their lower
case forms), read as the HTTP client reads them: their credentials registered as secrets
before any output, and each checked before the client takes it up (it refuses a bad one
with an exception that is no scimrec error, a crash, and may quote the proxy's password)."""

from __future__ import annotations

import importlib.util
import os
from urllib.parse import unquote
from urllib.request import getproxies

import httpx2

from reconciler.errors import UsageError
from reconciler.scim.redact import register_secret

_SCHEMES = ("http", "https", "socks5", "socks5h")


def register_proxies() -> None:
    """Register the credentials a proxy variable holds (`http://user:pass@proxy:3128`):
    they go on the wire in every request through it, and a proxy's error page may quote
    them, as the password alone or as `user:pass` (encoded as its Basic header)."""
    for value in getproxies().values():
        if "@" not in value:
            continue
        userinfo = value.rpartition("@")[0].partition("://")[2] or value.rpartition("@")[0]
        user, _, password = userinfo.partition(":")
        for secret in {password, unquote(password), f"{user}:{password}", unquote(userinfo)}:
            if len(secret) > 1 and secret.isprintable():  # not a bare ":" of neither
                register_secret(secret)


def check_environment_proxies() -> None:
    """UsageError naming the variable (never its value, which may hold a password) of the
    first proxy the HTTP client would refuse to use."""
    # The same reading as httpx2's get_environment_proxies: a value without a scheme is an
    # http:// proxy.
    found = getproxies()
    for scheme in ("http", "https", "all"):
        value = found.get(scheme)
        if not value:
            continue
        why = _unusable(value if "://" in value else f"http://{value}")
        if why:
            raise UsageError(
                f"environment variable {_variable(scheme, value)} is not a usable proxy URL "
                f"({why}): correct it or unset it"
            )


def _unusable(url: str) -> str | None:
    try:
        proxy = httpx2.Proxy(url=url)
    except httpx2.InvalidURL:
        return "not a URL with a host and a port such as http://proxy.example:3128"
    except ValueError:
        return f"its scheme is none of {', '.join(_SCHEMES)}"
    if not proxy.url.host:
        return "it names no host"
    if proxy.url.port is not None and not 0 < proxy.url.port < 65536:
        return "its port is not a number from 1 to 65535"
    if proxy.url.scheme in ("socks5", "socks5h") and importlib.util.find_spec("socksio") is None:
        return "a SOCKS proxy needs the socksio package, which is not installed"
    return None


def _variable(scheme: str, value: str) -> str:
    """The variable `value` came from (lower case wins, as urllib reads them)."""
    for name in (f"{scheme}_proxy", f"{scheme.upper()}_PROXY"):
        if os.environ.get(name) == value:
            return name
    return f"{scheme.upper()}_PROXY"
