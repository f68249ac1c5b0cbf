"""Write-only attributes are never shown: not the password a target returns (RFC 7643 §4.1.1
makes it returned: never, yet some targets send it, or its hash), nor an attribute the
target's /Schemas marks `mutability: writeOnly` or `returned: never` (an initial password,
a PIN), in any output: plan text, JSON and markdown, plan files, apply's output and its
audit log. Their values pass through core/masking.py on their way to each.

`plan --explain` prints the requests apply would send, a GET-merge-PUT built from the
resource as read among them: every body it prints passes through masking.mask_body.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx2
import pytest

from reconciler.cli import main
from reconciler.core.masking import MASK, mask_body, sent_secrets
from reconciler.core.model import PATCH_OP, USER_SCHEMA
from reconciler.core.planfile import digest_of
from reconciler.errors import ScimHTTPError
from reconciler.scim.client import Reply, ScimClient
from reconciler.scim.extensions import write_only_paths
from tests.fakescim import BASE_URL, FakeScim, json_response, scim_error
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


# -- what the target's /Schemas marks write-only ---------------------------------------------

SECRET = "InitPw-7Gx2-Qm9v-never-shown"
PIN = {"name": "initialPassword", "type": "string", "mutability": "writeOnly"}


def test_schemas_name_the_write_only_attributes() -> None:
    listing: list[object] = [
        {"id": USER_SCHEMA, "attributes": [{"name": "password", "returned": "never"}]},
        {"id": ACME, "attributes": [PIN, {"name": "Pin", "returned": "Never"}, {"name": "x"}]},
        {"id": "urn:ietf:params:scim:schemas:core:2.0:Group", "attributes": [PIN]},
        "not a schema",
    ]
    assert write_only_paths(listing) == {
        "password",
        f"{ACME}:initialpassword".casefold(),
        f"{ACME}:pin".casefold(),
    }


def _acme_target(token: str) -> FakeScim:
    fake = FakeScim(token=token)
    fake.schemas = [USER_SCHEMA, ACME]
    fake.schema_attributes = {ACME: [PIN, {"name": "costCode", "type": "string"}]}
    return fake


def test_a_write_only_extension_attribute_is_masked_in_every_output(
    token: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = _acme_target(token)  # alice is new: a write-only value goes with her create
    declared = user("alice@example.com", acme={"initialPassword": SECRET, "costCode": "7"})
    specs = write_spec(tmp_path, [declared], extensions={"acme": ACME})
    plan_file = tmp_path / "p.plan"
    for fmt in ("text", "json", "markdown"):
        args = ["plan", str(specs), "-t", "fake", "--format", fmt, "--out", str(plan_file)]
        assert main(args, transport=fake.transport) == 0
        out, err = capsys.readouterr()
        assert SECRET not in out + err + plan_file.read_text()
        assert "(sensitive)" in out and "7" in out
    explained = ["plan", str(specs), "-t", "fake", "--explain", "--only", "user:alice@example.com"]
    assert main(explained, transport=fake.transport) == 0
    out, err = capsys.readouterr()
    assert SECRET not in out + err
    audit = tmp_path / "audit.jsonl"
    args = ["apply", "--plan", str(plan_file), str(specs), "--audit-log", str(audit)]
    assert main([*args, "--auto-approve"], transport=fake.transport) == 0
    out, err = capsys.readouterr()
    assert SECRET not in out + err + audit.read_text()
    (record,) = [json.loads(line) for line in audit.read_text().splitlines()]
    written = {a["path"]: a["after"] for a in record["attributes"]}
    assert written[f"{ACME}:initialPassword"] == "(sensitive)"
    assert written[f"{ACME}:costCode"] == "7"
    # Applied from the plan file, whose value is masked, with the spec's value.
    [alice] = fake.user_named("alice@example.com")
    assert alice[ACME] == {"initialPassword": SECRET, "costCode": "7"}


def test_a_generated_write_only_value_is_never_shown(
    token: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Generated at plan time, the value is in no file in Git: the plan is no place for it.
    fake = _acme_target(token)
    mapping = {"acme.initialPassword": {"expression": "Guid()", "apply": "on_create"}}
    specs = write_spec(
        tmp_path,
        [user("bob@example.com")],
        extensions={"acme": ACME},
        mappings={"user": mapping},
    )
    assert (
        main(["plan", str(specs), "-t", "fake", "--format", "markdown"], transport=fake.transport)
        == 0
    )
    out, _ = capsys.readouterr()
    assert "(sensitive)" in out
    assert (
        main(["apply", str(specs), "-t", "fake", "--auto-approve"], transport=fake.transport) == 0
    )
    out, err = capsys.readouterr()
    (bob,) = fake.user_named("bob@example.com")
    generated = bob[ACME]["initialPassword"]
    assert len(generated) == 36
    assert generated not in out + err


class _NeverReturned(FakeScim):
    """Keeps the initial password it is sent, and never returns it, as /Schemas says."""

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        response = super().handle(request)
        try:
            body = json.loads(response.content)
        except ValueError:
            return response
        for resource in [body, *(body.get("Resources") or [])] if isinstance(body, dict) else []:
            if isinstance(resource, dict) and isinstance(resource.get(ACME), dict):
                resource[ACME].pop("initialPassword", None)
        return json_response(response.status_code, body)


def test_a_write_only_value_is_not_compared_after_the_write(
    token: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = _NeverReturned(token=token)
    fake.schemas = [USER_SCHEMA, ACME]
    fake.schema_attributes = {ACME: [PIN]}
    declared = user("alice@example.com", acme={"initialPassword": SECRET})
    specs = write_spec(tmp_path, [declared], extensions={"acme": ACME})
    args = ["apply", str(specs), "-t", "fake", "--auto-approve"]
    assert main(args, transport=fake.transport) == 0
    _, err = capsys.readouterr()
    [alice] = fake.user_named("alice@example.com")
    assert alice[ACME] == {"initialPassword": SECRET}
    assert "not kept by the target" not in err
    assert (fake.count("POST", "/Users"), fake.count("PATCH"), fake.count("PUT")) == (1, 0, 0)
    # Never returned, it looks unset to every plan: written at create only, never again
    # (each run would reset the PIN the person chose since).
    alice[ACME]["initialPassword"] = "chosen-since"
    assert main(args, transport=fake.transport) == 0
    assert (fake.count("PATCH"), fake.count("PUT")) == (0, 0)
    assert alice[ACME] == {"initialPassword": "chosen-since"}


def test_a_write_only_value_a_target_echoes_in_an_error_is_masked(
    token: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = _acme_target(token)
    detail = f"initialPassword '{SECRET}' does not meet the policy"
    error = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "400"}
    fake.fail("POST", "/Users", status=400, body={**error, "detail": detail})
    declared = user("alice@example.com", acme={"initialPassword": SECRET})
    specs = write_spec(tmp_path, [declared], extensions={"acme": ACME})
    assert (
        main(["apply", str(specs), "-t", "fake", "--auto-approve"], transport=fake.transport) == 1
    )
    out, err = capsys.readouterr()
    assert "does not meet the policy" in out + err
    assert SECRET not in out + err


def test_a_write_only_value_written_into_a_plan_file_is_never_sent(
    token: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The file holds it masked; one put there in clear by someone editing the file (a
    # password of their choosing) is replaced by the value the spec gives.
    fake = _acme_target(token)
    declared = user("alice@example.com", acme={"initialPassword": SECRET})
    specs = write_spec(tmp_path, [declared], extensions={"acme": ACME})
    plan_file = tmp_path / "p.plan"
    assert (
        main(["plan", str(specs), "-t", "fake", "--out", str(plan_file)], transport=fake.transport)
        == 0
    )
    text = plan_file.read_text().replace('"(sensitive)"', '"chosen-by-the-editor"')
    assert "chosen-by-the-editor" in text
    edited = {k: v for k, v in json.loads(text).items() if k != "digest"}
    plan_file.write_text(json.dumps({**edited, "digest": digest_of(edited, None)}))
    args = ["apply", "--plan", str(plan_file), str(specs), "--auto-approve"]
    assert main(args, transport=fake.transport) == 0
    [alice] = fake.user_named("alice@example.com")
    assert alice[ACME] == {"initialPassword": SECRET}


# -- every write-only value sent is a secret, whatever its JSON type -------------------------

NUMBER_PIN = 48291375
CODES = ["rc-8H2k-Pq4z", "rc-Tn6w-Lm3x"]


def test_sent_secrets_are_the_values_mask_body_masks_as_text() -> None:
    secret = {f"{ACME}:pin", f"{ACME}:codes", f"{ACME}:locked"}
    resource = {
        "userName": "alice@example.com",
        "password": "Pw-1",  # shorter than a secret: registering it is a no-op
        ACME: {"pin": NUMBER_PIN, "codes": CODES, "locked": True, "costCode": "7"},
    }
    expected = {"Pw-1", str(NUMBER_PIN), *CODES}
    assert sent_secrets(resource, secret) == expected
    patch = {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "add", "path": f"{ACME}:pin", "value": 12.5},
            {"op": "add", "path": f"{ACME}:codes", "value": [{"code": CODES[0]}]},
            {"op": "add", "value": {ACME: {"pin": NUMBER_PIN}}},
            {"op": "add", "path": "title", "value": "Engineer"},
        ],
    }
    assert sent_secrets(patch, secret) == {"12.5", str(NUMBER_PIN), CODES[0]}
    bulk = {"Operations": [{"method": "POST", "data": resource}]}
    assert sent_secrets(bulk, secret) == expected
    # A boolean is never a secret: `true` is in every JSON text.
    assert sent_secrets({ACME: {"locked": False}}, secret) == set()


def _echoing_client() -> ScimClient:
    """A target that refuses each write, quoting the body it was sent."""

    def handle(request: httpx2.Request) -> httpx2.Response:
        return scim_error(400, f"refused: {request.content.decode()}", "invalidValue")

    client = ScimClient(httpx2.Client(transport=httpx2.MockTransport(handle)), BASE_URL)
    client.write_only = frozenset({f"{ACME}:pin".casefold(), f"{ACME}:codes".casefold()})
    return client


@pytest.mark.parametrize("route", ["create", "patch", "put", "bulk"])
def test_each_write_registers_its_write_only_values_before_it_is_sent(route: str) -> None:
    held = {ACME: {"pin": NUMBER_PIN, "codes": CODES}}
    user_body = {"schemas": [USER_SCHEMA, ACME], "userName": "alice@example.com", **held}
    client = _echoing_client()
    sends: dict[str, Callable[[], Reply]] = {
        "create": lambda: client.create("/Users", user_body),
        "patch": lambda: client.patch("/Users/1", [{"op": "replace", "value": held}], None),
        "put": lambda: client.put("/Users/1", user_body, None),
        "bulk": lambda: client.request(
            "POST", "/Bulk", body={"Operations": [{"method": "POST", "data": user_body}]}
        ),
    }
    with pytest.raises(ScimHTTPError) as refused:
        sends[route]()
    shown = str(refused.value)
    assert "refused" in shown and ACME in shown
    assert str(NUMBER_PIN) not in shown
    assert not any(code in shown for code in CODES)


def test_a_numeric_write_only_value_a_target_echoes_is_masked_in_every_output(
    token: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeScim(token=token)
    fake.schemas = [USER_SCHEMA, ACME]
    fake.schema_attributes = {ACME: [{"name": "pin", "type": "integer", "returned": "never"}]}
    fake.fail(
        "POST",
        "/Users",
        status=400,
        body={"status": "400", "detail": f"pin {NUMBER_PIN} is too weak"},
    )
    specs = write_spec(
        tmp_path, [user("new@example.com", acme={"pin": NUMBER_PIN})], extensions={"acme": ACME}
    )
    audit = tmp_path / "audit.jsonl"
    args = ["apply", str(specs), "-t", "fake", "--auto-approve", "--log-level", "info"]
    assert main([*args, "--audit-log", str(audit)], transport=fake.transport) == 1
    out, err = capsys.readouterr()
    assert "is too weak" in out + err
    assert str(NUMBER_PIN) not in out + err + audit.read_text()
