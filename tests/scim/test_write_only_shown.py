"""Write-only attributes are never shown: not the password a target returns (RFC 7643 §4.1.1
makes it returned: never, yet some targets send it, or its hash), in any output.

`plan --explain` prints the requests apply would send, a GET-merge-PUT built from the
resource as read among them: every body it prints passes through masking.mask_body.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.cli import main
from reconciler.core.model import PATCH_OP, USER_SCHEMA
from reconciler.scim.masking import MASK, mask_body
from tests.fakescim import FakeScim
from tests.scim.test_faults import user, write_spec

PASSWORD = "PlainPw-Xy7-Returned"
ACME = "urn:example:params:scim:schemas:extension:acme:2.0:User"


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_explain_never_prints_the_password_the_target_returned(
    token: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    fake = FakeScim(token=token)
    fake.add_user("alice@example.com", password=PASSWORD)
    specs = write_spec(tmp_path, [user("alice@example.com", title="Staff Engineer")])
    args = ["plan", str(specs), "-t", "fake", "--only", "user:alice@example.com", "--explain"]
    assert main([*args, "--format", fmt], transport=fake.transport) == 0
    out, err = capsys.readouterr()
    assert "if the target refuses PATCH, instead:" in out or fmt == "json"
    assert "Staff Engineer" in out
    assert PASSWORD not in out + err


def test_every_explained_body_masks_write_only_values() -> None:
    secret = {"password", f"{ACME}:initialPin"}
    resource = {
        "schemas": [USER_SCHEMA, ACME],
        "userName": "a",
        "Password": "p",
        ACME: {"initialPin": "1234", "costCode": "7"},
    }
    assert mask_body(resource, secret) == {
        "schemas": [USER_SCHEMA, ACME],
        "userName": "a",
        "Password": MASK,
        ACME: {"initialPin": MASK, "costCode": "7"},
    }
    patch = {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "replace", "path": "password", "value": "p"},
            {"op": "replace", "path": f"{ACME}:initialPin", "value": "1234"},
            {"op": "replace", "path": ACME, "value": {"initialPin": "1234"}},
            {"op": "replace", "value": {"password": "p", "title": "t"}},
            {"op": "replace", "path": "title", "value": "t"},
        ],
    }
    assert mask_body(patch, secret) == {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "replace", "path": "password", "value": MASK},
            {"op": "replace", "path": f"{ACME}:initialPin", "value": MASK},
            {"op": "replace", "path": ACME, "value": {"initialPin": MASK}},
            {"op": "replace", "value": {"password": MASK, "title": "t"}},
            {"op": "replace", "path": "title", "value": "t"},
        ],
    }
    bulk = {"Operations": [{"method": "POST", "data": resource}]}
    assert mask_body(bulk, secret) == {
        "Operations": [{"method": "POST", "data": mask_body(resource, secret)}]
    }
