"""`--only`: the objects named, plus what they need that the run must create first, said so."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.core.model import Kind, Observed
from reconciler.core.plan import PlanOptions, make_plan
from tests.core.test_plan import URL, group_res, load, user_res

SPEC = """
targets:
  t:
    url: {url}
    nested_groups: {nesting}
users:
  - userName: alice@example.com
    enterprise: {{manager: bob@example.com}}
  - userName: bob@example.com
    enterprise: {{manager: carol@example.com}}
  - userName: carol@example.com
  - userName: dave@example.com
  - userName: erin@example.com
groups:
  - displayName: Eng
    members: [alice@example.com, dave@example.com]
  - displayName: Parent
    members: [erin@example.com]
    groups: [Eng]
"""

ON_TARGET = {
    "alice": user_res("u1", "alice@example.com"),
    "bob": user_res("u2", "bob@example.com"),
    "carol": user_res("u3", "carol@example.com"),
    "dave": user_res("u4", "dave@example.com"),
    "erin": user_res("u5", "erin@example.com"),
}


def note(kind: str, key: str, why: str) -> str:
    return (
        f"--only: also planned {kind} {key} ({why}): it is not on the target yet, and this run "
        "must create it first"
    )


# (id, nesting, --only, users on the target, groups on the target, planned, notes)
CASES: list[tuple[str, str, list[str], list[str], bool, list[str], list[str]]] = [
    (
        "manager-chain-not-on-target",
        "flatten",
        ["user:alice@example.com"],
        [],
        False,
        ["user alice@example.com", "user bob@example.com", "user carol@example.com"],
        [
            note("user", "bob@example.com", "the manager of user alice@example.com"),
            note("user", "carol@example.com", "the manager of user bob@example.com"),
        ],
    ),
    (
        "manager-on-target-needs-nothing",
        "flatten",
        ["user:alice@example.com"],
        ["bob"],
        False,
        ["user alice@example.com"],
        [],
    ),
    (
        "group-members-and-their-managers",
        "flatten",
        ["group:Eng"],
        ["carol"],
        False,
        ["user alice@example.com", "user bob@example.com", "user dave@example.com", "group Eng"],
        [
            note("user", "alice@example.com", "a member of group Eng"),
            note("user", "dave@example.com", "a member of group Eng"),
            note("user", "bob@example.com", "the manager of user alice@example.com"),
        ],
    ),
    (
        "flattened-nesting-needs-the-nested-members",
        "flatten",
        ["group:Parent"],
        ["alice", "dave"],
        False,
        ["user erin@example.com", "group Parent"],
        [note("user", "erin@example.com", "a member of group Parent")],
    ),
    (
        "native-nesting-needs-the-nested-group",
        "native",
        ["group:Parent"],
        list(ON_TARGET),
        False,
        ["group Eng", "group Parent"],
        [note("group", "Eng", "nested in group Parent")],
    ),
    (
        "everything-on-target",
        "native",
        ["group:Parent", "user:alice@example.com"],
        list(ON_TARGET),
        True,
        [],
        [],
    ),
]


@pytest.mark.parametrize(
    ("nesting", "only", "users", "groups", "planned", "notes"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_only_brings_what_the_selection_needs(
    tmp_path: Path,
    nesting: str,
    only: list[str],
    users: list[str],
    groups: bool,
    planned: list[str],
    notes: list[str],
) -> None:
    spec = load(tmp_path, SPEC.format(url=URL, nesting=nesting))
    selected = frozenset((Kind(o.split(":")[0]), o.split(":", 1)[1]) for o in only)
    observed = Observed(
        tuple(ON_TARGET[u] for u in users),
        (group_res("g1", "Eng"), group_res("g2", "Parent")) if groups else (),
    )
    plan = make_plan(spec, spec.targets["t"], observed, PlanOptions(only=selected))
    changed = sorted(f"{c.kind.value} {c.key}" for c in plan.changes if c.action.value == "create")
    assert changed == sorted(planned)
    assert [n for n in plan.notes if n.startswith("--only")] == notes
    assert plan.errors == ()


def test_the_manager_created_in_the_run_is_the_one_the_plan_names(tmp_path: Path) -> None:
    spec = load(tmp_path, SPEC.format(url=URL, nesting="flatten"))
    only = frozenset({(Kind.USER, "alice@example.com")})
    plan = make_plan(spec, spec.targets["t"], Observed((), ()), PlanOptions(only=only))
    alice = next(c for c in plan.changes if c.key == "alice@example.com")
    (manager,) = [a for a in alice.attributes if a.path == "enterprise.manager"]
    assert (manager.after, manager.ref) == (None, "bob@example.com")
    assert any(c.key == "bob@example.com" for c in plan.changes)
