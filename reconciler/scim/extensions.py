"""Declared extension attributes checked against the target's /Schemas (step 2, import)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reconciler.core.config import Spec, Target
from reconciler.core.model import ENTERPRISE_URN, GROUP_SCHEMA, USER_SCHEMA, Json
from reconciler.errors import ScimrecError, UsageError
from reconciler.scim.client import ScimClient
from reconciler.scim.resources import listed


@dataclass(frozen=True)
class Checked:
    # The plan's notes (the enterprise extension a target does not list).
    notes: list[str] = field(default_factory=list)
    # The attributes /Schemas marks writeOnly or returned: never, as casefolded flat paths
    # (Capabilities.write_only).
    write_only: frozenset[str] = frozenset()


def check_extensions(client: ScimClient, target: Target, spec: Spec, log: Any) -> Checked:
    """Declared extension attributes must exist in the target's /Schemas, when it has them;
    returns the plan's notes and the attributes it marks write-only.

    A target without /Schemas (or without that schema listed) cannot be checked: noted in
    the log, not fatal, as the target will say so itself if it refuses an attribute.
    """
    enterprise = _manages_enterprise(target, spec)
    if not target.extensions and not enterprise:
        return Checked()
    try:
        reply = client.get("/Schemas")
        listing = listed(reply.body if isinstance(reply.body, dict) else {}, "GET /Schemas")
    except ScimrecError as exc:
        log.warning("schemas unavailable", step="import", detail=str(exc))
        return Checked()
    hidden = write_only_paths(listing)
    # Every value of one the client sends is then registered as a secret.
    client.write_only = hidden
    schemas = {
        s["id"]: {str(a.get("name")) for a in _list(s.get("attributes")) if isinstance(a, dict)}
        for s in listing
        if isinstance(s, dict) and isinstance(s.get("id"), str)
    }
    _check_declared(target, spec, schemas, log)
    if enterprise and USER_SCHEMA in schemas and ENTERPRISE_URN not in schemas:
        # Its /Schemas is a real list (it has the core User schema) without the extension:
        # such a target refuses each user that carries it, or drops what it holds.
        return Checked(
            [
                f"the target's /Schemas does not list the enterprise extension "
                f"({ENTERPRISE_URN}): it may refuse or drop the enterprise attributes declared "
                "here; if it does, stop managing them there with quirks: "
                "{not_kept: [enterprise]}"
            ],
            hidden,
        )
    return Checked([], hidden)


def write_only_paths(listing: list[Json]) -> frozenset[str]:
    """The flat paths, casefolded, of the User attributes /Schemas marks
    `mutability: writeOnly` or `returned: never` (RFC 7643 §7): what such an attribute
    holds is never shown, and never read back (an initial password, a PIN)."""
    out = set()
    for schema in listing:
        urn = schema.get("id") if isinstance(schema, dict) else None
        if not isinstance(urn, str) or urn.casefold() == GROUP_SCHEMA.casefold():
            continue
        for attribute in _list(schema.get("attributes")):
            if not isinstance(attribute, dict) or not isinstance(attribute.get("name"), str):
                continue
            mutability, returned = attribute.get("mutability"), attribute.get("returned")
            if str(mutability).casefold() == "writeonly" or str(returned).casefold() == "never":
                out.add(_flat_path(urn, attribute["name"]).casefold())
    return frozenset(out)


def _flat_path(urn: str, name: str) -> str:
    """The spec path of attribute `name` of schema `urn` (as core/targetview.py names it)."""
    if urn.casefold() == USER_SCHEMA.casefold():
        return name
    if urn.casefold() == ENTERPRISE_URN.casefold():
        return f"enterprise.{name}"
    return f"{urn}:{name}"


def _manages_enterprise(target: Target, spec: Spec) -> bool:
    """Whether any user on this target gets an enterprise attribute it manages."""
    dropped = set(target.not_kept)
    if "enterprise" in dropped:
        return False

    def kept(path: str) -> bool:
        return (path == "enterprise" or path.startswith("enterprise.")) and path not in dropped

    if any(kept(m.target) for m in target.user_mappings):
        return True
    return any(kept(path) for user in spec.users for path in user.attrs)


def _check_declared(target: Target, spec: Spec, schemas: dict[str, set[str]], log: Any) -> None:
    for alias, urn in target.extensions.items():
        if urn not in schemas:
            log.warning("extension not listed", step="import", alias=alias, urn=urn)
            continue
        known = {name.casefold() for name in schemas[urn]}
        for user in spec.users:
            for path in user.attrs:
                head, _, name = path.partition(".")
                if head == alias and name.casefold() not in known:
                    where = user.attr_locations.get(path, user.location)
                    raise UsageError(
                        f"{where}: {alias}.{name}: target '{target.name}' has no attribute "
                        f"'{name}' in {urn} (its /Schemas lists: {', '.join(sorted(schemas[urn]))})"
                    )


def _list(value: Json) -> list[Json]:
    return value if isinstance(value, list) else []
