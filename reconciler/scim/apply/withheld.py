"""Which deprovisions and member removals an apply withholds, and why: those whose account
this run has learned it may be wrong about, each with what resolves it.

- A lookup found an object the listing hid (Session.saw, `unlisted`): the listing the plan
  came from cannot be trusted, so no deprovision is; the next plan sees that object.
- A create answered 409 whose object no lookup or listing shows (Session.unseen, `hidden`:
  a Salesforce username taken in another org, a Keycloak user created by a login): the
  account it names may be one the plan deprovisions under another name, so a deprovision
  of an account with an equivalent name (core/match.py `skeleton`) or a matching value
  equal to the declared one is withheld. Nothing else is: planning again shows the same,
  and one such user would otherwise keep every leaver's access, run after run.
- A create of an equivalent name failed in this run: its account may be this one.

A group's member removals are withheld alike (`removals_withheld`), a member the plan read
no object for counting as one that may be the hidden account.
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


def why_withheld(s: Session, change: Change, failed: set[tuple[Kind, str]]) -> str | None:
    """Why `change` (a disable or delete) is not sent, with what to do; None: it is."""
    hidden = {f"{c.kind.value} {c.key}" for c in s.hidden}
    found = [what for what in s.unlisted if what not in hidden]
    if found:
        return f"the target holds {found[0]}, which its listing did not show; run plan again"
    body = s.bodies.get((change.kind, change.target_id or ""), {})
    for create in s.hidden:
        alike = _alike(s.target, create, change.kind, change.key, body)
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


def removals_withheld(s: Session, kind: Kind, ids: list[str]) -> tuple[list[str], str | None]:
    """Of a group's member removals (of `ids`, objects of `kind`), those sent, and why the
    others are not (None: all are). Once a lookup found what the listing hid, none is: that
    listing showed the group's members too. A create answered 409 that nothing shows
    withholds only the removals of members that may be its account: a name or matching
    value alike (as a deprovision), or an id the plan read no object of `kind` under."""
    if not s.unlisted or not ids:
        return ids, None
    hidden = {f"{c.kind.value} {c.key}" for c in s.hidden}
    if found := [what for what in s.unlisted if what not in hidden]:
        held = f"the target holds {found[0]}, which its listing did not show, so the listing"
        return [], f"{held} cannot be trusted; run plan again"
    sent: list[str] = []
    why: str | None = None
    for member in ids:
        body = s.bodies.get((kind, member))
        for create in s.hidden:
            alike = "an id the plan did not read" if body is None else None
            alike = alike or _alike(s.target, create, kind, None, body or {})
            if create.kind is kind and alike is not None:
                name = f"{create.kind.value} {create.key}"
                why = why or (
                    f"{name} could not be created (the target says it exists, but no lookup "
                    f"or listing shows it) and may be member {_named(kind, member, body)} "
                    f"({alike}); withheld until {name} is resolved: find it on the target and "
                    "match it, or take it out of the spec"
                )
                break
        else:
            sent.append(member)
    return sent, why


def _named(kind: Kind, member: str, body: Mapping[str, Json] | None) -> str:
    name = (body or {}).get("userName" if kind is Kind.USER else "displayName")
    return name if isinstance(name, str) and name else member


def _alike(
    target: Target, create: Change, kind: Kind, key: str | None, body: Mapping[str, Json]
) -> str | None:
    """What makes an account of `kind` (declared as `key`, if it is; read as `body`)
    possibly the one `create` was for."""
    if create.kind is not kind:
        return None
    name = body.get("userName" if kind is Kind.USER else "displayName")
    names = {skeleton(n) for n in (key, name) if isinstance(n, str)}
    if skeleton(create.key) in names:
        return "an equivalent name"
    declared = {a.path: a.after for a in create.attributes}
    matching = target.user_matching if kind is Kind.USER else target.group_matching
    for attribute in matching:
        want = declared.get(attribute, A.read(declared, attribute))
        have = A.read(body, attribute)
        if not (isinstance(want, str) and isinstance(have, str) and want.strip()):
            continue
        if normalise(attribute, want) == normalise(attribute, have):
            return f"the same {attribute}"
    return None
