"""Whatever a target returns, every command's path ends in a plan, a report or one object in
error, never a crash (issue 12 §8): generated hostile listings, through the same functions
plan, drift, import and apply run, against a fault-injecting fake target."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.doctor.importer import import_documents
from reconciler.report.drift import drift_report, drift_text
from reconciler.report.markdown import plan_markdown
from reconciler.report.render import plan_json, plan_text
from reconciler.run import prepare
from reconciler.scim.apply.runner import Applier
from tests.fakescim import ENTERPRISE_URN, FakeScim
from tests.scim.conftest import TOKEN
from tests.scim.test_faults import user, write_spec

pytestmark = pytest.mark.usefixtures("token")

# Now and then a lone surrogate: legal JSON ("\\ud800") that no UTF-8 holds.
TEXT = st.text(max_size=6) | st.sampled_from(["\ud800", "a\udfff"])
LEAF = st.none() | st.booleans() | st.integers() | TEXT
JSON = st.recursive(
    LEAF,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=10,
)
# The enterprise extension, whose manager import looks up by its value.
EXTENSION = st.fixed_dictionaries(
    {}, optional={"manager": JSON | st.fixed_dictionaries({"value": JSON}), "department": LEAF}
)
USER_KEYS = st.sampled_from(["userName", "emails", "name", "active", "title", "phoneNumbers", "x"])
GROUP_KEYS = st.sampled_from(["displayName", "members", "externalId"])


def hostile_fake(users: list[dict[str, Any]], groups: list[dict[str, Any]]) -> FakeScim:
    fake = FakeScim(token=TOKEN)
    fake.add_user("alice@example.com", active=True)
    fake.add_user("bob@example.com", active=True)
    for index, body in enumerate(users):
        fake.users[f"h{index}"] = {"id": f"h{index}", "userName": f"h{index}@x.io", **body}
    for index, body in enumerate(groups):
        fake.groups[f"hg{index}"] = {"id": f"hg{index}", "displayName": f"HG{index}", **body}
    return fake


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    users=st.lists(
        st.dictionaries(USER_KEYS, JSON, max_size=4)
        | st.fixed_dictionaries({ENTERPRISE_URN: EXTENSION}),
        max_size=3,
    ),
    groups=st.lists(st.dictionaries(GROUP_KEYS, JSON, max_size=3), max_size=2),
    prune=st.sampled_from(["none", "all"]),
)
def test_no_listing_crashes_plan_drift_import_or_apply(
    tmp_path_factory: pytest.TempPathFactory,
    users: list[dict[str, Any]],
    groups: list[dict[str, Any]],
    prune: str,
) -> None:
    specs = write_spec(
        tmp_path_factory.mktemp("s"),
        [user("alice@example.com", title="T"), user("carol@example.com")],
        [{"displayName": "HG0", "members": ["alice@example.com"]}],
        prune=prune,
        guards={"max_deletes": 100, "max_member_removals": 100, "max_member_removal_percent": 100},
    )
    fake = hostile_fake(users, groups)
    prepared = prepare(specs, "fake", transport=fake.transport)
    try:
        data = prepared.plan.to_json()
        plan_text(data)
        plan_json(data)
        plan_markdown(data)
        report = drift_report(prepared.plan, prepared.observed)
        drift_text(report)
        import_documents(prepared.observed, prepared.target, adopt=True)
        result = Applier(prepared.client, prepared.target, prepared.caps, prepared.log).run(
            prepared.plan
        )
    finally:
        prepared.client.close()
    # Nothing is ever written to an object the plan could not read.
    unreadable = {e.key for e in prepared.plan.errors} | {
        r.id for r in (*prepared.observed.users, *prepared.observed.groups) if r.problem
    }
    written = {
        s.path.rsplit("/", 1)[-1] for s in fake.requests if s.method in ("PATCH", "PUT", "DELETE")
    }
    assert not (written & {f"h{i}" for i in range(len(users))} & unreadable)
    assert result.outcomes is not None
