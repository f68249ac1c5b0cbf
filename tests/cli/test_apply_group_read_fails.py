"""Where `protected` is set, apply reads a group right before deleting it
(apply/protection.py); when that read fails, the group is not deleted, and the failure
says why a delete read anything at all, so the user knows what to look at."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.cli import main
from tests.cli.test_apply_last_checks import TOKEN, TOKEN_ENV, write_spec
from tests.fakescim import FakeScim


@pytest.mark.parametrize("status", [405, 501])
def test_a_group_that_cannot_be_read_first_is_not_deleted_and_the_failure_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], status: int
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    fake = FakeScim(token=TOKEN)
    bob = fake.add_user("bob@example.com", active=True)
    ops = fake.add_group("Ops", [bob])
    fake.fail("GET", f"/Groups/{ops}", times=99, status=status)
    target = {"protected": ["admin@*"]}
    groups = [{"displayName": "Ops", "state": "absent"}]
    specs = write_spec(tmp_path, target, [{"userName": "bob@example.com"}], groups)
    argv = ["apply", str(specs), "--auto-approve", "--log-level", "error"]
    code = main(argv, transport=fake.transport)
    out, err = capsys.readouterr()
    assert code == 1, out + err
    assert (
        "Failed: group Ops: not deleted: it could not be read first, to see that it holds no "
        f"protected account (GET /Groups/{ops} answered {status}"
    ) in out
    assert ops in fake.groups
