"""No target data can start a workflow command (cli/output.py): a CI runner reads every
line of stdout and stderr that starts with `::` as one, and names, values and error details
come from the target. A target whose data holds line breaks followed by `::` is read by
every command in GitHub mode; only scimrec's own annotations may start with `::`."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import yaml

from reconciler.cli import main
from reconciler.cli.output import Redacted, defused
from tests.fakescim import BASE_URL, FakeScim

TOKEN_ENV = "COMMANDS_SCIM_TOKEN"
TOKEN = "commands-test-token-1234"
# A line feed, a carriage return (the runner splits lines at either) and leading spaces;
# and the older `##[command]` form, which the runner finds anywhere in a line.
INJECTED = [
    "\n::notice::INJECTED\n",
    "\r::notice::INJECTED",
    "\n  ::notice::INJECTED",
    " ##[notice]INJECTED",
]
COMMANDS = [
    ["plan", "{specs}", "--target", "fake"],
    ["plan", "{specs}", "--target", "fake", "--format", "markdown"],
    ["drift", "{specs}", "--target", "fake"],
    ["apply", "{specs}", "--target", "fake", "--auto-approve", "--log-level", "debug"],
    ["doctor", "{specs}", "--target", "fake", "--write-probe"],
    ["import", "{specs}", "--target", "fake", "--out", "{tmp}/imported"],
]


def hostile() -> FakeScim:
    fake = FakeScim(token=TOKEN)
    fake.unique_names = False
    alice = fake.add_user("alice@example.com", active=True, title="old" + INJECTED[0])
    for n, text in enumerate(INJECTED):
        fake.add_user(f"stray{n}{text}@example.com", active=True)
        fake.add_group(f"Group{text}", [alice, f"ghost{text}"])
    fake.add_user("dup@example.com")
    fake.add_user("DUP@example.com")
    detail = {"detail": "refused" + INJECTED[1], "scimType": "invalidValue" + INJECTED[0]}
    fake.fail("PATCH", "/Users/*", times=1000, status=400, body=detail)
    fake.fail("POST", "/Users", times=1000, status=409, body={"detail": "taken" + INJECTED[2]})
    return fake


def command_lines(text: str) -> list[str]:
    return [line for line in re.split(r"[\r\n]", text) if line.lstrip().startswith("::")]


def test_no_target_data_starts_a_workflow_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    specs = tmp_path / "specs"
    specs.mkdir()
    target = {
        "url": BASE_URL,
        "auth": {"type": "bearer", "token_env": TOKEN_ENV},
        "prune": "all",
        "guards": {"max_deletes": 100, "max_delete_percent": 100},
    }
    users = [
        {"userName": "alice@example.com", "title": "new"},
        {"userName": "carol@example.com"},
        {"userName": "gone@example.com", "state": "absent"},
    ]
    doc = {"version": 1, "targets": {"fake": target}, "users": users}
    (specs / "spec.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    fake = hostile()
    fake.add_user("gone@example.com", active=True)
    ours: list[str] = []
    for command in COMMANDS:
        args = [a.format(specs=specs, tmp=tmp_path) for a in command]
        code = main(args, transport=fake.transport)
        out, err = capsys.readouterr()
        assert code in (0, 1, 2), f"{args}: exit {code}\n{err}"
        lines = command_lines(out + err)
        assert [line for line in lines if "INJECTED" in line] == [], args
        assert "##[" not in out + err, args
        ours += lines
    # The check means something: the data was shown, and scimrec's own annotations (a
    # warning per planned disable or delete) still start with `::`.
    assert any(line.startswith("::warning ") for line in ours)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("a\n::x::y\n", "a\n:\u200b:x::y\n"),
        ("::x", ":\u200b:x"),
        ("a\r\t::x", "a\r\t:\u200b:x"),
        ("a :: b\nc::d", "a :: b\nc::d"),
        ("x ##[error]y", "x ##\u200b[error]y"),
        ("###[x", "###\u200b[x"),
        ("#[x] and #[y]", "#\u200b[x] and #[y]"),
    ],
)
def test_a_workflow_command_is_defused_as_shown(text: str, shown: str) -> None:
    assert defused(text) == shown


def test_the_older_form_split_across_a_flush_is_defused() -> None:
    inner = io.StringIO()
    stream = Redacted(inner)
    stream.write("x #")
    stream.flush()
    stream.write("#[error]y\n")
    assert "##[" not in inner.getvalue()
