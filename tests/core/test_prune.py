"""Prune (DESIGN §2): which undeclared objects are deprovisioned, and which never are."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from reconciler.core.config import Target
from reconciler.core.model import Observed
from reconciler.core.plan import Action, make_plan
from reconciler.core.prune import protected
from tests.core.test_plan import TARGET, URL, group_res, keyed, load, user_res

DECLARED = "users:\n  - userName: keep@example.com\n    externalId: sr-keep\n"
OWNED = "    prune: owned\n    ownership: {external_id_prefix: sr-}\n"


def test_prune_all_deprovisions_what_no_spec_declares(tmp_path: Path) -> None:
    spec = load(tmp_path, TARGET + "    prune: all\n" + DECLARED)
    users = (
        user_res("u1", "keep@example.com", externalId="sr-keep"),
        user_res("u2", "stray@example.com", active=True),
    )
    groups = (group_res("g1", "Old"),)
    plan = make_plan(spec, spec.targets["t"], Observed(users, groups))
    assert keyed(plan) == [("group", "Old", "delete"), ("user", "stray@example.com", "disable")]


def test_prune_none_touches_nothing_undeclared(tmp_path: Path) -> None:
    spec = load(tmp_path, TARGET + DECLARED)
    users = (user_res("u1", "keep@example.com", externalId="sr-keep"), user_res("u2", "s@x.io"))
    assert make_plan(spec, spec.targets["t"], Observed(users, ())).changes == ()


@pytest.mark.parametrize(
    ("external_id", "owned"),
    [
        ("sr-1", True),
        ("sr-", True),
        ("xsr-1", False),  # the prefix inside, not at the start: someone else's
        ("SR-1", False),  # externalId is case-exact (RFC 7643 §3.1)
        ("s r-1", False),
        (None, False),
    ],
)
def test_owned_means_the_external_id_starts_with_the_prefix(
    tmp_path: Path, external_id: str | None, owned: bool
) -> None:
    spec = load(tmp_path, TARGET + OWNED + DECLARED)
    extra = {} if external_id is None else {"externalId": external_id}
    users = (
        user_res("u1", "keep@example.com", externalId="sr-keep"),
        user_res("u2", "other@example.com", active=True, **extra),
    )
    plan = make_plan(spec, spec.targets["t"], Observed(users, ()))
    assert [c.key for c in plan.changes if c.action is Action.DISABLE] == (
        ["other@example.com"] if owned else []
    )


def test_candidates_of_a_failed_match_are_never_pruned(tmp_path: Path) -> None:
    # Two target users both answer to the declared key: the match fails (an error for the
    # object), and neither candidate may be deprovisioned as "undeclared".
    spec = load(tmp_path, TARGET + "    prune: all\n    deprovision: delete\n" + DECLARED)
    users = (
        user_res("u1", "keep@example.com"),
        user_res("u2", "KEEP@example.com"),
        user_res("u3", "stray@example.com"),
    )
    plan = make_plan(spec, spec.targets["t"], Observed(users, ()))
    assert keyed(plan) == [("user", "stray@example.com", "delete")]
    [error] = plan.errors
    assert error.message.startswith("DuplicateTargetEntries")


def test_an_already_inactive_stray_needs_no_disable(tmp_path: Path) -> None:
    spec = load(tmp_path, TARGET + "    prune: all\n" + DECLARED)
    users = (
        user_res("u1", "keep@example.com", externalId="sr-keep"),
        user_res("u2", "gone@example.com", active=False),
    )
    assert make_plan(spec, spec.targets["t"], Observed(users, ())).changes == ()


def test_nothing_is_pruned_from_an_incomplete_read(tmp_path: Path) -> None:
    spec = load(tmp_path, TARGET + "    prune: all\n" + DECLARED)
    users = (
        user_res("u1", "keep@example.com", externalId="sr-keep"),
        user_res("u2", "stray@example.com", active=True),
    )
    plan = make_plan(
        spec, spec.targets["t"], Observed(users, (group_res("g", "G"),), complete=False)
    )
    assert plan.changes == ()
    assert any("withheld" in n for n in plan.notes)


def test_a_pruned_object_is_named_and_pinned_to_what_was_seen(tmp_path: Path) -> None:
    # Apply deletes by target_id, with the version as a precondition: a prune change
    # that lost either would delete blind, or nothing.
    spec = load(tmp_path, TARGET + "    prune: all\n" + DECLARED)
    users = (
        user_res("u1", "keep@example.com", externalId="sr-keep"),
        user_res("u2", "stray@example.com", version='W/"7"', active=True),
    )
    groups = (dataclasses.replace(group_res("g1", "Old"), version='W/"3"'),)
    plan = make_plan(spec, spec.targets["t"], Observed(users, groups))
    delete, disable = plan.changes
    assert (delete.key, delete.action, delete.target_id, delete.version) == (
        "Old",
        Action.DELETE,
        "g1",
        'W/"3"',
    )
    assert (disable.key, disable.action, disable.target_id, disable.version) == (
        "stray@example.com",
        Action.DISABLE,
        "u2",
        'W/"7"',
    )
    assert [(a.path, a.before, a.after) for a in disable.attributes] == [("active", True, False)]
    assert {c.reason for c in plan.changes} == {"not declared (prune: all)"}


@pytest.mark.parametrize(
    ("patterns", "name", "shielded"),
    [
        (("admin@*",), "admin@example.com", True),
        (("admin@*",), "ADMIN@Example.com", True),  # compared case-folded
        (("admin@*",), " admin@example.com ", True),  # surrounding whitespace ignored
        (("admin@*",), "\uff41dmin@example.com", True),  # NFKC: a full-width look-alike
        (("admin@*",), "xadmin@example.com", False),
        (("*",), "", False),  # no name matches nothing, not even "*"
        (("*",), None, False),
        ((), "admin@example.com", False),
    ],
)
def test_protected_patterns_compare_names_as_matching_does(
    patterns: tuple[str, ...], name: str | None, shielded: bool
) -> None:
    assert protected(Target("t", URL, protected=patterns), name) is shielded
