"""The httpx2 client a target is reached with: its TLS trust, its timeouts, its limits."""

from __future__ import annotations

import ssl
from collections.abc import Mapping

import httpx2

from reconciler.core.config import Target


def http_client(
    target: Target,
    headers: Mapping[str, str],
    auth: httpx2.Auth | None,
    transport: httpx2.BaseTransport | None,
) -> httpx2.Client:
    """The client that sends `target` its SCIM requests."""
    # TLS is always verified: against the OS trust store, or the target's own CA bundle.
    verify: ssl.SSLContext | bool = (
        ssl.create_default_context(cafile=target.ca_bundle) if target.ca_bundle else True
    )
    return httpx2.Client(
        headers=headers,
        auth=auth,
        timeout=httpx2.Timeout(target.timeout_seconds),
        verify=verify,
        transport=transport,
        # A redirect would carry the credentials to wherever the target points: a 3xx is
        # an error (see client.py _reply), never followed.
        follow_redirects=False,
        limits=httpx2.Limits(
            max_connections=target.concurrency + 2,
            max_keepalive_connections=target.concurrency + 2,
        ),
    )
