"""`scimrec import --adopt`: the written target keeps the source target's safety settings."""

from __future__ import annotations

from pathlib import Path

import yaml

from reconciler.core.model import Observed
from reconciler.doctor.importer import import_documents
from tests.core.test_plan import load

SOURCE = """
targets:
  prod:
    url: https://scim.example.com/v2
    auth: {type: bearer, token_env: PROD_TOKEN}
    matching: {user: [userName, externalId]}
    deprovision: delete
    prune: owned
    guards: {max_deletes: 3, max_delete_percent: 12.5, max_member_removals: 4}
    protected: ["admin@*", break-glass@example.com]
    ownership: {external_id_prefix: sr-}
    members_policy: additive
    mappings:
      user: {title: {constant: Engineer}}
"""


def adopted(tmp_path: Path, text: str) -> tuple[dict[str, object], tuple[str, ...]]:
    spec = load(tmp_path, text)
    imported = import_documents(Observed((), ()), spec.targets["prod"], adopt=True)
    doc = yaml.safe_load(imported.files["targets.yaml"])
    return doc["targets"]["prod"], imported.notes


def test_adopt_keeps_guards_protection_ownership_and_membership_policy(tmp_path: Path) -> None:
    target, notes = adopted(tmp_path, SOURCE)
    assert target == {
        "url": "https://scim.example.com/v2",
        "auth": {"type": "bearer", "token_env": "PROD_TOKEN"},
        "matching": {"user": ["userName", "externalId"], "group": ["displayName"]},
        "deprovision": "delete",
        "guards": {"max_deletes": 3, "max_delete_percent": 12.5, "max_member_removals": 4},
        "protected": ["admin@*", "break-glass@example.com"],
        "ownership": {"external_id_prefix": "sr-"},
        "members_policy": "additive",
    }
    assert notes == (
        "targets.yaml leaves out the source target's prune: owned, mappings: review the "
        "imported tree, then set them again",
    )


def test_adopt_writes_no_safety_settings_the_source_does_not_have(tmp_path: Path) -> None:
    plain = "targets:\n  prod:\n    url: https://scim.example.com/v2\n"
    target, notes = adopted(tmp_path, plain)
    assert target == {
        "url": "https://scim.example.com/v2",
        "auth": {"type": "none"},
        "matching": {"user": ["userName"], "group": ["displayName"]},
        "deprovision": "disable",
    }
    assert notes == ()
