"""A target that answers an `eq` filter that matches nothing with 404, instead of 200 and an
empty ListResponse (scimgateway, jelhub/scimgateway#18; WSO2 for groups), is a SCIM target
all the same: its plain /Users listing answers.

Before, the connection test took the 404 to its filter probe for a missing endpoint ("is
the base URL right?") and nothing could be planned. Now such a 404 is told from a missing
endpoint by an unfiltered read, noted, and read as "no match" wherever scimrec looks one
object up by an `eq` filter; never as grounds to remove, disable or delete anything.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.core.plan import Action
from reconciler.errors import ScimHTTPError, TargetError
from reconciler.scim.connection import test_connection as connect
from reconciler.scim.search import search
from tests.fakescim import FakeScim
from tests.scim.conftest import TOKEN
from tests.scim.test_faults import (
    TARGET,
    RecordingLog,
    outcomes,
    plan_and_apply,
    replan,
    scim_client,
    user,
    write_spec,
)

# The fake target's token in the environment; retries are fast outside tests/e2e/ (conftest).
pytestmark = pytest.mark.usefixtures("token")


def gateway(token: str | None = TOKEN) -> FakeScim:
    fake = FakeScim(token=token)
    fake.no_match_404 = {"User", "Group"}
    return fake


def test_the_connection_test_notes_a_filter_that_answers_404_and_goes_on() -> None:
    log = RecordingLog()
    caps = connect(scim_client(gateway(None)), TARGET, log)
    assert (caps.filter_honoured, caps.filter_no_match_404) == (True, True)
    assert caps.lookup_reason is None
    (warning,) = log.named("filter answers 404")
    assert warning["outcome"] == "filter_no_match_404"


def test_a_filter_answered_with_an_empty_list_response_is_not_taken_for_404() -> None:
    caps = connect(scim_client(FakeScim()), TARGET, RecordingLog())
    assert (caps.filter_honoured, caps.filter_no_match_404) == (True, False)


def test_a_users_endpoint_that_answers_404_unfiltered_too_is_no_scim_endpoint() -> None:
    fake = FakeScim()
    fake.fail("GET", "/Users", status=404, times=100)
    with pytest.raises(TargetError) as caught:
        connect(scim_client(fake), TARGET, RecordingLog())
    assert str(caught.value) == (
        f"{TARGET.url} has no SCIM endpoint (GET /Users answered 404): "
        "is the base URL right? it usually ends in /scim/v2"
    )


def test_a_404_to_a_filter_is_no_match_where_the_target_says_so() -> None:
    fake = gateway(None)
    found = search(
        scim_client(fake), "/Users", "userName", "nobody@example.com", 10, listing=False,
        no_match_404=True,
    )  # fmt: skip
    assert (found.resources, found.conclusive) == ([], True)


def test_without_the_targets_word_a_404_with_no_listing_stands() -> None:
    # Lookup mode has no listing to decide: the 404 may be the endpoint's (a target with
    # no /Groups), which stays the error it is, never a "no match" that plans creates.
    fake = gateway(None)
    with pytest.raises(ScimHTTPError) as raised:
        search(scim_client(fake), "/Users", "userName", "nobody@example.com", 10, listing=False)
    assert raised.value.status == 404


def test_plan_and_apply_converge_on_such_a_target(tmp_path: Path) -> None:
    fake = gateway()
    fake.add_user("alice@example.com", title="Old")
    fake.add_user("stray@example.com")
    specs = write_spec(
        tmp_path,
        [user("alice@example.com", title="New"), user("bob@example.com")],
        [{"displayName": "Eng", "members": ["alice@example.com", "bob@example.com"]}],
        prune="all",
        deprovision="disable",
    )
    prepared, result = plan_and_apply(specs, fake)
    assert prepared.caps.filter_no_match_404
    assert outcomes(result) == {
        "alice@example.com": (Action.UPDATE, True),
        "bob@example.com": (Action.CREATE, True),
        "stray@example.com": (Action.DISABLE, True),  # from the listing, as anywhere
        "Eng": (Action.CREATE, True),
    }
    assert not replan(specs, fake).plan.has_changes


def test_lookup_mode_reads_a_404_as_no_match_and_creates(tmp_path: Path) -> None:
    fake = gateway()
    alice = fake.add_user("alice@example.com", title="Old")
    specs = write_spec(
        tmp_path,
        [user("alice@example.com", title="New"), user("bob@example.com")],
        [{"displayName": "Eng", "members": ["alice@example.com"]}],
        quirks={"listing": "none"},
    )
    prepared, result = plan_and_apply(specs, fake)
    assert prepared.observed.lookup
    assert outcomes(result) == {
        "alice@example.com": (Action.UPDATE, True),
        "bob@example.com": (Action.CREATE, True),
        "Eng": (Action.CREATE, True),
    }
    assert fake.users[alice]["title"] == "New"
    assert len(fake.users) == 2
    assert not replan(specs, fake).plan.has_changes


def test_a_404_for_an_object_that_exists_ends_in_a_409_not_a_duplicate(tmp_path: Path) -> None:
    # The worst a wrong "no match" can do: a create, which the target refuses (409); the
    # object is looked up again, and with no listing to vouch for it, the create fails.
    fake = gateway()
    fake.add_user("alice@example.com")
    fake.fail(
        "GET", "/Users", status=404, times=100,
        when=lambda seen: "alice" in seen.params.get("filter", ""),
    )  # fmt: skip
    specs = write_spec(tmp_path, [user("alice@example.com")], quirks={"listing": "none"})
    _, result = plan_and_apply(specs, fake)
    (failed,) = result.failed
    assert failed.key == "alice@example.com"
    assert "409" in failed.message
    assert len(fake.users) == 1
    assert [s.method for s in fake.requests if s.method != "GET"] == ["POST"]


def test_a_member_no_filter_finds_is_not_removed_on_the_strength_of_a_404(
    tmp_path: Path,
) -> None:
    # A member value that is no id (GET /Users/<value> answers 404) is removed only where
    # the target's filter says no user has it as userName: a 404 does not say enough.
    fake = gateway()
    alice = fake.add_user("alice@example.com")
    fake.add_group("Eng", [alice, "carol@example.com"])
    specs = write_spec(
        tmp_path,
        [user("alice@example.com")],
        [{"displayName": "Eng", "members": ["alice@example.com"]}],
    )
    prepared = replan(specs, fake)
    removed = [m.id for c in prepared.plan.changes for m in c.members_remove]
    assert removed == []
    assert fake.count("DELETE") == 0


def test_a_group_filter_answered_404_falls_back_to_the_listing(tmp_path: Path) -> None:
    # WSO2: users' filters answer an empty ListResponse, groups' a 404. The connection
    # test probes users only, so a group's 404 is a filter refused: the listing decides.
    fake = FakeScim(token=TOKEN)
    fake.no_match_404 = {"Group"}
    specs = write_spec(tmp_path, [user("alice@example.com")], [{"displayName": "Eng"}])
    prepared, result = plan_and_apply(specs, fake)
    assert not prepared.caps.filter_no_match_404
    assert result.failed == ()
    assert [g["displayName"] for g in fake.groups.values()] == ["Eng"]
    assert not replan(specs, fake).plan.has_changes
