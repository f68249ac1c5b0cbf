"""Saved plans cannot be turned into weapons (DESIGN §6): `apply --plan PLANFILE SPECS`.

The attacks that were observed, each now refused with nothing written: an update edited
into a delete, deletes added, the target's URL changed (refused before any connection), a
plan from the future, a changed spec, a protected object. The digest (an HMAC with
SCIMREC_PLAN_KEY) is checked first. `--allow-deletes` works with a saved plan, which needs
no `--auto-approve`. A FakeScim stands in for the target (the real servers run the same
flow in tests/e2e/test_gitops.py); files an attacker edits are re-digested, as anyone
without the key can do, so the checks behind the digest are what is tested.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest
import yaml

from reconciler.cli import main
from reconciler.core.planfile import canonical, digest_of
from tests.fakescim import BASE_URL, FakeScim

TOKEN_ENV = "SAVED_PLAN_TOKEN"
TOKEN = "tok-saved-plans-0123456789"
KEY = "plan-key-0123456789abcdef"
PEOPLE = [f"u{i:02d}@example.com" for i in range(20)]


class World:
    """A target holding 20 users, the spec that declares them, and the runs against it."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch, **settings: Any) -> None:
        monkeypatch.setenv(TOKEN_ENV, TOKEN)
        self.root = root
        self.fake = FakeScim(token=TOKEN)
        self.ids = {name: self.fake.add_user(name, title="Engineer") for name in PEOPLE}
        self.hosts: list[str] = []
        self.settings = {"guards": {"max_deletes": 2}, **settings}
        self.users: list[dict[str, Any]] = [{"userName": n, "title": "Engineer"} for n in PEOPLE]
        self.users[0]["title"] = "Principal Engineer"  # the one reviewed change: an update
        self.specs = root / "specs"
        self.planfile = root / "plan.json"
        self.write_spec()

    def write_spec(self) -> None:
        self.specs.mkdir(exist_ok=True)
        target = {
            "url": BASE_URL,
            "auth": {"type": "bearer", "token_env": TOKEN_ENV},
            **self.settings,
        }
        doc = {"version": 1, "targets": {"prod": target}, "users": self.users}
        (self.specs / "spec.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")

    @property
    def transport(self) -> httpx2.MockTransport:
        def handle(request: httpx2.Request) -> httpx2.Response:
            self.hosts.append(request.url.host)
            return self.fake.handle(request)

        return httpx2.MockTransport(handle)

    def run(self, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
        code = main([*args, "--log-level", "error"], transport=self.transport)
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        assert code != 3, err
        return code, out, err

    def plan(self, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, Any]:
        code, _, err = self.run(
            capsys, "plan", str(self.specs), "--out", str(self.planfile), *extra
        )
        assert code in (0, 1), err
        data: dict[str, Any] = json.loads(self.planfile.read_text(encoding="utf-8"))
        return data

    def apply(self, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
        self.fake.requests.clear()
        self.hosts.clear()
        return self.run(capsys, "apply", "--plan", str(self.planfile), str(self.specs), *extra)

    def writes(self) -> list[str]:
        return [f"{s.method} {s.path}" for s in self.fake.requests if s.method != "GET"]

    def save(self, data: dict[str, Any], key: str | None = None) -> None:
        """Write `data` as the plan file, digested the way anyone editing it could."""
        content = {k: v for k, v in data.items() if k != "digest"}
        if key is None:
            data["digest"] = digest_of(content, None)
        else:
            value = hmac.new(key.encode(), canonical(content), hashlib.sha256).hexdigest()
            data["digest"] = {"algorithm": "hmac-sha256", "value": value}
        self.planfile.write_text(json.dumps(data), encoding="utf-8")


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.delenv("SCIMREC_PLAN_KEY", raising=False)
    return World(tmp_path, monkeypatch)


def refused(result: tuple[int, str, str], message: str) -> None:
    code, _, err = result
    assert code == 1
    assert err.startswith("Error: "), err
    assert err.count("\n") == 1, err
    assert message in err, err


# -- the reviewed plan applies, without --auto-approve -------------------------------------


def test_the_reviewed_plan_applies_without_auto_approve(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.plan(capsys)
    code, out, err = world.apply(capsys)  # stdin is not a terminal here
    assert code == 0, err
    assert "Apply complete: 0 created, 1 updated" in out
    assert world.writes() == [f"PATCH /Users/{world.ids[PEOPLE[0]]}"]


@pytest.mark.parametrize("saved", [True, False])
def test_an_object_in_error_is_in_the_last_line_of_apply(
    world: World, capsys: pytest.CaptureFixture[str], saved: bool
) -> None:
    # Two accounts for one declared user: the plan puts it in error and applies the rest.
    world.fake.unique_names = False
    world.fake.add_user(PEOPLE[5].upper(), title="Engineer")
    if saved:
        world.plan(capsys)
        code, out, err = world.apply(capsys)
    else:
        code, out, err = world.run(capsys, "apply", str(world.specs), "--auto-approve")
    assert code == 1, err
    assert world.writes() == [f"PATCH /Users/{world.ids[PEOPLE[0]]}"]
    assert out.splitlines()[-1] == (
        "Apply finished with objects in error: 0 created, 1 updated, 0 disabled, 0 deleted, "
        "0 failed; 1 in error, not applied."
    )


def test_apply_plan_needs_the_spec(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.plan(capsys)
    code, _, err = world.run(capsys, "apply", "--plan", str(world.planfile))
    assert code == 1
    assert err.startswith("Error: apply --plan needs the spec tree too:")


# -- the attacks of the issue ---------------------------------------------------------------


def test_an_update_edited_into_a_delete_is_refused(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    data = world.plan(capsys)
    data["plan"]["changes"][0]["action"] = "delete"
    world.save(data)
    refused(world.apply(capsys), "u00@example.com: the plan's delete differs from what the spec")
    assert world.writes() == []


def test_added_deletes_are_refused(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    data = world.plan(capsys)
    for name in PEOPLE[1:]:
        uid = world.ids[name]
        data["plan"]["changes"].append(
            {"kind": "user", "key": name, "action": "delete", "reason": "", "target_id": uid}
        )
        version = world.fake.users[uid]["meta"]["version"]
        data["seen"].append(
            {"kind": "user", "key": name, "id": uid, "fingerprint": f"version:{version}"}
        )
    world.save(data)
    refused(world.apply(capsys), "the spec and the target no longer call for that (and 18 more)")
    assert world.writes() == []
    assert len(world.fake.users) == 20


def test_a_plan_pointed_at_another_server_never_connects(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    data = world.plan(capsys)
    elsewhere = "https://attacker.test/scim/v2"
    data["target"]["url"] = data["plan"]["target"]["url"] = elsewhere
    world.save(data)
    refused(
        world.apply(capsys),
        "the settings of target 'prod' differ between the plan and the spec (url)",
    )
    assert world.hosts == []  # not a single request, to either server


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("auth", {"type": "bearer", "token_env": "OTHER_TOKEN"}),
        ("guards", {"max_deletes": 1000}),
        ("protected", ["nobody@example.com"]),
        ("ca_bundle", "attacker-ca.pem"),
    ],
)
def test_any_target_setting_edited_in_the_file_is_refused(
    world: World, capsys: pytest.CaptureFixture[str], setting: str, value: Any
) -> None:
    data = world.plan(capsys)
    if setting == "guards":
        data["target"]["max_deletes"] = 1000
        setting = "max_deletes"
    else:
        data["target"][setting] = value
    world.save(data)
    refused(world.apply(capsys), f"differ between the plan and the spec ({setting})")
    assert world.hosts == []


def test_a_plan_from_the_future_is_refused(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    data = world.plan(capsys)
    data["created_at"] = "2999-01-01T00:00:00+00:00"
    world.save(data)
    refused(
        world.apply(capsys), "the plan says it was made at 2999-01-01T00:00:00+00:00, in the future"
    )
    assert world.hosts == []


def test_a_changed_spec_is_refused(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.plan(capsys)
    world.users[1]["title"] = "Manager"
    world.write_spec()
    refused(world.apply(capsys), "refusing to apply a stale plan: the spec changed since the plan")
    assert world.hosts == []


def test_a_protected_object_is_never_deprovisioned_by_a_saved_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    world = World(tmp_path, monkeypatch, protected=["u05@*"])
    data = world.plan(capsys)
    uid = world.ids["u05@example.com"]
    data["plan"]["changes"].append(
        {
            "kind": "user",
            "key": "u05@example.com",
            "action": "disable",
            "target_id": uid,
            "attributes": [{"path": "active", "before": None, "after": False}],
        }
    )
    version = world.fake.users[uid]["meta"]["version"]
    data["seen"].append(
        {"kind": "user", "key": "u05@example.com", "id": uid, "fingerprint": f"version:{version}"}
    )
    world.save(data)
    refused(
        world.apply(capsys),
        "the plan goes past the spec's `protected`: user u05@example.com is protected: "
        "not disabled",
    )
    assert world.writes() == []


# -- the digest and the key ------------------------------------------------------------------


def test_an_edit_without_redigesting_is_refused(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    data = world.plan(capsys)
    data["plan"]["changes"][0]["reason"] = "edited"
    world.planfile.write_text(json.dumps(data), encoding="utf-8")
    refused(world.apply(capsys), "its digest does not match")
    assert world.hosts == []


def test_with_a_key_an_edited_file_is_refused_and_the_reviewed_one_applies(
    world: World, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCIMREC_PLAN_KEY", KEY)
    data = world.plan(capsys)
    assert data["digest"]["algorithm"] == "hmac-sha256"
    original = world.planfile.read_text(encoding="utf-8")
    # Edited and re-digested without the key, or re-signed with another: refused.
    data["plan"]["changes"][0]["reason"] = "edited"
    world.save(data)
    refused(world.apply(capsys), "SCIMREC_PLAN_KEY is set but the file carries no HMAC")
    world.save(data, key="another-key-0000")
    refused(world.apply(capsys), "its HMAC does not match")
    assert world.hosts == []
    world.planfile.write_text(original, encoding="utf-8")
    code, _, err = world.apply(capsys)
    assert code == 0, err
    assert KEY not in original


def test_a_signed_file_needs_the_key_to_be_checked(
    world: World, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCIMREC_PLAN_KEY", KEY)
    world.plan(capsys)
    monkeypatch.delenv("SCIMREC_PLAN_KEY")
    refused(world.apply(capsys), "the file carries an HMAC; set SCIMREC_PLAN_KEY")


# -- guards, with their override --------------------------------------------------------------


def test_allow_deletes_works_with_a_saved_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    world = World(tmp_path, monkeypatch, deprovision="delete")
    for user in world.users[1:4]:
        user["state"] = "absent"
    world.write_spec()
    data = world.plan(capsys)
    assert data["plan"]["guards"]  # the plan job saw the guard trip, and saved it anyway
    code, _, err = world.apply(capsys)
    assert code == 1
    assert "refusing to apply: 3 deprovisions (3 user deletes) in one run" in err
    assert world.writes() == []
    code, out, err = world.apply(capsys, "--allow-deletes", "3")
    assert code == 0, err
    assert sorted(world.writes())[:3] == sorted(
        f"DELETE /Users/{world.ids[n]}" for n in PEOPLE[1:4]
    )
    assert (
        "Guard passed: 3 deprovisions (3 user deletes) in one run, more than "
        "guards.max_deletes (2); allowed by --allow-deletes 3\n"
    ) in out


def test_an_allowance_left_in_the_environment_says_so_when_it_passes_a_guard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Set in a job's environment, it lifts the guards on every run: each run says so, on
    # stdout beside the plan and in the logs at warning, naming the variable.
    world = World(tmp_path, monkeypatch, deprovision="delete")
    world.settings["guards"] = {"max_deletes": 2, "max_member_removals": 0}
    for user in world.users[1:4]:
        user["state"] = "absent"
    world.write_spec()
    monkeypatch.setenv("SCIMREC_APPLY_ALLOW_DELETES", "30")
    monkeypatch.setenv("SCIMREC_APPLY_ALLOW_MEMBER_REMOVALS", "5")  # no removals: nothing
    args = ["apply", str(world.specs), "--auto-approve", "--log-level", "warning"]
    code = main(args, transport=world.transport)
    out, err = capsys.readouterr()
    assert code == 0, err
    reason = (
        "3 deprovisions (3 user deletes) in one run, more than guards.max_deletes (2); "
        "allowed by the environment variable SCIMREC_APPLY_ALLOW_DELETES=30"
    )
    assert [line for line in out.splitlines() if "Guard" in line] == [f"Guard passed: {reason}"]
    warned = [json.loads(line) for line in err.splitlines() if "guard passed" in line]
    assert [(w["level"], w["event"], w["detail"]) for w in warned] == [
        ("warning", "guard passed by an allowance", reason)
    ]
    # With no guard to pass, the allowance has nothing to say.
    code = main(args, transport=world.transport)
    out, err = capsys.readouterr()
    assert (code, "Guard" in out + err) == (0, False), out + err


def test_the_guards_are_the_spec_s_not_the_file_s(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    world = World(tmp_path, monkeypatch, deprovision="delete")
    for user in world.users[1:4]:
        user["state"] = "absent"
    world.write_spec()
    data = world.plan(capsys)
    data["plan"]["guards"] = []  # the file claims no guard tripped
    world.save(data)
    refused(world.apply(capsys), "refusing to apply: 3 deprovisions (3 user deletes) in one run")
    assert world.writes() == []


# -- malformed files: exit 1, one line, never a crash -------------------------------------------


Edit = Callable[[dict[str, Any]], Any]


def _set(path: str, value: Any) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return edit


def _drop(path: str) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        del node[last]

    return edit


MALFORMED: list[tuple[str, Edit, str]] = [
    ("seen of an unknown kind", _set("seen.0.kind", "robot"), "seen[0].kind: expected one of"),
    (
        "an absent entry without its change",
        lambda d: d["seen"].append({"kind": "user", "key": "ghost@example.com", "absent": True}),
        "seen[1]: no change (or a second entry) for user ghost@example.com",
    ),
    ("a change without its seen entry", lambda d: d["seen"].clear(), "seen: nothing recorded"),
    ("an unknown action", _set("plan.changes.0.action", "destroy"), "plan.changes[0].action"),
    ("a change kind of the wrong type", _set("plan.changes.0.kind", 7), "plan.changes[0].kind"),
    ("attributes not a list", _set("plan.changes.0.attributes", {}), "attributes: expected a list"),
    (
        "an attribute path a number",
        _set("plan.changes.0.attributes.0.path", 1),
        ".path: expected a string",
    ),
    ("a missing change key", _drop("plan.changes.0.key"), "plan.changes[0]: missing 'key'"),
    ("an unknown change field", _set("plan.changes.0.password", "x"), "unknown field 'password'"),
    ("changes not a list", _set("plan.changes", "all"), "plan.changes: expected a list"),
    ("seen not a list", _set("seen", {}), "seen: expected a list"),
    (
        "a target id that differs",
        _set("seen.0.id", "u999"),
        "the id differs from the change's target_id",
    ),
    (
        "a create with a target id",
        _set("plan.changes.0.action", "create"),
        "a create has no target_id",
    ),
    ("a missing plan", _drop("plan"), "file: missing 'plan'"),
    ("created_at not a date", _set("created_at", "yesterday"), "created_at: expected a date"),
    (
        "created_at without a zone",
        _set("created_at", "2030-01-01T00:00:00"),
        "expected a time zone",
    ),
    (
        "created_at before year 1 in UTC",
        _set("created_at", "0001-01-01T00:00:00+14:00"),
        "created_at: out of range",
    ),
    ("a plan format from elsewhere", _set("plan.format_version", 9), "plan.format_version"),
    (
        "a member not an object",
        _set("plan.changes.0.members", {"add": [5]}),
        "unknown field 'members'",
    ),
    ("noop negative", _set("plan.summary.noop", -1), "plan.summary.noop"),
    ("complete_read a string", _set("plan.complete_read", "yes"), "plan.complete_read"),
    ("an unknown top-level field", _set("extra", 1), "file: unknown field 'extra'"),
    (
        "a second change to one object",
        lambda d: d["plan"]["changes"].append(d["plan"]["changes"][0]),
        "a second change",
    ),
]


@pytest.mark.parametrize(
    ("edit", "message"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_a_malformed_plan_file_is_one_clear_line(
    world: World, capsys: pytest.CaptureFixture[str], edit: Edit, message: str
) -> None:
    data = world.plan(capsys)
    edit(data)
    world.save(data)
    refused(world.apply(capsys), message)
    assert world.hosts == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is not a scimrec plan file (not JSON)"),
        ('{"scimrec_plan": 2, "plan": {', "is not a scimrec plan file (not JSON)"),
        ("[1, 2]", "is not a scimrec plan file"),
        ('{"scimrec_plan": 1}', "of format 1, not 2 (made by another version of scimrec)"),
        ('{"scimrec_plan": 2}', "carries no digest"),
        ('{"scimrec_plan": 2, "digest": {"algorithm": "md5", "value": "x"}}', "a digest scimrec"),
        ("[" * 100_000 + "]" * 100_000, "(not JSON)"),
        ('{"scimrec_plan": 2, "x": NaN}', "(not JSON)"),
    ],
    ids=["empty", "truncated", "a list", "format 1", "no digest", "unknown digest", "deep", "NaN"],
)
def test_a_file_that_is_no_plan_is_one_clear_line(
    world: World, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    world.planfile.write_text(text, encoding="utf-8")
    refused(world.apply(capsys), message)


def test_a_huge_or_binary_file_is_refused(
    world: World, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from reconciler.cli import base

    world.planfile.write_bytes(b"\xff\xfe" + b"\x00" * 100)
    refused(world.apply(capsys), "(not UTF-8 text)")
    monkeypatch.setattr(base, "MAX_PLAN_FILE_BYTES", 50)
    world.planfile.write_text(" " * 51, encoding="utf-8")
    refused(world.apply(capsys), "is larger than any plan file scimrec writes")
