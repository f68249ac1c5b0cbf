"""The forms a secret takes on its way to an output: encoded by a server that echoes it
(base64, hex, percent-encoding, JSON and HTML escapes, UTF-16 as .NET encodes text), and
the encodings within which a run of it is looked for when it is cut short (redact.py)."""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Callable
from urllib.parse import quote, quote_plus

_HEX = re.compile(r"%[0-9A-F]{2}")
# Masking 1-3 character strings would garble ordinary text.
SHORTEST = 4


def run_values(value: str) -> set[str]:
    """What a run of the secret is looked for in: itself (and reversed), its hex (of UTF-8
    and UTF-16 text), its base64, and its UTF-8 misread as Latin-1."""
    raw = value.encode()
    wide = value.encode("utf-16-le").hex()
    misread = {raw.decode("latin-1")} if not value.isascii() else set()
    # Reversed too: after a right-to-left override (U+202E) a reader sees it in order.
    return {
        value,
        value.strip(),
        value[::-1],
        raw.hex(),
        wide,
        *misread,
        *_base64_within(raw, (base64.b64encode,)),
    }


def encodings(value: str) -> set[str]:
    """The secret and the obvious forms it takes on the way in or out.

    A secret read with surrounding whitespace (a CI secret saved with a trailing newline,
    a token pasted after a space) reaches a server that trims it: HTTP drops the spaces
    around a header's value (RFC 9110 §5.5) and most servers split `Bearer` from the
    token on whitespace. What such a server echoes is the trimmed secret, so its forms
    are registered too.
    """
    forms = _forms(value)
    trimmed = value.strip()
    if trimmed != value and len(trimmed) >= SHORTEST:
        forms |= _forms(trimmed)
    return forms


def _forms(value: str) -> set[str]:
    raw = value.encode()
    # Hex, as a dump of what was received shows it (in either case: matching ignores it).
    forms = {raw.hex()}
    # Percent-encoding with and without `/` kept: a path segment keeps it, a form body not.
    forms |= {value, quote(value, safe=""), quote(value), quote_plus(value, safe="")}
    forms.add(quote_plus(value))
    # Lower-case hex is as valid a percent-encoding (RFC 3986 §2.1); an HTML error page
    # escapes &, <, > and quotes.
    forms |= {_HEX.sub(lambda m: m.group().lower(), f) for f in list(forms)}
    forms.add(html.escape(value))
    forms.add(value[::-1])  # after a right-to-left override, read in order
    forms |= {json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
    for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        text = encoded.decode()
        forms |= {text, text.rstrip("=")}
    # Hex as a dump shows it, a byte at a time between separators; and base64 of the text
    # in UTF-16, as .NET and PowerShell encode a string (an echoed header, logged so).
    wide = value.encode("utf-16-le")
    forms |= {sep.join(f"{b:02x}" for b in text) for sep in (" ", ":", "-") for text in (raw, wide)}
    # Its bytes as decimal numbers, as Java's Arrays.toString(getBytes()) and a JSON byte
    # array print them (Java's bytes are signed).
    for numbers in (raw, [b - 256 if b > 127 else b for b in raw]):
        forms |= {sep.join(map(str, numbers)) for sep in (", ", ",")}
    forms.add(base64.b64encode(wide).decode().rstrip("="))
    # Hex of the text in UTF-16 (.NET's and Java's dumps of a string, in either byte
    # order), and base32 (as TOTP secrets and some tokens' echoes are written).
    forms |= {wide.hex(), value.encode("utf-16-be").hex()}
    # Its UTF-8 bytes read as Latin-1 or Windows-1252, as servers that decode headers so
    # echo a non-ASCII password ("GrÃ¼n" for "Grün"; Python's http.server, older Java).
    if not value.isascii():
        forms |= {raw.decode("latin-1"), raw.decode("cp1252", "replace")}
    return forms | _base64_within(raw) | _base64_within(wide) | _within(raw, base64.b32encode, 5)


Encoder = Callable[[bytes], bytes]
_ALPHABETS: tuple[Encoder, ...] = (base64.b64encode, base64.urlsafe_b64encode)


def _base64_within(raw: bytes, encoders: tuple[Encoder, ...] = _ALPHABETS) -> set[str]:
    """The characters of `raw`'s base64 that no surrounding text changes, wherever it
    starts: base64 takes bytes three at a time, so a secret encoded within other text (a
    header line `Bearer <token>` a target echoes encoded, the token and a line end) shares
    its first and last characters with its neighbours, and matches none of the forms above.
    """
    return {text for encode in encoders for text in _within(raw, encode, 6)}


def _within(raw: bytes, encode: Encoder, bits: int) -> set[str]:
    """`raw` encoded `bits` to a character, at each offset from a group's start it can
    take within longer encoded text, less the characters that share bits with the bytes
    around it (those before the offset, and the one after it unless it ends a group)."""
    group = {6: 3, 5: 5}[bits]  # bytes to a group: 24 bits in base64, 40 in base32
    out: set[str] = set()
    for offset in range(group):
        text = encode(bytes(offset) + raw).decode().rstrip("=")
        lead = -(-offset * 8 // bits)
        end = len(text) - (1 if (offset + len(raw)) % group else 0)
        out.add(text[lead:end])
    return out
