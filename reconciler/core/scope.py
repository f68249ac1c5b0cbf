"""Step 3, `scope`: Entra-style scoping filters decide which source objects are in scope for
a target, and why (`state: absent` and `out_of_scope` are applied in core/plan.py).

A filter is a list of clause groups: OR between groups, AND inside a group; an empty filter puts
everything in scope. Operators mean what Microsoft's "Scoping users or groups to be provisioned
with scoping filters" says (learn.microsoft.com/entra/identity/app-provisioning/
define-conditional-rules-for-provisioning-user-accounts):

- EQUALS / NOT EQUALS: the attribute matches / doesn't match the value exactly (case-sensitive).
- IS TRUE / IS FALSE: the attribute holds the Boolean true / false.
- IS NULL / IS NOT NULL: the attribute is empty / isn't.
- REGEX MATCH / NOT REGEX MATCH: the attribute matches / doesn't match the .NET pattern.
- GREATER_THAN(_OR_EQUALS): the value and the attribute must both be integers.
- INCLUDES: the attribute contains the value as a substring (.NET String.Contains, case-sensitive).
- "Scoping filters will return false if the value is null / empty": every operator but IS NULL
  is false for an empty attribute, NOT EQUALS and NOT REGEX MATCH included.

Choices where Microsoft is silent: LESS_THAN(_OR_EQUALS) mirror GREATER_THAN (integers only);
EXCLUDES is INCLUDES negated (and, like the others, false for an empty attribute); operator names
are read case-insensitively with `_` and space interchangeable, and kept in the canonical form
below; a multi-valued attribute (Microsoft: "Filtering is not supported for multi-valued
attributes") only answers IS NULL / IS NOT NULL, every other clause on it is false; a Boolean
attribute reads as "True"/"False" (.NET) for the string operators.

`groups` is scimrec's own: the names of the declared groups a user is in (nested groups
included), so a filter can test membership. EQUALS holds when one of them is the value,
NOT EQUALS when none is; INCLUDES / EXCLUDES and REGEX MATCH / NOT REGEX MATCH likewise
test "one of them" / "none of them"; IS NULL holds for a user in no group. Names compare as
group names do everywhere in scimrec (case-insensitively), and, unlike Entra's rule for
empty values, "not a member" holds for a user in no group at all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.core.match import normalise
from reconciler.expressions.dotnet_regex import PatternError, dotnet_regex, search
from reconciler.expressions.evaluation import attribute_value

OPERATORS = (
    "EQUALS",
    "NOT EQUALS",
    "IS TRUE",
    "IS FALSE",
    "IS NULL",
    "IS NOT NULL",
    "REGEX MATCH",
    "NOT REGEX MATCH",
    "GREATER_THAN",
    "GREATER_THAN_OR_EQUALS",
    "LESS_THAN",
    "LESS_THAN_OR_EQUALS",
    "INCLUDES",
    "EXCLUDES",
)
UNARY = frozenset({"IS TRUE", "IS FALSE", "IS NULL", "IS NOT NULL"})
INTEGER = frozenset({"GREATER_THAN", "GREATER_THAN_OR_EQUALS", "LESS_THAN", "LESS_THAN_OR_EQUALS"})
REGEX = frozenset({"REGEX MATCH", "NOT REGEX MATCH"})
CLAUSE_KEYS = ("attribute", "operator", "value")
# The source attribute listing the declared groups a user is in (core/assignment.py).
MEMBERSHIP = "groups"
MEMBERSHIP_OPERATORS = frozenset(
    {"IS NULL", "IS NOT NULL", "EQUALS", "NOT EQUALS", *REGEX, "INCLUDES", "EXCLUDES"}
)
_INTEGER = re.compile(r"\s*[+-]?\d+\s*")


def _key(name: str) -> str:
    return " ".join(name.replace("_", " ").upper().split())


_CANONICAL = {_key(op): op for op in OPERATORS}


def canonical_operator(name: str) -> str | None:
    """The canonical spelling of an operator name (`not_equals` is `NOT EQUALS`), or None."""
    return _CANONICAL.get(_key(name))


@dataclass(frozen=True)
class Clause:
    attribute: str
    operator: str  # canonical, one of OPERATORS
    value: str | None = None  # None for the unary operators

    @classmethod
    def from_raw(cls, raw: Any) -> Clause:
        """Build a clause from its YAML form; raise ValueError with check_clause's messages."""
        problems = check_clause(raw)
        if problems:
            raise ValueError("; ".join(problems))
        operator = canonical_operator(raw["operator"]) or raw["operator"]
        value = None if operator in UNARY else str(raw["value"])
        return cls(raw["attribute"], operator, value)

    def __str__(self) -> str:
        value = "" if self.value is None else f" '{self.value}'"
        return f"{self.attribute} {self.operator}{value}"


@dataclass(frozen=True)
class Filter:
    """Clause groups: OR between groups, AND inside one. No groups: everything is in scope."""

    groups: tuple[tuple[Clause, ...], ...] = ()

    @classmethod
    def from_raw(cls, raw: Any) -> Filter:
        """Build a filter from its YAML form (a list of lists of clauses); ValueError if bad."""
        problems = check_filter(raw)
        if problems:
            raise ValueError("; ".join(f"{_where(path)}: {message}" for path, message in problems))
        return cls(tuple(tuple(Clause.from_raw(c) for c in group) for group in raw or ()))


def _where(path: tuple[int, ...]) -> str:
    return "".join(f"[{i}]" for i in path)


def check_clause(raw: Any) -> list[str]:
    """Every problem with one clause, for the spec loader to report with its location."""
    if not isinstance(raw, Mapping):
        return ["a clause is a mapping with attribute, operator and value"]
    problems = [
        f"unknown key {key!r} (a clause has attribute, operator and value)"
        for key in raw
        if key not in CLAUSE_KEYS
    ]
    attribute = raw.get("attribute")
    if attribute is None:
        problems.append("attribute is required")
    elif not isinstance(attribute, str) or not attribute.strip():
        problems.append(f"attribute must be an attribute name, got {attribute!r}")
    name = raw.get("operator")
    operator = canonical_operator(name) if isinstance(name, str) else None
    if name is None:
        problems.append("operator is required")
    elif operator is None:
        problems.append(f"unknown operator {name!r}; use one of: {', '.join(OPERATORS)}")
    value = raw.get("value")
    if operator is None:
        return problems
    if attribute == MEMBERSHIP and operator not in MEMBERSHIP_OPERATORS:
        problems.append(
            f"{MEMBERSHIP} lists group names: use one of {', '.join(sorted(MEMBERSHIP_OPERATORS))}"
        )
        return problems
    if operator in UNARY:
        if value not in (None, ""):
            problems.append(f"{operator} takes no value, got {value!r}")
        return problems
    if value is None or value == "":
        problems.append(f"{operator} needs a value")
    elif isinstance(value, bool) or not isinstance(value, str | int):
        hint = "; use IS TRUE or IS FALSE for Booleans" if isinstance(value, bool) else ""
        problems.append(f"value must be a string or a whole number, got {value!r}{hint}")
    elif operator in INTEGER and not _INTEGER.fullmatch(str(value)):
        problems.append(f"{operator} compares whole numbers, and {value!r} is not one")
    elif operator in REGEX:
        try:
            dotnet_regex(str(value))
        except PatternError as exc:
            problems.append(f"invalid regular expression {value!r}: {exc}")
    return problems


def check_filter(raw: Any) -> list[tuple[tuple[int, ...], str]]:
    """Every problem with a whole filter, each with its (group, clause) index path."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        return [((), "scope is a list of clause groups, each a list of clauses")]
    problems: list[tuple[tuple[int, ...], str]] = []
    for g, group in enumerate(raw):
        if not isinstance(group, list):
            problems.append(((g,), "a clause group is a list of clauses (all must hold)"))
        elif not group:
            problems.append(((g,), "a clause group needs at least one clause"))
        else:
            for c, clause in enumerate(group):
                problems.extend(((g, c), message) for message in check_clause(clause))
    return problems


def in_scope(scope: Filter, source: Mapping[str, Any]) -> tuple[bool, str]:
    """Whether `source` is in scope, and why, naming groups and clauses from 1.

    e.g. (False, "out of scope: group 1 clause 2 (enterprise.department EQUALS 'Sales') is
    false") or (True, "in scope: group 2 matched").
    """
    if not scope.groups:
        return True, "in scope: no scoping filter"
    failures: list[str] = []
    for g, group in enumerate(scope.groups, 1):
        failed = next(
            (
                (c, clause, why)
                for c, clause in enumerate(group, 1)
                if (why := _fails(clause, source))
            ),
            None,
        )
        if failed is None:
            return True, f"in scope: group {g} matched"
        c, clause, why = failed
        detail = "" if why is True else f" ({why})"
        failures.append(f"group {g} clause {c} ({clause}) is false{detail}")
    return False, "out of scope: " + "; ".join(failures)


def _fails(clause: Clause, source: Mapping[str, Any]) -> str | bool:
    """False if the clause holds; else True, or the reason it cannot hold."""
    if clause.attribute == MEMBERSHIP:
        return _membership_fails(clause, source.get(MEMBERSHIP) or [])
    value = attribute_value(source, clause.attribute)
    if isinstance(value, list | tuple) and len(value) == 1:
        value = value[0]
    empty = value is None or value == "" or (isinstance(value, list | tuple) and not value)
    if clause.operator in ("IS NULL", "IS NOT NULL"):
        return empty != (clause.operator == "IS NULL")
    if empty:
        return f"{clause.attribute} has no value"
    if isinstance(value, list | tuple):
        return f"{clause.attribute} is multi-valued, which scoping filters cannot test"
    if isinstance(value, Mapping):
        return f"{clause.attribute} is a complex attribute, which scoping filters cannot test"
    if clause.operator in ("IS TRUE", "IS FALSE"):
        wanted = clause.operator == "IS TRUE"
        return not (
            value is wanted
            or (isinstance(value, str) and value.strip().lower() == str(wanted).lower())
        )
    if clause.operator in INTEGER:
        return _compare_integers(clause, value)
    text = ("True" if value else "False") if isinstance(value, bool) else str(value)
    wanted_text = clause.value or ""
    holds = {
        "EQUALS": lambda: text == wanted_text,
        "NOT EQUALS": lambda: text != wanted_text,
        "REGEX MATCH": lambda: search(wanted_text, text, clause.attribute) is not None,
        "NOT REGEX MATCH": lambda: search(wanted_text, text, clause.attribute) is None,
        "INCLUDES": lambda: wanted_text in text,
        "EXCLUDES": lambda: wanted_text not in text,
    }[clause.operator]()
    return not holds


def _compare_integers(clause: Clause, value: Any) -> str | bool:
    if isinstance(value, bool) or not (
        isinstance(value, int) or (isinstance(value, str) and _INTEGER.fullmatch(value))
    ):
        return f"{clause.attribute} is {value!r}, not a whole number"
    have, limit = int(value), int(clause.value or 0)
    holds = {
        "GREATER_THAN": have > limit,
        "GREATER_THAN_OR_EQUALS": have >= limit,
        "LESS_THAN": have < limit,
        "LESS_THAN_OR_EQUALS": have <= limit,
    }[clause.operator]
    return not holds


def _membership_fails(clause: Clause, groups: list[str]) -> str | bool:
    """A clause on `groups`: "one of the user's groups" for the positive operators, "none of
    them" for the negative ones."""
    if clause.operator in ("IS NULL", "IS NOT NULL"):
        return bool(groups) == (clause.operator == "IS NULL")
    wanted = clause.value or ""
    folded = normalise("displayName", wanted)
    test = {
        "EQUALS": lambda g: normalise("displayName", g) == folded,
        "INCLUDES": lambda g: folded in normalise("displayName", g),
        "REGEX MATCH": lambda g: search(wanted, g, MEMBERSHIP) is not None,
    }
    positive = clause.operator.removeprefix("NOT ").replace("EXCLUDES", "INCLUDES")
    found = any(test[positive](g) for g in groups)
    holds = found if positive == clause.operator else not found
    if holds:
        return False
    if found:
        return "the user is in a group it names"
    return "the user is in no group it names" if groups else "the user is in no group"
