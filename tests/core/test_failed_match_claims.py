"""A declared object whose match fails is in error, and every account any of its declared
matching values names stays its own: never pruned, never taken out of a group. Matching
stops at the first attribute that decides, so before, with `[externalId, userName]`, a
user in error for its externalId (another declared user claims that account, or two
accounts hold it) left the account holding its very userName undeclared: prune disabled
it, and its groups lost it. Each route to a failed match is tried, with each matching
order, with prune and with a group's exact member list."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reconciler.core.changes import Action
from reconciler.core.match import Index, every_candidate, match_all, match_one
from reconciler.core.model import Declared, Json, Kind, Observed, Resource
from reconciler.core.plan import PlanOptions, make_plan
from tests.core.test_plan import TARGET, group_res, load, user_res

MAPPED = "    mappings:\n      user:\n        active: {source: custom.enabled}\n"


def email(value: str) -> Json:
    return [{"value": value, "type": "work", "primary": True}]


# (route, matching, bob as declared, the target's users besides bob's own account)
ROUTES: list[tuple[str, str, str, list[Resource]]] = [
    (
        # bob's externalId is carol's, and carol is matched by her userName: both claim
        # carol's account (AmbiguousMatch); bob's own account holds his userName.
        "ambiguous-externalId",
        "[externalId, userName]",
        "{userName: bob@example.com, externalId: e-carol}",
        [user_res("2", "carol@example.com", externalId="e-carol", active=True)],
    ),
    (
        "duplicate-externalId",
        "[externalId, userName]",
        "{userName: bob@example.com, externalId: e-dup}",
        [
            user_res("3", "x@example.com", externalId="e-dup", active=True),
            user_res("4", "y@example.com", externalId="e-dup", active=True),
        ],
    ),
    (
        "duplicate-externalId-before-email",
        "[externalId, emails.value]",
        "{userName: bob@example.com, externalId: e-dup,"
        " emails: [{value: bob@x.com, primary: true}]}",
        [
            user_res("3", "x@example.com", externalId="e-dup", active=True),
            user_res("4", "y@example.com", externalId="e-dup", active=True),
        ],
    ),
    (
        "duplicate-userName-before-externalId",
        "[userName, externalId]",
        "{userName: bob@example.com, externalId: e-bob}",
        [
            user_res("3", "Bob@example.com", active=True),
            user_res("4", " bob@example.com", active=True),
        ],
    ),
]
CAROL = "  - {userName: carol@example.com, externalId: e-carol2}\n"


def _bob(route: str) -> Resource:
    """Bob's own account: it holds each of his declared values but the one in error."""
    if route.endswith("before-externalId"):
        return user_res("1", "robert@example.com", externalId="e-bob", active=True)
    if route.endswith("before-email"):
        return user_res("1", "robert@example.com", emails=email("bob@x.com"), active=True)
    return user_res("1", "bob@example.com", externalId="e-bob", active=True)


@pytest.mark.parametrize(("route", "matching", "bob", "others"), ROUTES)
@pytest.mark.parametrize("deprovision", ["disable", "delete"])
def test_no_account_a_failed_match_names_is_pruned_or_leaves_a_group(
    tmp_path: Path, route: str, matching: str, bob: str, others: list[Resource], deprovision: str
) -> None:
    settings = (
        f"    prune: all\n    deprovision: {deprovision}\n    matching: {{user: {matching}}}\n"
    )
    users = "users:\n  - " + bob + "\n" + CAROL
    groups = "groups:\n  - displayName: Admins\n    members: [bob@example.com, carol@example.com]\n"
    spec = load(tmp_path, TARGET + settings + users + groups)
    mine = _bob(route)
    ids = [mine.id, *(r.id for r in others)]
    observed = Observed((mine, *others), (group_res("g1", "Admins", ids),))
    plan = make_plan(spec, spec.targets["t"], observed)
    assert "bob@example.com" in {e.key for e in plan.errors}, route
    touched = [c for c in plan.changes if c.target_id == "1"]
    assert touched == [], (route, touched)
    removed = {m.id for c in plan.changes for m in c.members_remove}
    assert "1" not in removed, route


def test_a_user_whose_mapping_fails_keeps_the_account_of_a_later_matching_value(
    tmp_path: Path,
) -> None:
    # Matched on its externalId, then in error for its mapping: the account holding its
    # userName (a second account of the person's) is theirs too, never pruned.
    settings = "    prune: all\n    matching: {user: [externalId, userName]}\n" + MAPPED
    users = (
        "users:\n  - userName: bob@example.com\n    externalId: e-bob\n"
        "    custom: {enabled: 'yes'}\n"
    )
    spec = load(tmp_path, TARGET + settings + users)
    observed = Observed(
        (
            user_res("1", "robert@example.com", externalId="e-bob", active=True),
            user_res("2", "bob@example.com", active=True),
        ),
        (),
    )
    plan = make_plan(spec, spec.targets["t"], observed)
    assert [e.key for e in plan.errors] == ["bob@example.com"]
    assert [c for c in plan.changes if c.action in (Action.DISABLE, Action.DELETE)] == []


def test_an_account_no_declared_value_names_is_still_pruned(tmp_path: Path) -> None:
    # The claim is only as wide as the object's own values: a stray stays a stray.
    settings = "    prune: all\n    matching: {user: [externalId, userName]}\n"
    users = "users:\n  - {userName: bob@example.com, externalId: e-carol}\n" + CAROL
    spec = load(tmp_path, TARGET + settings + users)
    observed = Observed(
        (
            user_res("1", "bob@example.com", externalId="e-bob", active=True),
            user_res("2", "carol@example.com", externalId="e-carol", active=True),
            user_res("9", "mallory@example.com", externalId="e-m", active=True),
        ),
        (),
    )
    plan = make_plan(spec, spec.targets["t"], observed)
    pruned = [c.target_id for c in plan.changes if c.action is Action.DISABLE]
    assert pruned == ["9"]


MAIL_MAPPED = (
    "    mappings:\n      user:\n        userName: 'ToLower([mail])'\n"
    "        active: {source: custom.enabled}\n"
)


@pytest.mark.parametrize("deprovision", ["disable", "delete"])
def test_a_user_whose_mapping_fails_keeps_an_account_under_a_mapped_name(
    tmp_path: Path, deprovision: str
) -> None:
    # The account holds the mapped userName, which no one computed: bob's mapping failed
    # (`enabled: 'yes'` is no Boolean). No user is pruned or taken out of a group then.
    settings = f"    prune: all\n    deprovision: {deprovision}\n" + MAIL_MAPPED
    users = (
        "users:\n"
        "  - userName: bob@example.com\n    custom: {mail: Bob@Corp.Example, enabled: 'yes'}\n"
        "  - userName: ann@example.com\n    custom: {mail: Ann@Corp.Example, enabled: true}\n"
    )
    groups = "groups:\n  - displayName: Eng\n    members: [ann@example.com]\n"
    spec = load(tmp_path, TARGET + settings + users + groups)
    observed = Observed(
        (
            user_res("1", "bob@corp.example", active=True),
            user_res("2", "ann@corp.example", active=True),
        ),
        (group_res("g1", "Eng", ["1", "2"]), group_res("g9", "Stray")),
    )
    plan = make_plan(spec, spec.targets["t"], observed)
    assert [e.key for e in plan.errors] == ["bob@example.com"]
    assert [c for c in plan.changes if c.target_id == "1"] == []
    assert "1" not in {m.id for c in plan.changes for m in c.members_remove}
    # Users alone are spared: an undeclared group is pruned as before.
    assert [(c.action, c.target_id) for c in plan.changes if c.kind.value == "group"] == [
        (Action.DELETE, "g9")
    ]
    assert (
        "a user's mapping failed, and its account may hold a mapped name: no undeclared "
        "user is pruned or taken out of a group in this plan"
    ) in plan.notes


def test_a_group_whose_mapping_fails_keeps_a_group_under_a_mapped_name(tmp_path: Path) -> None:
    settings = (
        "    prune: all\n    mappings:\n      group:\n"
        '        displayName: \'Join("-", "team", [displayName])\'\n'
        '        externalId: \'FormatDateTime([externalId], , "yyyyMMdd", "yyyy")\'\n'
    )
    groups = (  # Eng's externalId is no date: its mapping fails
        "groups:\n  - {displayName: Eng, externalId: not-a-date}\n"
        "  - {displayName: Ops, externalId: '20240101'}\n"
    )
    spec = load(tmp_path, TARGET + settings + groups)
    observed = Observed((), (group_res("g1", "team-Eng"), group_res("g2", "team-Ops")))
    plan = make_plan(
        spec, spec.targets["t"], observed, PlanOptions(now=datetime(2026, 1, 1, tzinfo=UTC))
    )
    assert [e.key for e in plan.errors] == ["Eng"], plan.errors
    assert [c for c in plan.changes if c.target_id == "g1"] == []
    assert "a group's mapping failed" in " ".join(plan.notes)


def test_without_a_failed_mapping_the_mapped_accounts_are_pruned_as_before(
    tmp_path: Path,
) -> None:
    settings = "    prune: all\n" + MAIL_MAPPED
    users = (
        "users:\n  - userName: ann@example.com\n"
        "    custom: {mail: Ann@Corp.Example, enabled: true}\n"
    )
    spec = load(tmp_path, TARGET + settings + users)
    observed = Observed(
        (
            user_res("1", "bob@corp.example", active=True),
            user_res("2", "ann@corp.example", active=True),
        ),
        (),
    )
    plan = make_plan(spec, spec.targets["t"], observed)
    assert [(c.action, c.target_id) for c in plan.changes] == [(Action.DISABLE, "1")]


def test_every_former_name_is_claimed_after_one_fails_the_match(tmp_path: Path) -> None:
    # Former names share one label; the first one held twice fails the match, and the
    # account under the second is still the person's.
    users = "users:\n  - userName: new@x.com\n    previously: [old1@x.com, old2@x.com]\n"
    spec = load(tmp_path, TARGET + "    prune: all\n" + users)
    observed = Observed(
        (
            user_res("1", "old1@x.com", active=True),
            user_res("2", "OLD1@x.com", active=True),
            user_res("3", "old2@x.com", active=True),
        ),
        (),
    )
    plan = make_plan(spec, spec.targets["t"], observed)
    assert [e.key for e in plan.errors] == ["new@x.com"]
    assert [c for c in plan.changes if c.target_id == "3"] == []


def test_a_disabled_account_under_a_mapped_name_is_not_scheduled_for_deletion(
    tmp_path: Path,
) -> None:
    # Already disabled, an undeclared account is deleted once `delete_after` has passed:
    # not while a failed mapping may have hidden that it is a declared user's.
    settings = (
        "    prune: all\n    deprovision: {action: disable, delete_after: 1d, "
        "disabled_at: meta.lastModified}\n" + MAIL_MAPPED
    )
    users = (
        "users:\n  - userName: bob@example.com\n"
        "    custom: {mail: Bob@Corp.Example, enabled: 'yes'}\n"
    )
    spec = load(tmp_path, TARGET + settings + users)
    held = user_res("1", "bob@corp.example", active=False)
    observed = Observed((dataclasses.replace(held, modified="2025-01-01T00:00:00Z"),), ())
    plan = make_plan(
        spec, spec.targets["t"], observed, PlanOptions(now=datetime(2026, 1, 1, tzinfo=UTC))
    )
    assert plan.changes == ()
    assert plan.scheduled == ()


def test_every_candidate_adds_what_was_not_looked_up_each_once_with_its_label() -> None:
    # An externalId held twice failed bob's match; his userName and his email, held by
    # another account as a non-primary email, are looked up and claimed.
    bob = Declared(
        Kind.USER,
        "bob@example.com",
        {"userName": "bob@example.com", "externalId": "e-dup",
         "emails": [{"value": "bob@x.com", "primary": True}]},
    )  # fmt: skip
    held = (
        user_res("3", "x@example.com", externalId="e-dup"),
        user_res("4", "y@example.com", externalId="e-dup"),
        user_res("1", "robert@example.com", emails=[{"value": "z@x.com", "primary": True},
                                                    {"value": "BOB@x.com"}]),
    )  # fmt: skip
    index = Index(held, ("externalId", "userName", "emails.value"))
    failed = match_one(bob, index)
    assert failed.error is not None and failed.error.startswith("DuplicateTargetEntries")
    claimed = every_candidate(bob, index, failed)
    assert claimed.resource is None and claimed.error == failed.error
    assert [(a.attribute, a.value, a.candidates) for a in claimed.attempts] == [
        ("externalId", "e-dup", ("3", "4")),
        ("userName", "bob@example.com", ()),
        ("emails.value", "bob@x.com", ()),
        ("emails.value (any)", "bob@x.com", ("1",)),
    ]
    # Asked again, nothing is looked up twice.
    assert every_candidate(bob, index, claimed).attempts == claimed.attempts


def test_every_candidate_keeps_what_the_match_said_and_adds_no_email_it_does_not_match_on() -> None:
    # Two declared users claim one account: each match keeps the attribute it matched on
    # (--explain shows it); matching on externalId and userName, no email is looked up.
    bob = Declared(Kind.USER, "bob@example.com",
                   {"userName": "bob@example.com", "externalId": "e-carol",
                    "emails": [{"value": "bob@x.com", "primary": True}]})  # fmt: skip
    carol = Declared(Kind.USER, "carol@example.com",
                     {"userName": "carol@example.com", "externalId": "e-carol2"})  # fmt: skip
    held = (
        user_res("1", "bob@example.com", externalId="e-bob"),
        user_res("2", "carol@example.com", externalId="e-carol"),
    )
    index = Index(held, ("externalId", "userName"))
    matches = match_all([bob, carol], index)
    assert matches["bob@example.com"].error is not None
    claimed = every_candidate(bob, index, matches["bob@example.com"])
    assert claimed.matched_on == "externalId"
    assert [(a.attribute, a.candidates) for a in claimed.attempts] == [
        ("externalId", ("2",)),
        ("userName", ("1",)),
    ]
