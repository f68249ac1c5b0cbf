"""`scimrec show`: saved plans rendered offline, and clear one-line refusals."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reconciler.cli import main
from reconciler.core import planfile
from reconciler.core.config import Target
from reconciler.core.diff import AttrChange
from reconciler.core.model import Kind, Observed
from reconciler.core.plan import Action, Change, Plan
from reconciler.report.render import plan_text
from tests.core.test_plan import user_res

MADE = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def save(path: Path, name: str) -> Path:
    target = Target(name, f"https://{name}.example/scim/v2")
    plan = Plan(name, target.url, (Change(Kind.USER, "a@example.com", Action.CREATE, "not found"),))
    path.write_text(planfile.dumps(planfile.to_json(plan, target, Observed((), ()), "d", MADE)))
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_show_one_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hr = save(tmp_path / "hr.plan", "hr")
    code, out, err = run(capsys, "show", str(hr))
    assert code == 0
    assert out == plan_text(planfile.parse(hr.read_text(), "x").plan.to_json())
    assert err == f"{hr}: the plan for target 'hr', made 2026-01-02T03:04:05+00:00\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "{path} is not a scimrec plan file (not JSON)"),
        (
            '{"scimrec_plan": 7}',
            "{path} is a scimrec plan file of format 7, not 2 (made by another version of "
            "scimrec): make a new plan",
        ),
    ],
)
def test_show_refuses_what_is_not_a_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    path = tmp_path / "x.plan"
    path.write_text(content)
    assert run(capsys, "show", str(path)) == (1, "", f"Error: {message.format(path=path)}\n")


def test_show_refusals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hr = save(tmp_path / "hr.plan", "hr")
    again = save(tmp_path / "again.plan", "hr")
    missing = tmp_path / "missing.plan"
    code, out, err = run(capsys, "show", str(missing))
    assert (code, out) == (1, "")
    assert err == f"Error: cannot read plan file {missing}: No such file or directory\n"
    code, _, err = run(capsys, "show", str(hr), str(again))
    assert err.endswith(f"Error: {hr} and {again} are both plans for target 'hr'\n")
    code, _, err = run(capsys, "show", str(hr), "--target", "crm")
    assert err.endswith(f"Error: {hr} is a plan for target 'hr', not for crm\n")


def test_show_needs_something_to_show(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "show") == (
        1,
        "",
        "Error: show needs PLANFILE (or --target for each plan expected)\n",
    )


@pytest.mark.parametrize("kind", ["fifo", "/dev/zero", "/dev/urandom"])
@pytest.mark.parametrize("command", ["show", "apply"])
def test_a_plan_file_that_is_no_regular_file_is_refused_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, command: str
) -> None:
    # A FIFO nobody writes to would hang the run; a device would fill memory.
    if kind == "fifo":
        path = tmp_path / "artifact.plan"
        os.mkfifo(path)
    else:
        path = Path(kind)
    args = ["show", str(path)] if command == "show" else ["apply", "--plan", str(path), "specs"]
    assert run(capsys, *args) == (
        1,
        "",
        f"Error: {path} is no regular file (a FIFO, a device, a directory): not a plan file\n",
    )


def nested(value: object, levels: int) -> object:
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
@pytest.mark.parametrize(("levels", "refused"), [(64, False), (65, True), (900, True)])
def test_a_value_nested_past_the_bound_is_a_damaged_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str, levels: int, refused: bool
) -> None:
    # A target's answer is cut at 64 levels (scim/payload.py), so no plan holds a deeper
    # value; an edited file that does is refused before the renderers walk it (a call a
    # level: past about 350 they would crash).
    target = Target("hr", "https://hr.example/scim/v2")
    change = Change(
        Kind.USER,
        "a@example.com",
        Action.UPDATE,
        "differs",
        "u1",
        attributes=(AttrChange("title", "A", nested("B", levels)),),
    )
    plan = Plan("hr", target.url, (change,))
    path = tmp_path / "deep.plan"
    observed = Observed((user_res("u1", "a@example.com", title="A"),), ())
    path.write_text(planfile.dumps(planfile.to_json(plan, target, observed, "d", MADE)))
    code, _, err = run(capsys, "show", str(path), "--format", fmt)
    if not refused:
        assert code == 0
        return
    assert (code, err) == (
        1,
        f"Error: {path} is a damaged scimrec plan file: plan.changes[0].attributes[0].after: "
        "nested deeper than 64 levels\n",
    )
