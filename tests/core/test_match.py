"""Step 4, `match`: invisible differences never make an account look missing (DESIGN §1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.core.match import normalise
from reconciler.core.model import Observed
from reconciler.core.plan import Action, make_plan
from reconciler.errors import SpecError
from reconciler.report.render import plan_text
from tests.core.test_plan import TARGET, load, user_res

# (declared, as the target holds it)
INVISIBLE = [
    ("josé@example.com", "jose\u0301@example.com"),  # a decomposed accent
    ("dave@example.com", "dave@example.com "),  # a trailing space
    ("alice@example.com", "\uff41lice@example.com"),  # a full-width letter
    ("Bob@Example.com", "bob@example.com"),  # case
    ("erin@example.com", "\terin@example.com"),  # leading whitespace
    ("STRASSE@example.com", "straße@example.com"),  # full case folding (ß → ss)
]


@pytest.mark.parametrize(("declared", "held"), INVISIBLE)
def test_normalised_forms_are_equal(declared: str, held: str) -> None:
    assert normalise("userName", declared) == normalise("userName", held)


def test_case_matters_for_case_exact_attributes_only() -> None:
    assert normalise("externalId", "Ab") != normalise("externalId", "ab")
    assert normalise("externalId", " a\u0301b") == normalise("externalId", "áb")


def test_invisible_differences_are_matched_and_corrected_never_replaced(tmp_path: Path) -> None:
    users = "".join(f"  - userName: {d!r}\n" for d, _ in INVISIBLE)
    spec = load(tmp_path, TARGET + "    prune: all\n    deprovision: delete\nusers:\n" + users)
    held = tuple(user_res(f"u{i}", h) for i, (_, h) in enumerate(INVISIBLE))
    plan = make_plan(spec, spec.targets["t"], Observed(held, ()))
    assert {c.action for c in plan.changes} == {Action.UPDATE}
    renames = {str(c.target_id): c.attributes[0] for c in plan.changes}
    # Case-only differences are left as the target has them (a case-only rename is one
    # many targets refuse); every other hidden difference is corrected by an update.
    assert sorted(renames) == ["u0", "u1", "u2", "u4"]
    assert all(a.path == "userName" for a in renames.values())
    assert renames["u1"].after == "dave@example.com"
    text = plan_text(plan.to_json())
    # The update shows what differs: escaped, not two identical-looking names.
    assert '"jose\\u0301@example.com" → "josé@example.com"' in text
    assert '"dave@example.com " → "dave@example.com"' in text
    assert '"\\uff41lice@example.com" → "alice@example.com"' in text


def test_two_target_accounts_equal_under_normalisation_are_ambiguous(tmp_path: Path) -> None:
    spec = load(tmp_path, TARGET + "    prune: all\nusers:\n  - userName: dave@example.com\n")
    held = (user_res("u1", "dave@example.com"), user_res("u2", "dave@example.com "))
    plan = make_plan(spec, spec.targets["t"], Observed(held, ()))
    assert plan.changes == ()  # neither created, nor either of them deprovisioned
    [error] = plan.errors
    assert error.message.startswith("DuplicateTargetEntries: 2 target objects have userName")


def test_declared_keys_equal_under_normalisation_are_duplicates(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="duplicate user"):
        load(
            tmp_path,
            TARGET
            + "users:\n  - userName: josé@example.com\n  - userName: 'jose\u0301@example.com'\n",
        )
