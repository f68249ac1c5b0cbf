"""The import step on the target side (reconciler/scim/observe.py): what it reads, how it
passes the run's settings to each listing, and the events it logs (README: every event
names its step, and the object kind where there is one)."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from reconciler.core.config import Auth, Target
from reconciler.core.model import MASKED, Capabilities
from reconciler.errors import ScimProtocolError
from reconciler.scim.client import ScimClient
from reconciler.scim.lookup import Wanted
from reconciler.scim.observe import observe
from reconciler.scim.reads_by_id import MAX_READS
from reconciler.scim.redact import register_secret
from tests.fakescim import BASE_URL
from tests.scim.test_faults import RecordingLog
from tests.scim.test_paging import Page, Reading, served, users

TARGET = Target("fake", BASE_URL, Auth(), page_size=10)
GROUP = {"id": "g1", "displayName": "G", "members": [{"value": "gone"}]}


def target(users_listed: list[dict[str, Any]], total: int | None = None) -> Any:
    """A target listing these users, one group whose member `gone` is no user (and
    answers 404 to a look-up), and what it was asked."""

    def pages(params: dict[str, str], path: str) -> Page:
        if path.endswith("/Users/gone"):
            return 404, {"detail": "not found", "status": "404"}
        first = params.get("startIndex") == "1"
        if path.endswith("/Groups"):
            return 200, {"Resources": [GROUP] if first else [], "totalResults": 1}
        body: dict[str, Any] = {"Resources": users_listed if first else []}
        if total is not None:
            body["totalResults"] = total
        return 200, body

    return served(pages, by_path=True)


def test_each_listing_is_logged_with_its_step_kind_outcome_and_size() -> None:
    listed = [*users("u1", "u2"), {"userName": "no-id"}]
    client, _ = target(listed)
    log = RecordingLog()
    observed = observe(client, TARGET, Capabilities(), log)
    assert (len(observed.users), len(observed.groups), observed.complete) == (2, 1, False)
    assert [e for e in log.events if e[1] in ("read target", "short read")] == [
        (
            "info",
            "read target",
            {"step": "import", "kind": "user", "outcome": "incomplete", "count": 2, "pages": 2},
        ),
        (
            "warning",
            "short read",
            {
                "step": "import",
                "kind": "user",
                "detail": "/Users: a resource without an id was skipped",
            },
        ),
        (
            "info",
            "read target",
            # (two pages: one past its totalResults, never trusted blindly)
            {"step": "import", "kind": "group", "outcome": "complete", "count": 1, "pages": 2},
        ),
    ]


# A user listed with more than the bare attributes: no sample read of it (reads_by_id.py).
LISTED = [{"id": "u1", "userName": "u1", "title": "T"}]


def test_each_listing_reports_progress_and_the_users_keep_the_filter() -> None:
    client, asked = target(LISTED)
    progress = Reading()
    observe(client, TARGET, Capabilities(), RecordingLog(), 'userName sw "u"', progress)
    assert [p.get("filter") for p in asked] == ['userName sw "u"', 'userName sw "u"', None, None]
    assert [what for what, _, _ in progress.calls] == ["users", "users", "groups", "groups"]


def test_a_member_no_listed_user_explains_is_looked_up_unless_users_were_filtered() -> None:
    # A filtered read leaves users out on purpose; only a whole one makes `gone` suspect.
    client, asked = target(LISTED)
    observe(client, TARGET, Capabilities(), RecordingLog())
    assert {} in asked  # GET /Users/gone, asked with no parameters
    client, asked = target(LISTED)
    observe(client, TARGET, Capabilities(), RecordingLog(), 'userName sw "u"')
    assert {} not in asked


def test_the_group_listing_is_bounded_by_max_objects_too() -> None:
    many = {"id": "g", "displayName": "G"}
    client, _ = served(
        lambda params, path: (
            200,
            {
                "Resources": []
                if path.endswith("/Users")
                else [dict(many, id=f"g{params['startIndex']}")]
            },
        ),
        by_path=True,
    )
    with pytest.raises(ScimProtocolError, match="max_objects"):
        observe(
            client,
            Target("fake", BASE_URL, Auth(), page_size=1, max_objects=3),
            Capabilities(),
            RecordingLog(),
        )


def test_a_listing_found_capped_when_read_gives_way_to_lookup_mode_and_says_so() -> None:
    # Two users reachable of the three the target reports: capped, so each declared object
    # is looked up instead (here none), and the warning names the step and the reason.
    client, _ = target(users("u1", "u2"), total=3)
    log = RecordingLog()
    caps = Capabilities(filter_honoured=True)
    observed = observe(client, TARGET, caps, log, wanted=lambda: Wanted((), ()))
    assert (observed.lookup, observed.complete) == (True, False)
    [capped] = [e for e in log.events if e[0] == "warning"]
    assert capped == (
        "warning",
        "listing unusable",
        {
            "step": "import",
            "outcome": "lookup_mode",
            "detail": "the listing is capped: /Users: read 2 resources but the target reports 3",
        },
    )


def test_pages_proven_plain_let_the_shape_check_skip_its_encoding_walk() -> None:
    client, _ = target(users("u1", "u2"), total=2)
    observed = observe(client, TARGET, Capabilities(), RecordingLog())
    assert observed.representable


def test_a_page_that_may_hold_a_lone_surrogate_is_checked_value_by_value() -> None:
    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("/Groups"):
            return httpx2.Response(200, json={"Resources": [], "totalResults": 0})
        first = request.url.params.get("startIndex") == "1"
        listed = '{"id": "u1", "userName": "u1", "title": "\\ud800"}' if first else ""
        return httpx2.Response(200, content=f'{{"Resources": [{listed}]}}'.encode())

    client = ScimClient(httpx2.Client(transport=httpx2.MockTransport(handle)), BASE_URL)
    observed = observe(client, TARGET, Capabilities(), RecordingLog())
    assert [u.body["title"] for u in observed.users] == ["\ud800"]
    assert not observed.representable


def test_users_found_one_by_one_are_checked_value_by_value() -> None:
    # A member the listing hid is read by its own GET, not from a proven page.
    def pages(params: dict[str, str], path: str) -> Page:
        if path.endswith("/Users/h1"):
            return 200, {"id": "h1", "userName": "h1@example.com"}
        first = params.get("startIndex") == "1"
        group = {"id": "g1", "displayName": "G", "members": [{"value": "h1"}]}
        if path.endswith("/Groups"):
            return 200, {"Resources": [group] if first else [], "totalResults": 1}
        return 200, {"Resources": users("u1") if first else [], "totalResults": 1}

    client, _ = served(pages, by_path=True)
    observed = observe(client, TARGET, Capabilities(), RecordingLog())
    assert [u.id for u in observed.users] == ["u1", "h1"]
    assert not observed.representable


def test_lookup_mode_reports_progress_once_per_declared_object() -> None:
    # A target found unlistable up front: each declared object is looked up, and a long
    # lookup run shows its progress as a listing does.
    def pages(params: dict[str, str], path: str) -> Page:
        return 200, {"Resources": [], "totalResults": 0}

    client, _ = served(pages, by_path=True)
    progress = Reading()
    caps = Capabilities(filter_honoured=True, lookup_reason="no listing")
    keys = (("userName", "a@x"),), (("userName", "b@x"),)
    wanted = Wanted(keys, ((("displayName", "G"),),))
    observe(client, TARGET, caps, RecordingLog(), progress=progress, wanted=lambda: wanted)
    assert sorted(progress.calls) == [("lookups", n, 3) for n in (1, 2, 3)]


def test_lookup_mode_after_a_capped_listing_reports_its_progress_too() -> None:
    client, _ = target(users("u1", "u2"), total=3)
    progress = Reading()
    wanted = Wanted(((("userName", "a@x"),),), ())
    caps = Capabilities(filter_honoured=True)
    observe(client, TARGET, caps, RecordingLog(), progress=progress, wanted=lambda: wanted)
    assert progress.calls[-1] == ("lookups", 1, 1)


def test_a_member_id_a_secret_was_masked_in_is_not_asked_about() -> None:
    # Read masked, it is no id the target holds (its group is in error, core/shape.py): a
    # look-up by it would find no one, and mark it dangling, to be removed.
    secret = "observe-member-secret-7f3a9c"
    register_secret(secret)
    paths: list[str] = []
    group = {"id": "g1", "displayName": "G", "members": [{"value": secret}, {"value": "gone"}]}

    def pages(params: dict[str, str], path: str) -> Page:
        paths.append(path)
        if "/Users/" in path:
            return 404, {"detail": "not found", "status": "404"}
        first = params.get("startIndex") == "1"
        listed = [group] if path.endswith("/Groups") else LISTED
        return 200, {"Resources": listed if first else [], "totalResults": len(listed)}

    client, _ = served(pages, by_path=True)
    observed = observe(client, TARGET, Capabilities(), RecordingLog())
    assert [p for p in paths if "/Users/" in p] == [p for p in paths if p.endswith("/Users/gone")]
    assert any(p.endswith("/Users/gone") for p in paths)
    assert MASKED in observed.groups[0].body["members"][0]["value"]


@pytest.mark.parametrize("refused", [False, True])
def test_every_listing_asks_for_a_page_size_unless_the_target_refuses_count(
    refused: bool,
) -> None:
    # test_connection found whether `count` breaks the target's listings: the users' and
    # the groups' listings alike follow what it found.
    client, asked = target(users("u1", "u2"), total=2)
    observe(client, TARGET, Capabilities(count_refused=refused), RecordingLog())
    listings = [params for params in asked if "startIndex" in params]
    assert len(listings) >= 4  # users and groups, each read to its empty page
    assert [params.get("count") for params in listings] == [
        None if refused else str(TARGET.page_size)
    ] * len(listings)


def test_what_a_listing_leaves_out_past_the_reads_one_by_one_is_noted() -> None:
    # Users listed bare whose own GET shows more, and groups listed without members, each
    # past MAX_READS: too many to read one by one, so they are taken as listed, and the
    # read says so in its notes (a short read's warning in the plan).
    many = MAX_READS + 1
    listed = users(*(f"u{n}" for n in range(many)))
    groups = [{"id": f"g{n}", "displayName": f"G{n}"} for n in range(many)]

    def pages(params: dict[str, str], path: str) -> Page:
        if "/Users/" in path:
            uid = path.rsplit("/", 1)[1]
            return 200, {"id": uid, "userName": f"{uid}@example.com", "title": "Engineer"}
        first = params.get("startIndex") == "1"
        shown = groups if path.endswith("/Groups") else listed
        return 200, {"Resources": shown if first else [], "totalResults": many}

    client, _ = served(pages, by_path=True)
    wide = Target("fake", BASE_URL, Auth(), page_size=2 * many)
    observed = observe(client, wide, Capabilities(), RecordingLog())
    assert (len(observed.users), len(observed.groups)) == (many, many)
    assert [n.split(",")[0] for n in observed.notes] == [
        "the /Users listing leaves attributes out",
        "the target shows no group's members",
    ]


def test_objects_looked_up_after_a_capped_listing_are_read_in_full() -> None:
    # The listing stops short of its total, so each declared object is looked up; the
    # filters' answers leave out what a listing can (a user's attributes, a group's
    # members), and each object is then read by its id, as in lookup mode from the start.
    def pages(params: dict[str, str], path: str) -> Page:
        if path.endswith("/Users/a"):
            return 200, {"id": "a", "userName": "a@x", "title": "Engineer"}
        if path.endswith("/Groups/g"):
            return 200, {"id": "g", "displayName": "G", "members": [{"value": "a"}]}
        if "filter" in params:
            bare = {"id": "g", "displayName": "G"} if "Groups" in path else {"id": "a"}
            found = [bare | ({} if "Groups" in path else {"userName": "a@x"})]
            return 200, {"Resources": found, "totalResults": 1}
        if path.endswith("/Groups"):
            return 200, {"Resources": [], "totalResults": 0}
        first = params.get("startIndex") == "1"
        return 200, {"Resources": users("u1", "u2") if first else [], "totalResults": 3}

    client, _ = served(pages, by_path=True)
    wanted = Wanted(((("userName", "a@x"),),), ((("displayName", "G"),),))
    caps = Capabilities(filter_honoured=True)
    observed = observe(client, TARGET, caps, RecordingLog(), wanted=lambda: wanted)
    assert (observed.lookup, observed.complete) == (True, False)
    assert [u.body.get("title") for u in observed.users] == ["Engineer"]
    assert [g.body.get("members") for g in observed.groups] == [[{"value": "a"}]]
