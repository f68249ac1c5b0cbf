"""A GET-merge-PUT never writes the mask of a secret back over what the target holds.

What a target sends is scrubbed as it arrives (client.py): a secret of this run echoed into
an attribute is read as `***`. Where PATCH is refused, an update is a PUT of the GET's body
with the changes merged in, so the mask would replace the target's value of an attribute
the spec does not even manage. Such a PUT is refused instead; a PATCH is unaffected.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakescim import FakeScim
from tests.scim.test_faults import plan_and_apply, user, write_spec


@pytest.mark.parametrize("patch", [True, False])
def test_an_update_never_writes_the_mask_back(token: str, tmp_path: Path, patch: bool) -> None:
    fake = FakeScim(token=token)
    fake.patch_unsupported = not patch
    uid = fake.add_user("alice@example.com", nickName=f"echo {token}", title="Engineer")
    specs = write_spec(tmp_path, [user("alice@example.com", title="Manager")])
    _, result = plan_and_apply(specs, fake)
    failures = [o.message for o in result.outcomes if not o.ok]
    if patch:
        assert failures == []
        assert fake.users[uid]["title"] == "Manager"
    else:
        assert failures == [
            f"GET /Users/{uid} holds a secret of this run, shown masked: a PUT would write "
            "the mask back over it; not written"
        ]
        assert fake.count("PUT") == 0
        assert fake.users[uid]["title"] == "Engineer"
    assert fake.users[uid]["nickName"] == f"echo {token}"


def test_a_put_never_sends_back_the_password_the_target_returned(
    token: str, tmp_path: Path
) -> None:
    # A target returning the password as stored would have it set to its own hash.
    fake = FakeScim(token=token)
    fake.patch_unsupported = True
    stored = "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"
    uid = fake.add_user("alice@example.com", password=stored, title="Engineer")
    specs = write_spec(tmp_path, [user("alice@example.com", title="Manager")])
    _, result = plan_and_apply(specs, fake)
    assert [o.message for o in result.outcomes if not o.ok] == []
    puts = [r.body for r in fake.requests if r.method == "PUT"]
    assert puts and all(isinstance(b, dict) and "password" not in b for b in puts)
    assert fake.users[uid]["title"] == "Manager"
