"""A secret of the run that also occurs in the target's names (a basic-auth password that is
the company's domain, `example`) is masked in them as it arrives: `alice@***.com`. Read so,
every declared user looked missing and every account looked undeclared, and `prune: all`
disabled them all: declared accounts the spec never took away. An object whose name, id
or key holds the mask is now in error, and nothing is decided from it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from reconciler.cli import main
from reconciler.scim.redact import forget_secrets
from tests.fakescim import BASE_URL, FakeScim

PASSWORD = "example"


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("NAMES_USER", "svc")
    monkeypatch.setenv("NAMES_PASSWORD", PASSWORD)
    yield
    forget_secrets()


def _specs(root: Path) -> Path:
    target = {
        "url": BASE_URL,
        "auth": {"type": "basic", "username_env": "NAMES_USER", "password_env": "NAMES_PASSWORD"},
        "prune": "all",
        "protected": ["admin@*"],
        "guards": {"max_deletes": 100, "max_delete_percent": 100},
    }
    doc = {
        "version": 1,
        "targets": {"t": target},
        "users": [{"userName": "alice@example.com"}, {"userName": "bob@example.com"}],
    }
    (root / "spec.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    return root


def test_accounts_whose_names_hold_the_password_are_never_deprovisioned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeScim()
    ids = [fake.add_user(f"{n}@example.com", active=True) for n in ("alice", "bob", "admin")]
    specs = _specs(tmp_path)
    code = main(["apply", str(specs), "-t", "t", "--auto-approve"], transport=fake.transport)
    out, err = capsys.readouterr()
    assert code == 1, out + err
    assert [fake.users[i]["active"] for i in ids] == [True, True, True]
    assert [s for s in fake.requests if s.method in ("PATCH", "PUT", "DELETE")] == []
    assert "holds a secret of this run" in out + err
    assert PASSWORD not in out + err


def test_declared_users_a_masked_account_may_be_are_not_created_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # alice's account reads as alice@***.com: no match for alice@example.com, which looked
    # missing and was POSTed again (a duplicate on a target that allows one). carol, whom
    # no masked account can stand for, is still created.
    fake = FakeScim()
    fake.add_user("alice@example.com", active=True)
    specs = _specs(tmp_path)
    doc = yaml.safe_load((specs / "spec.yaml").read_text(encoding="utf-8"))
    doc["users"] = [{"userName": "alice@example.com"}, {"userName": "carol@corp.test"}]
    (specs / "spec.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    code = main(["apply", str(specs), "-t", "t", "--auto-approve"], transport=fake.transport)
    out, err = capsys.readouterr()
    assert code == 1, out + err
    posted = [s.body for s in fake.requests if s.method == "POST"]
    assert [b["userName"] for b in posted if isinstance(b, dict)] == ["carol@corp.test"]
    assert "may be this one" in out + err
    assert PASSWORD not in out + err
