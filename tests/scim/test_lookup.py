"""Lookup mode (issue 14 item 5): targets that cannot list everything are recognised, each
declared object is matched through `eq` filters instead, the plan says so, and what needs a
full listing is refused; nothing unseen is ever pruned, deprovisioned or removed.

The targets are fakes after AWS IAM Identity Center, Google Cloud Identity and Snowflake
(tests/limitedscim.py): no real server in the suite behaves like them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import stamina

from reconciler.core.plan import Action
from reconciler.errors import TargetError, UsageError
from reconciler.report.drift import drift_report, drift_text
from reconciler.report.explain import explain
from reconciler.run import connect
from reconciler.scim.apply.runner import Applier
from reconciler.scim.client import ScimClient
from tests.fakescim import FakeScim
from tests.limitedscim import AwsLikeScim, GoogleLikeScim, SnowflakeLikeScim
from tests.scim.conftest import TOKEN, TOKEN_ENV
from tests.scim.test_faults import (
    TARGET,
    outcomes,
    plan_and_apply,
    replan,
    user,
    write_spec,
)

FAKES = {"aws": AwsLikeScim, "google": GoogleLikeScim, "snowflake": SnowflakeLikeScim}
REASONS = {
    "aws": "the /Users listing stops before its totalResults (60)",
    "google": "the /Users listing ignores startIndex (every page starts at the first user)",
    "snowflake": "the unfiltered /Users listing returns a synthetic object",
}


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)


@pytest.fixture(autouse=True)
def _fast() -> Iterator[None]:
    with stamina.set_testing(True, attempts=3):
        yield


def people(count: int = 60) -> list[dict[str, Any]]:
    # One email each: AWS takes no multi-valued attribute with more than one value.
    return [
        user(f"u{n:02d}@example.com", title="Engineer", emails=[{"value": f"u{n:02d}@example.com"}])
        for n in range(count)
    ]


def teams(users: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"displayName": f"Team {t}", "members": [u["userName"] for u in users[t::3]]}
        for t in range(3)
    ]


def names(fake: FakeScim) -> list[str]:
    return sorted(u["userName"] for u in fake.users.values())


@pytest.mark.parametrize("kind", list(FAKES))
def test_bootstrap_update_and_no_changes_on_a_target_that_cannot_list(
    kind: str, tmp_path: Path
) -> None:
    fake = FAKES[kind](token=TOKEN)
    users = people()
    specs = write_spec(tmp_path, users, teams(users))
    _, result = plan_and_apply(specs, fake)
    assert result.failed == ()
    assert names(fake) == sorted(u["userName"] for u in users)  # no duplicate, none missing

    prepared = replan(specs, fake)
    assert prepared.observed.lookup is True
    assert prepared.plan.notes[0] == (
        f"lookup mode: {REASONS[kind]}; each declared object was looked up through eq filters "
        "(63 objects); objects not declared were not seen, so none is pruned, deprovisioned "
        "or removed from a group"
    )
    assert not prepared.plan.has_changes
    groups = {g["displayName"]: {m["value"] for m in g["members"]} for g in fake.groups.values()}
    by_name = {u["userName"]: u["id"] for u in fake.users.values()}
    assert groups == {t["displayName"]: {by_name[m] for m in t["members"]} for t in teams(users)}

    users[7]["title"] = "Staff Engineer"
    write_spec(tmp_path, users, teams(users))
    prepared, result = plan_and_apply(specs, fake)
    assert [(c.key, c.action) for c in prepared.plan.changes] == [
        ("u07@example.com", Action.UPDATE)
    ]
    assert not replan(specs, fake).plan.has_changes
    assert len(fake.users) == 60


@pytest.mark.parametrize("kind", list(FAKES))
def test_unseen_members_are_never_removed_and_unseen_users_never_pruned(
    kind: str, tmp_path: Path
) -> None:
    fake = FAKES[kind](token=TOKEN)
    if isinstance(fake, AwsLikeScim):
        fake.cap = 2  # a listing too short for these four users
    declared = [fake.add_user(f"u{n}@example.com") for n in range(3)]
    stranger = fake.add_user("stranger@example.com")  # on the target, declared nowhere
    fake.add_group("Team", [*declared[:2], stranger])
    specs = write_spec(
        tmp_path,
        [user(f"u{n}@example.com") for n in range(3)],
        [{"displayName": "Team", "members": ["u1@example.com", "u2@example.com"]}],
    )
    prepared, result = plan_and_apply(specs, fake)
    (team,) = prepared.plan.changes
    # u0 is declared and was looked up: seen, so removed; the stranger was not: kept.
    assert [m.key for m in team.members_add] == ["u2@example.com"]
    assert [m.id for m in team.members_remove] == [declared[0]]
    assert any("1 member(s) on the target resolve to no listed user" in n
               for n in prepared.plan.notes)  # fmt: skip
    assert result.failed == ()
    (group,) = fake.groups.values()
    assert {m["value"] for m in group["members"]} == {declared[1], declared[2], stranger}
    assert stranger in fake.users
    assert not replan(specs, fake).plan.has_changes


@pytest.mark.parametrize("prune", ["all", "owned"])
def test_prune_needs_a_full_listing_and_is_refused(prune: str, tmp_path: Path) -> None:
    fake = SnowflakeLikeScim(token=TOKEN)
    fake.add_user("stranger@example.com")
    ownership: dict[str, Any] = (
        {"ownership": {"external_id_prefix": "sr-"}} if prune == "owned" else {}
    )
    specs = write_spec(tmp_path, [user("u0@example.com", externalId="sr-u0")], prune=prune,
                       **ownership)  # fmt: skip
    with pytest.raises(UsageError) as caught:
        replan(specs, fake)
    assert str(caught.value) == (
        "target 'fake' cannot list everything (the unfiltered /Users listing returns a "
        f"synthetic object), so prune: {prune} cannot find the undeclared objects it would "
        "deprovision; set prune: none for this target (declared objects with state: absent "
        "are still deprovisioned)"
    )
    assert fake.count("POST") + fake.count("PATCH") + fake.count("DELETE") == 0


def test_state_absent_still_deprovisions_what_was_looked_up(tmp_path: Path) -> None:
    fake = GoogleLikeScim(token=TOKEN)
    for n in range(3):
        fake.add_user(f"u{n}@example.com", active=True)
    specs = write_spec(
        tmp_path,
        [
            user("u0@example.com"),
            user("u1@example.com"),
            {"userName": "u2@example.com", "state": "absent"},
        ],
    )
    _, result = plan_and_apply(specs, fake)
    assert outcomes(result) == {"u2@example.com": (Action.DISABLE, True)}
    assert fake.user_named("u2@example.com")[0]["active"] is False


def test_drift_says_unmanaged_objects_were_not_checked(tmp_path: Path) -> None:
    fake = GoogleLikeScim(token=TOKEN)
    fake.add_user("stranger@example.com")
    fake.add_user("u0@example.com", title="Old")
    fake.add_user("u1@example.com")
    prepared = replan(write_spec(tmp_path, [user("u0@example.com", title="New")]), fake)
    report = drift_report(prepared.plan, prepared.observed)
    assert report["unmanaged_checked"] is False
    assert [c["key"] for c in report["changed"]] == ["u0@example.com"]
    text = drift_text(report)
    assert (
        "Unmanaged objects not checked: the target cannot list everything (lookup mode), so "
        "only declared objects were looked up." in text
    )
    assert text.rstrip().endswith(
        "Drift: 1 changed, 0 missing, unmanaged not checked; 0 in sync of 1 checked."
    )


def test_the_quirk_forces_lookup_mode_with_no_listing_read(tmp_path: Path) -> None:
    fake = FakeScim(token=TOKEN)
    fake.add_user("u0@example.com")
    specs = write_spec(tmp_path, [user("u0@example.com"), user("u1@example.com")],
                       quirks={"listing": "none"})  # fmt: skip
    prepared, result = plan_and_apply(specs, fake)
    assert prepared.observed.lookup is True
    assert prepared.plan.notes[0].startswith("lookup mode: quirks: {listing: none}; ")
    assert outcomes(result) == {"u1@example.com": (Action.CREATE, True)}
    listings = [s for s in fake.requests if s.path == "/Users" and s.method == "GET"
                and "filter" not in s.params]  # fmt: skip
    assert listings == []
    lookups = [s.params["filter"] for s in fake.requests if "filter" in s.params]
    assert 'userName eq "u0@example.com"' in lookups


def test_lookups_run_concurrently_within_the_limit(tmp_path: Path) -> None:
    fake = FakeScim(token=TOKEN)
    fake.busy_seconds = 0.005
    for n in range(30):
        fake.add_user(f"u{n:02d}@example.com")
    specs = write_spec(tmp_path, [user(f"u{n:02d}@example.com") for n in range(30)],
                       quirks={"listing": "none"}, concurrency=4)  # fmt: skip
    prepared = replan(specs, fake)
    assert not prepared.plan.has_changes
    assert 1 < fake.peak <= 4


def test_a_target_that_neither_lists_nor_filters_is_refused(tmp_path: Path) -> None:
    fake = SnowflakeLikeScim(token=TOKEN)
    fake.add_user("u0@example.com")
    fake.ignore_filter = True  # a filter for a user that cannot exist returns u0
    with pytest.raises(TargetError) as caught:
        replan(write_spec(tmp_path, [user("u0@example.com")]), fake)
    assert str(caught.value) == (
        "target 'fake' cannot list everything (the unfiltered /Users listing returns a "
        "synthetic object), and does not honour eq filters either, so scimrec cannot match "
        "objects there"
    )


def test_import_refuses_a_target_it_cannot_read_whole() -> None:
    fake = SnowflakeLikeScim(token=TOKEN)
    with pytest.raises(TargetError) as caught:
        connect(TARGET, transport=fake.transport)
    assert str(caught.value) == (
        "target 'fake' cannot list everything (the unfiltered /Users listing returns a "
        "synthetic object), and reading all of it is what this command needs"
    )


def test_a_listing_found_capped_only_when_read_is_looked_up_as_an_incomplete_read(
    tmp_path: Path,
) -> None:
    fake = AwsLikeScim(token=TOKEN)
    users = people()
    specs = write_spec(tmp_path, users)
    plan_and_apply(specs, fake)
    # The connection test's look at the last page proves nothing here (refused).
    fake.fail("GET", "/Users", status=400, times=99,
              when=lambda seen: seen.params.get("startIndex") == "60")  # fmt: skip
    prepared = replan(specs, fake)
    assert (prepared.observed.lookup, prepared.observed.complete) == (True, False)
    assert prepared.plan.notes[0].startswith(
        "lookup mode: the listing is capped: /Users: read 50 resources but the target "
        "reports 60; each declared object was looked up"
    )
    assert not prepared.plan.has_changes  # the ten past the cap were found, not re-created
    assert len(fake.users) == 60


def test_former_names_are_looked_up_so_a_rename_is_never_a_create(tmp_path: Path) -> None:
    fake = FakeScim(token=TOKEN)
    old_user = fake.add_user("old@example.com", emails=[{"value": "old@example.com"}])
    old_group = fake.add_group("Old Team", [old_user])
    specs = write_spec(
        tmp_path,
        [user("new@example.com", previously=["old@example.com"])],
        [{"displayName": "New Team", "previously": ["Old Team"], "members": ["new@example.com"]}],
        quirks={"listing": "none"},
    )
    prepared, result = plan_and_apply(specs, fake)
    assert prepared.observed.lookup is True
    assert [(c.key, c.action, c.target_id) for c in prepared.plan.changes] == [
        ("new@example.com", Action.UPDATE, old_user),
        ("New Team", Action.UPDATE, old_group),
    ]
    assert result.failed == ()
    assert names(fake) == ["new@example.com"]
    assert [g["displayName"] for g in fake.groups.values()] == ["New Team"]
    assert not replan(specs, fake).plan.has_changes


def test_explain_says_lookup_mode_looked_up_what_it_counts(tmp_path: Path) -> None:
    fake = FakeScim(token=TOKEN)
    fake.add_user("u0@example.com")
    fake.add_user("stranger@example.com")  # never looked up, so never counted
    specs = write_spec(tmp_path, [user("u0@example.com")], quirks={"listing": "none"})
    prepared = replan(specs, fake)
    declared = {(o.kind, o.key): o for o in prepared.spec.users}
    text = explain(prepared.plan, declared, prepared.target, prepared.caps, prepared.observed)
    assert (
        "  2 import: looked up 1 users and 0 groups by eq filters (lookup mode) (complete); "
        "declared:\n" in text
    )


def _refusing(fake: FakeScim) -> None:
    """Every group lookup refused, and one user's: a userName filter refused for new@."""
    fake.fail("GET", "/Groups", status=400, times=99, when=lambda seen: "filter" in seen.params)
    fake.fail(
        "GET",
        "/Users",
        status=400,
        times=99,
        when=lambda seen: "new@example.com" in seen.params.get("filter", ""),
    )


def _team(tmp_path: Path) -> tuple[FakeScim, str, Path]:
    fake = FakeScim(token=TOKEN)
    fake.unique_names = False
    team = fake.add_group("Team", [fake.add_user("u0@example.com")])
    specs = write_spec(
        tmp_path,
        [user("u0@example.com"), user("new@example.com")],
        [{"displayName": "Team", "members": ["u0@example.com"]}],
        quirks={"listing": "none"},
    )
    return fake, team, specs


def test_an_object_whose_lookup_was_refused_is_in_error_and_never_created(
    tmp_path: Path,
) -> None:
    # Before: the group's lookup (displayName eq "Team") was refused and proved nothing,
    # yet apply created the group, and again on every run: a target that takes two groups
    # of one name held one more "Team" after each apply. Then the plan still showed the
    # creates, which apply refused: the plan now says it cannot tell.
    fake, team, specs = _team(tmp_path)
    _refusing(fake)
    for _ in range(2):
        prepared, result = plan_and_apply(specs, fake)
        assert not prepared.plan.complete_read
        assert not [c for c in prepared.plan.changes if c.action is Action.CREATE]
        errors = {e.key: e.message for e in prepared.plan.errors}
        assert set(errors) == {"Team", "new@example.com"}
        assert errors["new@example.com"].startswith(
            "cannot tell whether it exists: the target refused its lookup "
            '(userName eq "new@example.com")'
        )
        assert '(displayName eq "Team")' in errors["Team"]
        assert result.failed == ()
    assert list(fake.groups) == [team]
    assert names(fake) == ["u0@example.com"]
    assert fake.count("POST") == 0


def test_a_lookup_refused_after_the_plan_is_never_created(tmp_path: Path) -> None:
    # The plan's lookup answered (Team not found: a create); apply's look before the
    # create is refused: the group may exist by now, so it is not created.
    fake, team, specs = _team(tmp_path)
    del fake.groups[team]
    prepared = replan(specs, fake)
    assert {c.key for c in prepared.plan.changes if c.action is Action.CREATE} == {
        "Team",
        "new@example.com",
    }
    _refusing(fake)
    client = ScimClient.for_target(prepared.target, transport=fake.transport)
    result = Applier(client, prepared.target, prepared.caps, prepared.log).run(prepared.plan)
    # new@ was looked up by the plan and found by no one: created (after a read that
    # answered every lookup, a user is not looked up again); a group always is.
    [failed] = result.failed
    assert failed.message == (
        "not created: the target cannot list everything, and it refused to look the group "
        'up (displayName eq "Team"), so it may exist already; run apply again once the '
        "target answers that filter"
    )
    assert [s.path for s in fake.requests if s.method == "POST"] == ["/Users"]
