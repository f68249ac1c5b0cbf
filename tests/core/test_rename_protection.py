"""A rename never takes a protected account out of its protection.

`protected` is a list of name patterns, checked on the declared key and on the name the
target holds now. A declared user may adopt and rename any undeclared account it names in
`previously:` (or matches by an immutable key such as externalId). Renaming
`admin@example.com` (protected by `admin@*`) to `eve@example.com` is an ordinary update:
no guard counts it, protection does not look at it. Once renamed, the account matches no
pattern, and `state: absent` on eve (or prune, or `active: false`) disables or deletes it
in the next run. README: protected objects "are never disabled or deleted by any route".

So a protected object is never renamed: the plan drops the rename (and says so), and
apply refuses a write that takes a protected name away.
"""

from __future__ import annotations

from pathlib import Path

from reconciler.core.model import Observed
from reconciler.core.plan import Action, make_plan
from tests.core.test_plan import TARGET, keyed, load, user_res

PROTECTED = '    protected: ["admin@*"]\n'


def test_the_second_run_disables_the_account_once_renamed(tmp_path: Path) -> None:
    """Why a rename must not happen: once renamed, nothing protects the account."""
    spec = load(
        tmp_path, TARGET + PROTECTED + "users:\n  - {userName: eve@example.com, state: absent}\n"
    )
    observed = Observed((user_res("u1", "eve@example.com", active=True),), ())
    plan = make_plan(spec, spec.targets["t"], observed)
    assert keyed(plan) == [("user", "eve@example.com", "disable")]


def test_a_protected_account_is_never_renamed_out_of_protection(tmp_path: Path) -> None:
    users = "users:\n  - userName: eve@example.com\n    previously: [admin@example.com]\n"
    spec = load(tmp_path, TARGET + PROTECTED + users)
    observed = Observed((user_res("u1", "admin@example.com", active=True),), ())
    plan = make_plan(spec, spec.targets["t"], observed)
    renames = [
        (c.renamed_from, c.key)
        for c in plan.changes
        if c.target_id == "u1" and c.action is not Action.CREATE and c.renamed_from
    ]
    assert renames == []
