"""Custom schema extensions: declared under an alias, checked against /Schemas, written
under their URN, on a real scim2-server that serves the extension."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
import scim2_server
import yaml

from reconciler.cli import main
from tests.servers.launch import Server, start_scim2_server

ACME = "urn:example:params:scim:schemas:extension:acme:2.0:User"


def _attribute(name: str, kind: str) -> dict[str, Any]:
    return {
        "name": name,
        "type": kind,
        "multiValued": False,
        "required": False,
        "caseExact": False,
        "mutability": "readWrite",
        "returned": "default",
        "uniqueness": "none",
        "description": name,
    }


@pytest.fixture(scope="module")
def acme_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """scim2-server with one more User extension, as a SaaS app with custom fields has."""
    folder = tmp_path_factory.mktemp("acme")
    defaults = Path(scim2_server.__file__).parent / "resources"
    schemas = json.loads((defaults / "default-schemas.json").read_text())
    schemas.append(
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
            "id": ACME,
            "name": "AcmeUser",
            "description": "Acme's custom fields",
            "attributes": [_attribute("costCode", "string"), _attribute("remote", "boolean")],
            "meta": {"resourceType": "Schema", "location": f"/Schemas/{ACME}"},
        }
    )
    types = json.loads((defaults / "default-resource-types.json").read_text())
    types[0]["schemaExtensions"].append({"schema": ACME, "required": False})
    (folder / "schemas.json").write_text(json.dumps(schemas))
    (folder / "types.json").write_text(json.dumps(types))
    server = start_scim2_server(
        "--schema", str(folder / "schemas.json"), "--resource-type", str(folder / "types.json")
    )
    yield server
    server.stop()


def spec(root: Path, url: str, acme: dict[str, Any]) -> Path:
    doc = {
        "version": 1,
        "targets": {
            "acme": {
                "url": url,
                "auth": {"type": "bearer", "token_env": "ACME_TOKEN"},
                "extensions": {"acme": ACME},
            }
        },
        "users": [{"userName": "a@example.com", "acme": acme}],
    }
    root.mkdir(exist_ok=True)
    (root / "spec.yaml").write_text(yaml.safe_dump(doc))
    return root


def test_extension_attributes_round_trip(
    acme_server: Server,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ACME_TOKEN", acme_server.token)
    url = f"{acme_server.url}/t{uuid.uuid4().hex[:10]}/v2"
    specs = spec(tmp_path / "s", url, {"costCode": "CC-42", "remote": True})
    args = [str(specs), "--target", "acme", "--log-level", "error"]
    assert main(["apply", *args, "--auto-approve"]) == 0
    assert main(["plan", *args, "--detailed-exitcode"]) == 0
    with httpx2.Client(headers={"Authorization": f"Bearer {acme_server.token}"}) as http:
        [stored] = http.get(f"{url}/Users").json()["Resources"]
    assert stored[ACME] == {"costCode": "CC-42", "remote": True}
    assert ACME in stored["schemas"]

    spec(tmp_path / "s", url, {"costCode": "CC-43", "remote": True})
    capsys.readouterr()
    assert main(["plan", *args]) == 0
    assert f'{ACME}:costCode  "CC-42" → "CC-43"' in capsys.readouterr().out
    assert main(["apply", *args, "--auto-approve"]) == 0
    assert main(["plan", *args, "--detailed-exitcode"]) == 0


def test_unknown_extension_attribute_is_refused_before_any_write(
    acme_server: Server,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ACME_TOKEN", acme_server.token)
    url = f"{acme_server.url}/t{uuid.uuid4().hex[:10]}/v2"
    specs = spec(tmp_path / "s", url, {"colour": "blue"})
    assert (
        main(["apply", str(specs), "--target", "acme", "--auto-approve", "--log-level", "error"])
        == 1
    )
    err = capsys.readouterr().err
    assert "acme.colour: target 'acme' has no attribute 'colour'" in err
    assert "(its /Schemas lists: costCode, remote)" in err
    with httpx2.Client(headers={"Authorization": f"Bearer {acme_server.token}"}) as http:
        assert http.get(f"{url}/Users").json().get("Resources", []) == []
