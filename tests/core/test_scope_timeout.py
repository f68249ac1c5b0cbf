"""A scoping clause whose pattern backtracks without end (`(a|aa)+$` against forty a's and
a '!', hours of CPU) fails after .NET's kind of match timeout, as an error on that one user
naming the pattern: the plan goes on for the others, and ends."""

from __future__ import annotations

import time
from pathlib import Path

from reconciler.core.plan import Action
from reconciler.expressions.dotnet_regex import MATCH_TIMEOUT_SECONDS
from tests.core.test_plan import TARGET, load, plan_for

BACKTRACKS = "(a|aa)+$"


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
