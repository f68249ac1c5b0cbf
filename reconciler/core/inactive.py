"""A disabled user as a target that leaves `active` out of it shows one (`quirks:
{inactive: absent}`): read as disabled, so it is neither disabled again nor counted again.

Snipe-IT, and Go servers whose `Active bool` is tagged `json:"active,omitempty"`, show
`active` only when it is true: read as shown, every disabled user is `active: null`, every
plan disables it again, and the guards count each one, until every apply is refused. An
absent `active` is no proof on its own (Sentry never shows it, disabled or not), so it is
read as false only where the target's `quirks:` say that is what it means.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from reconciler.core.config import Target
from reconciler.core.model import Json, Observed

QUIRK = "inactive"  # the quirk's key; its value "absent" turns the reading on


def unshown(target: Target) -> bool:
    """Whether this target shows a disabled user by leaving `active` out."""
    return target.quirks.get(QUIRK) == "absent"


def as_meant(target: Target, body: Mapping[str, Json]) -> Mapping[str, Json]:
    """A user's body with `active: false` where the target means that by leaving it out
    (or showing it null, the same as unassigned: RFC 7643 §2.5); itself otherwise. Keys
    compare case-insensitively (RFC 7643 §2.1): `Active` is shown."""
    if not unshown(target):
        return body
    shown = [k for k in body if k.casefold() == "active"]
    if any(body[k] is not None for k in shown):
        return body
    return {**{k: v for k, v in body.items() if k not in shown}, "active": False}


def users_as_meant(target: Target, observed: Observed) -> Observed:
    """`observed` with each user's body read as the target means it (as_meant)."""
    if not unshown(target):
        return observed
    users = tuple(
        u if (b := as_meant(target, u.body)) is u.body else dataclasses.replace(u, body=b)
        for u in observed.users
    )
    return dataclasses.replace(observed, users=users)
