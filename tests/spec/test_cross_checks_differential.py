"""The checks across files (spec/load.py `cross_checks`) give what their plain form gave, on
generated trees: every issue with its file, line, column, path and message, in order, and
the same users, groups and targets.

The plain form, kept here as the reference, folds each key and compares each matching
attribute one object at a time, and copies every group it resolves. The checks now fold
every key at once (core/match.py `normalise_all`), look for duplicates one key at a time
only where two keys fold alike, keep a group that nests or requires nothing as it is, and
compare no value of the key attribute (whose duplicates are reported as duplicate objects).
"""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Mapping
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.core.config import Target
from reconciler.core.match import NAME_ATTRIBUTE, declared_value, normalise, normalise_all
from reconciler.core.model import Declared, Kind
from reconciler.spec.assignment import fold
from reconciler.spec.load import _Checker
from reconciler.spec.references import _cycle
from reconciler.spec.source import load_text


class _Plain(_Checker):
    """The checks across files as they were written first: the reference."""

    def cross_checks(self) -> None:
        folded_users: dict[str, Declared] = {}
        for user in self.users:
            folded = fold(user.key)
            if folded in folded_users:
                first = folded_users[folded]
                self.error_at(
                    user,
                    "userName",
                    f"duplicate user: '{first.key}' is already declared at {first.location}",
                )
            else:
                folded_users[folded] = user
        folded_groups: dict[str, Declared] = {}
        for group in self.groups:
            folded = fold(group.key)
            if folded in folded_groups:
                first = folded_groups[folded]
                self.error_at(
                    group,
                    "displayName",
                    f"duplicate group: '{first.key}' is already declared at {first.location}",
                )
            else:
                folded_groups[folded] = group
        # The rest as the checks run it, from the objects the loops above kept.
        self.users, self.groups = list(folded_users.values()), list(folded_groups.values())
        super().cross_checks()

    def _unique(self, objects: list[Declared], kind: Kind) -> dict[str, Declared]:
        return {fold(obj.key): obj for obj in objects}  # each already the first of its key

    def _resolve_subgroups(self, groups: list[Declared]) -> list[Declared]:
        by_key = {fold(g.key): g for g in groups}
        out: list[Declared] = []
        for group in groups:
            keys: list[str] = []
            for name in group.subgroups:
                child = by_key.get(fold(name))
                if child is None:
                    self.error_at(group, "groups", f"group '{name}' is not a declared group")
                elif child is group:
                    self.error_at(group, "groups", "a group cannot contain itself")
                elif not child.present:
                    self.error_at(group, "groups", f"group '{name}' has state: absent")
                else:
                    keys.append(child.key)
            out.append(dataclasses.replace(group, subgroups=tuple(keys)))
        graph = {g.key: g.subgroups for g in out}
        for group in out:
            cycle = _cycle(group.key, graph)
            if cycle and cycle[0] == group.key:
                self.error_at(group, "groups", "nested groups form a cycle: " + " → ".join(cycle))
        return out

    def _requirements(self, group: Declared, users: Mapping[str, Declared]) -> Declared:
        resolved: list[str] = []
        for name in group.required_members:
            user = users.get(fold(name))
            if user is None:
                self._object_error(group, "required_members", f"'{name}' is not a declared user")
            elif not user.present:
                self._object_error(group, "required_members", f"'{name}' has state: absent")
            else:
                resolved.append(user.key)
        return dataclasses.replace(group, required_members=tuple(resolved))

    def _check_matching(
        self, target: Target, kind: Kind, matching: tuple[str, ...], objects: list[Declared]
    ) -> None:
        if not matching:
            return
        first = matching[0]
        seen: dict[tuple[str, str], Declared] = {}
        for obj in objects:
            value = declared_value(obj, first)
            if value is None:
                self.error_at(
                    obj,
                    first,
                    f"missing '{first}', the first matching attribute of target '{target.name}'",
                )
            for attr in matching:
                value = declared_value(obj, attr)
                if value is None:
                    continue
                folded = (attr, normalise(attr, value))  # as matching folds it
                other = seen.get(folded)
                if other is not None and other is not obj and attr != NAME_ATTRIBUTE[kind]:
                    self.error_at(
                        obj,
                        attr,
                        f"'{value}' is also the {attr} of '{other.key}'; "
                        f"target '{target.name}' matches on it",
                    )
                seen[folded] = obj


# Names that fold alike, or nearly: case, surrounding space, full-width and composed forms,
# an invisible character, a dotted capital I.
NAMES = [
    "a@x.io",
    "A@X.io",
    " a@x.io ",
    "\uff41@x.io",  # a full-width a
    "a\u200b@x.io",
    "b@x.io",
    "B@x.io",
    "é@x.io",
    "e\u0301@x.io",
    "İ@x.io",
    "i@x.io",
    "Eng",
    "ENG",
    "eng ",
]
NAME = st.sampled_from(NAMES)
USER_MATCHING = st.sampled_from(
    [
        [],
        ["userName"],
        ["emails.value"],
        ["externalId", "userName"],
        ["userName", "emails.value", "externalId"],
        ["emails.value", "userName"],
        ["displayName"],
    ]
)
GROUP_MATCHING = st.sampled_from(
    [
        [],
        ["displayName"],
        ["externalId"],
        ["displayName", "externalId"],
        ["externalId", "displayName"],
    ]
)


@st.composite
def users(draw: st.DrawFn) -> dict[str, Any]:
    user: dict[str, Any] = {"userName": draw(NAME)}
    if draw(st.booleans()):
        user["emails"] = [{"value": draw(NAME), "primary": True}]
    if draw(st.booleans()):
        user["externalId"] = draw(st.sampled_from(["e1", "E1", "e2", "own-1", ""]))
    if draw(st.booleans()):
        user["displayName"] = draw(NAME)
    if draw(st.booleans()):
        manager = draw(NAME | st.sampled_from([5, True, ["a@x.io"], {"value": "a@x.io"}]))
        user["enterprise"] = {"manager": user["userName"] if draw(st.booleans()) else manager}
    if draw(st.integers(0, 4)) == 0:
        user["state"] = "absent"
    if draw(st.integers(0, 4)) == 0:
        user["previously"] = [draw(NAME)]
    return user


@st.composite
def groups(draw: st.DrawFn) -> dict[str, Any]:
    group: dict[str, Any] = {"displayName": draw(NAME)}
    if draw(st.booleans()):
        group["members"] = draw(st.lists(NAME, max_size=4))
    if draw(st.booleans()):
        group["externalId"] = draw(st.sampled_from(["g1", "G1", "own-g"]))
    if draw(st.integers(0, 3)) == 0:
        group["groups"] = draw(st.lists(NAME, max_size=2))
    if draw(st.integers(0, 3)) == 0:
        group["required_members"] = draw(st.lists(NAME, max_size=2))
    if draw(st.integers(0, 4)) == 0:
        group["state"] = "absent"
    return group


@st.composite
def trees(draw: st.DrawFn) -> list[tuple[str, str]]:
    target: dict[str, Any] = {
        "url": "https://scim.example.com/v2",
        "matching": {"user": draw(USER_MATCHING), "group": draw(GROUP_MATCHING)},
    }
    if draw(st.booleans()):
        target["prune"] = "owned"
        target["ownership_prefix"] = "own-"
    files: list[tuple[str, dict[str, Any]]] = [("targets.yaml", {"targets": {"t": target}})]
    for name in ("a.yaml", "b/c.yaml"):
        doc = {"users": draw(st.lists(users(), max_size=5))}
        doc["groups"] = draw(st.lists(groups(), max_size=3))
        files.append((name, doc))
    return [(name, yaml.safe_dump(doc, allow_unicode=True)) for name, doc in files]


# Trees where every name is written one way, as most are: managers, members and
# requirements name declared users by their keys, now and then an absent one, the user's
# own name or one not declared (so both the checks' quick ways and their loops run).
PLAIN = [f"u{n}@x.io" for n in range(8)]


@st.composite
def plain_trees(draw: st.DrawFn) -> list[tuple[str, str]]:
    names = draw(st.lists(st.sampled_from(PLAIN), unique=True, min_size=1))
    people: list[dict[str, Any]] = []
    for name in names:
        user: dict[str, Any] = {"userName": name}
        if draw(st.integers(0, 3)):
            user["enterprise"] = {"manager": draw(st.sampled_from(names))}
        if draw(st.integers(0, 9)) == 0:
            user["state"] = "absent"
        people.append(user)
    teams = [
        {
            "displayName": f"g{n}",
            "members": draw(st.lists(st.sampled_from(PLAIN), max_size=4)),
            **({"required_members": [draw(st.sampled_from(names))]} if n == 0 else {}),
            **({"groups": [f"g{n + 1}"]} if draw(st.integers(0, 5)) == 0 else {}),
        }
        for n in range(draw(st.integers(0, 3)))
    ]
    split = draw(st.integers(0, len(people)))
    docs = {"a.yaml": {"users": people[:split]}, "b.yaml": {"users": people[split:]}}
    docs["b.yaml"]["groups"] = teams
    return [(name, yaml.safe_dump(doc)) for name, doc in docs.items()]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plain_trees())
def test_on_names_written_one_way_too(files: list[tuple[str, str]]) -> None:
    assert checked(_Checker(), files) == checked(_Plain(), files)


def checked(checker: _Checker, files: list[tuple[str, str]]) -> tuple[object, ...]:
    for display, text in files:
        loaded, issues = load_text(text, display)
        assert loaded is not None and not issues
        checker.file(loaded)
    checker.cross_checks()
    # Which managers and members are held as the very key of the user they name.
    keys = {user.key: user.key for user in checker.users}
    managers = [user.attrs.get("enterprise.manager") for user in checker.users]
    members = [m for group in checker.groups for m in group.members or ()]
    held = [keys.get(m) is m for m in (*managers, *members) if isinstance(m, str)]
    return (
        [str(issue) for issue in checker.issues],
        checker.issues,
        checker.users,
        checker.groups,
        checker.targets,
        held,
    )


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees())
def test_the_checks_across_files_give_what_their_plain_form_gave(
    files: list[tuple[str, str]],
) -> None:
    assert checked(_Checker(), files) == checked(_Plain(), files)


def test_both_forms_report_a_duplicate_and_a_shared_matching_value() -> None:
    user = "  - {userName: a@x.io, externalId: e1, emails: [{value: a@x.io}]}\n"
    files = [
        (
            "targets.yaml",
            "targets:\n  t:\n    url: https://scim.example.com/v2\n"
            "    matching: {user: [userName, externalId]}\n",
        ),
        ("a.yaml", "users:\n" + user + "  - {userName: A@X.io, externalId: E1}\n"),
        ("b.yaml", "users:\n  - {userName: b@x.io, externalId: e1}\n"),
    ]
    issues, *_ = checked(_Checker(), files)
    assert issues == [
        "a.yaml:3:6: users[A@X.io].userName: duplicate user: 'a@x.io' is already declared "
        "at a.yaml:2:5",
        "b.yaml:2:24: users[b@x.io].externalId: 'e1' is also the externalId of 'a@x.io'; "
        "target 't' matches on it",
    ]
    assert checked(_Plain(), files)[0] == issues


@given(st.lists(st.text(max_size=6) | st.sampled_from(NAMES), max_size=8), st.sampled_from(
    ["userName", "displayName", "externalId", "emails.value"]
))  # fmt: skip
def test_normalise_all_is_normalise_of_each(values: list[str], attribute: str) -> None:
    assert normalise_all(attribute, values) == [normalise(attribute, v) for v in values]


def test_normalise_all_of_ascii_and_of_other_text() -> None:
    ascii_only = [" Alice@Example.COM ", "\tb\n", "c"]
    assert normalise_all("userName", ascii_only) == ["alice@example.com", "b", "c"]
    assert normalise_all("externalId", ascii_only) == ["Alice@Example.COM", "b", "c"]
    mixed = [*ascii_only, "\uff21\uff22\u200b"]  # full-width A and B, and a zero-width space
    assert normalise_all("userName", mixed) == ["alice@example.com", "b", "c", "ab"]
    assert unicodedata.is_normalized("NFKC", normalise_all("userName", ["İ"])[0])
