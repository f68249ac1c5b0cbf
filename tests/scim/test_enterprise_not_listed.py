"""A target whose /Schemas lists the core User schema but not the enterprise extension
(django-scim2-server, SCIMMY) refuses or drops enterprise attributes: the plan says so up
front, with the quirk that stops managing them there, instead of each user failing alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.core.model import ENTERPRISE_URN, USER_SCHEMA
from tests.fakescim import FakeScim
from tests.scim.conftest import TOKEN
from tests.scim.test_faults import replan, user, write_spec

NOTE = "the target's /Schemas does not list the enterprise extension"


# The fake target's token in the environment; retries are fast outside tests/e2e/ (conftest).
pytestmark = pytest.mark.usefixtures("token")


def notes(tmp_path: Path, listed: list[str] | None, **settings: Any) -> tuple[str, ...]:
    fake = FakeScim(token=TOKEN)
    fake.schemas = listed
    specs = write_spec(
        tmp_path, [user("a@example.com", enterprise={"department": "Sales"})], **settings
    )
    return replan(specs, fake).plan.notes


def test_the_plan_notes_an_enterprise_extension_the_target_does_not_list(tmp_path: Path) -> None:
    [note] = [n for n in notes(tmp_path, [USER_SCHEMA]) if NOTE in n]
    assert "quirks: {not_kept: [enterprise]}" in note


@pytest.mark.parametrize(
    ("listed", "settings"),
    [
        ([USER_SCHEMA, ENTERPRISE_URN], {}),  # listed
        (None, {}),  # no /Schemas: nothing to judge by
        (["urn:example:other"], {}),  # a /Schemas without the core User schema proves nothing
        ([USER_SCHEMA], {"quirks": {"not_kept": ["enterprise"]}}),  # not managed there
        ([USER_SCHEMA], {"quirks": {"not_kept": ["enterprise.department"]}}),
    ],
    ids=["listed", "no-schemas", "no-core-schema", "not-kept", "its-one-attribute-not-kept"],
)
def test_no_note_where_nothing_says_the_extension_is_missing(
    tmp_path: Path, listed: list[str] | None, settings: dict[str, Any]
) -> None:
    assert not [n for n in notes(tmp_path, listed, **settings) if NOTE in n]
