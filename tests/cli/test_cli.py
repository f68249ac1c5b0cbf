"""CLI behaviour: exact stdout, stderr and exit codes, with no traceback for user errors."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.cli import main
from tests.conftest import Target, write_spec
from tests.servers.launch import free_port


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_validate_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.yaml").write_text("version: 1\nusers:\n  - userName: a@example.com\n")
    (tmp_path / "b.yml").write_text("groups:\n  - displayName: G\n    members: [A@example.com]\n")
    code, out, err = run(capsys, "validate", str(tmp_path))
    assert (code, out, err) == (0, "Valid: 2 file(s), 1 user(s), 1 group(s), 0 target(s).\n", "")


def test_validate_reports_every_error_with_file_line_col(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(
        "version: 1\n"
        "users:\n"
        "  - userName: a@example.com\n"
        "    titel: Boss\n"
        "  - userName: A@EXAMPLE.COM\n"
        "    active: yes please\n"
        "groups:\n"
        "  - displayName: G\n"
        "    members: [nobody@example.com]\n"
    )
    code, out, err = run(capsys, "validate", str(tmp_path))
    assert code == 1
    assert out == ""
    name = spec.as_posix()
    assert err.splitlines() == [
        f"{name}:4:5: users[0].titel: unknown user attribute 'titel' (did you mean 'title'?)",
        f"{name}:5:5: users[A@EXAMPLE.COM].userName: duplicate user: 'a@example.com' is "
        f"already declared at {name}:3:5",
        f"{name}:6:5: users[1].active: expected true or false, got a string",
        f"{name}:9:5: groups[G].members: member 'nobody@example.com' is not a declared user",
        "Error: 4 problems in the spec.",
    ]


@pytest.mark.parametrize("rate", ["1.0e-10", "0.001", "-1", "true"])
def test_validate_bounds_max_rps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], rate: str
) -> None:
    # Slower than one request every 100 s, a pace would outwait any run (1e-10 overflowed
    # the sleep).
    spec = tmp_path / "t.yaml"
    spec.write_text(
        f"version: 1\ntargets:\n  t:\n    url: https://scim.example/v2\n    max_rps: {rate}\n"
    )
    code, out, err = run(capsys, "validate", str(tmp_path))
    assert (code, out) == (1, "")
    assert err.splitlines()[0].startswith(
        f"{spec.as_posix()}:5:5: targets.t.max_rps: expected a number of requests per second "
        "from 0.01 (one every 100 s), got "
    )


def test_validate_refuses_a_max_rps_that_is_no_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # No spec value may be NaN (JSON has none): refused where it is read, at its column.
    spec = tmp_path / "t.yaml"
    spec.write_text(
        "version: 1\ntargets:\n  t:\n    url: https://scim.example/v2\n    max_rps: .nan\n"
    )
    code, out, err = run(capsys, "validate", str(tmp_path))
    assert (code, out) == (1, "")
    assert err.splitlines()[0] == (
        f"{spec.as_posix()}:5:14: targets.t.max_rps: cannot read value: .nan is not a finite "
        "number (JSON, which targets read, has none)"
    )


def test_missing_spec_directory(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, "validate", str(tmp_path / "nope"))
    assert (code, out) == (1, "")
    assert err == f"Error: no such file or directory: {tmp_path / 'nope'}\n"


def test_unknown_target_and_bad_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = Target("none", "http://127.0.0.1:9/scim/v2", "x")
    specs = write_spec(tmp_path / "specs", target, [{"userName": "a@example.com"}])
    code, _, err = run(capsys, "plan", str(specs), "--target", "prod")
    assert (code, err) == (1, "Error: no target named 'prod' in the spec (defined: e2e)\n")
    code, _, err = run(capsys, "plan", str(specs), "--target", "e2e", "--only", "usr:a")
    assert (code, err) == (1, "Error: --only expects user:KEY or group:KEY, got 'usr:a'\n")


def test_missing_token_env(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("E2E_SCIM_TOKEN", raising=False)
    target = Target("none", "http://127.0.0.1:9/scim/v2", "x")
    specs = write_spec(tmp_path / "specs", target, [{"userName": "a@example.com"}])
    code, out, err = run(capsys, "plan", str(specs), "--target", "e2e", "--log-level", "error")
    assert (code, out) == (1, "")
    assert err == (
        "Error: environment variable E2E_SCIM_TOKEN (token_env of target 'e2e') is not set\n"
    )


def test_a_token_that_is_no_text_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Bytes that are no UTF-8 in the environment reach Python as lone surrogates: they were
    # an internal error where the secret was registered for redaction.
    monkeypatch.setenv("E2E_SCIM_TOKEN", "abcdefgh\udcffijklmnop")
    target = Target("none", "http://127.0.0.1:9/scim/v2", "x")
    specs = write_spec(tmp_path / "specs", target, [{"userName": "a@example.com"}])
    code, _, err = run(capsys, "validate", str(specs))
    assert (code, err) == (0, "")  # registered before any command reads it: skipped there
    code, out, err = run(capsys, "plan", str(specs), "--target", "e2e", "--log-level", "error")
    assert (code, out) == (1, "")
    assert err == (
        "Error: environment variable E2E_SCIM_TOKEN (token_env of target 'e2e') is not UTF-8 text\n"
    )


def test_unreachable_target_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("E2E_SCIM_TOKEN", "unreachable-token")
    url = f"http://127.0.0.1:{free_port()}/scim/v2"
    specs = write_spec(tmp_path / "specs", Target("none", url, "x"), [{"userName": "a@x.io"}])
    code, out, err = run(capsys, "plan", str(specs), "--target", "e2e", "--log-level", "error")
    assert (code, out) == (1, "")
    assert err == f"Error: cannot connect to {url}: Connection refused\n"
    assert err.count("\n") == 1
    assert "unreachable-token" not in err


def test_python_dash_m_runs_the_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout.strip()) == (0, "scimrec, version 0.1.0")


def test_schema_and_init(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from reconciler.spec.schema import schema_text

    code, out, _ = run(capsys, "schema")
    assert (code, out) == (0, schema_text())
    code, out, _ = run(capsys, "init", str(tmp_path / "starter"))
    assert code == 0
    assert f"Wrote {tmp_path / 'starter' / 'targets.yaml'}" in out
    assert run(capsys, "validate", str(tmp_path / "starter"))[0] == 0
    code, _, err = run(capsys, "init", str(tmp_path / "starter"))
    assert code == 1
    assert err.startswith("Error: refusing to overwrite ")


@pytest.mark.parametrize("missing", ["scim2_server", "scim2_models", "pydantic"])
def test_sandbox_without_its_extra_says_how_to_get_it(
    missing: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # None in sys.modules makes `import NAME` fail as if the package were not installed.
    for name in [m for m in sys.modules if m == missing or m.startswith(missing + ".")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, missing, None)
    code, out, err = run(capsys, "sandbox", "--port", str(free_port()))
    assert (code, out) == (1, "")
    assert err.count("\n") == 1
    assert err.startswith("Error: the sandbox needs the optional scim2-server package (")
    assert err.endswith("install it with: pip install 'scimrec[sandbox]'\n")


def test_log_format_and_options_from_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("E2E_SCIM_TOKEN", "env-token")
    url = f"http://127.0.0.1:{free_port()}/scim/v2"
    specs = write_spec(tmp_path / "specs", Target("none", url, "x"), [{"userName": "a@x.io"}])
    refused = f"Error: cannot connect to {url}: Connection refused\n"

    # stderr is not a terminal here: JSON lines by default, readable lines on request.
    _, _, err = run(capsys, "plan", str(specs), "--target", "e2e")
    assert json.loads(err.splitlines()[0])["event"] == "spec loaded"
    _, _, err = run(capsys, "plan", str(specs), "--target", "e2e", "--log-format", "console")
    first = err.splitlines()[0]
    assert "spec loaded" in first
    assert not first.startswith("{")
    # The choice lasts for one run only.
    _, _, err = run(capsys, "plan", str(specs), "--target", "e2e")
    assert json.loads(err.splitlines()[0])["event"] == "spec loaded"

    # Every option also comes from SCIMREC_<COMMAND>_<OPTION>; a flag given wins.
    monkeypatch.setenv("SCIMREC_PLAN_TARGET", "e2e")
    monkeypatch.setenv("SCIMREC_PLAN_LOG_LEVEL", "error")
    assert run(capsys, "plan", str(specs)) == (1, "", refused)
    monkeypatch.setenv("SCIMREC_PLAN_LOG_FORMAT", "console")
    monkeypatch.setenv("SCIMREC_PLAN_LOG_LEVEL", "info")
    _, _, err = run(capsys, "plan", str(specs))
    assert "spec loaded" in err.splitlines()[0]
    assert not err.startswith("{")
    _, _, err = run(capsys, "plan", str(specs), "--log-format", "json")
    assert json.loads(err.splitlines()[0])["event"] == "spec loaded"
    monkeypatch.setenv("SCIMREC_PLAN_LOG_FORMAT", "xml")
    code, _, err = run(capsys, "plan", str(specs))
    assert code == 1
    assert "Invalid value for '--log-format'" in err


def test_every_option_is_named_after_its_flag_in_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"http://127.0.0.1:{free_port()}/scim/v2"
    (tmp_path / "targets.yaml").write_text(
        f"targets:\n  hr: {{url: '{url}'}}\n  crm: {{url: '{url}'}}\n"
    )
    monkeypatch.setenv("SCIMREC_PLAN_TARGET", "hr crm")  # repeatable: split on spaces
    monkeypatch.setenv("SCIMREC_PLAN_FORMAT", "json")
    monkeypatch.setenv("SCIMREC_PLAN_LOG_LEVEL", "error")
    code, out, _ = run(capsys, "plan", str(tmp_path))
    assert code == 1
    assert list(json.loads(out)["targets"]) == ["hr", "crm"]
    monkeypatch.setenv("SCIMREC_APPLY_TARGET", "hr crm")
    code, _, err = run(capsys, "apply", str(tmp_path))
    assert err.startswith("Error: apply works on one target at a time (got: hr, crm)")
    help_text = " ".join(run(capsys, "plan", "--help")[1].split())
    for name in ("SCIMREC_PLAN_FORMAT", "SCIMREC_PLAN_TARGET", "SCIMREC_PLAN_ALL_TARGETS"):
        assert f"env var: {name}" in help_text


def test_targets_lists_them_for_a_matrix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "targets.yaml").write_text(
        "targets:\n"
        "  wiki:\n    url: https://wiki.example.com/scim/v2\n"
        "    auth: {type: bearer, token_env: WIKI_SCIM_TOKEN}\n"
        "  hr:\n    url: https://hr.example.com/scim/v2\n"
        "    auth: {type: basic, username_env: HR_USER, password_env: HR_PASSWORD}\n"
    )
    code, out, _ = run(capsys, "targets", str(tmp_path), "--format", "json")
    assert code == 0
    assert json.loads(out) == [
        {
            "name": "hr",
            "url": "https://hr.example.com/scim/v2",
            "auth": "basic",
            "env": ["HR_USER", "HR_PASSWORD"],
        },
        {
            "name": "wiki",
            "url": "https://wiki.example.com/scim/v2",
            "auth": "bearer",
            "env": ["WIKI_SCIM_TOKEN"],
        },
    ]
    assert out.count("\n") == 1  # one line: a GitHub output value
    code, out, _ = run(capsys, "targets", str(tmp_path))
    assert out == (
        "hr  https://hr.example.com/scim/v2  (basic from HR_USER, HR_PASSWORD)\n"
        "wiki  https://wiki.example.com/scim/v2  (bearer from WIKI_SCIM_TOKEN)\n"
    )


def test_commands_on_one_target_refuse_several(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = Target("none", "http://127.0.0.1:9/scim/v2", "x")
    specs = str(write_spec(tmp_path / "specs", target, [{"userName": "a@example.com"}]))
    for command in ("doctor", "import"):
        extra = ["--out", str(tmp_path / "out")] if command == "import" else []
        code, out, err = run(capsys, command, specs, "-t", "e2e", "-t", "other", *extra)
        assert (code, out) == (1, "")
        assert err == (
            f"Error: {command} works on one target at a time (got: e2e, other); "
            "run it once per target\n"
        )
    code, _, err = run(capsys, "plan", specs, "--all-targets", "--target", "e2e")
    assert (code, err) == (1, "Error: give either --target NAME ... or --all-targets, not both\n")


def test_init_writes_a_specs_folder_and_says_how_to_plan_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "ci.yml").write_text("jobs: {}\n", encoding="utf-8")
    code, out, _ = run(capsys, "init")
    assert code == 0
    assert out.splitlines()[0] == f"Wrote {Path('specs') / 'targets.yaml'}"
    assert out.splitlines()[-1] == (
        "Next: export SANDBOX_SCIM_TOKEN=choose-a-token; scimrec sandbox & "
        "scimrec plan specs --target sandbox"
    )
    targets = (tmp_path / "specs" / "targets.yaml").read_text(encoding="utf-8")
    assert "#   scimrec plan specs --target sandbox " in targets
    # The repository root plans too: its CI workflows are not read as specs.
    assert run(capsys, "validate", ".")[1].startswith("Valid: 3 file(s)")


@pytest.fixture
def buggy_commands() -> Iterator[None]:
    """Two commands that hit a bug, one with --log-level and one without."""
    from reconciler.cli.base import cli, log_option

    @cli.command(name="bug-without-log-level")
    def plain() -> int:
        raise RuntimeError("boom")

    @cli.command(name="bug-with-log-level")
    @log_option
    def logged(log_level: str) -> int:
        raise RuntimeError("boom")

    yield
    del cli.commands["bug-without-log-level"], cli.commands["bug-with-log-level"]


@pytest.mark.usefixtures("buggy_commands")
def test_a_bug_advises_only_options_the_command_has(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "bug-without-log-level") == (
        3,
        "",
        "Internal error (a bug in scimrec): RuntimeError: boom.\n",
    )
    assert run(capsys, "bug-with-log-level") == (
        3,
        "",
        "Internal error (a bug in scimrec): RuntimeError: boom. "
        "Run with --log-level debug to see the traceback.\n",
    )


@pytest.mark.parametrize("command", ["plan", "doctor"])
def test_an_unreachable_target_is_said_once_then_cannot_connect(
    command: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("E2E_SCIM_TOKEN", "env-token")
    url = f"http://127.0.0.1:{free_port()}/scim/v2"
    specs = write_spec(tmp_path / "specs", Target("none", url, "x"), [{"userName": "a@x.io"}])
    code, out, err = run(capsys, command, str(specs), "--target", "e2e", "--log-level", "warning")
    refused = f"cannot connect to {url}: Connection refused"
    if command == "doctor":  # the failure is a finding of its report
        err += f"Error: {refused}\n"
        assert f"fail  auth  credentials  {refused}" in out
    else:
        assert out == ""
    assert code == 1
    *logged, last = err.splitlines()
    assert last == f"Error: {refused}"
    [retrying] = [json.loads(line) for line in logged]
    assert retrying["event"] == "retrying"
    assert retrying["reason"] == f"cannot connect to {url}: Connection refused"
    assert retrying["target"] == "e2e"
    assert len(retrying["run_id"]) == 12
    if command == "plan":
        assert retrying["step"] == "test_connection"
