"""The last phase of an apply: disables and deletes, after every create and membership."""

from __future__ import annotations

from reconciler.core import attributes as A
from reconciler.core.changes import Action, Change
from reconciler.core.diff import AttrChange
from reconciler.core.lifecycle import read_time
from reconciler.core.model import Kind
from reconciler.errors import ScimHTTPError, ScimrecError
from reconciler.scim.apply.protection import refuse_if_it_holds_protected
from reconciler.scim.apply.session import Failed, Session
from reconciler.scim.apply.users import update
from reconciler.scim.client import Reply
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
    when = next((a for a in change.attributes if a.path == stamp), None)
    if when is None:
        return update(s, change, change.attributes)
    try:
        done = update(s, change, change.attributes)
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
        done = update(s, change, tuple(a for a in change.attributes if a.path != stamp))
    else:
        # Not kept as sent (write verification): the target may have written it in a form
        # of its own, or kept the old one (an attribute it lets be written once).
        if when.before is None or when.path not in s.dropped.get((change.kind, change.key), ()):
            return done
        if not _still_earlier(s, change, when):
            return done
    if when.before is not None:
        _forget_earlier_time(s, change, when)
    return done


def _still_earlier(s: Session, change: Change, when: AttrChange) -> bool:
    """Whether the account still holds the time of disabling it held before this disable."""
    held = s.client.get(resource_path(ENDPOINT[change.kind], str(change.target_id))).body
    now = A.read(held, when.path) if isinstance(held, dict) else None
    earlier = read_time(when.before)
    return earlier is not None and read_time(now) == earlier


def _forget_earlier_time(s: Session, change: Change, when: AttrChange) -> None:
    """The account held a time of disabling from an earlier cycle (disabled, enabled again,
    now disabled anew), and the target did not take this one: left there, the next plan
    would count from the old time and delete the account at once. It is removed; a target
    that keeps it makes this disable a failure that says so."""
    path = resource_path(ENDPOINT[change.kind], str(change.target_id))
    try:
        update(s, change, (AttrChange(when.path, when.before, None),))
    except ScimHTTPError as exc:
        if exc.status != 400:
            raise
    else:
        held = s.client.get(path).body
        if not isinstance(held, dict) or A.read(held, when.path) in (None, ""):
            return
    raise Failed(
        f"disabled, but the target keeps an earlier time of disabling ({when.path}: "
        f"{when.before!r}) that it would neither replace nor remove: delete_after would count "
        "from it and delete the account at once; remove it on the target"
    )


def delete(s: Session, change: Change) -> str | None:
    path = resource_path(ENDPOINT[change.kind], str(change.target_id))
    # An object whose read by id answered 404 (identity.py) is not deleted: never sent to
    # an id the target's read denied holding, the delete fails where it is sent
    # (Session.write), as gone or as a target whose answers disagree; never reported done.
    if change.kind is Kind.GROUP and s.target.protected:
        refuse_if_it_holds_protected(s, change, path)

    def send() -> Reply:
        try:
            return s.client.delete(path, s.etag(change))
        except ScimHTTPError as exc:
            if exc.status != 404:  # already gone is what we wanted
                raise
        # Read back as a success is (a 404 from a gateway, or a target with no DELETE
        # route, leaves the object where it was): done where it is gone (a retry after a
        # lost answer gets this 404).
        return Reply(404, None, {})

    # Verified before the write is recorded: the audit log says done only where it is gone.
    s.write(change, "DELETE", path, send, check=lambda reply: _gone(s, change, path, reply.status))
    return change.target_id


def _gone(s: Session, change: Change, path: str, status: int) -> None:
    """Write verification of a delete: a deleted resource answers 404 to every request
    (RFC 7644 §3.6). A target that answered success but still serves it (one that only
    deactivates on DELETE) would get the same delete from every plan, shown as done by
    every apply: the delete fails instead, and says what to do."""
    try:
        held = s.client.get(path).body
    except ScimrecError as exc:
        if isinstance(exc, ScimHTTPError) and exc.status in (404, 410):  # 410: Gone
            return
        s.log.warning("delete not verified", step="action", kind=change.kind.value,
                      key=change.key, detail=f"GET {path} failed: {exc}")  # fmt: skip
        return
    if not isinstance(held, dict) or str(held.get("id", "")) != str(change.target_id):
        return
    active = held.get("active")
    state = f" (active: {str(active).lower()})" if isinstance(active, bool) else ""
    if status == 202:
        # Accepted, to be done later (RFC 9110 §15.3.3): still served now proves nothing;
        # the next plan shows whether it went.
        s.log.warning(
            "delete not verified",
            step="action",
            kind=change.kind.value,
            key=change.key,
            detail=f"DELETE {path} answered 202 (accepted, not yet done) and the target "
            f"still holds the {change.kind.value}{state}",
        )
        return
    raise Failed(
        f"DELETE {path} answered {status}, but the target still holds the {change.kind.value}"
        f"{state}: it keeps what it deletes, so {_again_and_fix(s, change)} on the target"
    )


def _again_and_fix(s: Session, change: Change) -> str:
    """Who would delete it again, and the setting that stops it: a user's delete comes
    from `deprovision: delete`, or, where the target disables, from `delete_after`."""
    if change.kind is not Kind.USER:
        return "every plan would delete it again; remove it"
    if s.target.deprovision != "delete" and s.target.delete_after is not None:
        return (
            "delete_after would delete it again; remove delete_after from this target's "
            "deprovision, or remove it"
        )
    return (
        "every plan would delete it again; set deprovision: disable for this target, or remove it"
    )
