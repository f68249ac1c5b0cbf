"""What a target stores as a group member's `value`: the user's id (RFC 7643 §4.2), or
something else scimrec must resolve another way (a userName), or values that name nobody."""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.core import attributes as A
from reconciler.core.model import Json
from reconciler.doctor.findings import INFO, OK, WARN, Finding
from reconciler.errors import ScimHTTPError, ScimrecError
from reconciler.scim.client import ScimClient
from reconciler.scim.resources import listed
from reconciler.scim.writes import resource_path

CHECK = "member values"
SAMPLE = 10  # member values asked about: enough to see the target's habit, few requests


def probe_member_values(client: ScimClient, groups: Sequence[dict[str, Json]]) -> Finding:
    """Ask the target what a few member values name: a user by id, a user by userName, or
    nothing; say how scimrec resolves members on this target."""
    values = _sample(groups)
    if not values:
        return Finding("groups", CHECK, INFO, "no group with members to look at", "none needed")
    ids = names = nobody = 0
    for value in values:
        if _exists(client, value):
            ids += 1
        elif _named(client, value):
            names += 1
        else:
            nobody += 1
    seen = f"of {len(values)} member values: {ids} user id(s), {names} userName(s)"
    seen += f", {nobody} naming no user" if nobody else ""
    if names:
        return Finding(
            "groups",
            CHECK,
            WARN,
            seen,
            "scimrec resolves such members by userName (then display), and never plans the "
            "removal of a member it cannot resolve",
        )
    if nobody:
        return Finding(
            "groups",
            CHECK,
            WARN,
            seen,
            "a member whose value names no user is left in place; a plan removes it only "
            "once GET /Users/<value> answers 404",
        )
    return Finding("groups", CHECK, OK, seen, "scimrec resolves members by id")


def _sample(groups: Sequence[dict[str, Json]]) -> list[str]:
    out: list[str] = []
    for group in groups:
        members = group.get("members")
        for member in members if isinstance(members, list) else ():
            value = member.get("value") if isinstance(member, dict) else None
            kind = str(member.get("type") or "").casefold() if isinstance(member, dict) else ""
            if isinstance(value, str | int) and kind != "group" and str(value) not in out:
                out.append(str(value))
            if len(out) >= SAMPLE:
                return out
    return out


def _exists(client: ScimClient, value: str) -> bool:
    try:
        client.get(resource_path("/Users", value))
    except ScimrecError:
        return False
    return True


def _named(client: ScimClient, value: str) -> bool:
    try:
        reply = client.get("/Users", {"filter": f"userName eq {A.quote(value)}"})
    except ScimHTTPError:
        return False
    body = reply.body if isinstance(reply.body, dict) else {}
    found = listed(body, "GET /Users")
    return any(
        isinstance(r, dict) and str(r.get("userName", "")).casefold() == value.casefold()
        for r in found
    )
