"""The drift audit's verdict: unmanaged objects are reported, and drift only when they must be."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.core.config import Spec
from reconciler.core.model import Observed, Resource
from reconciler.core.plan import make_plan
from reconciler.report.drift import drift_report, drift_text, has_drift
from reconciler.report.markdown import drift_markdown
from reconciler.spec.load import load_spec

DECLARED = "users:\n  - userName: alice@example.com\n    externalId: sr-alice\n"


def spec(root: Path, settings: str = "") -> Spec:
    target = f"targets:\n  t:\n    url: http://127.0.0.1:9/scim/v2\n{settings}"
    (root / "spec.yaml").write_text(target + DECLARED, encoding="utf-8")
    return load_spec(root)


def user(rid: str, name: str, **attrs: object) -> Resource:
    return Resource(rid, {"id": rid, "userName": name, "active": True, **attrs})


ALICE = user("u1", "alice@example.com", externalId="sr-alice")
INTRUDER = user("u2", "intruder@example.com", externalId="hr-9")
OWNED = user("u3", "gone@example.com", externalId="sr-gone")


def report(loaded: Spec, *users: Resource, fail_on_unmanaged: bool = False) -> dict[str, Any]:
    observed = Observed(users, ())
    plan = make_plan(loaded, loaded.targets["t"], observed)
    return drift_report(plan, observed, fail_on_unmanaged=fail_on_unmanaged)


def test_unmanaged_under_prune_none_is_reported_not_drift(tmp_path: Path) -> None:
    data = report(spec(tmp_path), ALICE, INTRUDER)
    assert data["summary"] == {
        "checked": 2,
        "in_sync": 1,
        "changed": 0,
        "missing": 0,
        "unmanaged": 1,
        "error": 0,
    }
    assert data["unmanaged"] == [{"kind": "user", "id": "u2", "name": "intruder@example.com"}]
    assert data["drifted"] is False
    assert not has_drift(data)
    note = (
        "1 unmanaged object(s) on the target are reported, not counted as drift: apply leaves "
        "them alone (--fail-on-unmanaged counts them)"
    )
    assert data["notes"] == [note]
    assert "  ? user intruder@example.com (id u2): on the target, not declared\n" in drift_text(
        data
    )
    assert f"Note: {note}\n" in drift_text(data)
    assert "> [!NOTE]\n> - 1 unmanaged object(s)" in drift_markdown(data)


def test_fail_on_unmanaged_makes_it_drift(tmp_path: Path) -> None:
    data = report(spec(tmp_path), ALICE, INTRUDER, fail_on_unmanaged=True)
    assert has_drift(data)
    assert data["notes"] == []


def test_in_sync_is_not_drift(tmp_path: Path) -> None:
    data = report(spec(tmp_path), ALICE)
    assert not has_drift(data)
    assert data["notes"] == []


@pytest.mark.parametrize(
    ("settings", "drifted", "disabled"),
    [
        # prune: all deprovisions every undeclared object: both are drift.
        ("    prune: all\n", True, ["gone@example.com", "intruder@example.com"]),
        # prune: owned deprovisions only what scimrec owns; the HR account is left alone.
        (
            "    prune: owned\n    ownership: {external_id_prefix: sr-}\n",
            True,
            ["gone@example.com"],
        ),
        ("", False, []),
    ],
)
def test_under_prune_what_apply_would_deprovision_is_drift(
    tmp_path: Path, settings: str, drifted: bool, disabled: list[str]
) -> None:
    data = report(spec(tmp_path, settings), ALICE, INTRUDER, OWNED)
    assert has_drift(data) is drifted
    assert [c["key"] for c in data["changed"]] == disabled
    assert {c["action"] for c in data["changed"]} <= {"disable"}
    assert len(data["unmanaged"]) == 2


def test_already_deprovisioned_under_prune_all_is_not_drift(tmp_path: Path) -> None:
    # Disabled by an earlier apply and still on the target: nothing left to do, so a daily
    # audit must not fail on it forever.
    gone = user("u3", "gone@example.com", active=False)
    data = report(spec(tmp_path, "    prune: all\n"), ALICE, gone)
    assert data["changed"] == []
    assert not has_drift(data)


def test_an_unmanaged_name_with_hidden_characters_is_shown_escaped(tmp_path: Path) -> None:
    # A zero-width space and a line break: as written, it would pass for another account
    # (or start a new line of the report).
    twin = user("u4", "alice@example.com\u200b\nadmin")
    text = drift_text(report(spec(tmp_path), ALICE, twin))
    assert '? user "alice@example.com\\u200b\\nadmin" (id u4)' in text
