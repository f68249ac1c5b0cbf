"""The one way out (cli/output.py): streams and files are scrubbed, however they are written;
and nothing else in the package writes a file."""

from __future__ import annotations

import ast
import io
import json
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from reconciler.cli.output import Redacted, append_file, redacted_streams, write_file
from reconciler.scim.redact import forget_secrets, register_secret

SECRET = "tok-0123456789-abcdefghij"
PACKAGE = Path(__file__).resolve().parents[2] / "reconciler"


@pytest.fixture(autouse=True)
def registered() -> Iterator[None]:
    register_secret(SECRET)
    yield
    forget_secrets()


def test_a_secret_written_in_pieces_is_still_masked() -> None:
    inner = io.StringIO()
    stream = Redacted(inner)
    stream.write("leak " + SECRET[:7])
    stream.write(SECRET[7:] + " and")
    assert inner.getvalue() == ""  # held until the line ends or the writer flushes
    stream.write(" more\nnext " + SECRET)
    assert inner.getvalue() == "leak *** and more\n"
    stream.flush()
    assert inner.getvalue() == "leak *** and more\nnext ***"


def test_bytes_written_through_the_buffer_are_masked() -> None:
    inner = io.StringIO()
    stream = Redacted(inner)
    stream.buffer.write(f"{SECRET}\n".encode())
    assert inner.getvalue() == "***\n"
    with pytest.raises(TypeError):
        stream.write(b"raw")  # type: ignore[arg-type]


def test_click_and_print_go_through_the_streams(capsys: pytest.CaptureFixture[str]) -> None:
    with redacted_streams():
        click.echo(f"out {SECRET}")
        click.echo(f"err {SECRET}", err=True)
        print(f"print {SECRET}")
    out, err = capsys.readouterr()
    assert (out, err) == ("out ***\nprint ***\n", "err ***\n")


def test_files_are_written_scrubbed(tmp_path: Path) -> None:
    write_file(tmp_path / "a", f"a {SECRET}\n")
    append_file(tmp_path / "a", f"b {SECRET}\n")
    assert (tmp_path / "a").read_text(encoding="utf-8") == "a ***\nb ***\n"


WRITERS = frozenset({"write_text", "write_bytes", "open", "write"})


def writes_outside_the_sink(root: Path = PACKAGE) -> list[str]:
    """Calls under `root` that could write a file or a stream, other than in cli/output.py.

    `open(...)` and `.open(...)` count only when their mode writes (w, a, x or +); `.write`
    is allowed in logs.py alone, which writes to sys.stderr (redirected by main).
    """
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        # report/action.py runs in the action's own process, after scimrec, and prints only
        # what it reads from files scimrec wrote (through output.py); it reads no secret.
        if relative in ("cli/output.py", "report/action.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            method = isinstance(func, ast.Attribute)
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name not in WRITERS and name != "print":
                continue
            if name == "open":
                # open(path, mode) or path.open(mode)
                given = node.args[0:1] if method else node.args[1:2]
                given += [k.value for k in node.keywords if k.arg == "mode"]
                modes = [str(a.value) for a in given if isinstance(a, ast.Constant)]
                if not any(set(m) & set("wax+") for m in modes):
                    continue
            if name == "write" and (relative == "logs.py" or not _std_stream(func)):
                continue  # a file handle's write needs an open() that the check sees
            found.append(f"{relative}:{node.lineno} {name}")
    return found


def _std_stream(func: ast.expr) -> bool:
    """`sys.stdout.write` or `sys.stderr.write`."""
    receiver = func.value if isinstance(func, ast.Attribute) else None
    return (
        isinstance(receiver, ast.Attribute)
        and receiver.attr in ("stdout", "stderr")
        and isinstance(receiver.value, ast.Name)
        and receiver.value.id == "sys"
    )


@pytest.mark.parametrize(
    ("encoding", "text", "written"),
    [
        ("utf-8", "user z\ud800 é\n", "user z\\ud800 é\n"),  # a lone surrogate from a target
        ("ascii", "Zoë 😀\n", "Zo\\xeb \\U0001f600\n"),  # a stream that takes ASCII only
        ("utf-8", "plain\n", "plain\n"),
    ],
)
def test_what_a_stream_cannot_encode_is_written_as_an_escape(
    encoding: str, text: str, written: str
) -> None:
    raw = io.BytesIO()
    inner = io.TextIOWrapper(raw, encoding=encoding, errors="strict", write_through=True)
    stream = Redacted(inner)
    stream.write(text)
    stream.flush()
    assert raw.getvalue().decode(encoding) == written


def test_a_lone_surrogate_in_a_json_file_reads_back_as_itself(tmp_path: Path) -> None:
    # The escape is JSON's own: a plan file naming such an id reads back as written.
    value = {"key": "z\ud800", "name": "é"}
    write_file(tmp_path / "plan.json", json.dumps(value, ensure_ascii=False))
    append_file(tmp_path / "plan.json", "\n")
    assert json.loads((tmp_path / "plan.json").read_text(encoding="utf-8")) == value


def test_nothing_else_in_the_package_writes() -> None:
    assert writes_outside_the_sink() == []


def test_the_reader_sees_writes(tmp_path: Path) -> None:
    # If the reader missed these, the test above would pass vacuously.
    (tmp_path / "report.py").write_text(
        'p.write_text("x")\nopen(p, "a")\nprint(1)\nopen(p)\nx.open("w")\nx.open()\n'
        "sys.stdout.write(s)\nsession.write(change)\n",
        encoding="utf-8",
    )
    assert [f.split(" ")[1] for f in writes_outside_the_sink(tmp_path)] == [
        "write_text",
        "open",
        "print",
        "open",
        "write",
    ]
