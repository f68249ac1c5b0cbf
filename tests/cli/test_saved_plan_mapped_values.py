"""A saved plan's mapped values are the ones reviewed, even where a mapping reads the clock.

Entra's pre-hire mapping, `IIF(DateDiff("d", Now(), CDate([custom.start])) > 0, "False",
"True")`, reads Now() to decide a stable value: whoever can edit the plan artifact between
the plan job and the apply job (no SCIMREC_PLAN_KEY: the SHA-256 digest is recomputed, as
tests/cli/test_saved_plans.py does) must not turn a pre-hire created disabled into one
created active. Values new on every run still apply later: a time from Now() is the plan's
own, and a GUID is the one the plan drew.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.cli import main
from reconciler.core.planfile import digest_of
from tests.fakescim import BASE_URL, FakeScim

TOKEN_ENV = "MAPPED_PLAN_TOKEN"
TOKEN = "tok-mapped-plan-0123456789"
PRE_HIRE = 'IIF(DateDiff("d", Now(), CDate([custom.start])) > 0, "False", "True")'
# To the tenth of a microsecond: a plan and its apply, however quick, never share one.
TICKS = 'FormatDateTime(Now(), , "M/d/yyyy h:mm:ss tt", "yyyyMMddHHmmssfffffff")'


def plan_and_apply(
    root: Path, capsys: pytest.CaptureFixture[str], edit: dict[str, Any]
) -> tuple[FakeScim, dict[str, Any], int, str]:
    """Plan the pre-hire's create to a file, set `edit` in it, and apply the file."""
    fake = FakeScim(token=TOKEN)
    specs = root / "specs"
    specs.mkdir()
    mappings = {
        "active": {"expression": PRE_HIRE, "apply": "on_create"},
        "nickName": {"expression": TICKS, "apply": "on_create"},
        "externalId": {"expression": "Guid()", "apply": "on_create"},
    }
    target = {
        "url": BASE_URL,
        "auth": {"type": "bearer", "token_env": TOKEN_ENV},
        "mappings": {"user": mappings},
    }
    users = [{"userName": "hire@example.com", "custom": {"start": "2999-01-01T00:00:00Z"}}]
    doc = {"version": 1, "targets": {"prod": target}, "users": users}
    (specs / "spec.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    planfile = root / "plan.json"
    code = main(["plan", str(specs), "--out", str(planfile)], transport=fake.transport)
    assert code == 0, capsys.readouterr().err
    data = json.loads(planfile.read_text(encoding="utf-8"))
    (create,) = data["plan"]["changes"]
    reviewed = {a["path"]: a["after"] for a in create["attributes"]}
    for attribute in create["attributes"]:
        attribute["after"] = edit.get(attribute["path"], attribute["after"])
    del data["digest"]
    data["digest"] = digest_of(data, None)
    planfile.write_text(json.dumps(data), encoding="utf-8")
    capsys.readouterr()
    code = main(["apply", "--plan", str(planfile), str(specs)], transport=fake.transport)
    return fake, reviewed, code, capsys.readouterr().err


def test_a_pre_hire_edited_active_is_refused_and_never_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    monkeypatch.delenv("SCIMREC_PLAN_KEY", raising=False)
    fake, reviewed, code, err = plan_and_apply(tmp_path, capsys, {"active": True})
    assert reviewed["active"] is False
    assert code == 1
    assert "user hire@example.com: the plan's create differs" in err, err
    assert [r.method for r in fake.requests if r.method != "GET"] == []


def test_the_time_and_the_guid_of_a_plan_apply_later_as_reviewed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    monkeypatch.delenv("SCIMREC_PLAN_KEY", raising=False)
    fake, reviewed, code, err = plan_and_apply(tmp_path, capsys, {})
    assert code == 0, err
    (made,) = fake.user_named("hire@example.com")
    written = {k: made.get(k) for k in ("active", "nickName", "externalId")}
    assert written == {k: reviewed[k] for k in written}
    assert made["active"] is False


def test_a_guid_drawn_for_a_custom_extension_attribute_applies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The mapping names `acme.code`, the change the extension's URN: compared as the
    # GUID it is, not refused as an edit on every apply.
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    urn = "urn:example:params:scim:schemas:extension:acme:2.0:User"
    fake = FakeScim(token=TOKEN)
    specs = tmp_path / "specs"
    specs.mkdir()
    target = {
        "url": BASE_URL,
        "auth": {"type": "bearer", "token_env": TOKEN_ENV},
        "extensions": {"acme": urn},
        "mappings": {"user": {"acme.code": {"expression": "Guid()", "apply": "on_create"}}},
    }
    doc = {"version": 1, "targets": {"prod": target}, "users": [{"userName": "a@example.com"}]}
    (specs / "spec.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    planfile = tmp_path / "plan.json"
    assert main(["plan", str(specs), "--out", str(planfile)], transport=fake.transport) == 0
    code = main(["apply", "--plan", str(planfile), str(specs)], transport=fake.transport)
    assert code == 0, capsys.readouterr().err
    [created] = fake.user_named("a@example.com")
    assert len(created[urn]["code"]) == 36
