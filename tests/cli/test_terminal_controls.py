"""No text from a target or a spec drives the reader's terminal (cli/output.py).

Names, ids, values, error details and spec values reach every renderer. A CSI sequence in
one moves the cursor and erases the lines of a plan (writing "No changes." over a delete),
OSC 52 writes the clipboard, OSC 8 hides a link, CR and U+202E redraw a line. The output
streams write every such character as its escape, whoever wrote it; scimrec's own colours
pass, and the progress bars draw past the rule while what they show still crosses it.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import sys
from pathlib import Path
from typing import Any

import httpx2
import pytest
import yaml

from reconciler.cli import main
from reconciler.cli.output import Redacted, redacted_streams
from reconciler.cli.progress import make_progress
from tests.fakescim import BASE_URL, FakeScim, json_response

TOKEN_ENV = "TERMINAL_CONTROLS_TOKEN"
TOKEN = "tok-terminal-controls-0123456789"
OSC52 = "\x1b]52;c;cm0gLXJmIH4K\x07"  # the clipboard := "rm -rf ~"
RLO = "\u202e"
# What no output may carry raw: ESC, BEL, CR, CSI on its own (C1), a bidi override.
RAW = ("\x1b", "\x07", "\r", "\x9b", RLO)


class _Tty(io.StringIO):
    """A terminal, as far as click and rich can tell."""

    def isatty(self) -> bool:
        return True


# scimrec's own colours (render.COLOURS), the one sequence written as it is.
_OWN_COLOUR = re.compile(r"\x1b\[(?:0|1|1;31|31|32|33)m")


def _raw(text: str) -> list[str]:
    text = _OWN_COLOUR.sub("", text)
    return [line for line in text.splitlines() if any(c in line for c in RAW)]


def _specs(root: Path, users: list[dict[str, Any]], **target: Any) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    auth = target.pop("auth", {"type": "bearer", "token_env": TOKEN_ENV})
    doc = {"version": 1, "targets": {"t": {"url": BASE_URL, "auth": auth, **target}}}
    (root / "spec.yaml").write_text(yaml.safe_dump({**doc, "users": users}), encoding="utf-8")
    return root


def _run_on_a_terminal(args: list[str], transport: httpx2.BaseTransport) -> tuple[int, str, str]:
    out, err = _Tty(), _Tty()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([*args, "--log-level", "error"], transport=transport)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    monkeypatch.delenv("NO_COLOR", raising=False)


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("a\x1b[3Ab\n", "a\\x1b[3Ab\n"),  # CSI: cursor up
        (f"x{OSC52}y\n", "x\\x1b]52;c;cm0gLXJmIH4K\\x07y\n"),
        (
            "\x1b]8;;https://evil.example/\x1b\\link\n",
            "\\x1b]8;;https://evil.example/\\x1b\\link\n",
        ),
        ("over\rwrite\n", "over\\rwrite\n"),
        # C1 CSI and NEL, NUL, DEL: C1 and DEL as JSON escapes too (the JSON test below)
        ("\x9b2J\x85\x00\x7f\n", "\\u009b2J\\u0085\\x00\\u007f\n"),
        (f"a{RLO}b\u2066c\u200fd\u061ce\n", "a\\u202eb\\u2066c\\u200fd\\u061ce\n"),
        ("tab\tand line\n", "tab\tand line\n"),
        # scimrec's own colours (render.paint), and nothing that only looks like them
        ("\x1b[32m+ create\x1b[0m \x1b[1;31mError\x1b[0m\n", None),
        ("\x1b[8;30;40mhidden\x1b[32;8m\n", "\\x1b[8;30;40mhidden\\x1b[32;8m\n"),
    ],
)
def test_a_control_character_is_written_as_its_escape(text: str, written: str | None) -> None:
    for stream_name in ("stdout", "stderr"):
        inner = io.StringIO()
        stream = Redacted(inner)
        stream.write(text)
        assert inner.getvalue() == (text if written is None else written), stream_name
        stream.write_command(text)
        assert inner.getvalue().endswith(text if written is None else written)


def test_json_on_the_streams_stays_json_and_reads_as_the_target_sent_it(tmp_path: Path) -> None:
    # plan_json writes non-ASCII as it is (ensure_ascii=False): DEL, C1 and bidi controls
    # in a target's name reach the stream raw inside a JSON string. Their escapes must be
    # JSON's own, or one odd account name makes the whole plan unreadable to jq.
    odd = f"bo\x7fb\x85{RLO}\x9b2J@example.com"
    fake = FakeScim(token=TOKEN)
    fake.add_user("alice@example.com")
    fake.add_user(odd)
    specs = _specs(tmp_path / "specs", [{"userName": "alice@example.com"}], prune="all")
    args = ["plan", str(specs), "--format", "json", "--no-progress"]
    code, out, _ = _run_on_a_terminal(args, fake.transport)
    assert code == 0
    assert _raw(out) == []
    [change] = [c for c in json.loads(out)["changes"] if c["action"] != "noop"]
    assert change["key"] == odd


def test_a_spec_value_cannot_write_no_changes_over_the_plan(tmp_path: Path) -> None:
    fake = FakeScim(token=TOKEN)
    fake.add_user("ceo@example.com", title="CEO")
    fake.add_user("zed@example.com", title="Sales")
    evil = "Eng\x1b[3A\x1b[J\rNo changes. The target matches the spec.\x1b[8;30;40m"
    users = [
        {"userName": "ceo@example.com", "state": "absent"},
        {"userName": "zed@example.com", "title": "Sales"},
    ]
    scope = [[{"attribute": "title", "operator": "EQUALS", "value": evil}]]
    specs = _specs(tmp_path / "specs", users, deprovision="delete", scope=scope)
    code, out, _ = _run_on_a_terminal(["plan", str(specs), "--no-progress"], fake.transport)
    assert code == 0
    assert _raw(out) == []
    assert "Eng\\x1b[3A\\x1b[J\\rNo changes." in out  # shown, escaped, in its Out of scope line
    # scimrec's own colours are still there: the delete in red, the summary in bold.
    assert "\x1b[31m  - delete user ceo@example.com  (id u1)\x1b[0m" in out
    assert "\x1b[1mPlan: 0 to create, 0 to update, 0 to disable, 1 to delete.\x1b[0m" in out


def test_a_failed_apply_cannot_be_drawn_as_complete(tmp_path: Path) -> None:
    name = "mallory\x1b[2K\r\x1b[1AApply complete: 0 failed.\x1b[8;30;40m"
    fake = FakeScim(token=TOKEN)
    fake.add_user("alice@example.com")
    fake.add_user(name)
    fake.fail("PATCH", "/Users/*", status=500, times=5)
    specs = _specs(tmp_path / "specs", [{"userName": "alice@example.com"}], prune="all")
    code, out, _ = _run_on_a_terminal(["apply", str(specs), "--auto-approve"], fake.transport)
    assert code == 1
    assert _raw(out) == []
    failed = next(line for line in out.splitlines() if line.startswith("Failed:"))
    assert failed.startswith('Failed: user "mallory\\u001b[2K\\r\\u001b[1AApply complete')
    assert out.splitlines()[-1].startswith("Apply finished with failures:")


def _duplicates() -> FakeScim:
    """alice twice, the second copy's id carrying OSC 52; carol's displayName an RLO."""
    fake = FakeScim(token=TOKEN)
    fake.add_user("alice@example.com", displayName="Old" + RLO + "x")
    twin = fake.users.pop(fake.add_user("bob@example.com"))
    twin.update(userName="alice@example.com", id="u9" + OSC52)
    fake.users[twin["id"]] = twin
    fake.add_user("carol@example.com", displayName="C" + RLO + "tes")
    return fake


DUPLICATES = [
    {"userName": "alice@example.com", "displayName": "Alice"},
    {"userName": "carol@example.com", "displayName": "Carol"},
]


@pytest.mark.parametrize(
    "args", [["drift"], ["plan", "--explain", "--only", "user:alice@example.com"]]
)
def test_drift_and_explain_show_target_text_escaped(tmp_path: Path, args: list[str]) -> None:
    specs = _specs(tmp_path / "specs", DUPLICATES)
    _, out, err = _run_on_a_terminal([*args, str(specs), "--no-progress"], _duplicates().transport)
    assert _raw(out + err) == []
    assert "u9\\x1b]52;c;cm0gLXJmIH4K\\x07" in out


def test_doctor_shows_a_location_escaped(tmp_path: Path) -> None:
    fake = FakeScim(token=TOKEN)
    uid = fake.add_user("alice@example.com", displayName="Alice")
    fake.users[uid]["meta"] = {"resourceType": "User", "location": "https://x/" + OSC52}
    users = [{"userName": "alice@example.com", "displayName": "Alice"}]
    _, out, err = _run_on_a_terminal(["doctor", str(_specs(tmp_path, users))], fake.transport)
    assert _raw(out + err) == []
    assert "https://x/\\x1b]52;c;" in out


def test_import_notes_name_a_user_escaped(tmp_path: Path) -> None:
    fake = FakeScim(token=TOKEN)
    fake.users[fake.add_user("mallory" + OSC52)]["x-custom"] = "1"
    specs = _specs(tmp_path / "specs", [{"userName": "alice@example.com"}])
    args = ["import", str(specs), "--out", str(tmp_path / "imported"), "--no-progress"]
    _, out, err = _run_on_a_terminal(args, fake.transport)
    assert _raw(out + err) == []
    assert "mallory\\x1b]52;c;" in err


def test_the_token_endpoints_error_is_shown_escaped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TC_CLIENT_ID", "client")
    monkeypatch.setenv("TC_CLIENT_SECRET", "s3cr3t-client-secret")
    fake = FakeScim(token=TOKEN)

    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.url.path == "/oauth/token":
            body = {"error": "invalid_client", "error_description": "bad" + OSC52}
            return json_response(400, body)
        return fake.handle(request)

    auth = {
        "type": "oauth2_client_credentials",
        "token_url": "https://scim.test/oauth/token",
        "client_id_env": "TC_CLIENT_ID",
        "client_secret_env": "TC_CLIENT_SECRET",
    }
    specs = _specs(tmp_path / "specs", [{"userName": "alice@example.com"}], auth=auth)
    code, _, err = _run_on_a_terminal(
        ["plan", str(specs), "--no-progress"], httpx2.MockTransport(handle)
    )
    assert code != 0
    assert _raw(err) == []
    assert "invalid_client (bad\\x1b]52;c;" in err


def test_the_progress_bars_draw_and_what_they_show_is_escaped() -> None:
    out, err = _Tty(), _Tty()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), redacted_streams():
        progress = make_progress(True)
        progress.reading("users", 1, 2)
        # A log line or a message written while the bars are live: printed above them.
        print(f"warning: {RLO}evil\x9b2J{OSC52}", file=sys.stderr)
        print(f"plan line {RLO}", flush=True)
        progress.close()
    drawn = err.getvalue()
    assert "read users" in drawn
    assert "\x1b[?25l" in drawn  # rich's own cursor control, as it wrote it
    assert "warning: \\u202eevil\\u009b2J\\x1b]52;c;cm0gLXJmIH4K\\x07" in drawn
    assert not any(c in drawn for c in (RLO, "\x9b", "\x07", "\x1b]"))
    assert out.getvalue() == "plan line \\u202e\n"  # stdout stays stdout
