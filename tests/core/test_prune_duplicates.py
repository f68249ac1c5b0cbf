"""Prune never deprovisions an account that shares a matching value with a declared
object's account (DESIGN §1: many matches are an error, never a guess). With several
matching attributes the first unique one wins, and a second account on the target with
the same userName (a case or whitespace variant) was left undeclared, so prune disabled
it: the plan read "disable alice@example.com" for a person the spec keeps."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.core.changes import Action
from reconciler.core.model import ENTERPRISE_URN as ENTERPRISE
from reconciler.core.model import Json, Kind, Observed, Resource
from reconciler.core.plan import PlanOptions, make_plan
from tests.core.test_plan import TARGET, group_res, load, user_res

ALICE = "  - {userName: alice@example.com, externalId: e1, emails: [{value: a@x.com}]}\n"


def email(value: str) -> Json:
    return [{"value": value, "primary": True}]


# (route, matching, the declared user's account, the other account on the target)
ROUTES = [
    (
        "externalId-first-username-variant",
        "[externalId, userName]",
        user_res("X", "alice@example.com", externalId="e1", active=True),
        user_res("Y", " Alice@Example.com", active=True),
    ),
    (
        "externalId-first-same-email",
        "[externalId, emails.value]",
        user_res("X", "alice@example.com", externalId="e1", emails=email("a@x.com"), active=True),
        user_res("Y", "old-alice@example.com", emails=email("A@X.com"), active=True),
    ),
    (
        "username-first-same-externalId",
        "[userName, externalId]",
        user_res("X", "alice@example.com", externalId="e1", active=True),
        user_res("Y", "alice.w@example.com", externalId="e1", active=True),
    ),
    (
        # The email is not Y's primary one, but it is Y's: matching finds it (match.py).
        "username-first-email-not-primary",
        "[userName, emails.value]",
        user_res("X", "alice@example.com", emails=email("a@x.com"), active=True),
        user_res(
            "Y",
            "old-alice@example.com",
            emails=[*email("z@x.com"), {"value": "A@x.com"}],
            active=True,
        ),
    ),
]


@pytest.mark.parametrize(("route", "matching", "mine", "other"), ROUTES)
@pytest.mark.parametrize("deprovision", ["disable", "delete"])
def test_an_account_sharing_a_matching_value_is_never_pruned(
    tmp_path: Path, route: str, matching: str, mine: object, other: object, deprovision: str
) -> None:
    settings = (
        f"    prune: all\n    deprovision: {deprovision}\n    matching: {{user: {matching}}}\n"
    )
    spec = load(tmp_path, TARGET + settings + "users:\n" + ALICE)
    observed = Observed((mine, other), ())  # type: ignore[arg-type]
    plan = make_plan(spec, spec.targets["t"], observed)
    assert [c for c in plan.changes if c.action in (Action.DISABLE, Action.DELETE)] == [], route
    [error] = plan.errors
    assert error.key == "Y"
    assert error.message.startswith("not deprovisioned: it has the ")
    assert "of user alice@example.com's account (id X)" in error.message


def test_an_account_sharing_nothing_is_pruned_as_before(tmp_path: Path) -> None:
    settings = "    prune: all\n    matching: {user: [externalId, userName]}\n"
    spec = load(tmp_path, TARGET + settings + "users:\n" + ALICE)
    mine = user_res("X", "alice@example.com", externalId="e1", active=True)
    other = user_res("Y", "bob@example.com", active=True)
    plan = make_plan(spec, spec.targets["t"], Observed((mine, other), ()))
    gone = [(c.key, c.action) for c in plan.changes if c.action is Action.DISABLE]
    assert gone == [("bob@example.com", Action.DISABLE)]
    assert plan.errors == ()


@pytest.mark.parametrize(
    ("settings", "other"),
    [
        # prune: owned takes only accounts carrying the prefix: this one never was prune's.
        (
            "    prune: owned\n    ownership: {external_id_prefix: 'scimrec:'}\n",
            user_res("Y", " Alice@Example.com", externalId="hr:9", active=True),
        ),
        # Already disabled, on a target that disables and deletes nothing later.
        (
            "    prune: all\n    deprovision: disable\n",
            user_res("Y", " Alice@Example.com", active=False),
        ),
    ],
    ids=["outside-owned", "already-disabled"],
)
def test_a_duplicate_prune_would_not_touch_is_no_error(
    tmp_path: Path, settings: str, other: object
) -> None:
    matching = "    matching: {user: [externalId, userName]}\n"
    alice = ALICE.replace("e1", "scimrec:e1")
    spec = load(tmp_path, TARGET + settings + matching + "users:\n" + alice)
    mine = user_res("X", "alice@example.com", externalId="scimrec:e1", active=True)
    plan = make_plan(spec, spec.targets["t"], Observed((mine, other), ()))  # type: ignore[arg-type]
    assert plan.errors == ()
    assert [c for c in plan.changes if c.action in (Action.DISABLE, Action.DELETE)] == []


def test_a_disabled_duplicate_that_delete_after_would_delete_is_an_error(tmp_path: Path) -> None:
    settings = "    prune: all\n    deprovision: {action: disable, delete_after: 30d}\n"
    matching = "    matching: {user: [externalId, userName]}\n"
    spec = load(tmp_path, TARGET + settings + matching + "users:\n" + ALICE)
    mine = user_res("X", "alice@example.com", externalId="e1", active=True)
    other = user_res("Y", " Alice@Example.com", active=False)
    plan = make_plan(spec, spec.targets["t"], Observed((mine, other), ()))
    assert [e.key for e in plan.errors] == ["Y"]


@pytest.mark.parametrize("deprovision", ["disable", "delete"])
def test_a_protected_duplicate_is_no_error(tmp_path: Path, deprovision: str) -> None:
    # A break-glass admin account with its owner's mailbox: prune never takes a protected
    # account, so there is nothing to refuse, and no error to make every plan exit 1.
    settings = (
        f"    prune: all\n    deprovision: {deprovision}\n    protected: ['admin@*']\n"
        "    matching: {user: [userName, emails.value]}\n"
    )
    spec = load(tmp_path, TARGET + settings + "users:\n" + ALICE)
    mine = user_res("X", "alice@example.com", externalId="e1", emails=email("a@x.com"))
    admin = user_res("Y", "Admin@example.com", emails=email("a@x.com"), active=True)
    plan = make_plan(spec, spec.targets["t"], Observed((mine, admin), ()))
    assert plan.errors == ()
    assert [c for c in plan.changes if c.action in (Action.DISABLE, Action.DELETE)] == []


def test_an_account_holding_the_declared_name_of_a_renamed_account_is_never_pruned(
    tmp_path: Path,
) -> None:
    # Matched by externalId, alice's account still holds an old userName (a rename is
    # planned): the other account holding the declared userName is hers too, not a stray.
    settings = "    prune: all\n    matching: {user: [externalId, userName]}\n"
    spec = load(tmp_path, TARGET + settings + "users:\n" + ALICE)
    mine = user_res("X", "old-alice@example.com", externalId="e1", active=True)
    other = user_res("Y", "Alice@example.com", active=True)
    plan = make_plan(spec, spec.targets["t"], Observed((mine, other), ()))
    assert [c for c in plan.changes if c.action in (Action.DISABLE, Action.DELETE)] == []
    assert [(e.key, e.message) for e in plan.errors if e.key == "Y"] == [
        (
            "Y",
            "not deprovisioned: it has the userName of user alice@example.com's account "
            "(id X); remove the duplicate on the target, or declare it",
        )
    ]


def test_matching_values_that_are_no_text_name_no_one(tmp_path: Path) -> None:
    # A target that stores employeeNumber as a number: such a value is no text to compare,
    # on the declared object's account or on a stray (each stray here is pruned as before).
    settings = "    prune: all\n    matching: {user: [userName, enterprise.employeeNumber]}\n"
    spec = load(tmp_path, TARGET + settings + "users:\n  - {userName: alice@example.com}\n")
    number: dict[str, Json] = {ENTERPRISE: {"employeeNumber": 7}}
    digits: dict[str, Json] = {ENTERPRISE: {"employeeNumber": "7"}}
    mine = user_res("X", "alice@example.com", active=True, **number)
    text = user_res("Y", "bob@example.com", active=True, **digits)
    other = user_res("Z", "carol@example.com", active=True, **number)
    plan = make_plan(spec, spec.targets["t"], Observed((mine, text, other), ()))
    gone = [(c.key, c.action) for c in plan.changes if c.action is Action.DISABLE]
    assert gone == [("bob@example.com", Action.DISABLE), ("carol@example.com", Action.DISABLE)]
    assert plan.errors == ()


def test_a_declared_name_is_compared_as_matching_compares_it(tmp_path: Path) -> None:
    # userName ignores case: the account holding the declared name in other case is a twin.
    settings = "    prune: all\n    matching: {user: [externalId, userName]}\n"
    declared = "  - {userName: Alice@Example.com, externalId: e1}\n"
    spec = load(tmp_path, TARGET + settings + "users:\n" + declared)
    mine = user_res("X", "Alice@Example.com", externalId="e1", active=True)
    other = user_res("Y", "alice@example.com", active=True)
    plan = make_plan(spec, spec.targets["t"], Observed((mine, other), ()))
    assert [c for c in plan.changes if c.action is Action.DISABLE] == []
    assert [e.key for e in plan.errors] == ["Y"]


def test_a_group_sharing_a_matching_value_is_never_pruned_whatever_users_match_on(
    tmp_path: Path,
) -> None:
    # Users match on one attribute (no twins to find among them), groups on two; the
    # declared objects listed first (a user, a group to create) are no reason to stop.
    settings = (
        "    prune: all\n    deprovision: delete\n"
        "    matching: {user: [userName], group: [displayName, externalId]}\n"
    )
    groups = "groups:\n  - {displayName: New}\n  - {displayName: Ops, externalId: ops}\n"
    spec = load(tmp_path, TARGET + settings + "users:\n" + ALICE + groups)
    alice = user_res("U", "alice@example.com", externalId="e1", emails=email("a@x.com"))
    mine = group_res("X", "Ops", externalId="ops")
    other = group_res("Y", "Ops (old)", externalId="ops")
    plan = make_plan(spec, spec.targets["t"], Observed((alice,), (mine, other)))
    assert [c for c in plan.changes if c.action is Action.DELETE] == []
    assert [(e.kind, e.key, e.step, e.message) for e in plan.errors] == [
        (
            Kind.GROUP,
            "Y",
            "match",
            "not deprovisioned: it has the externalId of group Ops's account (id X); "
            "remove the duplicate on the target, or declare it",
        )
    ]


@pytest.mark.parametrize(
    ("settings", "user", "twin"),
    [
        (
            "    matching: {user: [externalId, userName]}\n",
            "  - {userName: a@x.com, externalId: e1}\n",
            user_res("Y", "A@x.com"),
        ),
        ("", "  - {userName: a@x.com, previously: [old@x.com]}\n", user_res("Y", "old@x.com")),
    ],
    ids=["same-userName", "former-name"],
)
def test_an_account_of_a_declared_user_keeps_its_group_memberships(
    tmp_path: Path, settings: str, user: str, twin: Resource
) -> None:
    # Never pruned, and never stripped either: the twin is the person's account as much
    # as the matched one, whatever the group declares.
    groups = "groups:\n  - {displayName: G, members: []}\n"
    spec = load(tmp_path, TARGET + settings + "    prune: all\nusers:\n" + user + groups)
    mine = user_res("X", "a@x.com", externalId="e1")
    plan = make_plan(
        spec, spec.targets["t"], Observed((mine, twin), (group_res("g", "G", ["X", "Y"]),))
    )
    removed = [m.id for c in plan.changes for m in c.members_remove]
    assert removed == ["X"]


@pytest.mark.parametrize(
    ("settings", "group", "twin"),
    [
        (
            "    matching: {group: [externalId, displayName]}\n",
            "  - {displayName: Ops, externalId: ops}\n",
            group_res("Y", "ops"),
        ),
        ("", "  - {displayName: Ops, previously: [Old Ops]}\n", group_res("Y", "Old Ops")),
    ],
    ids=["same-displayName", "former-name"],
)
def test_a_group_of_a_declared_group_stays_nested_where_it_is(
    tmp_path: Path, settings: str, group: str, twin: Resource
) -> None:
    # As a user's twin keeps its memberships, a group's twin stays in the groups it is
    # nested in (native nesting), whatever the parent declares.
    settings += "    prune: all\n    nested_groups: native\n"
    groups = "groups:\n" + group + "  - {displayName: Parent, externalId: p, members: []}\n"
    spec = load(tmp_path, TARGET + settings + "users: []\n" + groups)
    mine = group_res("X", "Ops", externalId="ops")
    nested = [{"value": "X", "type": "Group"}, {"value": "Y", "type": "Group"}]
    parent = group_res("P", "Parent", nested, externalId="p")
    plan = make_plan(spec, spec.targets["t"], Observed((), (mine, twin, parent)))
    removed = [m.id for c in plan.changes for m in c.members_remove]
    assert removed == ["X"]
    assert [e.key for e in plan.errors] == ["Y"]


@pytest.mark.parametrize("prune", ["none", "owned", "all"])
def test_the_other_account_of_a_user_declared_absent_is_in_error_whatever_prune_says(
    tmp_path: Path, prune: str
) -> None:
    # Alice's account is found by externalId; a second one holds her userName. The plan
    # deletes the first and names the second, which it does not deprovision: the next plan
    # must not delete an account this one never showed. Being a leaver's, the second keeps
    # no group an exact member list does not give it, as any undeclared account.
    settings = (
        f"    prune: {prune}\n    deprovision: delete\n"
        "    ownership: {external_id_prefix: 'e'}\n"
        "    matching: {user: [externalId, userName]}\n"
    )
    users = (
        "users:\n  - {userName: alice@example.com, externalId: e-alice, state: absent}\n"
        "  - {userName: bob@example.com, externalId: e-bob}\n"
    )
    groups = "groups:\n  - {displayName: G, externalId: e-g, members: [bob@example.com]}\n"
    spec = load(tmp_path, TARGET + settings + users + groups)
    mine = user_res("X", "alice.old@example.com", externalId="e-alice", active=True)
    other = user_res("Y", "alice@example.com", externalId="e-other", active=True)
    bob = user_res("B", "bob@example.com", externalId="e-bob", active=True)
    g = group_res("g", "G", ["X", "Y", "B"], externalId="e-g")
    plan = make_plan(spec, spec.targets["t"], Observed((mine, other, bob), (g,)))
    assert [(c.key, c.target_id) for c in plan.changes if c.action is Action.DELETE] == [
        ("alice@example.com", "X")
    ]
    assert sorted(str(m.id) for c in plan.changes for m in c.members_remove) == ["X", "Y"]
    [error] = plan.errors
    assert (error.key, error.message) == (
        "Y",
        "not deprovisioned: it has the userName of user alice@example.com's account (id X); "
        "user alice@example.com is declared absent, and this plan deprovisions only that "
        "account: remove this one on the target too, or declare it",
    )


def test_a_leavers_other_account_leaves_an_exact_group_under_only_too(tmp_path: Path) -> None:
    # `--only group:G` makes no twin errors (prune.twin_strays reads the whole plan): the
    # leaver's second account must still lose G, as any account G does not declare does.
    settings = (
        "    prune: none\n    deprovision: delete\n    matching: {user: [userName, externalId]}\n"
    )
    users = (
        "users:\n  - {userName: alice@example.com, externalId: e-alice, state: absent}\n"
        "  - {userName: bob@example.com, externalId: e-bob}\n"
    )
    groups = "groups:\n  - {displayName: G, members: [bob@example.com]}\n"
    spec = load(tmp_path, TARGET + settings + users + groups)
    alice = user_res("A", "alice@example.com", externalId="e-alice", active=True)
    old = user_res("O", "alice.old@example.com", externalId="e-alice", active=True)
    bob = user_res("B", "bob@example.com", externalId="e-bob", active=True)
    observed = Observed((alice, old, bob), (group_res("g", "G", ["A", "O", "B"]),))
    for only in (None, frozenset({(Kind.GROUP, "G")})):
        plan = make_plan(spec, spec.targets["t"], observed, PlanOptions(only=only))
        [group] = [c for c in plan.changes if c.kind is Kind.GROUP]
        assert sorted(str(m.id) for m in group.members_remove) == ["A", "O"], only
