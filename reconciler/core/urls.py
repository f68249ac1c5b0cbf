"""How a message quotes a URL: never with the credentials it may carry."""

from __future__ import annotations

import re

# The authority: after `scheme:` and any slashes (`https:/h` and `https:///h` are typos
# of `https://h` that still carry a password) up to the path, query or fragment.
_AUTHORITY = re.compile(r"^(?:[^:/?#]*:/*)?([^/?#]*)")


def shown_url(url: str) -> str:
    """`url` with its userinfo (`user:password@`) and its query masked, for a message.

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
    return url
