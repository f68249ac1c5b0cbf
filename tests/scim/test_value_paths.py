"""Multi-valued attributes: per-element PATCH paths where they fit and the target takes them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reconciler import logs
from reconciler.core.diff import AttrChange
from reconciler.scim.writes import patch_operations, value_path_operations
from tests.fakescim import FakeScim
from tests.scim.conftest import TOKEN, TOKEN_ENV
from tests.scim.test_faults import plan_and_apply, replan, user
from tests.scim.test_faults import write_spec as write_fake_spec

WORK = {"value": "a@old.example", "type": "work", "primary": True}
HOME = {"value": "a@home.example", "type": "home"}


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        pytest.param(
            [WORK, HOME],
            [dict(WORK, value="a@new.example"), HOME],
            [{"op": "replace", "path": 'emails[type eq "work"].value', "value": "a@new.example"}],
            id="one-value-changed",
        ),
        pytest.param([WORK], [WORK, HOME], None, id="element-added"),
        pytest.param([WORK, HOME], [WORK], None, id="element-removed"),
        pytest.param([WORK], [dict(WORK, primary=False)], None, id="primary-changed"),
        pytest.param([WORK], [dict(WORK, type="other")], None, id="retyped"),
        pytest.param([{"value": "x"}], [{"value": "y"}], None, id="untyped"),
        pytest.param([WORK, dict(HOME, type="work")], [WORK, HOME], None, id="duplicate-type"),
        pytest.param(None, [WORK], None, id="nothing-before"),
    ],
)
def test_value_path_operations(before: Any, after: Any, expected: Any) -> None:
    assert value_path_operations(AttrChange("emails", before, after)) == expected


def test_whole_attribute_when_value_paths_are_off() -> None:
    change = AttrChange("emails", [WORK], [dict(WORK, value="a@new.example")])
    assert patch_operations([change], {}) == [
        {"op": "replace", "path": "emails", "value": [dict(WORK, value="a@new.example")]}
    ]


def test_refused_value_path_falls_back_to_whole_replace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    logs.configure("critical")
    fake = FakeScim()
    fake.add_user("a@example.com", emails=[WORK])
    fake.fail(
        "PATCH",
        "/Users/*",
        status=400,
        times=5,
        body={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": "400",
            "scimType": "invalidPath",
            "detail": "no filters",
        },
        when=lambda seen: "[" in json.dumps(seen.body),
    )
    new = [dict(WORK, value="a@new.example")]
    specs = write_fake_spec(tmp_path, [user("a@example.com", emails=new)])
    _, result = plan_and_apply(specs, fake)
    assert not result.failed
    patches = [s.body["Operations"] for s in fake.requests if s.method == "PATCH"]
    assert patches == [
        [{"op": "replace", "path": 'emails[type eq "work"].value', "value": "a@new.example"}],
        [{"op": "replace", "path": "emails", "value": new}],
    ]
    assert not replan(specs, fake).plan.has_changes
