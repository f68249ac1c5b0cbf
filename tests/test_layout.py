"""tests/ mirrors reconciler/, and the e2e marker sits exactly on the tests that start a server.

The marker itself is set by tests/conftest.py from where a test lives, and a test that uses
a server fixture outside tests/e2e/ is refused at collection. What that cannot see is a
server started by hand inside a test body; this reads the test sources for that.
"""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent
PACKAGE = TESTS.parent / "reconciler"
# How a test could start a SCIM server without going through a fixture.
STARTS_A_SERVER = re.compile(
    r"\bSandbox\(|\bstart_scim2_server\(|\bstart_django_scim\(|\bstart_better_auth_scim\(|"
    r"\bstart_scimmy\(|\bmake_app\("
)


def test_servers_are_started_only_in_e2e_and_fixtures() -> None:
    starting = sorted(
        str(path.relative_to(TESTS))
        for path in TESTS.rglob("test_*.py")
        if "e2e" not in path.relative_to(TESTS).parts
        and path.name != "test_layout.py"
        and STARTS_A_SERVER.search(path.read_text(encoding="utf-8"))
    )
    assert starting == []


def test_every_part_of_the_package_has_its_tests() -> None:
    parts = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    folders = {p.name for p in TESTS.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert parts <= folders, sorted(parts - folders)


def test_the_reader_sees_a_server_started_by_hand() -> None:
    assert STARTS_A_SERVER.search("    server = Sandbox(token=TOKEN).start()")
    assert not STARTS_A_SERVER.search("from reconciler.scim.sandbox import Sandbox")
