"""Prune (DESIGN §2): which undeclared objects are deprovisioned, and which never are."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from reconciler.core.changes import Change, Member
from reconciler.core.config import Target
from reconciler.core.diff import AttrChange
from reconciler.core.model import Kind, Observed, Resource
from reconciler.core.plan import Action, make_plan
from reconciler.core.prune import disabled_strays, protected
from reconciler.core.spare import spare_protected
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


# -- protection, applied to whatever change reaches it --------------------------------------

SHIELD = Target("t", URL, protected=("admin@*", "Admins*"))


def spared(*changes: Change, users: tuple[Resource, ...] = ()) -> tuple[list[Change], list[str]]:
    users = (user_res("u1", "admin@example.com"), *users)
    observed = Observed(users, (group_res("g1", "Admins"),))
    return spare_protected(SHIELD, changes, observed)


def test_an_object_is_protected_by_its_declared_key_even_unseen() -> None:
    # A disable of a declared protected user whose target object is not in this read.
    gone = Change(Kind.USER, "admin@example.com", Action.DISABLE, "state: absent", "u9")
    assert spared(gone) == ([], ["user admin@example.com is protected: not disabled"])


def test_a_group_is_protected_by_the_name_it_holds_on_the_target() -> None:
    # Declared under another name (matched by externalId): its displayName protects it.
    gone = Change(Kind.GROUP, "Renamed", Action.DELETE, "state: absent", "g1")
    assert spared(gone) == ([], ["group Renamed is protected: not deleted"])


def test_a_protected_rename_is_dropped_and_the_rest_of_the_update_kept() -> None:
    rename = AttrChange("userName", "admin@example.com", "eve@example.com")
    title = AttrChange("title", None, "Boss")
    update = Change(
        Kind.USER,
        "eve@example.com",
        Action.UPDATE,
        "",
        "u1",
        attributes=(rename, title),
        renamed_from="admin@example.com",
    )
    other = Change(Kind.USER, "bob@example.com", Action.DELETE, "state: absent", "u2")
    [kept, after], notes = spared(update, other)
    assert (kept.action, kept.attributes, kept.renamed_from) == (Action.UPDATE, (title,), None)
    assert after == other  # and every change after it is still looked at
    # Named by the name it keeps, the one that protects it.
    assert notes == ["user admin@example.com is protected: not renamed"]


def test_an_update_that_was_only_a_protected_rename_is_no_change() -> None:
    rename = AttrChange("displayName", "Admins", "Staff")
    only = Change(Kind.GROUP, "Staff", Action.UPDATE, "", "g1", attributes=(rename,))
    members = dataclasses.replace(only, members_add=(Member("a@example.com", "u2"),))
    other = Change(Kind.GROUP, "Other", Action.DELETE, "state: absent", "g2")
    assert spared(only, other) == ([other], ["group Admins is protected: not renamed"])
    [kept], _ = spared(members)
    assert (kept.attributes, kept.members_add) == ((), members.members_add)


def test_a_protected_disable_keeps_its_other_changes_as_an_update() -> None:
    off = AttrChange("active", True, False)
    title = AttrChange("title", None, "Gone")
    disable = Change(
        Kind.USER, "admin@example.com", Action.DISABLE, "", "u1", attributes=(off, title)
    )
    [kept], notes = spared(disable)
    assert (kept.action, kept.attributes) == (Action.UPDATE, (title,))
    assert notes == ["user admin@example.com is protected: not disabled"]


def test_a_target_name_that_is_not_a_string_protects_nothing_and_breaks_nothing() -> None:
    odd = user_res("u7", "x")
    odd = dataclasses.replace(odd, body={**odd.body, "userName": ["admin@example.com"]})
    gone = Change(Kind.USER, "u7", Action.DELETE, "not declared", "u7")
    assert spared(gone, users=(odd,)) == ([gone], [])


def test_an_undeclared_group_is_never_taken_for_a_disabled_user() -> None:
    # Groups are deleted, never disabled: one marked inactive is no dormant account that
    # delete_after would delete later.
    target = Target("t", URL, prune="all", deprovision="disable")
    observed = Observed(
        (user_res("u2", "off@example.com", active=False),),
        (group_res("g2", "Old", active=False),),
    )
    assert [key for key, _ in disabled_strays(target, observed, {})] == ["off@example.com"]


def test_prune_none_reports_no_unreadable_undeclared_object(tmp_path: Path) -> None:
    # Nothing undeclared is looked at, so one that cannot be read is no error either.
    spec = load(tmp_path, TARGET + DECLARED)
    users = (
        user_res("u1", "keep@example.com", externalId="sr-keep"),
        user_res("u2", "odd@example.com", emails=[None]),
    )
    plan = make_plan(spec, spec.targets["t"], Observed(users, ()))
    assert (plan.changes, plan.errors) == ((), ())
