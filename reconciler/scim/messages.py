"""SCIM messages as a target sends them: attribute names in any case (RFC 7643 §2.1), and
errors (RFC 7644 §3.12), whatever HTTP status they come with.

A target may answer a listing with `resources` and `totalresults`, or write every name
the way its language does (`UserName`, `DisplayName`, `Members`, `Id`). Read by their
exact names only, such a listing holds no resources, and such a user no userName: every
declared object looks missing and is created again beside the one the target holds, on
every run. So the names scimrec reads are given their RFC spelling here, once, as an
answer arrives (client.py), for every reader after it.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import repeat
from typing import Any

from reconciler.core import spelling as S
from reconciler.core.model import SCIM_ERROR, Json
from reconciler.errors import ScimHTTPError, ScimProtocolError
from reconciler.scim.payload import NotJson, parse
from reconciler.scim.redact import scrub, scrub_json

# RFC 7643 §5's schema, in lower case: URNs are compared so.
_CONFIG = "urn:ietf:params:scim:schemas:core:2.0:serviceproviderconfig"


def spelled(body: Json, what: str) -> Json:
    """`body` with the names scimrec reads in their RFC spelling (core/spelling.py); the
    same object when they already are. A name held twice in two cases at the top of a
    listing (`Resources` and `resources`) is a ScimProtocolError: which one the target
    meant cannot be told, and read as the wrong one, objects would look missing. Within a
    resource the name already in its RFC spelling is read, and the other left as it is."""
    if not _odd(body):
        return body
    if isinstance(body, dict) and "id" not in body:
        for key in body:
            name = S.TOP.spelling.get(key.lower()) if key.isascii() else None
            if name in S.MESSAGE and key != name and name in body:
                raise ScimProtocolError(f"{what} answered with both {name!r} and {key!r}")
    out = S.respelled(body, _place(body))
    _read_once(out, what)
    return out


def _place(body: Json) -> S.Place:
    """Where the top of an answer stands: one resource's own names (its `id` in any case)
    are a resource's, never a ServiceProviderConfig's or an error's (a target's own
    `Status` stays its own); any other answer may be a listing, an error or the
    ServiceProviderConfig, which may carry an `id` too (RFC 7643 §5)."""
    if not isinstance(body, dict):
        return S.TOP
    named = {k.lower(): v for k, v in body.items() if k.isascii()}
    schemas = named.get("schemas")
    if isinstance(schemas, list) and _CONFIG in (str(s).lower() for s in schemas):
        return S.TOP
    return S.RESOURCE if "id" in named else S.TOP


def _read_once(body: Json, what: str) -> None:
    """A ScimProtocolError where a resource's own name is held in two spellings, neither
    the RFC's (`ExternalId` and `EXTERNALID`): read as neither, a user's externalId or a
    group's members would look absent, and a group holding a protected member be deleted
    as empty. Which one the target meant cannot be told, so nothing is decided from the
    answer. (A name within, such as an email's `Value`, puts that object in error: the
    shape check finds it, core/shape.py.)"""
    items = body.get("Resources") if isinstance(body, dict) else None
    listed = [r for r in items if isinstance(r, dict)] if isinstance(items, list) else []
    operations = body.get("Operations") if isinstance(body, dict) else None
    answers = [
        o.get("response") for o in operations if isinstance(o, dict)
    ] if isinstance(operations, list) else []  # fmt: skip
    for resource, place in (
        (body, _place(body)),
        *((r, S.LISTED) for r in listed),
        *((a, S.ANSWER) for a in answers),
    ):
        twice = S.held_twice(resource, place)
        if twice is not None:
            rid = resource.get("id") if isinstance(resource, dict) else None
            where = f"resource {rid!r}" if isinstance(rid, str | int) else "a resource"
            raise ScimProtocolError(
                f"{what}: {where} holds {twice!r} and another spelling of it, neither the "
                "RFC's; which one the target meant cannot be told"
            )


def _odd(body: Json) -> bool:
    """Whether `body` holds a name scimrec reads in another case: among the names of the
    body, of each listed resource and of each one's `meta`, or anywhere in the first
    resource. A target writes every name one way, so a walk over all of them, as long as
    parsing the answer, is spent only on a target that does. A listed user or group whose
    other nested names alone are spelled another way is respelled where that is found at
    no cost (core/spelling.py); `meta` is read here, before that (Resource.version)."""
    if not isinstance(body, dict):
        return False
    items = body.get("Resources")
    if not isinstance(items, list):
        return S.misspelled(body, _place(body)) is not None
    resources = [r for r in items if isinstance(r, dict)]
    # The names of every resource, gathered in C: the distinct ones, few. And their
    # meta's, by each distinct order of names (one, from most targets): a union of every
    # meta's names took twice as long, 0.2 ms a 500-user page.
    names: set[str] = set().union(*map(dict.keys, resources))
    metas = [m for m in map(dict.get, resources, repeat("meta")) if m.__class__ is dict]
    return (
        S.odd_names(body.keys(), S.TOP)
        or S.odd_names(names, S.LISTED)
        or S.odd_names(set().union(*set(map(tuple, metas))), S.META)
        or (bool(resources) and S.misspelled(resources[0], S.LISTED) is not None)
    )


def stated_error(body: Json) -> int | None:
    """The status a SCIM Error body (RFC 7644 §3.12) states, 400 to 599 (400 when it states
    none that is): a target may send one with 200. None for any other body."""
    if not isinstance(body, dict):
        return None
    # Its names in any case (RFC 7643 §2.1), under any spelling: read before the answer
    # is respelled, and `STATUS` on a 200 is as much an error as `status`.
    held = [(k.lower(), v) for k, v in body.items() if k.isascii()]
    if not any(k == "schemas" and isinstance(v, list) and SCIM_ERROR in v for k, v in held):
        return None
    for status in (v for k, v in held if k == "status"):
        if isinstance(status, str) and status.strip().isdigit() and len(status.strip()) == 3:
            status = int(status)  # noqa: PLW2901 - the same status, read as a number
        if isinstance(status, int) and 400 <= status <= 599:
            return status
    return 400


def http_error(
    method: str, path: str, status: int, headers: Mapping[str, str], content: bytes
) -> ScimHTTPError:
    detail, scim_type = "", None
    try:
        # A server may echo our request, Authorization header included: never keep a secret.
        body: Any = scrub_json(parse(content), content)
    except NotJson:
        body = None
    # `ScimType` read as absent would take a refusal for another (apply/refusals.py).
    body = S.respelled(body, S.TOP)
    if isinstance(body, dict):
        # RFC 7644 §3.12: detail and scimType; some servers use other keys.
        detail = str(body.get("detail") or body.get("message") or body.get("error") or "")
        scim_type = body.get("scimType") if isinstance(body.get("scimType"), str) else None
    if not detail and isinstance(body, dict) and ("schemas" in body or "status" in body):
        detail = "(no detail)"  # a SCIM error body that says nothing more
    if not detail:
        # Scrubbed before it is shortened: a secret cut in two would no longer be found.
        text = " ".join(scrub(content.decode("utf-8", errors="replace")).split())
        kind = headers.get("content-type", "")
        detail = (
            "(no detail)"
            if not text
            else (f"non-SCIM {kind.split(';')[0] or 'body'}: {text[:120]}")
        )
    error = ScimHTTPError(method, path, status, detail, scim_type)
    error.from_service = isinstance(body, dict) and SCIM_ERROR in (body.get("schemas") or ())
    return error


def unread(said: str, method: str, status: int) -> ScimProtocolError:
    """A success whose body cannot be read. A write's status says it was made, but not what
    became of it: it is reported as failed, and as possibly made, never as not made."""
    made = "" if method == "GET" else f"; the {method} may have been made: run plan again"
    error = ScimProtocolError(said + made)
    error.status = status
    return error
