"""A proxy variable the HTTP library would refuse is one line naming it, never its value.

httpx2 reads the proxy variables when a client is built with no transport injected, and
refused a bad one with an exception that is no scimrec error (exit 3), quoting the URL.
"""

from __future__ import annotations

import importlib.util

import httpx2
import pytest

from reconciler.core.config import Target
from reconciler.errors import UsageError
from reconciler.scim.client import ScimClient

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
TARGET = Target("t", "https://scim.example.com/scim/v2")


@pytest.fixture(autouse=True)
def no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.delenv("REQUEST_METHOD", raising=False)


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (
            "http://u:pw-0123@proxy.example:abc",
            "not a URL with a host and a port such as http://proxy.example:3128",
        ),
        ("ftp://u:pw-0123@proxy.example:21", "its scheme is none of http, https, socks5, socks5h"),
        ("http://u:pw-0123@:3128", "it names no host"),
        ("http://u:pw-0123@proxy.example:99999", "its port is not a number from 1 to 65535"),
    ],
)
def test_an_unusable_proxy_is_named_without_its_value(
    monkeypatch: pytest.MonkeyPatch, value: str, why: str
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", value)
    with pytest.raises(UsageError) as caught:
        ScimClient.for_target(TARGET)
    assert str(caught.value) == (
        f"environment variable HTTPS_PROXY is not a usable proxy URL ({why}): "
        "correct it or unset it"
    )


def test_a_socks_proxy_without_socksio_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    if importlib.util.find_spec("socksio") is not None:
        pytest.skip("socksio is installed: a SOCKS proxy is usable")
    monkeypatch.setenv("HTTPS_PROXY", "socks5://u:pw-0123@proxy.example:1080")
    with pytest.raises(UsageError) as caught:
        ScimClient.for_target(TARGET)
    assert str(caught.value) == (
        "environment variable HTTPS_PROXY is not a usable proxy URL (a SOCKS proxy needs the "
        "socksio package, which is not installed): correct it or unset it"
    )


def test_the_lower_case_variable_is_named_when_it_is_the_one_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("all_proxy", "gopher://proxy.example:70")
    with pytest.raises(UsageError, match=r"^environment variable all_proxy is not a usable"):
        ScimClient.for_target(TARGET)


def test_a_usable_proxy_and_an_injected_transport_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    ScimClient.for_target(TARGET).close()
    # An injected transport takes no proxy from the environment: nothing to refuse.
    monkeypatch.setenv("HTTPS_PROXY", "ftp://proxy.example:21")
    injected = httpx2.MockTransport(lambda _: httpx2.Response(200))
    ScimClient.for_target(TARGET, transport=injected).close()
