"""The `quirks:` block: forced behaviours, and `not_kept`, the attributes a target drops."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.core.config import Spec
from reconciler.core.model import Kind
from reconciler.core.targetview import target_view
from reconciler.spec.load import load_spec
from tests.spec.test_load import TARGET, spec_issues, write_tree

USERS = (
    "users:\n"
    "  - userName: alice@example.com\n"
    "    title: Eng\n"
    "    nickName: al\n"
    "    name: {givenName: Alice, middleName: Q}\n"
    "    enterprise: {department: R&D, costCenter: '7'}\n"
)


def loaded(tmp_path: Path, quirks: str) -> Spec:
    write_tree(tmp_path, {"spec.yaml": f"{TARGET}    quirks: {quirks}\n{USERS}"})
    return load_spec(tmp_path)


def test_not_kept_is_read(tmp_path: Path) -> None:
    spec = loaded(tmp_path, "{not_kept: [title, name.middleName, enterprise], patch: never}")
    target = spec.targets["t"]
    assert target.not_kept == ("title", "name.middleName", "enterprise")
    assert dict(target.quirks) == {"patch": "never"}


def test_not_kept_attributes_leave_the_target_view(tmp_path: Path) -> None:
    spec = loaded(tmp_path, "{not_kept: [title, name.middleName, enterprise]}")
    (alice,) = target_view(spec, spec.targets["t"]).users
    assert sorted(alice.attrs) == ["name.givenName", "nickName", "userName"]
    assert alice.kind is Kind.USER


@pytest.mark.parametrize(
    ("quirks", "message"),
    [
        (
            "{not_kept: title}",
            "spec.yaml:4:14: targets.t.quirks.not_kept: expected a list of user attribute "
            "paths, such as [title, ims]",
        ),
        (
            "{not_kept: [userName]}",
            "spec.yaml:4:25: targets.t.quirks.not_kept[0]: 'userName' is not a user attribute a "
            "target can leave out (for example title, nickName, ims, name.middleName, "
            "enterprise.department)",
        ),
        (
            "{not_kept: [tittle]}",
            "spec.yaml:4:25: targets.t.quirks.not_kept[0]: 'tittle' is not a user attribute a "
            "target can leave out (for example title, nickName, ims, name.middleName, "
            "enterprise.department)",
        ),
        ("{member_ref: sometimes}", None),
        ("{listing: all}", None),
    ],
)
def test_bad_quirks_are_spec_errors(tmp_path: Path, quirks: str, message: str | None) -> None:
    issues = spec_issues(tmp_path, {"spec.yaml": f"{TARGET}    quirks: {quirks}\n{USERS}"})
    assert len(issues) == 1
    if message is not None:
        assert issues == [message]
