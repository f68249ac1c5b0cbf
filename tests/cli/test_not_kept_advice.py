"""What apply advises for what a target did not keep is a fix validate accepts: `quirks:
{not_kept}` only for the attributes it covers. A time of disabling the target drops (with
`delete_after`) gets its own fix; before, it was offered as a `not_kept` entry, which
validate refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.cli import main
from reconciler.core.config import DISABLED_AT, LIFECYCLE_URN
from reconciler.core.not_kept import not_kept_fix
from tests.cli.test_apply_last_checks import TOKEN, TOKEN_ENV, write_spec
from tests.fakescim import FakeScim


def test_a_dropped_time_of_disabling_gets_a_fix_that_validates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    fake = FakeScim(token=TOKEN)
    fake.drops = {LIFECYCLE_URN}
    uid = fake.add_user("gone@example.com", active=True)
    target = {"deprovision": {"action": "disable", "delete_after": "30d"}}
    users = [{"userName": "gone@example.com", "state": "absent"}]
    specs = write_spec(tmp_path, target, users, [])
    code = main(["apply", str(specs), "--auto-approve", "--log-level", "error"],
                transport=fake.transport)  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert fake.users[uid]["active"] is False
    assert f"  user gone@example.com: not kept by the target: {DISABLED_AT}" in out
    assert (
        f"The time of disabling ({DISABLED_AT}) is not kept, so delete_after never deletes: "
        "set disabled_at to an attribute this target keeps (or meta.lastModified), or remove "
        "delete_after." in out
    )
    assert "not_kept" not in out


@pytest.mark.parametrize(
    ("paths", "fix"),
    [
        (["title", "ims"], "quirks: {not_kept: [title, ims]}"),
        (['emails[type eq "work"].value', "emails"], "quirks: {not_kept: [emails]}"),
        (["enterprise.department"], "quirks: {not_kept: [enterprise.department]}"),
        (
            ["urn:acme:2.0:User:badge", "title"],
            "quirks: {not_kept: [title]}; stop declaring or mapping urn:acme:2.0:User:badge "
            "for this target",
        ),
        (["userName"], "stop declaring or mapping userName for this target"),
        (
            [DISABLED_AT],
            f"stop declaring or mapping {DISABLED_AT} for this target",
        ),
    ],
)
def test_the_quirk_is_offered_only_for_what_it_covers(paths: list[str], fix: str) -> None:
    assert not_kept_fix(paths) == fix


def test_the_quirk_offered_is_one_validate_accepts(tmp_path: Path) -> None:
    paths = ["title", 'emails[type eq "work"].value', "enterprise.department", "x:y", "name.x"]
    fix = not_kept_fix(paths)
    entries = fix.split("not_kept: [", 1)[1].split("]", 1)[0]
    target = {"quirks": {"not_kept": entries.split(", ")}}
    specs = write_spec(tmp_path, target, [{"userName": "a@example.com"}], [])
    assert main(["validate", str(specs)]) == 0
