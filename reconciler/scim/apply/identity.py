"""Whom a write reaches, where no complete listing vouched for the ids (lookup mode, a
short listing): every id a write names is read by that id, and must hold the name the
plan (or the apply's own look-up) took it for.

The plan knows an object's id from the listing, or in lookup mode from an `eq` filter's
answer. A filter answer that pairs a declared user's name with a protected admin's id
(a hostile or broken target) would have the admin disabled as that user: protection
looks at the name the plan read, which was the declared user's; a member's id paired
so would put the admin in the group. Read by its id, the object shows the name it
really holds.

Two places, so every route is covered:
- `confirm_plan_ids`, once before anything is written: the objects the plan's changes
  write to, the members they add or remove, and the managers they set. One disagreeing
  id refuses the whole apply: a target whose answers disagree on whom its ids are is
  not one to write to.
- `confirm_found`, for what the apply looks up by name itself (a create's look first,
  after a 409 or a lost answer, a create answered without an id): each candidate is read
  by its id before it is adopted or written to.

After a complete listing neither runs: the listing's pairs of id and name are the
target's word, and no id stands for two objects (owners.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from reconciler.core.changes import Change
from reconciler.core.match import NAME_ATTRIBUTE, normalise
from reconciler.core.model import Kind, Resource
from reconciler.errors import ScimHTTPError, ScimrecError
from reconciler.scim.apply.session import Failed, Session
from reconciler.scim.client import ScimClient
from reconciler.scim.writes import ENDPOINT, resource_path

Named = tuple[Kind, str]  # an object's kind and id


class Gone(str):
    """Why nothing may be written naming an id that answered 404 when read by it: gone
    since the plan's read, or a target whose answers disagree on whether it exists (one
    that answers a GET 404 and takes a DELETE to the same id)."""


def misdirected(client: ScimClient, kind: Kind, rid: str, read_as: str) -> str | None:
    """Why nothing may be written naming `rid` (read by its id, it is not `read_as`, it is
    not there (Gone), or it cannot be read to tell), else None."""
    try:
        body = client.get(resource_path(ENDPOINT[kind], rid)).body
    except ScimrecError as exc:
        if isinstance(exc, ScimHTTPError) and exc.status == 404:
            return Gone(f"{kind.value} {read_as!r} ({rid}) answers 404 when read by its id")
        return f"{kind.value} {rid} could not be read by its id, to see whom it is ({exc})"
    attribute = NAME_ATTRIBUTE[kind]
    held = body.get(attribute) if isinstance(body, dict) else None
    if not isinstance(held, str):
        return f"read by its id ({rid}), the target's answer holds no {attribute}"
    if normalise(attribute, held) != normalise(attribute, read_as):
        return (
            f"read by its id ({rid}), {kind.value} {read_as!r} is {attribute} {held!r}: the "
            "target's answers disagree on whom this id is"
        )
    return None


def named_by(changes: Iterable[Change]) -> set[Named]:
    """Every id the changes write to or name: their objects, members and references."""
    out: set[Named] = set()
    for change in changes:
        if change.target_id is not None:
            out.add((change.kind, change.target_id))
        for member in (*change.members_add, *change.members_remove):
            if member.id is not None:
                out.add((Kind.GROUP if member.type == "Group" else Kind.USER, member.id))
        for attr in change.attributes:
            if attr.ref is not None and isinstance(attr.after, str):
                out.add((Kind.USER, attr.after))  # a manager: a user's id
    return out


def confirm_plan_ids(s: Session, changes: Iterable[Change]) -> None:
    """Before the first write, after a read no complete listing vouched for: each id the
    changes name, read by its id, holds the name the plan read for it; else ScimrecError,
    and nothing is written. An id that answers 404 refuses only the changes naming it
    (`Session.not_written`): each fails unsent, a delete of that very object too (gone
    since the plan, or a target whose answers disagree: reported done, a delete a target
    never made would be said done every run). Sent anyway, a write would reach whatever
    the target takes that id for, which its own read just denied holding."""
    if not s.unvouched:
        return
    changes = tuple(changes)
    named = sorted((k, i, n) for k, i in named_by(changes) if (n := s.names_read.get((k, i))))
    if not named:
        return
    with ThreadPoolExecutor(max_workers=max(1, s.target.concurrency)) as pool:
        found = list(pool.map(lambda n: misdirected(s.client, *n), named))
    refusals = [r for r in found if r is not None and not isinstance(r, Gone)]
    if refusals:
        more = f" (and {len(refusals) - 1} more)" if len(refusals) > 1 else ""
        raise ScimrecError(f"refusing to apply: {refusals[0]}{more}; nothing was written")
    gone = {(k, i): r for (k, i, _), r in zip(named, found, strict=True) if isinstance(r, Gone)}
    for change in changes if gone else ():
        why = next((gone[n] for n in sorted(named_by((change,))) if n in gone), None)
        if why is not None:
            s.not_written[(change.kind, change.key)] = why


def confirm_found(s: Session, kind: Kind, name: str, found: Iterable[Resource]) -> None:
    """After a read no complete listing vouched for: each object a look-up by `name`
    found, read by its id, holds that name (and is there); else Failed, before it is
    adopted or written."""
    if not s.unvouched:
        return
    for resource in found:
        refusal = misdirected(s.client, kind, resource.id, name)
        if refusal is not None:
            raise Failed(f"not written: {refusal}")
