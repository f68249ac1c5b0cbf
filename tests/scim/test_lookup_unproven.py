"""Lookup mode believes "not there" only from a filter shown to work in the run.

Snowflake (before BCR bundle 2026_03) answers a filter it does not support with 200 and no
Resources: looked up by such a filter, a declared `state: absent` user was never found,
so never disabled, and the apply said "0 disabled" with him active still.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.core.model import Kind
from reconciler.core.plan import Action
from reconciler.report.drift import drift_report
from reconciler.run import prepare
from tests.fakescim import FakeScim
from tests.limitedscim import SnowflakeLikeScim
from tests.scim.conftest import TOKEN
from tests.scim.test_faults import outcomes, plan_and_apply, replan, write_spec

BY_EXTERNAL_ID: dict[str, Any] = {"matching": {"user": ["externalId"]}}
BOTH: dict[str, Any] = {"matching": {"user": ["userName", "externalId"]}}


pytestmark = pytest.mark.usefixtures("token", "fast_retries")


def person(name: str, external_id: str | None = None, **attrs: Any) -> dict[str, Any]:
    ids = {"externalId": external_id} if external_id else {}
    return {"userName": f"{name}@example.com", **ids, **attrs}


def filters(fake: SnowflakeLikeScim) -> list[str]:
    return [s.params["filter"] for s in fake.requests if "filter" in s.params]


def test_an_absent_user_a_silent_filter_cannot_find_is_in_error(tmp_path: Path) -> None:
    # Before: bob was looked up by `externalId eq "e-bob"`, answered empty, taken for not
    # there: no change, no error, "0 disabled", and bob kept his access.
    fake = SnowflakeLikeScim(token=TOKEN)
    fake.blind_filters = {"externalId"}
    fake.add_user("alice@example.com", externalId="e-alice", active=True)
    bob = fake.add_user("bob@example.com", externalId="e-bob", active=True)
    specs = write_spec(
        tmp_path,
        [person("alice", "e-alice"), person("bob", "e-bob", state="absent")],
        **BY_EXTERNAL_ID,
    )
    prepared, result = plan_and_apply(specs, fake)
    errors = [(e.kind, e.key, e.message) for e in prepared.plan.errors]
    assert errors == [
        (
            Kind.USER,
            "bob@example.com",
            "cannot tell whether it exists: the target's filter on externalId found "
            "nothing for anyone in this run (lookup mode), and an empty answer from a "
            "filter the target may not support proves nothing; match users by an "
            "attribute the target filters on (matching)",
        )
    ]
    assert any(n.startswith("lookup mode: the filter on users' externalId found nothing")
               for n in prepared.plan.notes)  # fmt: skip
    assert "bob@example.com" not in outcomes(result)
    assert fake.users[bob]["active"] is True  # not disabled, and not reported as done


def test_a_filter_that_found_someone_is_believed_at_no_extra_cost(tmp_path: Path) -> None:
    fake = SnowflakeLikeScim(token=TOKEN)
    fake.add_user("alice@example.com", externalId="e-alice", active=True)
    bob = fake.add_user("bob@example.com", externalId="e-bob", active=True)
    specs = write_spec(
        tmp_path,
        [
            person("alice", "e-alice"),
            person("bob", "e-bob", state="absent"),
            person("carol", "e-carol", state="absent"),  # never on the target
        ],
        **BY_EXTERNAL_ID,
    )
    fake.requests.clear()
    prepared, result = plan_and_apply(specs, fake)
    assert prepared.plan.errors == ()
    assert outcomes(result) == {"bob@example.com": (Action.DISABLE, True)}
    assert fake.users[bob]["active"] is False
    # One lookup each, and no probe: alice's lookup showed the filter works.
    assert sorted(f for f in filters(fake) if "externalId" in f) == [
        'externalId eq "e-alice"',
        'externalId eq "e-bob"',
        'externalId eq "e-carol"',
    ]


@pytest.mark.parametrize("blind", [False, True])
def test_an_unproven_filter_is_probed_with_a_value_known_to_exist(
    blind: bool, tmp_path: Path
) -> None:
    # alice is found by her userName; carol, absent, is on no filter's answer. The
    # externalId filter was asked for carol alone, so it is asked once more, for the
    # externalId alice holds: a filter that finds her is believed about carol.
    fake = SnowflakeLikeScim(token=TOKEN)
    if blind:
        fake.blind_filters = {"externalId"}
    fake.add_user("alice@example.com", externalId="e-alice", active=True)
    specs = write_spec(
        tmp_path, [person("alice"), person("carol", "e-carol", state="absent")], **BOTH
    )
    prepared = replan(specs, fake)
    assert 'externalId eq "e-alice"' in filters(fake)
    errors = [(e.key, e.message.split(":")[0]) for e in prepared.plan.errors]
    assert errors == ([("carol@example.com", "cannot tell whether it exists")] if blind else [])
    assert not prepared.plan.has_changes


def test_an_empty_tenant_proves_an_absent_user_absent(tmp_path: Path) -> None:
    # Nothing found by any filter, nothing to probe with: the listing's first page shows
    # the target holds no user at all, so "not found" is the truth (a first run).
    fake = FakeScim(token=TOKEN)
    users = [person("alice"), person("carol", state="absent")]
    specs = write_spec(tmp_path, users, quirks={"listing": "none"})
    prepared, result = plan_and_apply(specs, fake)
    assert prepared.plan.errors == ()
    assert outcomes(result) == {"alice@example.com": (Action.CREATE, True)}


def test_a_synthetic_listing_proves_nothing(tmp_path: Path) -> None:
    # Its one listed object is found by no filter: an absent user stays in doubt.
    fake = SnowflakeLikeScim(token=TOKEN)
    specs = write_spec(tmp_path, [person("carol", state="absent")])
    prepared = replan(specs, fake)
    assert [e.key for e in prepared.plan.errors] == ["carol@example.com"]


REFUSED = {
    400: {"scimType": "invalidFilter", "detail": "unsupported character in filter"},
    403: {"detail": "this token may not read that user"},
}


@pytest.mark.parametrize("status", sorted(REFUSED))
@pytest.mark.parametrize("only", [(), ("user:o'brien+old@example.com",)])
def test_an_absent_object_whose_lookup_was_refused_is_in_error(
    status: int, only: tuple[str, ...], tmp_path: Path
) -> None:
    # Before: the lookups of the leaver (a name the filter parser chokes on, or one the
    # token is scoped away from) and of the old group were refused, taken for "not
    # there": "No changes", drift "in sync", and the leaver kept his access.
    fake = FakeScim(token=TOKEN)
    leaver = fake.add_user("o'brien+old@example.com", active=True)
    bob = fake.add_user("bob@example.com", active=True)
    fake.add_group("Old Team", [bob])
    refused = ("o'brien", "Old Team")
    fake.fail(
        "GET", "/*", status=status, times=99,
        body={"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
              "status": str(status), **REFUSED[status]},
        when=lambda seen: any(n in seen.params.get("filter", "") for n in refused),
    )  # fmt: skip
    specs = write_spec(
        tmp_path,
        [person("bob"), {"userName": "o'brien+old@example.com", "state": "absent"}],
        [{"displayName": "Old Team", "state": "absent"}],
        quirks={"listing": "none"},
    )
    prepared = prepare(specs, "fake", only=only, transport=fake.transport)
    prepared.client.close()
    errors = {(e.kind, e.key): e.message for e in prepared.plan.errors}
    assert errors[(Kind.USER, "o'brien+old@example.com")] == (
        "cannot tell whether it exists: the target refused its lookup (userName eq "
        '"o\'brien+old@example.com") or answered it in part (lookup mode), which proves '
        "nothing; plan again once the target answers that filter, or match users by an "
        "attribute it filters on (matching)"
    )
    assert set(errors) == (
        {(Kind.USER, "o'brien+old@example.com")}
        if only
        else {(Kind.USER, "o'brien+old@example.com"), (Kind.GROUP, "Old Team")}
    )
    assert not prepared.plan.changes
    report = drift_report(prepared.plan, prepared.observed)
    assert report["summary"]["error"] == len(errors)
    assert report["summary"]["in_sync"] == (0 if only else 1)  # bob
    assert fake.users[leaver]["active"] is True  # never taken for gone
