"""run.py: several targets are read at the same time, and one failing never stops the rest."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import httpx2
import pytest

from reconciler import logs
from reconciler.core.model import Observed
from reconciler.core.plan import make_plan
from reconciler.errors import ScimrecError, UsageError
from reconciler.report.steps import log_steps
from reconciler.run import Prepared, prepare, prepare_each
from reconciler.spec.load import load_spec
from tests.core.test_plan import group_res, user_res
from tests.fakescim import FakeScim

NAMES = ("hr", "crm", "wiki")
SPEC = "targets:\n" + "".join(f"  {n}: {{url: https://{n}.test/scim/v2}}\n" for n in NAMES)
SPEC += "users:\n  - userName: alice@example.com\n"


def write(tmp_path: Path) -> Path:
    (tmp_path / "spec.yaml").write_text(SPEC, encoding="utf-8")
    return tmp_path


def by_host(fakes: dict[str, FakeScim]) -> httpx2.MockTransport:
    """One transport for every target; each target's host is served by its own fake."""
    return httpx2.MockTransport(lambda r: fakes[r.url.host.split(".")[0]].handle(r))


def test_targets_are_read_concurrently(tmp_path: Path) -> None:
    fakes = {name: FakeScim() for name in NAMES}
    # Each target's first request waits until every target has sent its own: read one after
    # the other, the first would wait alone and the barrier would break.
    barrier = threading.Barrier(len(NAMES), timeout=10)

    def handle(request: httpx2.Request) -> httpx2.Response:
        fake = fakes[request.url.host.split(".")[0]]
        if not fake.requests:
            barrier.wait()
        return fake.handle(request)

    results = prepare_each(write(tmp_path), (), every=True, transport=httpx2.MockTransport(handle))
    assert list(results) == ["crm", "hr", "wiki"]  # --all-targets: sorted by name
    for result in results.values():
        assert isinstance(result, Prepared), result
        assert [c.key for c in result.plan.changes] == ["alice@example.com"]
        result.client.close()
    assert not barrier.broken


def test_one_target_failing_leaves_the_others(tmp_path: Path) -> None:
    fakes = {"hr": FakeScim(token="expected"), "wiki": FakeScim()}  # hr: 401, no token sent
    results = prepare_each(write(tmp_path), ("wiki", "hr", "wiki"), transport=by_host(fakes))
    assert list(results) == ["wiki", "hr"]  # the order given, each once
    wiki, hr = results["wiki"], results["hr"]
    assert isinstance(wiki, Prepared)
    wiki.client.close()
    assert isinstance(hr, ScimrecError)
    assert "401" in str(hr)


def test_unknown_target_is_refused_before_any_request(tmp_path: Path) -> None:
    fakes = {name: FakeScim() for name in NAMES}
    with pytest.raises(UsageError, match="no target named 'erp'"):
        prepare_each(write(tmp_path), ("hr", "erp"), transport=by_host(fakes))
    assert all(fake.requests == [] for fake in fakes.values())


def test_all_targets_of_a_spec_without_any(tmp_path: Path) -> None:
    (tmp_path / "users.yaml").write_text("users:\n  - userName: a@example.com\n")
    with pytest.raises(UsageError, match="--all-targets: the spec defines no target"):
        prepare_each(tmp_path, (), every=True)


class _Log:
    def __init__(self) -> None:
        self.events: list[dict[str, object]] = []

    def info(self, event: str, **fields: object) -> None:
        self.events.append({"event": event, **fields})

    error = debug = info


def test_the_scope_step_is_logged_with_why_for_users_and_groups(tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_text(
        "targets:\n  t:\n    url: https://t.test/scim/v2\n    assign: {groups: [Eng]}\n"
        "users:\n  - userName: ana@example.com\n  - userName: ben@example.com\n"
        "  - {userName: cy@example.com, state: absent}\n"
        "groups:\n  - {displayName: Eng, members: [ana@example.com]}\n"
        "  - {displayName: Ops, members: [ben@example.com]}\n",
        encoding="utf-8",
    )
    spec = load_spec(tmp_path)
    plan = make_plan(spec, spec.targets["t"], Observed((), ()))
    log = _Log()
    log_steps(plan, spec, log)
    scope = {
        (e["kind"], e["key"]): (e["outcome"], e["reason"])
        for e in log.events
        if e["event"] == "scope"
    }
    assert scope == {
        ("user", "ana@example.com"): ("in_scope", "in scope: assigned through Eng"),
        ("user", "ben@example.com"): (
            "out_of_scope",
            "out of scope: not in a group assigned to this target (Eng)",
        ),
        ("user", "cy@example.com"): ("deprovision", "state: absent"),
        ("group", "Eng"): ("in_scope", "declared"),
        ("group", "Ops"): ("out_of_scope", "out of scope: not assigned to this target"),
    }


def _events(err: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in err.splitlines() if line.startswith("{")]


@pytest.mark.parametrize("level", ["info", "debug", "warning"])
def test_unchanged_objects_are_counted_at_info_and_listed_at_debug(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], level: str
) -> None:
    """The audit trail keeps every object that changes or fails; unchanged ones are counted."""
    (tmp_path / "spec.yaml").write_text(
        "targets:\n  t: {url: https://t.test/scim/v2}\nusers:\n"
        + "".join(f"  - {{userName: u{i}@example.com, title: T}}\n" for i in range(5))
        + "  - {userName: new@example.com}\n  - {userName: dup@example.com}\n",
        encoding="utf-8",
    )
    fake = FakeScim()
    fake.unique_names = False
    for i in range(5):
        fake.add_user(f"u{i}@example.com", title="T")
    fake.add_user("dup@example.com")
    fake.add_user("DUP@example.com")
    logs.configure(level, json_lines=True)
    prepared = prepare(tmp_path, "t", transport=fake.transport)
    prepared.client.close()
    events = [e for e in _events(capsys.readouterr().err) if e.get("step") != "import"]
    per_object = {(e["event"], e["key"], e["outcome"]) for e in events if "key" in e}
    changed = {
        ("scope", "new@example.com", "in_scope"),
        ("match", "new@example.com", "unmatched"),
        ("action", "new@example.com", "create"),
        ("scope", "dup@example.com", "in_scope"),
        ("match", "dup@example.com", "error"),
        ("action", "dup@example.com", "error"),
    }
    unchanged = {
        (step, f"u{i}@example.com", outcome)
        for i in range(5)
        for step, outcome in (("scope", "in_scope"), ("match", "matched"), ("action", "noop"))
    }
    if level == "warning":  # only what failed
        assert per_object == {("action", "dup@example.com", "error")}
        assert [e for e in events if e["event"] == "unchanged objects"] == []
        return
    assert per_object == (changed | unchanged if level == "debug" else changed)
    counts = [
        (e["step"], e["objects"], e["outcomes"])
        for e in events
        if e["event"] == "unchanged objects"
    ]
    assert counts == [
        ("scope", 5, {"in_scope": 5}),
        ("match", 5, {"matched": 5}),
        ("action", 5, {"noop": 5}),
    ]


class _Leveled(_Log):
    """A log that writes `level` and above, each event marked with the level it came at."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def is_enabled_for(self, level: int) -> bool:
        return level >= self.level

    def info(self, event: str, **fields: object) -> None:
        self.events.append({"event": event, "at": "info", **fields})

    def debug(self, event: str, **fields: object) -> None:
        if self.level <= logging.DEBUG:
            self.events.append({"event": event, "at": "debug", **fields})

    error = info


def test_unchanged_objects_counted_at_once_are_those_the_object_by_object_walk_counts(
    tmp_path: Path,
) -> None:
    # At info, the objects that are unchanged, in scope and matched are counted at once,
    # and only the others walked (report/steps.py `_singled`). Every other outcome is here
    # once: out of scope, absent and already disabled, unmatched, in error, changed.
    (tmp_path / "spec.yaml").write_text(
        "targets:\n  t:\n    url: https://t.test/scim/v2\n    assign: {groups: [Eng]}\n"
        "    deprovision: disable\n"
        "users:\n  - userName: ana@example.com\n  - userName: ben@example.com\n"
        "  - {userName: cy@example.com, state: absent}\n  - userName: dee@example.com\n"
        "  - {userName: eve@example.com, title: New}\n  - userName: fay@example.com\n"
        "groups:\n  - {displayName: Eng, members: [ana@example.com,"
        " dee@example.com, eve@example.com, fay@example.com]}\n"
        "  - {displayName: Ops, members: [ben@example.com]}\n",
        encoding="utf-8",
    )
    spec = load_spec(tmp_path)
    users = (
        user_res("u1", "ana@example.com"),
        user_res("u2", "ben@example.com"),
        user_res("u3", "cy@example.com", active=False),
        user_res("u5", "eve@example.com", title="Old"),
        user_res("u6", "fay@example.com"),
        user_res("u7", "FAY@example.com"),  # two accounts for fay: in error
    )
    groups = (group_res("g1", "Eng", ["u1", "u5", "u6"]),)
    plan = make_plan(spec, spec.targets["t"], Observed(users, groups))
    by_level = {}
    for level in (logging.INFO, logging.DEBUG):
        log = _Leveled(level)
        log_steps(plan, spec, log)
        by_level[level] = log.events
    info, debug = by_level[logging.INFO], by_level[logging.DEBUG]
    # The same events at info, in the same order, and the same counts of unchanged ones.
    assert info == [e for e in debug if e["at"] == "info"]
    outcomes = {(e["event"], e["key"], e["outcome"]) for e in debug if "key" in e}
    assert ("scope", "ben@example.com", "out_of_scope") in outcomes
    assert ("scope", "cy@example.com", "deprovision") in outcomes
    assert ("match", "dee@example.com", "unmatched") in outcomes
    assert ("action", "fay@example.com", "error") in outcomes
    assert ("action", "eve@example.com", "update") in outcomes
    quiet = [e for e in debug if e["at"] == "debug"]
    counted = [e for e in info if e["event"] == "unchanged objects"]
    assert sum(e["objects"] for e in counted) == len(quiet) > 0  # type: ignore[misc]
