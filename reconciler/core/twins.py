"""Undeclared objects that share a matching value with a declared object's account: never
pruned, each one an error (DESIGN §1: many matches are an error, never a guess).

Matching stops at the first attribute that gives one candidate, so with several matching
attributes a second account with the same userName (a case or whitespace variant), the
same primary email or the same externalId is left undeclared, and prune would take it
away: the plan would read "disable alice@example.com" for a person the spec keeps.
An account still under a former name (`previously`) while the new name is matched is a
twin too, whatever the matching attributes: a rename done twice, not a stray.
"""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.core import attributes as A
from reconciler.core.changes import ObjectError
from reconciler.core.config import Target
from reconciler.core.match import NAME_ATTRIBUTE, Match, email_values, normalise
from reconciler.core.model import Json, Kind, Observed, Resource

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
    return value.startswith(target.ownership_prefix or "\0")


def _values(body: Mapping[str, Json], attribute: str) -> list[str]:
    # Every email, not only the primary one, as matching finds them (match.py).
    if attribute == "emails.value":
        return email_values(body.get("emails"))
    value = A.read(body, attribute)
    return [value] if isinstance(value, str) and value else []


def twin_errors(found: Twins) -> list[ObjectError]:
    return [
        ObjectError(
            kind,
            rid,
            "match",
            f"not deprovisioned: it has the {attribute} of {kind.value} {key}'s account "
            f"(id {owner}); remove the duplicate on the target, or declare it",
        )
        for (kind, rid), (attribute, key, owner) in sorted(found.items())
    ]
