"""A target that stores caseExact=false values its own way (an address lower-cased, a type
capitalised) holds what was sent: apply does not report it, and the plan converges."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.fakescim import FakeScim
from tests.scim.test_faults import plan_and_apply, replan, user, write_spec


class Folding(FakeScim):
    """Stores emails lower-cased with a capitalised type, as many targets do."""

    def _stamp(self, kind: str, rid: str, body: dict[str, Any]) -> dict[str, Any]:
        if isinstance(body.get("emails"), list):
            body = {
                **body,
                "emails": [
                    {**e, "value": str(e["value"]).lower(), "type": str(e["type"]).title()}
                    for e in body["emails"]
                ],
            }
        return super()._stamp(kind, rid, body)


@pytest.mark.usefixtures("token")
def test_emails_stored_in_another_case_converge(tmp_path: Path) -> None:
    fake = Folding()
    emails = [{"value": "Ana.Wong@Example.com", "type": "work", "primary": True}]
    specs = write_spec(tmp_path, [user("ana@example.com", emails=emails)])
    _, result = plan_and_apply(specs, fake)
    assert result.failed == ()
    assert result.not_kept == ()
    (stored,) = fake.user_named("ana@example.com")
    assert stored["emails"][0]["value"] == "ana.wong@example.com"
    assert not replan(specs, fake).plan.has_changes
