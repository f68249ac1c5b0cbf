"""Which deprovisions an apply withholds, and why: those whose account this run has learned
it may be wrong about, each with what resolves it.

- A lookup found an object the listing hid (Session.saw, `unlisted`): the listing the plan
  came from cannot be trusted, so no deprovision is; the next plan sees that object.
- A create answered 409 whose object no lookup or listing shows (Session.unseen, `hidden`:
  a Salesforce username taken in another org, a Keycloak user created by a login): the
  account it names may be one the plan deprovisions under another name, so a deprovision
  of an account with an equivalent name (core/match.py `skeleton`) or a matching value
  equal to the declared one is withheld. Nothing else is: planning again shows the same,
  and one such user would otherwise keep every leaver's access, run after run.
- A create of an equivalent name failed in this run: its account may be this one.
"""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.core import attributes as A
from reconciler.core.changes import Change
from reconciler.core.config import Target
from reconciler.core.match import normalise, skeleton
from reconciler.core.model import Json, Kind, Observed
from reconciler.scim.apply.session import Session

Bodies = Mapping[tuple[Kind, str], Mapping[str, Json]]


def bodies_read(read: Observed | None) -> Bodies:
    """Every object the plan read, by kind and id: what a deprovision's account holds."""
    if read is None:
        return {}
    kinds = ((Kind.USER, read.users), (Kind.GROUP, read.groups))
    return {(kind, r.id): r.body for kind, resources in kinds for r in resources}


def why_withheld(
    s: Session, change: Change, failed: set[tuple[Kind, str]], bodies: Bodies
) -> str | None:
    """Why `change` (a disable or delete) is not sent, with what to do; None: it is."""
    hidden = {f"{c.kind.value} {c.key}" for c in s.hidden}
    found = [what for what in s.unlisted if what not in hidden]
    if found:
        return f"the target holds {found[0]}, which its listing did not show; run plan again"
    body = bodies.get((change.kind, change.target_id or ""), {})
    for create in s.hidden:
        alike = _alike(s.target, create, change, body)
        if alike is not None:
            name = f"{create.kind.value} {create.key}"
            return (
                f"{name} could not be created (the target says it exists, but no lookup or "
                f"listing shows it) and may be this account ({alike}); withheld until {name} "
                f"is resolved: find it on the target and match it, or take it out of the spec"
            )
    if (change.kind, skeleton(change.key)) in failed:
        return "creating an account with an equivalent name failed in this run; run plan again"
    return None


def _alike(target: Target, create: Change, change: Change, body: Mapping[str, Json]) -> str | None:
    """What makes the account `change` deprovisions possibly the one `create` was for."""
    if create.kind is not change.kind:
        return None
    name = body.get("userName" if change.kind is Kind.USER else "displayName")
    names = {skeleton(change.key), *([skeleton(name)] if isinstance(name, str) else [])}
    if skeleton(create.key) in names:
        return "an equivalent name"
    declared = {a.path: a.after for a in create.attributes}
    matching = target.user_matching if change.kind is Kind.USER else target.group_matching
    for attribute in matching:
        want = declared.get(attribute, A.read(declared, attribute))
        have = A.read(body, attribute)
        if not (isinstance(want, str) and isinstance(have, str) and want.strip()):
            continue
        if normalise(attribute, want) == normalise(attribute, have):
            return f"the same {attribute}"
    return None
