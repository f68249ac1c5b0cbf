"""The plan in lookup mode (Observed.lookup): what was not looked up is not absent, so it is
never pruned (prune needs every object), and a member not looked up is unresolved, which
the membership diff never removes; what was looked up is planned as ever."""

from __future__ import annotations

from pathlib import Path

from reconciler.core.model import Observed
from reconciler.core.plan import Action, make_plan
from tests.core.test_plan import TARGET, group_res, load, user_res

SPEC = (
    TARGET
    + "    prune: all\n"
    + "users:\n"
    + "  - userName: alice@example.com\n"
    + "  - userName: bob@example.com\n"
    + "  - userName: mallory@example.com\n"
    + "    state: absent\n"
    + "groups:\n"
    + "  - displayName: Team\n"
    + "    members: [alice@example.com]\n"
)
SEEN = (
    user_res("u1", "alice@example.com"),
    user_res("u2", "bob@example.com"),
    user_res("u3", "mallory@example.com", active=True),
)
# On the target: bob (declared, not in Team) and u9 (never looked up) are in Team.
TEAM = group_res("g1", "Team", ["u1", "u2", "u9"])


def test_lookup_mode_plans_what_it_saw_and_withholds_what_it_did_not(tmp_path: Path) -> None:
    spec = load(tmp_path, SPEC)
    plan = make_plan(spec, spec.targets["t"], Observed(SEEN, (TEAM,), lookup=True))
    by_key = {c.key: c for c in plan.changes}
    assert sorted(by_key) == ["Team", "mallory@example.com"]
    assert by_key["mallory@example.com"].action is Action.DISABLE  # declared absent, seen
    # bob was looked up (declared), so seen, and is not a Team member: removed. u9 was
    # never looked up: unresolved, so left in place (the membership diff's own rule).
    assert [m.id for m in by_key["Team"].members_remove] == ["u2"]
    assert "group Team: 1 member(s) on the target resolve to no listed user" in plan.notes[-1]


def test_the_same_target_read_whole_prunes_and_removes_everyone_undeclared(tmp_path: Path) -> None:
    spec = load(tmp_path, SPEC)
    stranger = user_res("u9", "stranger@example.com", active=True)
    plan = make_plan(spec, spec.targets["t"], Observed((*SEEN, stranger), (TEAM,)))
    by_key = {c.key: c for c in plan.changes}
    assert by_key["stranger@example.com"].action is Action.DISABLE  # prune: all
    assert sorted(str(m.id) for m in by_key["Team"].members_remove) == ["u2", "u9"]


def test_lookup_mode_never_prunes_even_if_asked(tmp_path: Path) -> None:
    spec = load(tmp_path, SPEC)
    stranger = user_res("u9", "stranger@example.com", active=True)
    plan = make_plan(spec, spec.targets["t"], Observed((*SEEN, stranger), (TEAM,), lookup=True))
    assert "stranger@example.com" not in {c.key for c in plan.changes}
