"""Attribute mappings per target, in Entra's model: each target attribute comes from a
source attribute, a constant or an expression, applied always or only on create.

The identity mapping is the default: with no `mappings:` a declared attribute is written as
declared. Mappings are pure; the clock and the GUID source are injected.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.core import attributes as A
from reconciler.core.model import Declared, Json, Kind, Location
from reconciler.expressions.dotnet_dates import Clock
from reconciler.expressions.evaluation import SKIP, evaluate, source_keys
from reconciler.expressions.parser import parse
from reconciler.expressions.syntax import Call, Expr, ExpressionError, references, walk

# A user's roles, as Entra maps them: `roles` takes a list (AppRoleAssignmentsComplex)
# and `roles[primary eq "True"].value` one role, the primary (SingleAppRoleAssignment).
PRIMARY_ROLE = 'roles[primary eq "True"].value'
ROLE_TARGETS = frozenset({"roles", PRIMARY_ROLE})
USER_TARGETS = frozenset(
    {*A.USER_SIMPLE, *(f"name.{p}" for p in A.NAME_PARTS)}
    | {f"enterprise.{k}" for k, kind in A.ENTERPRISE.items() if kind != A.REFERENCE}
    | ROLE_TARGETS
)
GROUP_TARGETS = frozenset(A.GROUP_SIMPLE)
KEYS = ("source", "constant", "expression", "apply", "default")
# Functions whose value changes on every run: as `apply: always` they would never converge.
VOLATILE = frozenset({"Guid", "Now"})
# Since Python 3.10 every `frozenset()` is a new 216-byte object: an unmapped object's
# view shares this one (100,000 users: 21 MB).
NO_PATHS: frozenset[str] = frozenset()


@dataclass(frozen=True)
class AttrMapping:
    target: str
    source: str | None = None
    constant: Json = None
    expression: Expr | None = None
    text: str | None = None  # the expression as written, for --explain
    on_create: bool = False
    default: Json = None
    # Where the spec declares it, for validation messages; not part of what it means.
    location: Location | None = field(default=None, compare=False)

    def describe(self) -> str:
        if self.expression is not None:
            return str(self.text)
        if self.source is not None:
            return f"[{self.source}]"
        return f"constant {self.constant!r}"


@dataclass(frozen=True, slots=True)
class Mapped:
    """One object's attributes as a target sees them, and how each mapped value came about."""

    obj: Declared
    create_only: frozenset[str]
    evaluated: tuple[tuple[str, str, Json], ...]  # (target attribute, mapping, value)


def targets_for(kind: Kind) -> frozenset[str]:
    return USER_TARGETS if kind is Kind.USER else GROUP_TARGETS


def compile_one(target: str, raw: Json) -> tuple[AttrMapping | None, list[tuple[str, str, int]]]:
    """Check and compile one mapping entry; problems are (sub-key, message, offset in text)."""
    if isinstance(raw, str):
        raw = {"expression": raw}
    if not isinstance(raw, dict):
        return None, [("", "expected a mapping with one of source, constant or expression", -1)]
    problems: list[tuple[str, str, int]] = []
    for key in raw:
        if key not in KEYS:
            problems.append(
                (key, f"unknown mapping setting '{key}' (one of {', '.join(KEYS)})", -1)
            )
    kinds = [k for k in ("source", "constant", "expression") if k in raw]
    if len(kinds) != 1:
        problems.append(("", "give exactly one of source, constant or expression", -1))
        return None, problems
    apply = raw.get("apply", "always")
    if apply not in ("always", "on_create"):
        problems.append(("apply", f"expected always or on_create, got {apply!r}", -1))
    expression = None
    text = raw.get("expression")
    if "expression" in raw:
        if not isinstance(text, str):
            problems.append(("expression", "expected an expression string", -1))
        else:
            try:
                expression = parse(text)
            except ExpressionError as exc:
                problems.append(("expression", str(exc), exc.offset))
            # Asked of the parsed calls, not the text: `Now ()` is a call too, and "Now(" in
            # a string constant is not.
            if apply == "always" and expression is not None and _calls(expression) & VOLATILE:
                problems.append(
                    (
                        "apply",
                        "Guid() and Now() change on every run: use apply: on_create",
                        -1,
                    )
                )
    source = raw.get("source")
    if "source" in raw and (not isinstance(source, str) or not source):
        problems.append(("source", "expected a source attribute name", -1))
    if problems:
        return None, problems
    return (
        AttrMapping(
            target=target,
            source=source if isinstance(source, str) else None,
            constant=raw.get("constant"),
            expression=expression,
            text=text if isinstance(text, str) else None,
            on_create=apply == "on_create",
            default=raw.get("default"),
        ),
        [],
    )


def _calls(expr: Expr) -> set[str]:
    return {node.name for node in walk(expr) if isinstance(node, Call)}


def used_attributes(mapping: AttrMapping) -> set[str]:
    """The source attribute names a mapping reads, as written (for the misspelling check)."""
    if mapping.expression is not None:
        return references(mapping.expression)
    return {mapping.source} if mapping.source else set()


def sources_read(mapping: AttrMapping) -> frozenset[str]:
    """The source attributes a mapping's value can come from, named as the source view holds
    them: what the parsed expression's references resolve to (`[ groups ]` and
    `[groups.value]` both read `groups`). Never a search of the expression's text, which
    spaces inside the brackets or a dotted path slip past."""
    if mapping.expression is not None:
        names = references(mapping.expression)
        return frozenset(key for name in names for key in source_keys(name))
    return frozenset({mapping.source}) if mapping.source else NO_PATHS


def source_view(obj: Declared, derived: Mapping[str, Json] | None = None) -> dict[str, Any]:
    """What expressions and scoping filters read: declared attributes, what the target's
    assignment derives (`groups`, `appRoleAssignments`) and `custom` ones.

    `[mail]`-style names find custom attributes directly; `[custom.mail]` works too.
    """
    view: dict[str, Any] = {}
    for path, value in obj.attrs.items():
        view[path] = value
    if "emails" in obj.attrs:
        view["emails.value"] = A.primary_value(obj.attrs["emails"])
    view.update(derived or {})
    for key, value in obj.custom.items():
        view[f"custom.{key}"] = value
        view.setdefault(key, value)
    return view


def apply_mappings(
    obj: Declared,
    mappings: tuple[AttrMapping, ...],
    now: Clock,
    new_guid: Callable[[], str],
    derived: Mapping[str, Json] | None = None,
    *,
    clear_roles: bool = False,
) -> Mapped:
    """The object with each mapped attribute replaced by its mapped value.

    A value that is null or empty takes the mapping's default; with no default the
    attribute is not managed on this target. IgnoreFlowIfNullOrEmpty drops it likewise.
    The exception is `roles` on a target with a role map (`clear_roles`): no role means
    the user holds none there, so the roles are cleared, never left as they were.
    Raises ExpressionError when an expression fails for this object.
    """
    if not mappings:
        return Mapped(obj, NO_PATHS, ())
    view = source_view(obj, derived)
    attrs = dict(obj.attrs)
    create_only: set[str] = set()
    evaluated: list[tuple[str, str, Json]] = []
    for mapping in mappings:
        if mapping.expression is not None:
            value = evaluate(mapping.expression, view, now, new_guid)
        elif mapping.source is not None:
            value = view.get(mapping.source)
        else:
            value = mapping.constant
        if value is SKIP or value in (None, "", []):
            value = mapping.default
        evaluated.append((mapping.target, mapping.describe(), value))
        path = "roles" if mapping.target in ROLE_TARGETS else mapping.target
        if value is None and not (clear_roles and path == "roles"):
            attrs.pop(path, None)
            continue
        try:
            if path == "roles":
                attrs[path] = as_roles(mapping.target, value)
            else:
                attrs[path] = A.coerce(path, value)
        except ValueError as exc:
            raise ExpressionError(f"{mapping.target}: {exc}", 0) from None
        if mapping.on_create:
            create_only.add(path)
    return Mapped(dataclasses.replace(obj, attrs=attrs), frozenset(create_only), tuple(evaluated))


def as_roles(target: str, value: Json) -> Json:
    """A mapped value as the user's `roles` (RFC 7643 §4.1.2): one role for the primary
    role's path, a role per item (a name or a complex value) for `roles`; None clears."""
    if value is None:
        return None
    if target == PRIMARY_ROLE or isinstance(value, str):
        if not isinstance(value, str):
            raise ValueError(f"expected one role name, the mapping gave {value!r}")
        return [{"value": value, "primary": True}]
    items = value if isinstance(value, list) else [value]
    out: list[Json] = []
    for item in items:
        if isinstance(item, str):
            out.append({"value": item})
        elif isinstance(item, Mapping) and isinstance(item.get("value"), str):
            out.append(dict(item))
        else:
            raise ValueError(f"expected role names or roles with a value, got {item!r}")
    return out or None
