"""`scimrec doctor` (issue 7): what it reports for the real servers, and for injected quirks.

The real servers are the `target` fixture's scim2-server, django-scim2 and Better Auth (their
quirks are in tests/servers/*/QUIRKS.md); quirks none has are injected through FakeScim.
Every write-probe test also checks that the target holds exactly what it held before.
"""

from __future__ import annotations

from reconciler.core.config import Auth
from reconciler.core.config import Target as Config
from reconciler.doctor.report import Report, report_text
from reconciler.scim.client import ScimClient
from tests.conftest import TOKEN_ENV, Target
from tests.doctor.test_doctor import GROUP, USER, doctor
from tests.e2e.test_lifecycle import listing


def seed(target: Target) -> None:
    with target.http() as http:
        user = http.post("/Users", json={"schemas": [USER], "userName": "alice@example.com"})
        assert user.status_code == 201
        group = {"schemas": [GROUP], "displayName": "Engineering"}
        assert http.post("/Groups", json=group).status_code == 201


def holdings(target: Target) -> list[tuple[str, str]]:
    """Everything the target holds, by endpoint and name."""
    found = []
    for endpoint, key in (("/Users", "userName"), ("/Groups", "displayName")):
        found += [(endpoint, str(r[key])) for r in listing(target, endpoint)]
    return sorted(found)


def doctor_on(
    target: Target, *, write_probe: bool, methods: list[str] | None = None
) -> tuple[Report, dict[tuple[str, str], str]]:
    config = Config("e2e", target.url, Auth("bearer", token_env=TOKEN_ENV))

    def record(method: str, path: str, status: int, seconds: float) -> None:
        if methods is not None:
            methods.append(method)

    client = ScimClient.for_target(config, on_exchange=record)
    try:
        return doctor(client, config, write_probe=write_probe)
    finally:
        client.close()


def test_write_probes_report_each_server_and_leave_nothing_behind(target: Target) -> None:
    seed(target)
    before = holdings(target)
    report, status = doctor_on(target, write_probe=True)
    assert holdings(target) == before
    assert status[("cleanup", "temporary objects")] == "ok"
    text = report_text(report)
    assert len(text.splitlines()) == len(report.findings) + 2
    if target.flavour == "django-scim2":
        advertised = report.finding("filter", "advertised")
        assert advertised.status == "warn"
        assert "says filter unsupported, but a filter on users.userName is honoured" in (
            advertised.observed
        )
        assert status[("filter", "users.userName")] == "ok"
        assert status[("filter", "groups.displayName")] == "warn"  # groups map nothing (§8)
        removal = report.finding("groups", "remove member")
        assert removal.status == "warn"
        assert 'members[value eq "ID"] is refused (501)' in removal.observed
        assert "value list" in removal.action
        assert "group POST ignores members" in report.finding("groups", "members on POST").observed
        assert status[("groups", "members on PUT")] == "warn"
        assert status[("etag", "headers")] == "info"
        assert "no ETag" in report.finding("etag", "headers").observed
        assert "If-Match is ignored" in report.finding("etag", "If-Match").observed
        assert status[("etag", "advertised")] == "ok"
        assert status[("uniqueness", "users.userName duplicate")] == "ok"
        variant = report.finding("uniqueness", "users.userName case variant")
        assert variant.status == "warn"
        assert variant.observed == (
            "case-variant userNames accepted (201, deleted again): uniqueness is not "
            "case-insensitive"
        )
        assert status[("patch", "replace")] == "ok"
        assert status[("patch", "value-filter path")] == "warn"
        assert report.finding("patch", "value-filter path").action.startswith(
            "scimrec tries a value-filter path once, then replaces whole multi-valued"
        )
        assert "PUT keeps emails" in report.finding("put", "unsent attributes").observed
        assert "small integers" in report.finding("ids", "format").observed
        assert "without totalResults" in report.finding("discovery", "/ResourceTypes").observed
        assert not report.failed
    elif target.flavour == "better-auth-scim":
        # Honest about itself (QUIRKS.md §1): no ETags, PUT remakes emails from userName.
        assert {k for k, v in status.items() if v == "warn"} == {("put", "unsent attributes")}
        assert "PUT keeps emails" in report.finding("put", "unsent attributes").observed
        assert status[("etag", "headers")] == "info"
        assert status[("groups", "remove member")] == "ok"
        assert status[("groups", "members on POST")] == "ok"
        assert status[("uniqueness", "groups.displayName duplicate")] == "ok"
        assert status[("uniqueness", "users.userName case variant")] == "ok"
        assert not report.failed
    else:
        assert set(status.values()) <= {"ok", "info"}, text
        assert status[("filter", "advertised")] == "ok"
        assert status[("filter", "users.userName")] == "ok"
        assert status[("groups", "remove member")] == "ok"
        assert status[("groups", "members on POST")] == "ok"
        assert report.finding("patch", "value-filter path").action == (
            "scimrec changes a typed email's value alone with such a path (RFC 7644 §3.5.2)"
        )
        assert status[("uniqueness", "users.userName duplicate")] == "ok"
        assert status[("uniqueness", "users.userName case variant")] == "ok"
        if_match = report.finding("etag", "If-Match")
        assert (if_match.status, if_match.observed) == (
            "ok",
            "a stale If-Match gets 412; the current ETag is accepted",
        )
        assert "UUIDs" in report.finding("ids", "format").observed


def test_read_only_doctor_sends_only_gets(target: Target) -> None:
    seed(target)
    before = holdings(target)
    methods: list[str] = []
    report, status = doctor_on(target, write_probe=False, methods=methods)
    assert set(methods) == {"GET"}
    assert holdings(target) == before
    assert status[("doctor", "write probes")] == "info"
    assert status[("patch", "advertised")] == "info"
    assert ("cleanup", "temporary objects") not in status
    assert status[("filter", "users.userName")] == "ok"  # looked up on alice
    if target.flavour == "django-scim2":
        assert status[("filter", "advertised")] == "warn"
        assert status[("filter", "groups.displayName")] == "warn"
        assert status[("etag", "advertised")] == "ok"
    else:
        assert status[("filter", "groups.displayName")] == "ok"
        no_etags = target.flavour == "better-auth-scim"
        assert status[("etag", "headers")] == ("info" if no_etags else "ok")
    data = report.to_json()
    assert data["format_version"] == 1
    assert data["target"] == {"name": "e2e", "url": target.url}
    assert set(data["findings"][0]) == {"area", "check", "status", "observed", "action"}
