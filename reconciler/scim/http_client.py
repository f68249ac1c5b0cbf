"""The httpx2 clients a target is reached with (its SCIM endpoint, its OAuth token endpoint):
their TLS trust, their timeouts, their limits."""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from typing import Any

import httpx2

from reconciler.core.config import Target
from reconciler.errors import UsageError


def http_client(
    target: Target,
    headers: Mapping[str, str],
    auth: httpx2.Auth | None,
    transport: httpx2.BaseTransport | None,
) -> httpx2.Client:
    """The client that sends `target` its SCIM requests."""
    return httpx2.Client(
        headers=headers,
        auth=auth,
        limits=httpx2.Limits(
            max_connections=target.concurrency + 2,
            max_keepalive_connections=target.concurrency + 2,
        ),
        **_reaching(target, transport),
    )


def token_client(target: Target, transport: httpx2.BaseTransport | None) -> httpx2.Client:
    """The client that asks `target`'s OAuth token endpoint for tokens. It reaches it as the
    SCIM client reaches the target: a token endpoint behind the same private CA (trusted by
    `ca_bundle`), proxy or slow network is then no reason for a run to fail. It trusts the
    OS store as well as `ca_bundle`: the token endpoint is often a public identity provider
    (Entra, Okta) in front of an app behind a private CA."""
    return httpx2.Client(**_reaching(target, transport, with_os_store=True))


# Loopback hosts, reached directly whatever proxy the environment names. Plain http:// is
# allowed to them without `allow_http` because such traffic never leaves the machine: sent
# through a proxy, the token (or an OAuth client secret) would cross the network in clear
# text, to a proxy that reaches its own loopback with it. Networks, not names, for the
# addresses: `[0:0::1]` is ::1 too. IPv4-mapped 127.x counts where Python says it is.
_DIRECT = ("all://localhost", "all://127.0.0.0/8", "all://[::1]/128", "all://[::ffff:7f00:0]/104")


def _reaching(
    target: Target, transport: httpx2.BaseTransport | None, *, with_os_store: bool = False
) -> dict[str, Any]:
    """What both clients share: TLS trust, timeouts, the injected transport (or the proxies
    the environment names, which httpx2 reads without one, except for loopback hosts), and
    no redirects."""
    return {
        "timeout": httpx2.Timeout(target.timeout_seconds),
        "verify": _trust(target, with_os_store=with_os_store),
        "transport": transport,
        # A host pattern outranks the environment's scheme-wide proxy ("http://",
        # "all://"); None is the client's own transport, no proxy.
        "mounts": dict.fromkeys(_DIRECT),
        # A redirect would carry the credentials to wherever the target points: a 3xx is
        # an error (see client.py _reply, oauth.py), never followed.
        "follow_redirects": False,
    }


def _trust(target: Target, *, with_os_store: bool = False) -> ssl.SSLContext | bool:
    """TLS is always verified: against the OS trust store, or the target's own CA bundle
    (and the OS store too, `with_os_store`).

    validate loads the bundle too (spec/access.py); loaded again here, a bundle changed
    since is one line naming it, not an SSLError (exit 3).
    """
    if not target.ca_bundle:
        return True
    try:
        if not with_os_store:
            return ssl.create_default_context(cafile=target.ca_bundle)
        context = httpx2.create_ssl_context()  # the OS store, as verify=True reads it
        context.load_verify_locations(cafile=target.ca_bundle)
        return context
    except ssl.SSLError:
        why = (
            "holds no PEM certificate that can be read (empty, DER, damaged or the wrong "
            "file): give a PEM file of the CA certificates to trust"
        )
    except OSError as exc:
        why = f"cannot be read ({exc.strerror})"
    raise UsageError(f"the CA bundle {target.ca_bundle} of target '{target.name}' {why}")
