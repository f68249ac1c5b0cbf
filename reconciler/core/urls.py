"""How a message quotes a URL: never with the credentials it may carry, and with its host as
the ASCII name it is reached by."""

from __future__ import annotations

import re

import idna

# The authority: after `scheme:` and any slashes (`https:/h` and `https:///h` are typos
# of `https://h` that still carry a password) up to the path, query or fragment.
_AUTHORITY = re.compile(r"^(?:[^:/?#]*:/*)?([^/?#]*)")


def shown_url(url: str) -> str:
    """`url` with its userinfo (`user:password@`) and its query masked and its host in
    ASCII, for a message.

    Works on any text, URL or not: the URLs errors quote are often the malformed ones
    (a wrong scheme, no host), which no URL parser reads as their author meant.
    """
    match = _AUTHORITY.match(url)
    if match and "@" in match.group(1):
        masked = "***@" + match.group(1).rpartition("@")[2]
        url = url[: match.start(1)] + masked + url[match.end(1) :]
    elif match and ":" in match.group(1) and "@" in url[match.end(1) :]:
        # `user:4431#pass@host`: a password holding `/`, `?` or `#` unescaped ends the
        # authority early, its first digits read as a port. Masked up to the last `@`:
        # a path or query hidden with it costs a message nothing.
        url = url[: match.start(1)] + "***@" + url.rpartition("@")[2]
    # A query often holds an API key (`?api_key=...`); the fragment stays.
    head, question, rest = url.partition("?")
    if question:
        fragment = rest.partition("#")[1:]
        url = head + "?***" + "".join(fragment)
    match = _AUTHORITY.match(url)
    if match and not match.group(1).isascii():
        url = url[: match.start(1)] + _ascii_authority(match.group(1)) + url[match.end(1) :]
    return url


def _ascii_authority(authority: str) -> str:
    """`authority` with its host as the requests reach it: okta.example.com with a Cyrillic
    o (U+043E) shown as is reads as the real one, yet names xn--kta-red.example.com."""
    userinfo, at, hostport = authority.rpartition("@")
    host, colon, port = hostport.rpartition(":")
    if not colon or not port.isdigit():
        host, colon, port = hostport, "", ""
    try:
        # IDNA 2008, as the HTTP client (httpx2) encodes a host before connecting.
        host = idna.encode(host.lower()).decode("ascii")
    except idna.IDNAError:
        # No IDNA form: no request can go there; escaped, no letter passes for another.
        host = host.encode("ascii", "backslashreplace").decode("ascii")
    userinfo = userinfo.encode("ascii", "backslashreplace").decode("ascii")
    return userinfo + at + host + colon + port
