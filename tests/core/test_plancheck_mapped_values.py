"""What `apply --plan` compares of a value a mapping computes (core/plancheck.py): from
the clock, exactly, since the plan made at apply time reads the saved plan's own time as
Now(); from Guid(), with the GUIDs masked, so that one GUID may stand for another and
nothing else may change."""

from __future__ import annotations

import uuid

import pytest

from reconciler.core import plancheck
from reconciler.core.config import Spec
from reconciler.core.model import Json, Observed
from reconciler.core.plan import Plan, PlanOptions, make_plan
from tests.core.test_plan import TARGET, load
from tests.core.test_plancheck import GUIDS, MADE, change, edited, with_after

# Entra's pre-hire mapping: the clock decides a stable value, which a reviewer approved.
PRE_HIRE = 'IIF(DateDiff("d", Now(), CDate([custom.start])) > 0, "False", "True")'
TICKS = 'FormatDateTime(Now(), , "M/d/yyyy h:mm:ss tt", "yyyyMMddHHmmssfffffff")'
HIRES = (
    TARGET
    + "    mappings:\n      user:\n"
    + f"        active: {{expression: '{PRE_HIRE}', apply: on_create}}\n"
    + f"        nickName: {{expression: '{TICKS}', apply: on_create}}\n"
    + """        externalId: {expression: 'Join("-", "hire", Guid())', apply: on_create}\n"""
    + "        title: 'ToLower([custom.badge])'\n"
    + "users:\n  - userName: hire@example.com\n"
    + f"    custom: {{start: '2030-02-01T00:00:00Z', badge: '{uuid.UUID(int=5)}'}}\n"
)


@pytest.fixture(scope="module")
def hires(tmp_path_factory: pytest.TempPathFactory) -> Spec:
    return load(tmp_path_factory.mktemp("hires"), HIRES)


def hire_plan(spec: Spec) -> Plan:
    """The plan at the saved plan's own time, with this run's GUIDs, as apply makes it."""
    options = PlanOptions(now=MADE, new_guid=lambda: str(uuid.UUID(int=next(GUIDS))))
    return make_plan(spec, spec.targets["t"], Observed((), ()), options)


def test_only_the_guids_guid_draws_differ_between_two_plans_of_one_time(hires: Spec) -> None:
    saved, fresh = hire_plan(hires), hire_plan(hires)
    assert change(saved, "hire@example.com") != change(fresh, "hire@example.com")
    assert plancheck.unreviewed(saved, fresh, hires.targets["t"], MADE) == []
    # Another GUID is a value Guid() could have drawn: nothing a reviewer could tell apart.
    other = f"hire-{uuid.UUID(int=2**128 - 1)}"
    new = change(saved, "hire@example.com")
    saved = edited(saved, new.key, attributes=with_after(new, "externalId", other))
    assert plancheck.unreviewed(saved, fresh, hires.targets["t"], MADE) == []


@pytest.mark.parametrize(
    ("path", "after"),
    [
        ("active", True),  # the pre-hire created active
        ("nickName", "20000101000000000000"),  # a time from Now() that is not the plan's
        ("externalId", "hire-admin"),  # text around or instead of the GUID
        ("externalId", f"boss-{uuid.UUID(int=7)}"),
        ("title", str(uuid.UUID(int=6))),  # a GUID that no Guid() drew
    ],
)
def test_a_value_a_mapping_computes_from_the_clock_or_a_guid_is_compared(
    hires: Spec, path: str, after: Json
) -> None:
    saved = hire_plan(hires)
    new = change(saved, "hire@example.com")
    assert {a.path: a.after for a in new.attributes}["active"] is False
    saved = edited(saved, new.key, attributes=with_after(new, path, after))
    assert plancheck.unreviewed(saved, hire_plan(hires), hires.targets["t"], MADE) == [
        "user hire@example.com: the plan's create differs from what the spec and the target "
        "call for now"
    ]
