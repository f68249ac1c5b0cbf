"""Attack: a `protected` name that holds `[` protects nothing of that name.

spec/safety.py documents `protected` as "userName / displayName patterns (* and ?
allowed)", but core/prune.py matches them with fnmatch, where `[...]` is a character set.
`protected: ["Admins [prod]"]` then matches "admins p", "admins r", ... and never the group
actually called "Admins [prod]", so prune deletes it (and apply's last check, which uses
the same function, lets the DELETE through). Bracketed tags in group names are common
("Admins [prod]", "[SEC] Break glass").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.core.model import Observed
from reconciler.core.plan import make_plan
from reconciler.core.prune import protected
from tests.core.test_plan import TARGET, group_res, keyed, load, user_res


@pytest.mark.xfail(strict=True, reason="fnmatch reads '[prod]' as a character set")
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


@pytest.mark.xfail(strict=True, reason="fnmatch reads '[' as the start of a character set")
def test_a_protected_literal_name_protects_itself(tmp_path: Path) -> None:
    spec = load(tmp_path, TARGET + '    protected: ["svc[ci]@example.com"]\n')
    assert protected(spec.targets["t"], "svc[ci]@example.com")
