"""Disable now, delete later, end to end: the time of disabling recorded on the target with
the disable, the plan's schedule, and a delete (through the guards) once the period has
passed; on targets that keep no such time, the account is disabled and never deleted."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import scim2_server

from reconciler.core.config import DISABLED_AT, LIFECYCLE_URN
from tests.conftest import TOKEN_ENV, Target, write_spec
from tests.e2e.test_lifecycle import assert_converged, by_name, person, run
from tests.servers.launch import Server, start_scim2_server

LIFECYCLE = {"action": "disable", "delete_after": "30d"}


@pytest.fixture(scope="module")
def lifecycle_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """scim2-server serving scimrec's lifecycle extension, as a target that keeps it."""
    folder = tmp_path_factory.mktemp("lifecycle")
    defaults = Path(scim2_server.__file__).parent / "resources"
    schemas = json.loads((defaults / "default-schemas.json").read_text())
    schemas.append(
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
            "id": LIFECYCLE_URN,
            "name": "Lifecycle",
            "description": "When scimrec disabled the account",
            "attributes": [
                {
                    "name": "disabledAt",
                    "type": "dateTime",
                    "multiValued": False,
                    "required": False,
                    "mutability": "readWrite",
                    "returned": "default",
                    "uniqueness": "none",
                    "description": "The time scimrec disabled the account",
                }
            ],
            "meta": {"resourceType": "Schema", "location": f"/Schemas/{LIFECYCLE_URN}"},
        }
    )
    types = json.loads((defaults / "default-resource-types.json").read_text())
    types[0]["schemaExtensions"].append({"schema": LIFECYCLE_URN, "required": False})
    (folder / "schemas.json").write_text(json.dumps(schemas))
    (folder / "types.json").write_text(json.dumps(types))
    server = start_scim2_server(
        "--schema", str(folder / "schemas.json"), "--resource-type", str(folder / "types.json")
    )
    yield server
    server.stop()


def stamped(user: dict[str, Any]) -> datetime | None:
    value = (user.get(LIFECYCLE_URN) or {}).get("disabledAt")
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def test_disabled_then_deleted_once_the_recorded_time_is_past(
    lifecycle_server: Server,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(TOKEN_ENV, lifecycle_server.token)
    target = Target(
        "scim2-server",
        f"{lifecycle_server.url}/t{uuid.uuid4().hex[:10]}/v2",
        lifecycle_server.token,
    )
    users = [
        person(target, "ana@example.com", "Ana", "Ng"),
        person(target, "ben@example.com", "Ben", "Ode"),
    ]
    settings: dict[str, Any] = {"deprovision": LIFECYCLE, "guards": {"max_deletes": 0}}
    specs = write_spec(tmp_path / "specs", target, users, **settings)
    assert run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")[0] == 0

    users[1] = {"userName": "ben@example.com", "state": "absent"}
    write_spec(tmp_path / "specs", target, users, **settings)
    started = datetime.now(UTC).replace(microsecond=0)
    # Through a saved plan, as a pull request's reviewed plan is applied on merge: the time
    # recorded is the plan's, and apply accepts it as the one reviewed.
    saved = tmp_path / "ben.plan"
    code, out, err = run(capsys, "plan", str(specs), "--target", "e2e", "--out", str(saved))
    assert code == 0, err
    assert "  - disable user ben@example.com" in out
    assert f"      {DISABLED_AT}  null → " in out
    code, out, err = run(capsys, "apply", "--plan", str(saved), str(specs), "--allow-deletes", "1")
    assert code == 0, out + err
    ben = by_name(target)["ben@example.com"]
    assert ben["active"] is False
    when = stamped(ben)
    assert when is not None and started <= when <= datetime.now(UTC)

    # Within the period: nothing to do, and the plan says when the account goes.
    code, out, _ = run(capsys, "plan", str(specs), "--target", "e2e", "--detailed-exitcode")
    assert code == 0
    due = (when + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert f"Scheduled: user ben@example.com (id {ben['id']}) disabled " in out
    assert f"deleted on or after {due}" in out

    # The period passes: shortened to a second, and waited out. The recorded time cannot be
    # set back instead: a time before the account's meta.created is implausible, and
    # counts for nothing (core/lifecycle.py).
    settings["deprovision"] = {**LIFECYCLE, "delete_after": "1s"}
    write_spec(tmp_path / "specs", target, users, **settings)
    time.sleep(max(0.0, (when + timedelta(seconds=2) - datetime.now(UTC)).total_seconds()))
    code, out, _ = run(capsys, "plan", str(specs), "--target", "e2e")
    assert f"  - delete user ben@example.com  (id {ben['id']})" in out
    # These deletes go through the guards like any other.
    assert (
        "Guard: 1 deprovision (1 user delete) in one run, more than guards.max_deletes (0)" in out
    )
    code, _, err = run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")
    assert code == 1 and "refusing to apply" in err
    assert "ben@example.com" in by_name(target)
    code, out, err = run(
        capsys, "apply", str(specs), "--target", "e2e", "--auto-approve", "--allow-deletes", "1"
    )
    assert code == 0, out + err
    assert sorted(by_name(target)) == ["ana@example.com"]
    assert_converged(capsys, specs)


def test_a_target_that_keeps_no_disable_time_disables_and_never_deletes(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """scim2-server refuses the unknown extension (400), django-scim2 drops it: the account
    is disabled all the same, and never deleted, and the plan says why."""
    users = [
        person(target, "ana@example.com", "Ana", "Ng"),
        person(target, "ben@example.com", "Ben", "Ode"),
    ]
    specs = write_spec(tmp_path / "specs", target, users, deprovision=LIFECYCLE)
    assert run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")[0] == 0
    users[1] = {"userName": "ben@example.com", "state": "absent"}
    write_spec(tmp_path / "specs", target, users, deprovision=LIFECYCLE)
    code, out, err = run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")
    assert code == 0, out + err
    assert by_name(target)["ben@example.com"]["active"] is False
    code, out, _ = run(capsys, "plan", str(specs), "--target", "e2e", "--detailed-exitcode")
    assert code == 0
    assert (
        "Note: 1 disabled user(s) have no time of disabling on the target "
        f"({DISABLED_AT}), so delete_after never deletes them: ben@example.com" in out
    )
    assert_converged(capsys, specs)


def test_meta_last_modified_where_the_target_keeps_it_honestly(
    scim2_server: Server,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """scim2-server moves meta.lastModified on every write (django-scim2 does not: see
    tests/servers/django_scim/QUIRKS.md §2). A period of one second, then a real wait."""
    monkeypatch.setenv(TOKEN_ENV, scim2_server.token)
    target = Target(
        "scim2-server", f"{scim2_server.url}/t{uuid.uuid4().hex[:10]}/v2", scim2_server.token
    )
    lifecycle = {"action": "disable", "delete_after": "1s", "disabled_at": "meta.lastModified"}
    users = [person(target, "ben@example.com", "Ben", "Ode")]
    specs = write_spec(tmp_path / "specs", target, users, deprovision=lifecycle)
    assert run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")[0] == 0
    write_spec(
        tmp_path / "specs",
        target,
        [{"userName": "ben@example.com", "state": "absent"}],
        deprovision=lifecycle,
    )
    code, out, _ = run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")
    assert code == 0 and "  - disable user ben@example.com" in out
    assert LIFECYCLE_URN not in out  # nothing of it is written: the target keeps the time
    time.sleep(1.5)
    code, out, _ = run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")
    assert code == 0 and "  - delete user ben@example.com" in out
    assert by_name(target) == {}
    assert_converged(capsys, specs)
