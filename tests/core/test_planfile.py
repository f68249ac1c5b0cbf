"""The plan file (core/planfile.py, plan_json.py, plancheck.py): its digest, and a fuzz of its
structure. Whatever a file holds, reading it gives a SavedPlan or a UsageError naming the
problem; and what reads as a SavedPlan goes through every check apply makes, and the
rendering apply prints, without a crash."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.core import plancheck, planfile
from reconciler.core.config import Spec
from reconciler.core.guards import Allowances, refusals
from reconciler.core.model import Observed
from reconciler.core.plan import make_plan
from reconciler.errors import UsageError
from reconciler.report.render import plan_text
from tests.core.test_plan import TARGET, group_res, load, user_res

SPEC = (
    TARGET
    + "    deprovision: delete\n    protected: ['keep@*']\n"
    + "users:\n"
    + "  - userName: a@example.com\n    title: New\n    active: true\n"
    + "  - userName: b@example.com\n    state: absent\n"
    + "  - userName: c@example.com\n    name: {givenName: C}\n"
    + "groups:\n  - displayName: G\n    members: [a@example.com, c@example.com]\n"
)
OBSERVED = Observed(
    (
        user_res("u-a", "a@example.com", version='W/"1"', title="Old", active=True),
        user_res("u-b", "b@example.com", active=True),
        user_res("u-k", "keep@example.com", active=True),
    ),
    (group_res("g-1", "G", ["u-a", "u-b"]),),
)
NOW = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> Spec:
    return load(tmp_path_factory.mktemp("spec"), SPEC)


@pytest.fixture(scope="module")
def valid(spec: Spec) -> dict[str, Any]:
    target = spec.targets["t"]
    plan = make_plan(spec, target, OBSERVED)
    assert {c.action.value for c in plan.changes} == {"create", "update", "delete"}
    return planfile.to_json(plan, target, OBSERVED, spec.digest, NOW)


def redigest(data: dict[str, Any], key: bytes | None = None) -> str:
    content = {k: v for k, v in data.items() if k != "digest"}
    return json.dumps(content | {"digest": planfile.digest_of(content, key)})


def test_a_written_plan_reads_back_as_it_was(spec: Spec, valid: dict[str, Any]) -> None:
    saved = planfile.parse(planfile.dumps(valid), "p.json")
    target = spec.targets["t"]
    assert saved.plan.to_json() == make_plan(spec, target, OBSERVED).to_json()
    assert (saved.created_at, saved.spec_digest, saved.signed) == (NOW, spec.digest, False)
    assert plancheck.setting_differences(saved, target) == []
    assert plancheck.stale_reasons(saved, OBSERVED, target) == []
    fresh = make_plan(spec, target, OBSERVED)
    assert plancheck.unreviewed(saved.plan, fresh, target) == []


def test_the_digest_covers_every_byte_of_content(spec: Spec) -> None:
    key = b"k" * 16
    target = spec.targets["t"]
    plan = make_plan(spec, target, OBSERVED)
    signed = planfile.to_json(plan, target, OBSERVED, spec.digest, NOW, key)
    assert signed["digest"] == planfile.digest_of(
        {k: v for k, v in signed.items() if k != "digest"}, key
    )
    assert planfile.parse(json.dumps(signed), "p", key).signed
    for field in ("created_at", "spec_digest"):
        edited = copy.deepcopy(signed)
        edited[field] = f"{edited[field]} "
        with pytest.raises(UsageError, match="its HMAC does not match"):
            planfile.parse(json.dumps(edited), "p", key)
    with pytest.raises(UsageError, match="its HMAC does not match"):
        planfile.parse(json.dumps(signed), "p", b"another key")


def test_a_plan_naming_an_id_that_is_not_unicode_keeps_its_digest(valid: dict[str, Any]) -> None:
    # An unreadable stray is named by its id, which a target can send as "z\\ud800" (no
    # UTF-8 holds it). The file holds it as that JSON escape (cli/output.py writes what
    # UTF-8 cannot as one), and it reads back with the digest it was written with.
    content = {k: v for k, v in copy.deepcopy(valid).items() if k != "digest"}
    error = {"kind": "user", "key": "z\ud800", "step": "import", "message": "unreadable"}
    content["plan"]["errors"] = [error]
    data = content | {"digest": planfile.digest_of(content, None)}
    text = planfile.dumps(data).encode("utf-8", "backslashreplace").decode("utf-8")
    assert '"key": "z\\ud800"' in text
    assert [e.key for e in planfile.parse(text, "p.json").plan.errors] == ["z\ud800"]


def test_age_and_the_future(valid: dict[str, Any]) -> None:
    saved = planfile.parse(planfile.dumps(valid), "p")
    day = timedelta(days=1)
    assert plancheck.too_old(saved, NOW + timedelta(hours=1), day) is None
    assert plancheck.too_old(saved, NOW + 2 * day, day) == (
        "the plan is 48h00m old, older than the maximum 24h00m"
    )
    assert plancheck.from_the_future(saved, NOW - timedelta(minutes=4)) is None  # clock skew
    future = plancheck.from_the_future(saved, NOW - timedelta(hours=1))
    assert future is not None
    assert future.startswith(
        "the plan says it was made at 2030-01-01T00:00:00+00:00, in the future"
    )


EDITS: list[tuple[str, Any]] = [
    ("after", "Boss"),
    ("target_id", "u-k"),
    ("version", None),
    ("version", 'W/"2"'),
]


@pytest.mark.parametrize(("field", "value"), EDITS)
def test_an_edited_change_is_unreviewed_however_small(
    spec: Spec, valid: dict[str, Any], field: str, value: Any
) -> None:
    target = spec.targets["t"]
    fresh = make_plan(spec, target, OBSERVED)
    data = copy.deepcopy(valid)
    update = next(c for c in data["plan"]["changes"] if c["action"] == "update")
    if field == "after":
        update["attributes"][0]["after"] = value
    else:
        update[field] = value
    for seen in data["seen"]:
        if seen["key"] == update["key"]:
            seen["id"] = update["target_id"]
    saved = planfile.parse(redigest(data), "p")
    assert plancheck.unreviewed(saved.plan, fresh, target) == [
        "user a@example.com: the plan's update differs from what the spec and the target "
        "call for now"
    ]


def test_true_is_not_one() -> None:
    from reconciler.core.changes import Action, Change
    from reconciler.core.diff import AttrChange
    from reconciler.core.model import Kind
    from reconciler.core.plan import Plan

    def plan(after: Any) -> Plan:
        change = Change(
            Kind.USER, "a", Action.UPDATE, "", "u-a", attributes=(AttrChange("x", 0, after),)
        )
        return Plan("t", "u", (change,))

    from reconciler.core.config import Target

    assert plancheck.unreviewed(plan(1), plan(True), Target("t", "u")) != []
    assert plancheck.unreviewed(plan(True), plan(True), Target("t", "u")) == []


# -- the fuzz --------------------------------------------------------------------------------

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


def paths(node: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield at
    if isinstance(node, dict):
        for key, value in node.items():
            yield from paths(value, (*at, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from paths(value, (*at, index))


def mutate(doc: Any, path: tuple[Any, ...], how: str, value: Any) -> Any:
    if not path:
        return value
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if how == "delete":
        del parent[last]
    elif how == "insert" and isinstance(parent, list):
        parent.insert(last, value)
    elif how == "insert" and isinstance(parent, dict):
        parent[f"{last}_"] = value
    else:
        parent[last] = value
    return doc


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_whatever_a_plan_file_holds_reading_and_checking_it_never_crashes(
    data: st.DataObject, spec: Spec, valid: dict[str, Any]
) -> None:
    doc: Any = copy.deepcopy(valid)
    for _ in range(data.draw(st.integers(1, 3), label="edits")):
        where = data.draw(st.sampled_from(list(paths(doc))), label="path")
        how = data.draw(st.sampled_from(["replace", "delete", "insert"]), label="how")
        doc = mutate(doc, where, how, data.draw(JSON, label="value"))
    text = redigest(doc) if isinstance(doc, dict) else json.dumps(doc)
    try:
        saved = planfile.parse(text, "p.json")
    except UsageError as exc:
        assert str(exc).startswith(("p.json ", "refusing p.json"))
        assert "\n" not in str(exc)
        return
    target = spec.targets["t"]
    plancheck.too_old(saved, NOW, timedelta(days=1))
    plancheck.from_the_future(saved, NOW)
    plancheck.setting_differences(saved, target)
    plancheck.stale_reasons(saved, OBSERVED, target)
    plancheck.unreviewed(saved.plan, make_plan(spec, target, OBSERVED), target)
    plancheck.protection_problems(saved.plan.changes, target, OBSERVED)
    refusals(saved.plan.changes, target, OBSERVED, Allowances())
    plan_text(saved.plan.to_json(), False)


def test_the_fuzz_reaches_past_the_digest(valid: dict[str, Any]) -> None:
    # If every mutation failed at the digest, the fuzz above would test nothing behind it.
    doc = copy.deepcopy(valid)
    doc["plan"]["changes"][0]["reason"] = "edited"
    assert planfile.parse(redigest(doc), "p").plan.changes[0].reason == "edited"
