"""`scimrec doctor` (issue 7): what it reports for two real servers, and for injected quirks.

The real servers are the `target` fixture's scim2-server and django-scim2 (their quirks are
in tests/servers/django_scim/QUIRKS.md); quirks neither has are injected through FakeScim.
Every write-probe test also checks that the target holds exactly what it held before.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from typing import Any

import httpx2
import pytest

from reconciler.core.config import Auth
from reconciler.core.config import Target as Config
from reconciler.doctor.report import Report, report_text
from reconciler.doctor.run import run_doctor
from reconciler.scim.client import ScimClient
from reconciler.scim.retries import RetryPolicy
from tests.fakescim import BASE_URL, FakeScim, Seen

TINY = RetryPolicy(attempts=2, timeout=5.0, wait_initial=0.001, wait_max=0.002)
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
STATUSES = {"ok", "warn", "fail", "info"}


def names() -> Callable[[], str]:
    run, counter = uuid.uuid4().hex[:6], itertools.count(1)
    return lambda: f"scimrec-doctor-{run}-{next(counter)}"


def doctor(
    client: ScimClient, config: Config, *, write_probe: bool
) -> tuple[Report, dict[tuple[str, str], str]]:
    report = run_doctor(client, config, write_probe=write_probe, new_name=names())
    assert {f.status for f in report.findings} <= STATUSES
    return report, {(f.area, f.check): f.status for f in report.findings}


# -- real servers --------------------------------------------------------------------------


# -- injected quirks -------------------------------------------------------------------------


def fake_doctor(
    fake: FakeScim, *, write_probe: bool, page_size: int = 500
) -> tuple[Report, dict[tuple[str, str], str]]:
    config = Config("fake", BASE_URL, page_size=page_size)
    return doctor(ScimClient(fake.client(), BASE_URL, retry=TINY), config, write_probe=write_probe)


def populated(count: int = 5) -> FakeScim:
    fake = FakeScim()
    for n in range(count):
        fake.add_user(f"user{n}@example.com")
    fake.add_group("Engineering")
    return fake


def test_ignored_filters_are_reported_with_the_full_listing_strategy() -> None:
    fake = populated()
    fake.ignore_filter = True
    report, status = fake_doctor(fake, write_probe=False)
    finding = report.finding("filter", "users.userName")
    assert finding.status == "warn"
    assert "is ignored: a value that cannot exist gave 5 users" in finding.observed
    assert finding.action == "scimrec matches from a full listing, never from filters"
    assert status[("filter", "groups.displayName")] == "warn"
    assert "filter on userName is ignored" in report_text(report)
    advertised = report.finding("filter", "advertised")  # claimed, but not honoured
    assert advertised.status == "warn"


def test_rejected_filters_are_reported() -> None:
    fake = populated()
    fake.reject_filter = True
    report, _ = fake_doctor(fake, write_probe=False)
    finding = report.finding("filter", "users.userName")
    assert (finding.status, finding.observed) == (
        "warn",
        "a filter on userName is rejected (400 invalidFilter: filters are not supported)",
    )


def test_a_capped_count_is_measured() -> None:
    fake = populated()
    fake.max_count = 2
    report, status = fake_doctor(fake, write_probe=False)
    count = report.finding("paging", "count")
    assert (count.status, count.observed) == (
        "warn",
        "count is capped at 2: count=500 returned 2 of 5 users",
    )
    assert "pages by the 2" in count.action
    assert status[("paging", "totalResults")] == "ok"


def test_a_capped_count_without_total_results() -> None:
    fake = populated()
    fake.max_count, fake.omit_total = 2, True
    report, status = fake_doctor(fake, write_probe=False)
    assert report.finding("paging", "count").observed == (
        "count is capped at 2: count=500 returned 2 users"
    )
    assert status[("paging", "totalResults")] == "warn"
    assert status[("paging", "startIndex past the end")] == "info"


def test_a_page_size_the_target_honours() -> None:
    report, _ = fake_doctor(populated(), write_probe=False, page_size=3)
    assert report.finding("paging", "count").status == "ok"


Rewrite = Callable[[httpx2.Request, dict[str, Any], dict[str, str]], None]


def rewritten(fake: FakeScim, rewrite: Rewrite) -> ScimClient:
    """A client for `fake` whose JSON answers (body, headers) `rewrite` alters first."""

    def handle(request: httpx2.Request) -> httpx2.Response:
        response = fake.handle(request)
        if not response.content or request.method != "GET":
            return response
        body: dict[str, Any] = response.json()
        headers = dict(response.headers)
        headers.pop("content-length", None)
        rewrite(request, body, headers)
        return httpx2.Response(response.status_code, json=body, headers=headers)

    return ScimClient(httpx2.Client(transport=httpx2.MockTransport(handle)), BASE_URL, retry=TINY)


def echo_count(request: httpx2.Request, body: dict[str, Any], headers: dict[str, str]) -> None:
    """itemsPerPage echoes the requested count."""
    if "count" in request.url.params and "itemsPerPage" in body:
        body["itemsPerPage"] = int(request.url.params["count"])


def foreign_versions(
    request: httpx2.Request, body: dict[str, Any], headers: dict[str, str]
) -> None:
    """An ETag header that is not meta.version, and a meta.location without the id."""
    if "meta" in body:
        headers["etag"] = '"a-hash-of-something-else"'
    for resource in [body, *body.get("Resources", [])]:
        if "userName" in resource:
            resource["meta"]["location"] = f"{BASE_URL}/Users/by-name/{resource['userName']}"


def test_items_per_page_echo_and_start_index_ignored() -> None:
    fake = populated()
    fake.ignore_start_index = True
    report, _ = doctor(rewritten(fake, echo_count), Config("fake", BASE_URL), write_probe=False)
    past = report.finding("paging", "startIndex past the end")
    assert (past.status, past.observed) == (
        "warn",
        "startIndex=6 (past the end) returns 2 users",
    )
    items = report.finding("paging", "itemsPerPage")
    assert items.status == "warn"
    assert "(echoes the requested count)" in items.observed


def test_etag_not_the_version_and_location_without_the_id() -> None:
    fake = populated()
    config = Config("fake", BASE_URL)
    report, _ = doctor(rewritten(fake, foreign_versions), config, write_probe=False)
    etag = report.finding("etag", "headers")
    assert (etag.status, etag.observed) == (
        "warn",
        """the ETag header ("a-hash-of-something-else") is not meta.version (W/"1")""",
    )
    location = report.finding("ids", "meta.location")
    assert location.status == "warn"
    assert location.observed.endswith("does not end in /Users/u1")


def test_service_provider_config_over_stating_patch() -> None:
    fake = populated()
    fake.patch_unsupported = True  # advertised in the fake's ServiceProviderConfig
    report, status = fake_doctor(fake, write_probe=True)
    advertised = report.finding("patch", "advertised")
    assert advertised.status == "warn"
    assert advertised.observed == "ServiceProviderConfig says PATCH supported, but PATCH is refused"
    assert "GET-merge-PUT" in advertised.action
    assert "refused (501: PATCH is not implemented)" in report.finding("patch", "replace").observed
    assert status[("put", "GET-merge-PUT")] == "ok"
    assert status[("groups", "remove member")] == "fail"  # memberships need PATCH
    assert report.failed
    assert status[("cleanup", "temporary objects")] == "ok"
    assert len(fake.users) == 5
    assert len(fake.groups) == 1


def test_the_fake_as_an_rfc_target() -> None:
    fake = populated()
    report, status = fake_doctor(fake, write_probe=True)
    assert status[("patch", "replace")] == "ok"
    # The fake stores the path as a plain key: it answers 200 and changes no email.
    assert report.finding("patch", "value-filter path").action == (
        "set `quirks: {value_paths: never}` on this target: scimrec sends such paths for "
        "value-only changes to typed elements, and this target would drop them silently"
    )
    assert status[("groups", "remove member")] == "ok"
    assert status[("uniqueness", "users.userName case variant")] == "ok"
    assert status[("etag", "headers")] == "ok"
    assert report.finding("etag", "If-Match").observed == (
        "If-Match is ignored: a PUT with a stale ETag answered 200"
    )
    assert status[("discovery", "/Schemas")] == "warn"  # the fake serves no /Schemas
    assert len(fake.users) == 5
    assert len(fake.groups) == 1


def test_refused_member_filter_path_means_the_value_list_dialect() -> None:
    fake = FakeScim()
    fake.reject_member_filter_path = True
    report, status = fake_doctor(fake, write_probe=True)
    removal = report.finding("groups", "remove member")
    assert removal.status == "warn"
    assert removal.action == "scimrec removes members with a value list (the Entra dialect)"
    assert status[("patch", "value-filter path")] == "warn"
    assert report.finding("patch", "value-filter path").action == (
        "scimrec tries a value-filter path once, then replaces whole multi-valued attributes "
        "for the rest of the run; `quirks: {value_paths: never}` starts there"
    )
    assert not fake.users
    assert not fake.groups


class LaxFake(FakeScim):
    """A target that accepts duplicate keys and drops the members sent with a group POST."""

    def _create(self, seen: Seen, store: dict[str, dict[str, Any]], kind: str) -> httpx2.Response:
        body = {k: v for k, v in (seen.body or {}).items() if k != "members"}
        rid = f"{kind[0].lower()}{next(self._ids)}"
        store[rid] = self._stamp(kind, rid, body)
        return self._one(store[rid], 201)  # and no Location header


def test_duplicates_accepted_members_dropped_no_location() -> None:
    fake = LaxFake()
    report, status = fake_doctor(fake, write_probe=True)
    duplicate = report.finding("uniqueness", "users.userName duplicate")
    assert duplicate.status == "warn"
    assert duplicate.observed == "a duplicate userName is accepted (201, deleted again)"
    assert status[("uniqueness", "users.userName case variant")] == "warn"
    assert status[("groups", "members on POST")] == "warn"
    assert report.finding("create", "POST /Users").observed == (
        "201 with the resource and no Location header"
    )
    assert not fake.users
    assert not fake.groups


def test_a_create_without_body_or_location_is_looked_up_and_cleaned_up() -> None:
    fake = FakeScim()
    fake.create_without_body = True
    report, status = fake_doctor(fake, write_probe=True)
    create = report.finding("create", "POST /Users")
    assert (create.status, create.observed) == ("warn", "201 with no body and no Location header")
    assert status[("patch", "replace")] == "ok"  # the user was found, so probes ran on it
    assert status[("groups", "remove member")] == "ok"
    assert status[("cleanup", "temporary objects")] == "ok"
    assert not fake.users
    assert not fake.groups


def test_cleanup_runs_when_a_probe_blows_up() -> None:
    fake = populated()
    fake.fail("PATCH", "/Users/*", exc=RuntimeError("the process is going down"))
    with pytest.raises(RuntimeError):
        fake_doctor(fake, write_probe=True)
    assert len(fake.users) == 5
    assert len(fake.groups) == 1


def test_a_failed_cleanup_is_a_failure_naming_what_is_left() -> None:
    fake = FakeScim()
    fake.fail("DELETE", "/Users/*", times=10, status=500, body={"detail": "database locked"})
    report, _ = fake_doctor(fake, write_probe=True)
    cleanup = report.finding("cleanup", "temporary objects")
    assert cleanup.status == "fail"
    [uid] = fake.users
    assert f"/Users/{uid} (500: database locked)" in cleanup.observed
    assert report.failed
    assert not fake.groups


def test_a_cleanup_delete_the_target_answers_but_keeps_is_a_failure() -> None:
    # A target that only deactivates on DELETE (django-scim2-server) answers success: the
    # cleanup reads each delete back rather than saying it left nothing behind.
    fake = FakeScim()
    fake.fail("DELETE", "/Users/*", times=10, status=204)
    report, _ = fake_doctor(fake, write_probe=True)
    cleanup = report.finding("cleanup", "temporary objects")
    assert cleanup.status == "fail"
    [uid] = fake.users
    assert (
        f"/Users/{uid} (DELETE answered 204, but it is still served, active: false: the "
        "target keeps what it deletes)" in cleanup.observed
    )
    assert not fake.groups


def test_refused_credentials_stop_the_doctor() -> None:
    fake = FakeScim(token="right")
    client = ScimClient(fake.client(), BASE_URL, retry=TINY)
    config = Config("fake", BASE_URL, Auth("bearer", token_env="FAKE_TOKEN"))
    report, _ = doctor(client, config, write_probe=True)
    [finding] = report.findings
    assert (finding.area, finding.status) == ("auth", "fail")
    assert finding.observed == "the target refuses our credentials (401)"
    assert finding.action == "scimrec cannot run: check FAKE_TOKEN"
    assert not fake.users
    text = report_text(report)
    assert text.splitlines()[-1] == "Doctor: 0 ok, 0 warn, 1 fail, 0 info."


def test_one_failing_probe_never_stops_the_others() -> None:
    fake = populated()
    fake.fail("PUT", "/Users/*", status=400, body={"detail": "emails are required"})
    fake.fail("GET", "/Users/*", when=lambda seen: fake.count("PUT") == 1, status=500, times=9)
    report, status = fake_doctor(fake, write_probe=True)
    roundtrip = report.finding("put", "GET-merge-PUT")
    assert (roundtrip.status, roundtrip.observed) == (
        "fail",
        "a PUT of the user as read is refused (400: emails are required)",
    )
    assert ("etag", "If-Match") not in status  # needs a working PUT
    assert report.finding("put", "unsent attributes").observed == (
        "the probe failed: GET /Users/u7 answered 500"
    )
    assert status[("uniqueness", "users.userName case variant")] == "ok"
    assert status[("groups", "remove member")] == "ok"
    assert status[("cleanup", "temporary objects")] == "ok"
    assert len(fake.users) == 5


def test_a_failure_detail_is_scrubbed_before_it_is_cut() -> None:
    from reconciler.doctor.findings import failure
    from reconciler.errors import ScimHTTPError
    from reconciler.scim.redact import forget_secrets, register_secret

    secret = "tok-" + "w" * 120
    register_secret(secret)
    try:
        text = failure(ScimHTTPError("GET", "/Schemas", 500, "y" * 60 + secret))
    finally:
        forget_secrets()
    assert text == "500: " + "y" * 60 + "***"


def test_a_target_that_wants_member_refs_is_reported_and_probed_with_them() -> None:
    fake = populated()
    fake.require_member_ref = True
    report, status = fake_doctor(fake, write_probe=True)
    finding = report.finding("groups", "member $ref")
    assert (finding.status, finding.observed) == (
        "warn",
        "members without $ref are refused (400 invalidValue: Field 'ref' is required but value "
        "is missing or null: members); with $ref they are accepted",
    )
    assert "quirks: {member_ref: always}" in finding.action
    # The other member probes ran with $ref, so they say what the target does with members.
    assert status[("groups", "members on POST")] == "ok"
    assert status[("groups", "add member")] == "ok"
    assert status[("groups", "remove member")] == "ok"
    assert status[("cleanup", "temporary objects")] == "ok"
    assert len(fake.groups) == 1


@pytest.mark.parametrize("ref", [False, True])
def test_a_target_that_wants_member_display_is_reported_and_probed_with_it(ref: bool) -> None:
    fake = populated()
    fake.require_member_display = True
    fake.require_member_ref = ref  # both: learned one after the other
    report, status = fake_doctor(fake, write_probe=True)
    finding = report.finding("groups", "member display")
    assert finding.status == "warn"
    assert finding.observed.startswith("members without display are refused (400 invalidValue")
    assert status[("groups", "member $ref")] == ("warn" if ref else "ok")
    assert status[("groups", "members on POST")] == "ok"
    assert status[("groups", "add member")] == "ok"
    assert status[("groups", "remove member")] == "ok"
    assert status[("cleanup", "temporary objects")] == "ok"


def test_member_refs_are_reported_as_not_needed_where_not_needed() -> None:
    report, status = fake_doctor(populated(), write_probe=True)
    assert status[("groups", "member $ref")] == "ok"
    assert report.finding("groups", "member $ref").observed == "members without $ref are accepted"


def test_declared_attributes_the_target_drops_are_listed_with_the_fix() -> None:
    fake = populated()
    fake.drops = {"title", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"}
    samples = {"title": "Eng", "enterprise.department": "R&D", "nickName": "al",
               "externalId": "alice", "emails": [{"value": "alice@example.com"}]}  # fmt: skip
    config = Config("fake", BASE_URL)
    client = ScimClient(fake.client(), BASE_URL, retry=TINY)
    report = run_doctor(client, config, write_probe=True, new_name=names(), samples=samples)
    finding = report.finding("attributes", "declared attributes")
    assert (finding.status, finding.observed) == (
        "warn",
        "of 5 declared: dropped (answered success, not kept): enterprise.department, title",
    )
    assert finding.action.endswith("quirks: {not_kept: [enterprise.department, title]}")
    # The unique values are the doctor's own, never a real user's.
    sent = [s.body for s in fake.requests if s.method == "PATCH" and s.path.startswith("/Users/")]
    assert not any("alice" in str(body) for body in sent)
    assert len(fake.users) == 5


def test_declared_attributes_all_kept() -> None:
    config = Config("fake", BASE_URL)
    client = ScimClient(populated().client(), BASE_URL, retry=TINY)
    report = run_doctor(client, config, write_probe=True, new_name=names(), samples={"title": "x"})
    finding = report.finding("attributes", "declared attributes")
    assert (finding.status, finding.observed) == (
        "ok",
        "all 1 declared attribute paths are kept as written",
    )


@pytest.mark.parametrize(
    ("fake", "reason"),
    [
        ("google", "the /Users listing ignores startIndex (every page starts at the first user)"),
        ("snowflake", "the unfiltered /Users listing returns a synthetic object"),
    ],
)
def test_a_listing_that_cannot_be_read_whole_is_reported(fake: str, reason: str) -> None:
    from tests.limitedscim import GoogleLikeScim, SnowflakeLikeScim

    target = GoogleLikeScim() if fake == "google" else SnowflakeLikeScim()
    for n in range(3):
        target.add_user(f"user{n}@example.com")
    report, _ = fake_doctor(target, write_probe=False)
    finding = report.finding("paging", "whole listing")
    assert (finding.status, finding.observed) == ("warn", reason)
    assert "lookup mode" in finding.action
    assert "quirks: {listing: none}" in finding.action


def test_a_listing_read_whole_and_cursor_paging_are_reported() -> None:
    fake = populated()
    report, status = fake_doctor(fake, write_probe=False)
    assert status[("paging", "whole listing")] == "ok"
    assert status[("paging", "cursor")] == "info"
    fake.paging(cursor=True, index=False)
    report, status = fake_doctor(fake, write_probe=False)
    assert status[("paging", "cursor")] == "ok"
    assert status[("paging", "whole listing")] == "ok"
    assert ("paging", "/Users") not in status  # index paging was never tried
    assert not report.failed


@pytest.mark.parametrize(
    ("values", "status", "observed"),
    [
        (lambda f: [f.users[k]["id"] for k in sorted(f.users)[:2]], "ok", "2 user id(s)"),
        (lambda f: ["user0@example.com", "user1@example.com"], "warn", "2 userName(s)"),
        (lambda f: ["gone-1"], "warn", "1 naming no user"),
    ],
    ids=["ids", "userNames", "dangling"],
)
def test_member_values_say_how_members_are_resolved(
    values: Callable[[FakeScim], list[str]], status: str, observed: str
) -> None:
    fake = populated()
    gid = fake.add_group("Team")
    fake.groups[gid]["members"] = [{"value": v} for v in values(fake)]
    report, statuses = fake_doctor(fake, write_probe=False)
    assert statuses[("groups", "member values")] == status
    [finding] = [f for f in report.findings if f.check == "member values"]
    assert observed in finding.observed


class UpsertFake(FakeScim):
    """A target whose create of `kind` answers with an existing object (`victim`), by its
    body or only by its Location, instead of the one it was sent."""

    def __init__(self, kind: str, victim: str, *, location_only: bool = False) -> None:
        super().__init__()
        self.kind, self.victim, self.location_only = kind, victim, location_only

    def _create(self, seen: Seen, store: dict[str, dict[str, Any]], kind: str) -> httpx2.Response:
        created = super()._create(seen, store, kind)
        if kind != self.kind:
            return created
        where = f"{BASE_URL}/{kind}s/{self.victim}"
        if self.location_only:
            return httpx2.Response(201, headers={"Location": where})
        return self._one(store[self.victim], 201)


@pytest.mark.parametrize("location_only", [False, True])
@pytest.mark.parametrize("kind", ["User", "Group"])
def test_a_create_answered_with_another_objects_id_never_touches_that_object(
    kind: str, location_only: bool
) -> None:
    fake = UpsertFake(kind, "", location_only=location_only)
    admin = fake.add_user("admin@example.com", active=True, title="Administrator")
    admins = fake.add_group("Admins", [admin])
    fake.victim = admin if kind == "User" else admins
    before = (dict(fake.users[admin]), dict(fake.groups[admins]))
    report, _ = fake_doctor(fake, write_probe=True)
    victim_path = f"/{kind}s/{fake.victim}"
    written = [s for s in fake.requests if s.method != "GET" and s.path == victim_path]
    assert written == []
    assert (fake.users[admin], fake.groups[admins]) == before
    assert report.failed
    found = [f for f in report.findings if fake.victim in f.observed and "neither" in f.observed]
    assert found, [f.observed for f in report.findings]
    # The objects the doctor really made are found by name and deleted all the same.
    assert set(fake.users) == {admin}
    assert set(fake.groups) == {admins}


def test_a_target_failing_on_count_has_its_groups_sampled_without_it() -> None:
    # Canaille 0.3 fails any listing that carries `count`: paging says so once, and the
    # group sample the filter and member probes work from is read without it, not
    # reported as a failed probe.
    fake = populated()
    fake.count_crashes = True
    _, status = fake_doctor(fake, write_probe=False)
    assert status[("paging", "count")] == "warn"
    assert ("filter", "groups") not in status
    _, plain = fake_doctor(populated(), write_probe=False)
    assert {k: v for k, v in status.items() if k[0] in ("filter", "groups")} == {
        k: v for k, v in plain.items() if k[0] in ("filter", "groups")
    }
