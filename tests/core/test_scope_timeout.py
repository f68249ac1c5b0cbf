"""A scoping clause whose pattern backtracks without end (`(a|aa)+$` against forty a's and
a '!', hours of CPU) fails after .NET's kind of match timeout, as an error on that one user
naming the pattern: the plan goes on for the others, and ends."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from reconciler.core.plan import Action
from reconciler.expressions.dotnet_regex import MATCH_TIMEOUT_SECONDS
from tests.core.test_plan import TARGET, load, plan_for

BACKTRACKS = "(a|aa)+$"


@pytest.mark.timing
def test_a_scope_pattern_that_backtracks_is_an_error_on_that_user(tmp_path: Path) -> None:
    spec = load(
        tmp_path,
        TARGET
        + f"    scope: [[{{attribute: title, operator: REGEX MATCH, value: '{BACKTRACKS}'}}]]\n"
        + "users:\n"
        + f"  - {{userName: slow@example.com, title: {'a' * 40}!}}\n"
        + "  - {userName: fine@example.com, title: aaaa}\n",
    )
    started = time.monotonic()
    plan = plan_for(spec)
    assert time.monotonic() - started < MATCH_TIMEOUT_SECONDS + 3
    assert [(c.key, c.action) for c in plan.changes] == [("fine@example.com", Action.CREATE)]
    assert [(e.key, e.message) for e in plan.errors] == [
        (
            "slow@example.com",
            f"scope failed: the regular expression {BACKTRACKS!r} took longer than 2 s to "
            "match title (simplify the pattern: it backtracks too much)",
        )
    ]


@pytest.mark.timing
def test_a_pattern_that_timed_out_three_times_is_not_run_again(tmp_path: Path) -> None:
    # Ten users whose titles all backtrack: three timeouts, then the rest fail at once,
    # not 2 s each (pure planning never looks at the run's deadline).
    slow = "".join(f"  - {{userName: u{n}@example.com, title: {'a' * 40}!}}\n" for n in range(10))
    spec = load(
        tmp_path,
        TARGET
        + f"    scope: [[{{attribute: title, operator: REGEX MATCH, value: '{BACKTRACKS}'}}]]\n"
        + "users:\n"
        + slow,
    )
    started = time.monotonic()
    plan = plan_for(spec)
    assert time.monotonic() - started < 3 * MATCH_TIMEOUT_SECONDS + 3
    assert len(plan.errors) == 10
    assert plan.changes == ()
    # A plan made anew counts anew: the first values of it are run again.
    again = time.monotonic()
    plan_for(spec)
    assert time.monotonic() - again >= MATCH_TIMEOUT_SECONDS
