"""Declared extension attributes checked against the target's /Schemas (step 2, import)."""

from __future__ import annotations

from typing import Any

from reconciler.core.config import Spec, Target
from reconciler.core.model import Json
from reconciler.errors import ScimrecError, UsageError
from reconciler.scim.client import ScimClient
from reconciler.scim.paging import listed


def check_extensions(client: ScimClient, target: Target, spec: Spec, log: Any) -> None:
    """Declared extension attributes must exist in the target's /Schemas, when it has them.

    A target without /Schemas (or without that schema listed) cannot be checked: noted in
    the log, not fatal, as the target will say so itself if it refuses an attribute.
    """
    if not target.extensions:
        return
    try:
        reply = client.get("/Schemas")
        listing = listed(reply.body if isinstance(reply.body, dict) else {}, "GET /Schemas")
    except ScimrecError as exc:
        log.warning("schemas unavailable", step="import", detail=str(exc))
        return
    schemas = {
        s["id"]: {str(a.get("name")) for a in _list(s.get("attributes")) if isinstance(a, dict)}
        for s in listing
        if isinstance(s, dict) and isinstance(s.get("id"), str)
    }
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
