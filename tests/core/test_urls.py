"""A URL an error quotes never shows its credentials, however malformed the URL, and shows its
host as the ASCII name the requests go to."""

from __future__ import annotations

import pytest

from reconciler.core.urls import shown_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://scim.example.com/scim/v2", "https://scim.example.com/scim/v2"),
        ("https://svc:pa55@/scim/v2", "https://***@/scim/v2"),
        ("ftp://svc:pa55@scim.example.com/v2", "ftp://***@scim.example.com/v2"),
        ("htps://svc:pa55@scim.example.com", "htps://***@scim.example.com"),
        ("https:/svc:pa55@scim.example.com", "https:/***@scim.example.com"),
        ("https:///svc:pa55@scim.example.com/v2", "https:///***@scim.example.com/v2"),
        ("svc:pa55@scim.example.com/v2", "svc:***@scim.example.com/v2"),
        ("https://a:b@c@scim.example.com/v2", "https://***@scim.example.com/v2"),
        ("https://scim.example.com/v2?api_key=pa55#top", "https://scim.example.com/v2?***#top"),
        # A password holding `#`, `/` or `?` unescaped, its first digits read as a port.
        ("htps://u:4431#Secret@host/scim", "htps://***@host/scim"),
        ("https://u:12/pa55@h.example/v2", "https://***@h.example/v2"),
        # An @ in the path or fragment is no userinfo.
        ("https://h.example/Users/a@example.com", "https://h.example/Users/a@example.com"),
        ("http://[::1]:8080/scim/v2", "http://[::1]:8080/scim/v2"),
        # A host in another script, shown as it is reached: a Cyrillic o (U+043E).
        ("https://\u043ekta.example.com/scim/v2", "https://xn--kta-red.example.com/scim/v2"),
        (
            "https://u:p@\u043ekta.example.com:8443/v2",
            "https://***@xn--kta-red.example.com:8443/v2",
        ),
        # No IDNA form (a full-width letter): escaped, never passing for an ASCII one.
        ("https://\uff45xample.com/v2", "https://\\uff45xample.com/v2"),
        ("", ""),
    ],
)
def test_shown_url(url: str, shown: str) -> None:
    assert shown_url(url) == shown
