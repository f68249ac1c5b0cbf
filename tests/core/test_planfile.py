"""The plan file (core/planfile.py, plan_json.py, plancheck.py): its digest, and a fuzz of its
structure. Whatever a file holds, reading it gives a SavedPlan or a UsageError naming the
problem; and what reads as a SavedPlan goes through every check apply makes, and the
rendering apply prints, without a crash."""

from __future__ import annotations

import copy
import hashlib
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
from reconciler.core.model import Json, Observed, Resource
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


def test_a_plan_file_is_text_to_review(valid: dict[str, Any]) -> None:
    # A plan file is reviewed before it is applied: one field a line, indented, and
    # names as they are written, not as \u escapes.
    named = copy.deepcopy(valid)
    named["plan"]["changes"][0]["key"] = "jürgen@example.com"
    text = planfile.dumps(named)
    top = {line.split('"')[1] for line in text.splitlines() if line.startswith('  "')}
    assert top == set(named)
    assert '"key": "jürgen@example.com"' in text
    assert text.endswith("}\n")


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


# -- a damaged `seen` record is named, never trusted --------------------------------------

DROP = object()
SEEN_DAMAGE: list[tuple[int, str | None, Any, str]] = [
    # (entry, field (None: the whole entry), new value or DROP, what the refusal says)
    (0, None, [], "seen[0]: expected an object, got a list"),
    (0, "key", DROP, "seen[0]: missing 'key'"),
    (0, "key", 7, "seen[0].key: expected a string, got a number"),
    (0, "id", 7, "seen[0].id: expected a string, got a number"),
    (0, "fingerprint", None, "seen[0].fingerprint: expected a string, got null"),
    (0, "fingerprint", DROP, "seen[0]: missing 'fingerprint'"),
    (0, "note", "x", "seen[0]: unknown field 'note'"),
    (1, "id", "u-c", "seen[1]: unknown field 'id'"),  # an absent object has no id
    (1, "note", "x", "seen[1]: unknown field 'note'"),
]


@pytest.mark.parametrize(("index", "field", "value", "says"), SEEN_DAMAGE)
def test_a_damaged_seen_entry_is_refused_by_its_path(
    valid: dict[str, Any], index: int, field: str | None, value: Any, says: str
) -> None:
    data = copy.deepcopy(valid)
    assert ("absent" in data["seen"][index]) is (index == 1)
    if field is None:
        data["seen"][index] = value
    elif value is DROP:
        del data["seen"][index][field]
    else:
        data["seen"][index][field] = value
    with pytest.raises(UsageError) as refused:
        planfile.parse(redigest(data), "p.json")
    assert str(refused.value) == f"p.json is a damaged scimrec plan file: {says}"


@pytest.mark.parametrize("field", ["\n", "a\x1b[2Jb"])
def test_an_unknown_field_is_named_on_one_line(valid: dict[str, Any], field: str) -> None:
    # The name comes from the file: escaped, so an edited plan cannot write lines or
    # terminal controls into the refusal.
    top, change = copy.deepcopy(valid), copy.deepcopy(valid)
    top[field] = 1
    change["plan"]["changes"][0][field] = 1
    for doc, where in ((top, "file"), (change, "plan.changes[0]")):
        with pytest.raises(UsageError) as refused:
            planfile.parse(redigest(doc), "p.json")
        says = str(refused.value)
        assert says.startswith(f"p.json is a damaged scimrec plan file: {where}: unknown field ")
        assert "\n" not in says and "\x1b" not in says


@pytest.mark.parametrize(
    ("version", "shown"),
    [
        ("x" * 38, repr("x" * 38)),  # 40 characters: shown whole
        ("x" * 39, repr("x" * 39)[:37] + "..."),  # one more: cut to 37 and an ellipsis
    ],
)
def test_a_value_from_the_file_is_shown_at_most_forty_characters_long(
    version: str, shown: str
) -> None:
    with pytest.raises(UsageError) as refused:
        planfile.parse(json.dumps({"scimrec_plan": version}), "p")
    assert str(refused.value) == (
        f"p is a scimrec plan file of format {shown}, not 2 (made by another version of "
        "scimrec): make a new plan"
    )


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("30m", 1800),
        ("12h", 43_200),
        ("2d", 172_800),
        ("0s", 0),
        ("100d", 8_640_000),
        ("999999999d", 999_999_999 * 86_400),  # nine digits: the most a timedelta holds
    ],
)
def test_a_duration_is_read_in_its_unit(text: str, seconds: int) -> None:
    assert planfile.parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    "text", ["30", "m", "30x", "30M", "-5m", "1.5h", "", "2 d", "h12", "1000000000s"]
)
def test_anything_else_is_not_a_duration(text: str) -> None:
    with pytest.raises(UsageError) as refused:
        planfile.parse_duration(text)
    assert str(refused.value) == (
        f"expected a duration such as 30m, 12h or 2d (at most 9 digits), got '{text}'"
    )


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (59, "59s"),
        (60, "1m00s"),
        (61, "1m01s"),
        (3599, "59m59s"),
        (3600, "1h00m"),
        (3659, "1h00m"),
        (3660, "1h01m"),
        (90_000, "25h00m"),
    ],
)
def test_an_age_is_shown_in_its_largest_units(seconds: int, shown: str) -> None:
    assert planfile.duration(timedelta(seconds=seconds)) == shown


# -- what the file must hold, named when it does not ---------------------------------------


def set_at(doc: dict[str, Any], path: str, value: Any) -> None:
    """Set (or with DROP, delete) `a.b.0.c` in a plan file's content."""
    *parents, last = path.split(".")
    node: Any = doc
    for step in parents:
        node = node[int(step)] if isinstance(node, list) else node[step]
    if value is DROP:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


DAMAGE: list[tuple[str, Any, str]] = [
    ("target", [], "target: expected an object, got a list"),
    ("target.url", DROP, "target: missing 'url'"),
    ("target.url", "http://127.0.0.1:9/other", "target: the name and url differ from the plan's"),
    ("target.name", "u", "target: the name and url differ from the plan's"),
    ("created_at", 5, "created_at: expected a date and time, got 5"),
    ("created_at", "yesterday", "created_at: expected a date and time, got 'yesterday'"),
    (
        "created_at",
        "2030-01-01T00:00:00",
        "created_at: expected a time zone (as scimrec writes it)",
    ),
    # Not a time in UTC (before year 1 there), or before any plan was made.
    (
        "created_at",
        "0001-01-01T00:00:00+14:00",
        "created_at: out of range (a UTC time from 2000 on), got '0001-01-01T00:00:00+14:00'",
    ),
    (
        "created_at",
        "1999-12-31T23:59:59+00:00",
        "created_at: out of range (a UTC time from 2000 on), got '1999-12-31T23:59:59+00:00'",
    ),
    ("seen", {}, "seen: expected a list"),
    ("spec_digest", None, "spec_digest: expected a string, got null"),
    ("plan.changes.0.target_id", None, "plan.changes[0]: a update needs the object's target_id"),
    ("plan.changes.3.target_id", "u-a", "plan.changes[3]: a second change for id u-a"),
]


@pytest.mark.parametrize(("path", "value", "says"), DAMAGE)
def test_a_damaged_plan_file_is_refused_with_what_is_wrong(
    valid: dict[str, Any], path: str, value: Any, says: str
) -> None:
    data = copy.deepcopy(valid)
    assert [c["action"] for c in data["plan"]["changes"]] == [
        "update",
        "create",
        "update",
        "delete",
    ]
    set_at(data, path, value)
    if path == "plan.changes.3.target_id":
        data["seen"][3]["id"] = value  # consistent, so only the second change is wrong
    with pytest.raises(UsageError) as refused:
        planfile.parse(redigest(data), "p.json")
    assert str(refused.value) == f"p.json is a damaged scimrec plan file: {says}"


def test_each_digest_refusal_says_what_to_do(valid: dict[str, Any]) -> None:
    key = b"k" * 16

    def refusal(text: str, with_key: bytes | None) -> str:
        with pytest.raises(UsageError) as refused:
            planfile.parse(text, "p.json", with_key)
        return str(refused.value)

    unknown = copy.deepcopy(valid) | {"digest": {"algorithm": "md5", "value": "0"}}
    assert refusal(json.dumps(unknown), None) == (
        "p.json carries a digest scimrec does not know: 'md5'"
    )
    assert refusal(redigest(valid), key) == (
        "refusing p.json: SCIMREC_PLAN_KEY is set but the file carries no HMAC, so it may "
        "have been replaced; make the plan with the same key"
    )
    assert refusal(redigest(valid, key), None) == (
        "refusing p.json: the file carries an HMAC; set SCIMREC_PLAN_KEY to the key it was "
        "made with, so it can be checked"
    )
    edited = json.loads(redigest(valid, key)) | {"spec_digest": "x"}
    assert refusal(json.dumps(edited), key) == (
        "refusing p.json: its HMAC does not match (another key, or the file was edited or "
        "damaged since the plan was made)"
    )
    edited = json.loads(redigest(valid)) | {"spec_digest": "x"}
    assert refusal(json.dumps(edited), None) == (
        "refusing p.json: its digest does not match (the file was edited or damaged since "
        "the plan was made)"
    )


def test_the_digest_is_of_the_content_not_the_layout(valid: dict[str, Any]) -> None:
    # Keys in another order, other whitespace, escaped non-ASCII: the same content.
    data = copy.deepcopy(valid)
    data["plan"]["changes"][0]["reason"] = "für José"
    text = redigest(data)
    again = json.loads(text)
    shuffled = {k: again[k] for k in reversed(list(again))}
    for layout in (json.dumps(shuffled, indent=4, ensure_ascii=True), json.dumps(shuffled)):
        assert planfile.parse(layout, "p").plan.changes[0].reason == "für José"


def test_the_digest_of_a_plan_file_format_never_changes() -> None:
    # A plan made by one release of this file format is checked by the next: the bytes a
    # digest covers are fixed (sorted keys, no spaces, UTF-8, no NaN).
    content = {"b": [1, "é"], "a": {"d": None, "c": True}}
    assert planfile.canonical(content) == '{"a":{"c":true,"d":null},"b":[1,"é"]}'.encode()
    assert planfile.digest_of(content, None) == {
        "algorithm": "sha256",
        "value": hashlib.sha256(planfile.canonical(content)).hexdigest(),
    }
    with pytest.raises(ValueError, match="not JSON compliant"):
        planfile.canonical({"a": float("nan")})


def test_a_fingerprint_changes_with_the_body_and_only_with_it() -> None:
    body: dict[str, Json] = {
        "id": "g-1",
        "displayName": "G",
        "members": [{"value": "u-1", "type": "User"}, {"type": "User", "value": "u-2"}],
    }
    same = {
        "members": [{"value": "u-2", "type": "User"}, {"type": "User", "value": "u-1"}],
        "displayName": "G",
        "id": "g-1",
    }
    first = planfile.fingerprint(Resource("g-1", body))
    assert first.startswith("sha256:") and len(first) == len("sha256:") + 64
    # Member order and key order carry no meaning (RFC 7643 §2.4).
    assert planfile.fingerprint(Resource("g-1", same)) == first
    edits: list[dict[str, Json]] = [
        {"displayName": "H"},
        {"members": [{"value": "u-1", "type": "User"}]},
        {"members": []},
    ]
    for edit in edits:
        assert planfile.fingerprint(Resource("g-1", body | edit)) != first, edit
    # With a version, the version alone.
    assert planfile.fingerprint(Resource("g-1", body, 'W/"3"')) == 'version:W/"3"'
