"""The last phase of an apply: disables and deletes, after every create and membership."""

from __future__ import annotations

from reconciler.core.changes import Action, Change
from reconciler.errors import ScimHTTPError
from reconciler.scim.apply.session import ENDPOINT, Session
from reconciler.scim.apply.users import update


def deprovision(s: Session, change: Change) -> str | None:
    if change.action is Action.DISABLE:
        return update(s, change, change.attributes)
    return delete(s, change)


def delete(s: Session, change: Change) -> str | None:
    path = f"{ENDPOINT[change.kind]}/{change.target_id}"
    try:
        s.write(change, "DELETE", path, lambda: s.client.delete(path, s.etag(change)))
    except ScimHTTPError as exc:
        if exc.status != 404:  # already gone is what we wanted
            raise
    return change.target_id
