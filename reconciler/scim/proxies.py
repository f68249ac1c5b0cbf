"""The proxies the environment names (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, and their lower
case forms), checked before the HTTP client takes them up: it refuses a bad one with an
exception that is no scimrec error (a crash, exit 3) and may quote the proxy's password."""

from __future__ import annotations

import importlib.util
import os
from urllib.request import getproxies

import httpx2

from reconciler.errors import UsageError

_SCHEMES = ("http", "https", "socks5", "socks5h")


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
