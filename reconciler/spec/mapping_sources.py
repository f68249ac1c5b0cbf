"""Offline check that every attribute a mapping or a scoping filter reads can exist: a
misspelt source (`[maill]`) would otherwise read nothing, and leave the mapped attribute
silently unmanaged; a misspelt scope attribute (`enterprise.departmnt`) makes its clause
false for every user, and `out_of_scope: deprovision` then disables them all.

A source is known when it is a SCIM attribute of its kind (RFC 7643 §4.1, the enterprise
extension) or when a declared object of that kind carries it (a `custom:` attribute, an
extension attribute). A tree that declares no object of a kind is not checked for that kind:
there is nothing yet to compare a name with; nor is a mapping with a `default`, which sets
its attribute either way (a source nobody has yet, with a fallback, is a deliberate choice).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping

from reconciler.core import attributes as A
from reconciler.core.assignment import ROLE_ASSIGNMENTS
from reconciler.core.config import Target
from reconciler.core.mapping import AttrMapping, source_view, used_attributes
from reconciler.core.model import Declared, Kind, Location
from reconciler.core.scope import MEMBERSHIP
from reconciler.spec.source import PathKey

SCIM_SOURCES: Mapping[Kind, frozenset[str]] = {
    Kind.USER: frozenset(
        {*A.USER_SIMPLE, *(f"name.{p}" for p in A.NAME_PARTS)}
        | {f"enterprise.{k}" for k in A.ENTERPRISE}
        | {*A.USER_MULTI, "emails.value"}
        # What the target's assignment derives for each user (core/assignment.py).
        | {MEMBERSHIP, ROLE_ASSIGNMENTS}
    ),
    Kind.GROUP: frozenset(A.GROUP_SIMPLE),
}
# Entra ID's names for what a scimrec spec declares as SCIM attributes: a mapping copied from
# Entra reads these, and the hint says what they are called here.
ENTRA_NAMES: Mapping[str, str] = {
    "givenName": "name.givenName",
    "surname": "name.familyName",
    "userPrincipalName": "userName",
    "mailNickname": "nickName",
    "jobTitle": "title",
    "accountEnabled": "active",
    "department": "enterprise.department",
    "employeeId": "enterprise.employeeNumber",
    "companyName": "enterprise.organization",
}


def unknown_sources(
    targets: Mapping[str, Target], users: Iterable[Declared], groups: Iterable[Declared]
) -> Iterator[tuple[PathKey, str, Location | None]]:
    """(path, message, location) for each mapping source no object of its kind can have."""
    for kind, declared in ((Kind.USER, list(users)), (Kind.GROUP, list(groups))):
        if not declared:
            continue
        chosen = [
            (name, target.user_mappings if kind is Kind.USER else target.group_mappings)
            for name, target in sorted(targets.items())
        ]
        if not any(mappings for _, mappings in chosen):
            continue  # nothing to check: spare collecting every object's source names
        known = set(SCIM_SOURCES[kind])
        for obj in declared:
            known.update(source_view(obj))
        for name, mappings in chosen:
            for mapping in mappings:
                yield from _check(name, kind, mapping, known)


def _check(
    name: str, kind: Kind, mapping: AttrMapping, known: set[str]
) -> Iterator[tuple[PathKey, str, Location | None]]:
    if mapping.default is not None:  # it sets its attribute either way: the default is meant
        return
    for source in sorted(used_attributes(mapping) - known):
        close = difflib.get_close_matches(source, sorted(known), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        if kind is Kind.USER and source in ENTRA_NAMES:
            hint = f" (Entra's {source} is {ENTRA_NAMES[source]} in a scimrec spec)"
        message = (
            f"unknown source attribute '{source}'{hint}: no declared {kind.value} has it and it "
            f"is not a SCIM {kind.value} attribute, so {mapping.target} would never be set"
        )
        path = ("targets", name, "mappings", kind.value, mapping.target)
        yield path, message, mapping.location


def unknown_scope_attributes(
    targets: Mapping[str, Target], users: Iterable[Declared]
) -> Iterator[tuple[PathKey, str, Location | None]]:
    """(path, message, location) for each scoping clause's attribute no user can have."""
    scoped = [(n, t, t.scope) for n, t in sorted(targets.items()) if t.scope is not None]
    declared = list(users)
    if not scoped or not declared:
        return
    known = set(SCIM_SOURCES[Kind.USER])
    for obj in declared:
        known.update(source_view(obj))
    for name, target, scope in scoped:
        for g, group in enumerate(scope.groups):
            for c, clause in enumerate(group):
                if clause.attribute in known:
                    continue
                close = difflib.get_close_matches(clause.attribute, sorted(known), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                yield (
                    ("targets", name, "scope", g, c, "attribute"),
                    f"unknown scope attribute '{clause.attribute}'{hint}: no declared user has "
                    "it and it is not a SCIM user attribute, so the clause reads nothing for "
                    "every user",
                    target.location,
                )
