"""A planned create answered by adopting an existing account never takes a role away.

The plan showed a create; the account the target turned out to hold has roles the spec
does not give it. Writing the declared roles over them would take access away that no plan
showed and no guard counted (adoption never disables, for the same reason).
"""

from __future__ import annotations

from pathlib import Path

from tests.fakescim import FakeScim
from tests.scim.test_faults import outcomes, plan_and_apply, write_spec


def test_adopting_never_takes_a_role_away(token: str, tmp_path: Path) -> None:
    fake = FakeScim()
    admin = [{"value": "admin", "display": "admin", "primary": True}]
    ana = fake.add_user("ana@example.com", active=True, roles=admin)
    fake.hidden.add(ana)  # the listing leaves her out; the create's 409 finds her
    specs = write_spec(
        tmp_path,
        [{"userName": "ana@example.com"}],
        [{"displayName": "Staff", "members": ["ana@example.com"]}],
        roles={"member": ["Staff"]},
    )
    prepared, result = plan_and_apply(specs, fake)
    assert [c.action.value for c in prepared.plan.changes if c.kind.value == "user"] == ["create"]
    held = {r["value"] for r in fake.users[ana].get("roles", [])}
    assert "admin" in held, (fake.users[ana].get("roles"), outcomes(result))
