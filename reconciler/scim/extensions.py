"""Declared extension attributes checked against the target's /Schemas (step 2, import)."""

from __future__ import annotations

from typing import Any

from reconciler.core.config import Spec, Target
from reconciler.core.model import ENTERPRISE_URN, USER_SCHEMA, Json
from reconciler.errors import ScimrecError, UsageError
from reconciler.scim.client import ScimClient
from reconciler.scim.resources import listed


def check_extensions(client: ScimClient, target: Target, spec: Spec, log: Any) -> list[str]:
    """Declared extension attributes must exist in the target's /Schemas, when it has them;
    returns the plan's notes (the enterprise extension a target does not list).

    A target without /Schemas (or without that schema listed) cannot be checked: noted in
    the log, not fatal, as the target will say so itself if it refuses an attribute.
    """
    enterprise = _manages_enterprise(target, spec)
    if not target.extensions and not enterprise:
        return []
    try:
        reply = client.get("/Schemas")
        listing = listed(reply.body if isinstance(reply.body, dict) else {}, "GET /Schemas")
    except ScimrecError as exc:
        log.warning("schemas unavailable", step="import", detail=str(exc))
        return []
    schemas = {
        s["id"]: {str(a.get("name")) for a in _list(s.get("attributes")) if isinstance(a, dict)}
        for s in listing
        if isinstance(s, dict) and isinstance(s.get("id"), str)
    }
    _check_declared(target, spec, schemas, log)
    if enterprise and USER_SCHEMA in schemas and ENTERPRISE_URN not in schemas:
        # Its /Schemas is a real list (it has the core User schema) without the extension:
        # such a target refuses each user that carries it, or drops what it holds.
        return [
            f"the target's /Schemas does not list the enterprise extension ({ENTERPRISE_URN}):"
            " it may refuse or drop the enterprise attributes declared here; if it does, "
            "stop managing them there with quirks: {not_kept: [enterprise]}"
        ]
    return []


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
