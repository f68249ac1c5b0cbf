"""The last phase of an apply: disables and deletes, after every create and membership."""

from __future__ import annotations

from reconciler.core.changes import Action, Change
from reconciler.errors import ScimHTTPError
from reconciler.scim.apply.session import Session
from reconciler.scim.apply.users import update
from reconciler.scim.writes import ENDPOINT, resource_path


def deprovision(s: Session, change: Change) -> str | None:
    if change.action is Action.DISABLE:
        return disable(s, change)
    return delete(s, change)


def disable(s: Session, change: Change) -> str | None:
    """The disable, with the time of disabling where the target's `delete_after` reads it.

    A target that refuses that attribute (an extension it does not serve) still gets the
    disable: locking the account out is what matters now; without a recorded time it is
    never deleted automatically, which the next plan says.
    """
    stamp = s.target.disabled_at if s.target.delete_after is not None else None
    if not any(a.path == stamp for a in change.attributes):
        return update(s, change, change.attributes)
    try:
        return update(s, change, change.attributes)
    except ScimHTTPError as exc:
        if exc.status != 400:
            raise
        s.log.warning(
            "disable time refused",
            step="action",
            kind=change.kind.value,
            key=change.key,
            status=exc.status,
            detail=f"the target refused {stamp} ({exc.detail}); disabling without it: "
            "delete_after will not delete this account",
        )
    return update(s, change, tuple(a for a in change.attributes if a.path != stamp))


def delete(s: Session, change: Change) -> str | None:
    path = resource_path(ENDPOINT[change.kind], str(change.target_id))
    try:
        s.write(change, "DELETE", path, lambda: s.client.delete(path, s.etag(change)))
    except ScimHTTPError as exc:
        if exc.status != 404:  # already gone is what we wanted
            raise
    return change.target_id
