"""Creates, never duplicated: look before a create where the listing may have missed the
object, and after one whose outcome is unknown, before sending it again or adopting."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import stamina

from reconciler.core import attributes as A
from reconciler.core.changes import Change
from reconciler.core.diff import AttrChange, equal
from reconciler.core.model import Json, Kind, Resource
from reconciler.core.roles_held import lost_roles, role_paths
from reconciler.core.shape import problem
from reconciler.errors import ScimHTTPError
from reconciler.scim.apply.answers import answers_for, not_found
from reconciler.scim.apply.create_search import lookup, name_searched, search_for
from reconciler.scim.apply.session import Failed, Session
from reconciler.scim.client import Reply
from reconciler.scim.writes import ENDPOINT, id_in_location, resource_path

# Answers that leave a create's outcome unknown: no answer (0), or a server or gateway
# error (RFC 9110 §15.6). The object may exist now, so it is looked up before anything else.
UNKNOWN = frozenset({0, 500, 502, 504})
# And a 503 to a create: a gateway's, the server may have made the object (retries.retry_on).
LOOK_FIRST = UNKNOWN | {503}


@dataclass(frozen=True)
class Created:
    """The new object's id, and the create's answer (None when an existing one was adopted)."""

    target_id: str
    reply: Reply | None


class _SendAgain(Exception):
    """The create failed with an unknown outcome; look it up, then maybe send it again."""

    def __init__(self, cause: ScimHTTPError) -> None:
        super().__init__(str(cause))
        self.cause = cause


def adopt_if_listed_short(s: Session, change: Change) -> str | None:
    """After a short read, look before creating: an object found is adopted (matched,
    and brought to the declared attributes) instead of created a second time."""
    if not s.look_before_create:
        return None
    found = found_before_create(s, change)
    return None if found is None else adopt(s, change, found, unlisted=True)


def found_before_create(s: Session, change: Change) -> Resource | None:
    """The object a create is for, looked up right before it: the one found, or None where
    the look finds none. Several found, or in lookup mode a lookup the target refused (there
    is no listing to fall back on), are Failed: a create would be a guess, and on a target
    that does not refuse duplicates it makes one, again on every run."""
    found = search_for(s, change)
    kind = change.kind.value
    if len(found.resources) > 1:
        ids = ", ".join(sorted(r.id for r in found.resources))
        raise Failed(
            f"{len(found.resources)} {kind}s on the target have this name (ids {ids}): not created"
        )
    if found.resources:
        return found.resources[0]
    if not found.conclusive and s.caps.lookup_reason is not None:
        attribute, value = name_searched(change)
        raise Failed(
            f"not created: the target cannot list everything, and it refused to look the "
            f"{kind} up ({attribute} eq {A.quote(value)}), so it may exist already; run "
            "apply again once the target answers that filter"
        )
    return None


def create(
    s: Session,
    change: Change,
    endpoint: str,
    body: dict[str, Json],
    ops: Sequence[Mapping[str, Json]] = (),
) -> Created:
    """POST a new object; never twice blindly.

    A 409 means the object exists though the import did not see it; an unknown outcome (a
    lost answer, a 5xx) may hide a create that succeeded. Either way the target is searched
    first: what is found is adopted, and only a search that proves the object absent lets
    the create be sent again, after a backoff, as many times in all as the retry policy's
    attempts.
    """
    failure: ScimHTTPError | None = None
    policy = s.client.retry
    sends = 0
    try:
        for attempt in stamina.retry_context(
            on=_SendAgain,
            attempts=policy.attempts,
            timeout=policy.timeout,
            wait_initial=policy.wait_initial,
            wait_max=policy.wait_max,
            wait_jitter=policy.wait_jitter,
        ):
            with attempt:
                if failure is not None:
                    adopted = look_again(s, change, failure)
                    if adopted is not None:
                        return Created(adopted, None)
                sends += 1
                try:
                    reply = s.write(
                        change,
                        "POST",
                        endpoint,
                        lambda: s.client.create(endpoint, body, resend_503=False),
                        change.attributes,
                        ops,
                    )
                except ScimHTTPError as exc:
                    if exc.status == 409:
                        return Created(adopt_existing(s, change, exc), None)
                    if exc.status not in LOOK_FIRST:
                        raise
                    failure = exc
                    raise _SendAgain(exc) from None
                target_id, own = created_id(s, change, reply)
                if not own:  # the answer is another object's: verify by reading this one
                    reply = Reply(reply.status, None, {})
                remember_location(s, change.kind, target_id, _location(reply))
                s.verify(change, f"{endpoint}/{target_id}", change.attributes, reply)
                return Created(target_id, reply)
    except _SendAgain as exc:
        adopted = look_again(s, change, exc.cause)
        if adopted is not None:
            return Created(adopted, None)
        raise Failed(f"{exc.cause}; sent {sends} times without success: run apply again") from None
    raise AssertionError("unreachable: stamina re-raises the last failure")  # pragma: no cover


def remember_location(s: Session, kind: Kind, target_id: str, location: Json) -> None:
    """Where a new object lives, as the target said it (for its `$ref` as a member)."""
    if isinstance(location, str) and location:
        with s.lock:
            s.locations[(kind, target_id)] = location


def _location(reply: Reply) -> Json:
    """A create's answer's location: meta.location, else the Location header."""
    body = reply.body if isinstance(reply.body, dict) else {}
    meta = body.get("meta")
    return (meta.get("location") if isinstance(meta, dict) else None) or reply.headers.get(
        "location"
    )


def look_again(s: Session, change: Change, failure: ScimHTTPError) -> str | None:
    """After an unknown outcome: the adopted id (our own create, whose answer was lost:
    the listing hid nothing), None when proven absent, else Failed."""
    found = search_for(s, change)
    if len(found.resources) == 1:
        return adopt(s, change, found.resources[0], unlisted=False, status=failure.status)
    if found.resources or not found.conclusive:
        raise Failed(f"{failure}; the create may not have happened: run apply again")
    return None


def adopt_existing(s: Session, change: Change, exc: ScimHTTPError) -> str:
    """A 409: the object exists, though the listing did not show it (so it hid something)."""
    found = lookup(s, change)
    kind, name = change.kind.value, name_searched(change)[1]
    # scimgateway makes a new object's id from its name and keeps it through renames.
    if found is None and (other := s.owners.owner(change.kind, name)) not in (None, change.key):
        raise Failed(
            f"{exc}; {kind} {other} has the id {name!r} on this target, which makes ids from "
            f"names: this {kind} cannot be created under that name while {other} holds it"
        )
    if found is None:
        s.unseen(change)  # no removal trusts that listing now, nor a deprovision of its like
        raise Failed(
            f"{exc}; the target says the object exists, but no single object with "
            "its key can be found: check the target for duplicates, then plan again"
        )
    return adopt(s, change, found, unlisted=True, status=exc.status)


def adopt(s: Session, change: Change, found: Resource, *, unlisted: bool, status: int = 0) -> str:
    """Match a planned create to the object found on the target (the one the match step
    missed, or our own create whose answer was lost), and bring it to the declared
    attributes like any matched object."""
    adoptable(s, change, found)
    s.log.warning(
        "create answered by adopting the existing object",
        step="match",
        kind=change.kind.value,
        key=change.key,
        status=status,
        target_id=found.id,
    )
    ids = s.known_ids()
    pending = []
    for attr in change.attributes:
        want = attr.after if attr.ref is None else (attr.after or ids.get(attr.ref))
        have = A.read(found.body, attr.path)
        if want is not None and not equal(attr.path, want, have):
            pending.append(AttrChange(attr.path, have, want, attr.ref))
    # Adoption brings an account to the declared attributes, but never takes its access
    # away: a disable or a lost role is decided by a plan, counted by the guards and
    # withheld after a read that hid objects; an account found here was never planned so.
    roles = role_paths(s.target)
    disable = [
        a for a in pending if (a.path == "active" and a.after is False) or lost_roles(a, roles)
    ]
    pending = [a for a in pending if a not in disable]
    path = resource_path(ENDPOINT[change.kind], found.id)
    # Unlisted: another's, whose writes are an update; else ours, whose answer was lost.
    s.saw(change.kind, found.id, adopted=change.key if unlisted else None)
    if pending:  # a GET-merge-PUT is checked against the body found, as against a read
        with s.lock:
            s.read_bodies.setdefault((change.kind, found.id), found.body)
        mine = replace(change, target_id=found.id)
        s.patch_or_put(mine, path, pending, found.version if s.use_etag else None)
    if change.kind is Kind.USER:  # a group's id is no user's, whatever its name (session.py)
        with s.lock:
            s.ids[change.key] = found.id
    if disable:
        what = "inactive" if any(a.path == "active" for a in disable) else "fewer roles"
        raise Failed(
            f"adopted {found.id}, which has more access on the target; the spec says {what}, "
            "and taking access away needs a plan: run plan again"
        )
    return found.id


def adoptable(s: Session, change: Change, found: Resource) -> None:
    """An object found on the target is adopted only if a plan could read it (core/shape.py):
    one it could not (emails of nulls, text that is not Unicode) is never written to. Nor is
    one whose id the run holds for another object (owners.py): renamed since the plan read
    it, it is that object's account. Either way: Failed, with nothing written."""
    why = problem(change.kind, found.body)
    if why is not None:
        raise Failed(
            f"found {change.kind.value} {found.id} on the target, but it cannot be read "
            f"({why}): not adopted, nothing written"
        )
    other = s.owners.claim(change.kind, change.key, found.id)
    if other is not None:
        raise Failed(
            f"found {change.kind.value} {found.id} on the target by its name, but it is "
            f"{change.kind.value} {other}'s: not adopted, nothing written; run plan again"
        )


def created_id(s: Session, change: Change, reply: Reply) -> tuple[str, bool]:
    """The new object's id, and whether it is the one the answer gave (False: that id
    belongs to another object of the run, or the answer is another resource, and the
    object was looked up by name instead)."""
    target_id, read = _created_id(s, change, reply)
    # An id no URL can name (not Unicode text) fails the create here, before a member or
    # a manager elsewhere is written with it; the next plan finds the object in error.
    resource_path(ENDPOINT[change.kind], target_id)
    other = s.owners.claim(change.kind, change.key, target_id)
    own = other is None
    if other is not None:
        target_id = found_instead(s, change, target_id, other)
    elif not answers_for(change, reply.body) or not (read or _read_as_sent(s, change, target_id)):
        s.owners.release(change.kind, change.key, target_id)
        target_id, own = own_by_name(s, change) or not_found(change, reply.body), False
    s.saw(change.kind, target_id)
    return target_id, own


def found_instead(s: Session, change: Change, answered: str, other: str) -> str:
    """A create answered with `answered`, an id that belongs to `other` (owners.py): the
    new object's own id, found by its name, or Failed; never the id of `other`."""
    s.log.warning(
        "create answered with another object's id",
        step="action",
        kind=change.kind.value,
        key=change.key,
        target_id=answered,
        detail=f"{answered} is {change.kind.value} {other}'s",
        outcome="looking the object up by its name",
    )
    found = own_by_name(s, change)
    if found is not None:
        return found
    raise Failed(
        f"the target answered the create with the id {answered} of {change.kind.value} "
        f"{other}, and no object of its own was found by its name: run plan again"
    )


def own_by_name(s: Session, change: Change) -> str | None:
    """A created object's id, when its answer gave none of its own: the one object with its
    name, claimed for it (owners.py); None when there is none, several, or it is another's."""
    found = lookup(s, change)
    if found is None or s.owners.claim(change.kind, change.key, found.id) is not None:
        return None
    return found.id


def _created_id(s: Session, change: Change, reply: Reply) -> tuple[str, bool]:
    """The id a create's answer gives, else its Location's, else the one found by its
    name; and whether it was read as the object sent (a Location's is, by `_served`)."""
    body = reply.body if isinstance(reply.body, dict) else {}
    if body.get("id"):
        return str(body["id"]), False
    located = id_in_location(reply.headers.get("location", ""), ENDPOINT[change.kind])
    if located is not None and _served(s, change, located):
        return located, True
    found = lookup(s, change)
    if found is None and located is not None:
        raise Failed(
            f"the target accepted the create but its answer held no id, and its Location "
            f"names {located!r}, which answers 404; no {change.kind.value} with its name was "
            "found either: run plan again"
        )
    if found is None:
        raise Failed("the target accepted the create but sent neither a body nor a Location")
    return found.id, True


def _served(s: Session, change: Change, rid: str) -> bool:
    """Whether the id a Location names is the object sent, as the target serves it.
    scimgateway answers a create it cannot read back (a userName its regex lookup misses,
    such as `a+b@x`) with `Location: .../Users/undefined`: taken as the id, "undefined"
    would be written as a member and a manager. A 404 says no, and so does an answer that
    is another object (the Location of an existing group: its members would be written
    to it); any other failure leaves it to the write's own check."""
    try:
        body = s.client.get(resource_path(ENDPOINT[change.kind], rid)).body
    except ScimHTTPError as exc:
        return exc.status != 404
    return answers_for(change, body)


def _read_as_sent(s: Session, change: Change, target_id: str) -> bool:
    """After a read that was not complete (lookup mode, a short listing), whether the id a
    create's answer gave is the object sent, read by that id (as a Location is, `_served`).
    With a complete read the owners (owners.py) know every id the target holds, so an
    existing object's id in the answer is found without a request; here an answer's own
    word for its name is not enough, as a lie in it would send the new object's members to
    an existing group."""
    return not s.unvouched or _served(s, change, target_id)
