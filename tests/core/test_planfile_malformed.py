"""What a plan file cannot hold is refused, never a crash: numbers JSON cannot hold (NaN,
infinities, a float past double's range, an integer of thousands of digits), which the
digest's fixed form has no text for; and a change no plan makes (a group disabled)."""

from __future__ import annotations

import json

import pytest

from reconciler.core import planfile
from reconciler.core.plan import Plan
from reconciler.core.plan_json import Malformed, plan_from_json
from reconciler.errors import UsageError

BASE = json.dumps(
    {
        "scimrec_plan": planfile.FILE_VERSION,
        "digest": {"algorithm": "sha256", "value": "0" * 64},
        "plan": {"noop": 0},
    }
)


@pytest.mark.parametrize(
    "number", ["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1E400", "9" * 5000]
)
def test_a_number_json_cannot_hold_is_refused_as_not_json(number: str) -> None:
    text = BASE.replace('"noop": 0', f'"noop": {number}')
    assert number in text
    with pytest.raises(UsageError) as refused:
        planfile.parse(text, "plan.json")
    assert str(refused.value) == "plan.json is not a scimrec plan file (not JSON)"


def test_an_ordinary_large_float_is_json() -> None:
    text = BASE.replace('"noop": 0', '"noop": 1e300')
    with pytest.raises(UsageError) as refused:
        planfile.parse(text, "plan.json")
    assert "does not match" in str(refused.value)  # read, then refused by its digest


def test_a_group_disable_is_malformed() -> None:
    # A group has no `active`: a plan never disables one, and apply has no phase for it.
    change = {"kind": "group", "key": "Ops", "action": "disable", "target_id": "g1"}
    data = Plan("t", "https://scim.test", ()).to_json() | {"changes": [change]}
    with pytest.raises(Malformed) as malformed:
        plan_from_json(data)
    assert str(malformed.value) == "plan.changes[0].action: a group is never disabled"
