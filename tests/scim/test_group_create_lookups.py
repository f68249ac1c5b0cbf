"""Looking before each group create stays cheap: one listing, not one per group.

Every group create looks the group up first and again after (two runs at once must not
duplicate it). An empty `eq` answer proves nothing on a target that silently ignores some
filters, so it used to be followed by a read of the whole /Groups listing, twice per
group: an initial apply of 500 groups read the listing a thousand times. Once the filter
has found what it was asked for in this run, its empty answers are believed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest

from reconciler.run import prepare
from reconciler.scim.apply.runner import Applier
from reconciler.scim.audit import AuditLog
from tests.fakescim import GROUP_SCHEMA as GROUP
from tests.fakescim import FakeScim, Seen
from tests.scim.test_faults import plan_and_apply, replan, user, write_spec


def listings(fake: FakeScim) -> list[Seen]:
    return [s for s in fake.requests if s.method == "GET" and s.path == "/Groups"
            and "filter" not in s.params]  # fmt: skip


def groups_spec(tmp_path: Path, count: int) -> Path:
    groups = [{"displayName": f"Team {i}", "members": ["a@example.com"]} for i in range(count)]
    return write_spec(tmp_path, [user("a@example.com")], groups, concurrency=1)


def test_an_initial_apply_of_many_groups_lists_them_once(token: str, tmp_path: Path) -> None:
    fake = FakeScim()
    fake.filter_ignores_case.add("displayname")  # as RFC 7643 has it
    specs = groups_spec(tmp_path, 30)
    before = len(listings(fake))
    _, result = plan_and_apply(specs, fake)
    assert [o.message for o in result.outcomes if not o.ok] == []
    assert len(fake.groups) == 30
    # The plan's own read, then the first create's look (before the filter is proven).
    assert len(listings(fake)) - before <= 2
    assert replan(specs, fake).plan.changes == ()


def test_a_filter_that_never_finds_a_group_is_never_believed(token: str, tmp_path: Path) -> None:
    """django-scim2's displayName filter matches nothing: every look reads the listing."""
    fake = FakeScim()
    fake.blind_filters = {"displayName"}
    specs = groups_spec(tmp_path, 3)
    _, result = plan_and_apply(specs, fake)
    assert [o.message for o in result.outcomes if not o.ok] == []
    assert len(fake.groups) == 3
    assert len(listings(fake)) >= 1 + 2 * 3  # the plan's read, then before and after each


@pytest.mark.parametrize(
    ("first", "probe_fails"),
    [("Alpha", False), ("2024", False), ("Alpha", True)],
    ids=["case-sensitive", "a first name without case", "the case probe refused"],
)
def test_a_case_sensitive_filter_is_never_believed(
    token: str, tmp_path: Path, first: str, probe_fails: bool
) -> None:
    """Its empty answer would miss "OPS" (made after the plan's read) when creating "Ops",
    on a target that lets two groups share a name in different case. A first name with no
    case to tell apart, or a probe in other case that fails, proves nothing either."""
    fake = FakeScim()
    fake.unique_names = False
    if probe_fails:
        probe = 'displayName eq "aLPHA"'
        fake.fail(
            "GET",
            "/Groups",
            status=404,
            times=9,
            body={"detail": "no"},
            when=lambda seen: seen.params.get("filter") == probe,
        )
    fake.add_user("a@example.com")
    groups = [{"displayName": first}, {"displayName": "Ops"}]
    specs = write_spec(tmp_path, [user("a@example.com")], groups, concurrency=1)
    prepared = prepare(specs, "fake", transport=fake.transport)
    ops = fake.add_group("OPS")
    try:
        Applier(prepared.client, prepared.target, prepared.caps, prepared.log).run(prepared.plan)
    finally:
        prepared.client.close()
    named_ops = [gid for gid, g in fake.groups.items() if g["displayName"].casefold() == "ops"]
    assert named_ops == [ops]


def test_the_case_probe_reads_no_listing(token: str, tmp_path: Path) -> None:
    fake = FakeScim()  # a case-sensitive filter: the probe finds nothing
    specs = write_spec(tmp_path, [], [{"displayName": "Alpha"}], concurrency=1)
    plan_and_apply(specs, fake)
    [probe] = [
        n for n, s in enumerate(fake.requests) if s.params.get("filter") == 'displayName eq "aLPHA"'
    ]
    after = fake.requests[probe + 1 :]
    assert not [s for s in after if s.method == "GET" and "filter" not in s.params]


class RacingFake(FakeScim):
    """Another run creates the same group while this one does: an older copy appears
    just before this run's create lands."""

    def _create(self, seen: Seen, store: dict[str, dict[str, Any]], kind: str) -> httpx2.Response:
        if kind == "Group":
            name = (seen.body or {}).get("displayName")
            store["g0"] = self._stamp("Group", "g0", {"schemas": [GROUP], "displayName": name})
        return super()._create(seen, store, kind)


def audited(specs: Path, fake: FakeScim) -> tuple[list[str], list[dict[str, Any]]]:
    lines: list[str] = []
    prepared = prepare(specs, "fake", transport=fake.transport)
    try:
        applier = Applier(
            prepared.client, prepared.target, prepared.caps, prepared.log,
            audit=AuditLog(lines.append),
        )  # fmt: skip
        result = applier.run(prepared.plan)
    finally:
        prepared.client.close()
    return [o.message for o in result.outcomes if not o.ok], [json.loads(x) for x in lines]


def test_the_copy_a_race_leaves_is_deleted_on_the_record(token: str, tmp_path: Path) -> None:
    fake = RacingFake()
    fake.unique_names = False
    specs = write_spec(tmp_path, [user("a@example.com")], [{"displayName": "Team"}])
    failed, records = audited(specs, fake)
    assert failed == []
    assert list(fake.groups) == ["g0"]  # the older one stays
    [ours] = [s.path for s in fake.requests if s.method == "DELETE"]
    assert [(r["method"], r["path"]) for r in records if r["method"] == "DELETE"] == [
        ("DELETE", ours)
    ]


def test_the_copy_a_race_leaves_of_a_protected_group_is_never_deleted(
    token: str, tmp_path: Path
) -> None:
    fake = RacingFake()
    fake.unique_names = False
    specs = write_spec(
        tmp_path, [user("a@example.com")], [{"displayName": "Admins"}], protected=["Admins"]
    )
    failed, _ = audited(specs, fake)
    assert [s for s in fake.requests if s.method == "DELETE"] == []
    assert len(fake.groups) == 2
    assert len(failed) == 1
    assert "left it" in failed[0]
    assert "protected" in failed[0]
