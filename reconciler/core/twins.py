"""Undeclared objects that share a matching value with a declared object's account: never
pruned, each one an error (DESIGN §1: many matches are an error, never a guess).

Matching stops at the first attribute that gives one candidate, so with several matching
attributes a second account with the same userName (a case or whitespace variant), the
same primary email or the same externalId is left undeclared, and prune would take it
away: the plan would read "disable alice@example.com" for a person the spec keeps.
An account still under a former name (`previously`) while the new name is matched is a
twin too, whatever the matching attributes: a rename done twice, not a stray.

The other side of the same rule: a declared object that matched nothing while an account
holds its owned externalId is in error (`held_elsewhere`), never created a second time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet

from reconciler.core import attributes as A
from reconciler.core.changes import ObjectError
from reconciler.core.config import Target
from reconciler.core.match import (
    NAME_ATTRIBUTE,
    Attempt,
    Match,
    declared_value,
    email_values,
    normalise,
)
from reconciler.core.model import Declared, Json, Kind, Observed, Resource
from reconciler.core.targetview import TargetView

# (kind, id) of an undeclared object → the attribute it shares, and with whom (key, id).
Twins = dict[tuple[Kind, str], tuple[str, str, str]]


def twins(target: Target, observed: Observed, matches: Mapping[tuple[Kind, str], Match]) -> Twins:
    """The undeclared objects sharing a matching value with a matched object's account,
    or with the declared name of a matched object."""
    out: Twins = {}
    for kind, resources, attributes in (
        (Kind.USER, observed.users, target.user_matching),
        (Kind.GROUP, observed.groups, target.group_matching),
    ):
        keys = _keys(target, attributes)
        claimed: set[str] = set()
        former: dict[str, tuple[str, str, str]] = {}
        matched: list[tuple[str, Resource]] = []
        for (of, key), match in matches.items():
            found = match.resource
            if of is not kind or found is None:
                continue
            matched.append((key, found))
            claimed.add(found.id)
            for attempt in match.attempts:
                if attempt.attribute.startswith("previously"):
                    for cid in attempt.candidates:
                        former.setdefault(cid, (f"former {NAME_ATTRIBUTE[kind]}", key, found.id))
        out.update(((kind, rid), twin) for rid, twin in former.items() if rid not in claimed)
        if len(keys) < 2:
            continue  # one attribute: two accounts with its value are a match error already
        # Most runs leave no account unmatched: then no value of the matched ones (every
        # declared object's) needs reading.
        unmatched = [r for r in resources if r.id not in claimed and (kind, r.id) not in out]
        if not unmatched:
            continue
        held = _held(target, kind, attributes, keys, matched)
        for resource in unmatched:
            shared = next(
                (
                    (attribute, *owner)
                    for attribute in keys
                    for value in _values(resource.body, attribute)
                    if (owner := held.get((attribute, normalise(attribute, value)))) is not None
                ),
                None,
            )
            if shared is not None:
                out[(kind, resource.id)] = shared
    return out


def kept_twins(
    target: Target,
    observed: Observed,
    kind: Kind,
    matches: Mapping[str, Match],
    view: TargetView,
) -> frozenset[str]:
    """The ids of the other accounts of present declared objects of one kind, never taken
    out of a group (a user's from its groups, a group's from the groups it is nested in):
    they are the object's as much as the matched account. An absent object's are not kept:
    a leaver's second account leaves as any undeclared account does (and is in error where
    the plan is whole: prune.twin_strays)."""
    found = twins(target, observed, {(kind, key): m for key, m in matches.items()})
    if not found:
        return frozenset()  # nearly always: then no declared object's presence is asked
    objects = (*view.all_users, *view.all_groups, *view.failed)
    present = {d.key for d in objects if d.kind is kind and d.present}
    kept = (rid for (of, rid), (_, key, *_) in found.items() if of is kind and key in present)
    return frozenset(kept)


def held_elsewhere(
    target: Target,
    objects: Iterable[Declared],
    resources: Sequence[Resource],
    matches: dict[str, Match],
) -> dict[str, Match]:
    """`matches`, where each declared object that matched nothing while an account holds
    its owned externalId fails instead, with those accounts as its candidates.

    The prefix says scimrec wrote that value, so the account is the object's: renamed in
    the YAML with matching that does not read externalId, a create would give the person
    a second, empty account while prune took the first with its memberships (or, with
    `deprovision: disable`, leave two accounts holding one externalId). Matching on an
    attribute the target does not match on would be a guess the README's Matching rules
    out; a rename goes through `previously` or a matching attribute, as the message says.
    As a failed match's candidates, the accounts are never pruned nor taken out of groups.
    """
    prefix = target.ownership_prefix
    if not prefix:
        return matches
    unmatched = [
        (obj, value)
        for obj in objects
        if (match := matches[obj.key]).resource is None
        and match.error is None
        and (value := declared_value(obj, "externalId")) is not None
        and _prefixed(value, prefix)
    ]
    if not unmatched:  # nearly every run: no account needs reading
        return matches
    # By id: copies of one id (core/shape.py) are one account to name.
    holders: dict[str, dict[str, Resource]] = defaultdict(dict)
    for resource in resources:
        external = resource.body.get("externalId")
        if isinstance(external, str) and _prefixed(external, prefix):
            holders[normalise("externalId", external)].setdefault(resource.id, resource)
    out = dict(matches)
    for obj, value in unmatched:
        held = list(holders.get(normalise("externalId", value), {}).values())
        if held:
            match = matches[obj.key]
            attempt = Attempt("externalId (owned)", value, tuple(r.id for r in held))
            out[obj.key] = Match(
                None, None, (*match.attempts, attempt), _held_message(obj, value, held, target)
            )
    return out


def _held_message(obj: Declared, value: str, held: list[Resource], target: Target) -> str:
    name = NAME_ATTRIBUTE[obj.kind]
    matching = target.user_matching if obj.kind is Kind.USER else target.group_matching
    names = [n if isinstance(n := r.body.get(name), str) and n else None for r in held]
    accounts = ", ".join(
        r.id if n is None else f"{r.id} ({name} {A.quote(n)})"
        for r, n in zip(held, names, strict=True)
    )
    if len(held) > 1 or names[0] is None:
        fix = "keep one account on the target, then declare its name in previously"
    else:
        fix = f"to rename that account add previously: [{A.quote(names[0])}]"
    return (
        f"OwnedExternalIdMatch: externalId {A.quote(value)} is held by target "
        f"object{'s' if len(held) > 1 else ''} {accounts}, which matching on "
        f"{', '.join(matching)} did not find; {fix} (or match on externalId), "
        "or else free the externalId on the target"
    )


def _held(
    target: Target,
    kind: Kind,
    attributes: tuple[str, ...],
    keys: tuple[str, ...],
    matched: list[tuple[str, Resource]],
) -> dict[tuple[str, str], tuple[str, str]]:
    """Each telling value of the matched accounts (and each declared name), normalised,
    with the key and id of the first account holding it."""
    held: dict[tuple[str, str], tuple[str, str]] = {}
    for key, found in matched:
        values = [(a, A.read(found.body, a)) for a in keys]
        if NAME_ATTRIBUTE[kind] in attributes:
            values.append((NAME_ATTRIBUTE[kind], key))
        for attribute, value in values:
            if isinstance(value, str) and value and _telling(target, attributes, attribute, value):
                held.setdefault((attribute, normalise(attribute, value)), (key, found.id))
    return held


def _keys(target: Target, attributes: tuple[str, ...]) -> tuple[str, ...]:
    """The attributes two accounts of one declared object may share: the matching ones,
    and under an ownership prefix `externalId` too. That prefix says scimrec wrote the
    value, so an undeclared owned account holding the externalId of a declared object's
    account is the same person's (a rename made on the target, an account made again):
    with userName matching alone, `prune: owned` disabled it as a stray."""
    if target.ownership_prefix and "externalId" not in attributes:
        return (*attributes, "externalId")
    return attributes


def _telling(target: Target, attributes: tuple[str, ...], attribute: str, value: str) -> bool:
    """Whether a value of a declared object's account names that object: any value of a
    matching attribute; of the externalId `_keys` adds, only one with the prefix (a
    constant some targets write on every account says nothing about who it is)."""
    if attribute in attributes:
        return True
    return bool(target.ownership_prefix) and _prefixed(value, target.ownership_prefix or "")


def _prefixed(value: str, prefix: str) -> bool:
    """Whether an externalId carries the ownership prefix, compared as matching compares
    values (NFKC, surrounding whitespace ignored): ` sr-alice` or one written full-width
    is the account matching would find for `sr-alice`, and a second one created beside it
    would be the same person's."""
    return normalise("externalId", value).startswith(normalise("externalId", prefix))


def _values(body: Mapping[str, Json], attribute: str) -> list[str]:
    # Every email, not only the primary one, as matching finds them (match.py).
    if attribute == "emails.value":
        return email_values(body.get("emails"))
    value = A.read(body, attribute)
    return [value] if isinstance(value, str) and value else []


def twin_errors(
    found: Twins, absent: AbstractSet[tuple[Kind, str]] = frozenset()
) -> list[ObjectError]:
    """Each twin in error; one of an object declared absent says that the plan leaves it."""
    return [
        ObjectError(
            kind,
            rid,
            "match",
            f"not deprovisioned: it has the {attribute} of {kind.value} {key}'s account "
            f"(id {owner}); "
            + (
                f"{kind.value} {key} is declared absent, and this plan deprovisions only "
                f"that account: remove this one on the target too, or declare it"
                if (kind, key) in absent
                else "remove the duplicate on the target, or declare it"
            ),
        )
        for (kind, rid), (attribute, key, owner) in sorted(found.items())
    ]
