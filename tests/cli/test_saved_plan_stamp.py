"""An edited plan file never chooses the time of disabling, and so when accounts are
deleted.

With `deprovision: {action: disable, delete_after: 30d}`, a disable also writes the time
of disabling (`...:lifecycle:2.0:User:disabledAt`), and a later plan deletes the account
once 30 days have passed since that time. plancheck.py compares a saved disable with a
fresh plan's "by presence" for that attribute (the plan's clock differs from apply's),
so its *value* is never checked. Whoever can edit the artifact between the plan job and
the apply job (no SCIMREC_PLAN_KEY: the SHA-256 digest is recomputed, as
tests/cli/test_saved_plans.py does) writes `2000-01-01T00:00:00Z` there: the reviewed
disable goes through, and the next plan deletes the account at once ("delete_after 30d
has passed"), 30 days early, with no trace of the edit. README: "an edited or added
change is refused even without a key"; "The time recorded is the plan's clock".
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from reconciler.cli import main
from reconciler.core.config import DISABLED_AT
from reconciler.core.planfile import digest_of
from tests.fakescim import BASE_URL, FakeScim

TOKEN_ENV = "STAMP_PLAN_TOKEN"
TOKEN = "tok-stamp-plan-0123456789"
FORGED = "2000-01-01T00:00:00Z"


def test_an_edited_time_of_disabling_never_reaches_the_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    fake = FakeScim(token=TOKEN)
    fake.add_user("alice@example.com", active=True)
    fake.add_user("bob@example.com", active=True)
    specs = tmp_path / "specs"
    specs.mkdir()
    target = {
        "url": BASE_URL,
        "auth": {"type": "bearer", "token_env": TOKEN_ENV},
        "deprovision": {"action": "disable", "delete_after": "30d"},
    }
    users = [{"userName": "alice@example.com"}, {"userName": "bob@example.com", "state": "absent"}]
    doc = {"version": 1, "targets": {"prod": target}, "users": users}
    (specs / "spec.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    planfile = tmp_path / "plan.json"

    code = main(["plan", str(specs), "--out", str(planfile)], transport=fake.transport)
    assert code == 0, capsys.readouterr().err
    data = json.loads(planfile.read_text(encoding="utf-8"))
    edited = 0
    for change in data["plan"]["changes"]:
        for attribute in change["attributes"]:
            if attribute["path"] == DISABLED_AT:
                attribute["after"] = FORGED
                edited += 1
    assert edited == 1
    del data["digest"]
    data["digest"] = digest_of(data, None)
    planfile.write_text(json.dumps(data), encoding="utf-8")

    main(["apply", "--plan", str(planfile), str(specs)], transport=fake.transport)
    capsys.readouterr()
    sent = [json.dumps(s.body) for s in fake.requests if s.method in ("PATCH", "PUT")]
    assert not any(FORGED in body for body in sent), sent
