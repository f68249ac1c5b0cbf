"""The keys of SCIM messages (ListResponse, BulkResponse), read case-insensitively.

RFC 7643 §2.1 makes attribute names case-insensitive, and a target may answer a listing
with `resources` and `totalresults`. Read by their exact names only, such a listing holds
no resources: every declared object looks missing and is created again beside the one the
target holds. So the message keys of every answer are given their RFC spelling here, once,
as the answer arrives (client.py), for every reader of a listing.
"""

from __future__ import annotations

from reconciler.core.model import Json
from reconciler.errors import ScimProtocolError

# RFC 7644 §3.4.2 (ListResponse), RFC 9865 (cursors), §3.7 (BulkResponse).
_SPELLING = {
    key.casefold(): key
    for key in (
        "Resources",
        "totalResults",
        "startIndex",
        "itemsPerPage",
        "nextCursor",
        "previousCursor",
        "Operations",
    )
}


def spelled(body: Json, what: str) -> Json:
    """`body` with its message keys in their RFC spelling (the same object when they
    already are). A resource (it has an `id`) is left as it is: its attributes are compared
    case-insensitively where they are read. Two keys that are one name in different cases
    (`Resources` and `resources`) are a ScimProtocolError: which one the target meant
    cannot be told, and read as the wrong one, objects would look missing."""
    if not isinstance(body, dict) or "id" in body:
        return body
    odd = [k for k in body if (name := _SPELLING.get(k.casefold())) is not None and k != name]
    if not odd:
        return body
    out = dict(body)
    for key in odd:
        name = _SPELLING[key.casefold()]
        if name in out:
            raise ScimProtocolError(f"{what} answered with both {name!r} and {key!r}")
        out[name] = out.pop(key)
    return out
