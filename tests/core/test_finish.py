"""The last passes over a plan (core/finish.py): after a short read of the target, every
removal is withheld, and nothing else is lost with it."""

from __future__ import annotations

from pathlib import Path

from reconciler.core.model import Observed
from reconciler.core.plan import make_plan
from tests.core.test_plan import TARGET, group_res, keyed, load, user_res

SPEC = (
    TARGET
    + "users:\n  - userName: alice@example.com\n"
    + "  - userName: mallory@example.com\n    state: absent\n"
    + "groups:\n"
    + "  - displayName: Aaa\n    members: []\n"
    + "  - displayName: Bbb\n    members: [alice@example.com]\n"
    + "  - displayName: Ccc\n    externalId: c-new\n    members: []\n"
    + "  - displayName: Ddd\n    externalId: d-new\n"
)
USERS = (
    user_res("u-a", "alice@example.com"),
    user_res("u-m", "mallory@example.com", active=True),
    user_res("u-b", "bob@example.com"),
)
GROUPS = (
    group_res("g-a", "Aaa", ["u-b"]),  # loses bob: nothing else
    group_res("g-b", "Bbb", ["u-b"]),  # loses bob, gains alice
    group_res("g-c", "Ccc", ["u-b"], externalId="c-old"),  # loses bob, and is renamed
    group_res("g-d", "Ddd", externalId="d-old"),  # no members to lose
)


def test_a_short_read_withholds_removals_and_keeps_every_other_change(tmp_path: Path) -> None:
    spec = load(tmp_path, SPEC)
    full = make_plan(spec, spec.targets["t"], Observed(USERS, GROUPS))
    assert keyed(full) == [
        ("group", "Aaa", "update"),
        ("group", "Bbb", "update"),
        ("group", "Ccc", "update"),
        ("group", "Ddd", "update"),
        ("user", "mallory@example.com", "disable"),
    ]
    short = make_plan(spec, spec.targets["t"], Observed(USERS, GROUPS, complete=False))
    # Aaa had only a removal: nothing is left of it. The others keep what they add.
    assert keyed(short) == [
        ("group", "Bbb", "update"),
        ("group", "Ccc", "update"),
        ("group", "Ddd", "update"),
    ]
    assert all(c.members_remove == () for c in short.changes)
    bbb, ccc, ddd = short.changes
    assert [m.id for m in bbb.members_add] == ["u-a"]
    assert [(a.path, a.after) for a in ccc.attributes] == [("externalId", "c-new")]
    assert ddd == full.changes[3]
    [note] = short.notes
    assert note == (
        "the target's listing was incomplete, so 4 deprovision(s) and member removal(s) are "
        "withheld from this plan; creates are checked on the target first"
    )
