"""The observed state holds each repeated value once (reconciler/scim/sharing.py): safe only
because nothing writes into it. On each real server: a plan and an apply that change users
and memberships leave every value read exactly as it was read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler import logs
from reconciler.core.model import Observed
from reconciler.run import prepare
from reconciler.scim.apply.runner import Applier
from tests.conftest import Target, write_spec
from tests.e2e.test_lifecycle import assert_converged, person, run


def snapshot(observed: Observed) -> list[str]:
    """Every body as JSON text, in its own key order: it tells true from 1, and one key
    order from another."""
    return [json.dumps(r.body) for r in (*observed.users, *observed.groups)]


def test_apply_writes_nothing_into_what_was_read(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names = ("ann", "ben", "cy", "dee")
    users = [person(target, f"{n}@example.com", n.title(), "Shared") for n in names]
    groups = [
        {"displayName": "One", "members": ["ann@example.com", "ben@example.com"]},
        {"displayName": "Two", "members": ["ann@example.com", "ben@example.com", "cy@example.com"]},
    ]
    specs = write_spec(tmp_path / "specs", target, users, groups)
    code, out, err = run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")
    assert code == 0, out + err

    # Members removed and added in both groups, a user changed, one deleted, a group made.
    users[0]["name"]["givenName"] = "Annie"
    users[3]["state"] = "absent"
    groups[0]["members"] = ["ann@example.com", "cy@example.com"]
    groups[1]["members"] = ["ben@example.com", "cy@example.com"]
    groups.append({"displayName": "Three", "members": ["ann@example.com", "cy@example.com"]})
    write_spec(tmp_path / "specs", target, users, groups)

    logs.configure("critical")
    prepared = prepare(specs, "e2e")
    observed = prepared.observed
    found = {g.body["displayName"]: g.body["members"] for g in observed.groups}
    ids = {u.body["userName"]: u.id for u in observed.users}
    # ann's entry in One and in Two: one object, holding ann's own id string, wherever
    # the server lists her the same way in both.
    one = next(m for m in found["One"] if m["value"] == ids["ann@example.com"])
    two = next(m for m in found["Two"] if m["value"] == ids["ann@example.com"])
    assert one is two or one != two
    assert one["value"] is ids["ann@example.com"]
    before = snapshot(observed)
    try:
        result = Applier(prepared.client, prepared.target, prepared.caps, prepared.log).run(
            prepared.plan
        )
    finally:
        prepared.client.close()
    assert result.failed == ()
    assert len(result.outcomes) >= 5
    assert snapshot(observed) == before
    assert_converged(capsys, specs)
