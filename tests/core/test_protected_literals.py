"""A `protected` name that holds `[` protects that name: only `*` and `?` are wildcards.

spec/safety.py documents `protected` as "userName / displayName patterns (* and ?
allowed)"; read with fnmatch, `[...]` was a character set, `protected: ["Admins [prod]"]`
matched "admins p" and never the group called "Admins [prod]", and prune deleted it.
Bracketed tags in group names are common ("Admins [prod]", "[SEC] Break glass").
"""

from __future__ import annotations

from pathlib import Path

from reconciler.core.model import Observed
from reconciler.core.plan import make_plan
from reconciler.core.prune import protected
from tests.core.test_plan import TARGET, group_res, keyed, load, user_res


def test_a_protected_group_named_with_brackets_is_never_deleted(tmp_path: Path) -> None:
    text = (
        TARGET
        + "    prune: all\n"
        + '    protected: ["Admins [prod]", "[SEC] Break glass"]\n'
        + "users:\n  - userName: alice@example.com\n"
    )
    spec = load(tmp_path, text)
    observed = Observed(
        (user_res("u1", "alice@example.com"),),
        (group_res("g1", "Admins [prod]", ["u1"]), group_res("g2", "[SEC] Break glass")),
    )
    plan = make_plan(spec, spec.targets["t"], observed)
    assert keyed(plan) == []


def test_a_protected_literal_name_protects_itself(tmp_path: Path) -> None:
    spec = load(tmp_path, TARGET + '    protected: ["svc[ci]@example.com"]\n')
    assert protected(spec.targets["t"], "svc[ci]@example.com")


def test_a_name_with_an_invisible_code_point_is_protected_by_the_visible_pattern(
    tmp_path: Path,
) -> None:
    # Format characters (Cf) and the other default-ignorable code points alike: a name
    # that reads as admin@example.com is protected by `admin@*`, whatever it hides.
    spec = load(tmp_path, TARGET + '    protected: ["admin@*"]\n')
    hidden_ones = ("\u200b", "\u00ad", "\u034f", "\ufe0f", "\u3164", "\U000e0100", "\u2065")
    for hidden in hidden_ones:  # the last: unassigned (Cn), reserved as default-ignorable
        assert protected(spec.targets["t"], f"ad{hidden}min@example.com"), repr(hidden)
    assert not protected(spec.targets["t"], "adamin@example.com")
