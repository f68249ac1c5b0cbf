"""`scimrec import` round trip on the real servers: seed, import, plan → No changes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import Target, write_spec
from tests.e2e.test_lifecycle import RICH, assert_converged, listing, run

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def seed(target: Target) -> None:
    """A target someone else filled: rich users where the server keeps them, else plain."""
    rich = target.flavour in RICH
    with target.http() as http:
        ids: dict[str, str] = {}
        for name, given in (("boss@example.com", "Bea"), ("dev@example.com", "Dev")):
            body: dict[str, Any] = {
                "schemas": [USER],
                "userName": name,
                "externalId": name.split("@")[0],
                "name": {"givenName": given, "familyName": "Example"},
                "emails": [{"value": name, "primary": True}],
                "active": True,
            }
            if rich:
                body["schemas"].append(ENTERPRISE)
                body["title"] = "Engineer"
                body["phoneNumbers"] = [{"value": "+1 555 0100", "type": "work"}]
                body[ENTERPRISE] = {"department": "R&D"}
                if name.startswith("dev"):
                    body[ENTERPRISE]["manager"] = {"value": ids["boss@example.com"]}
            reply = http.post("/Users", json=body)
            assert reply.status_code == 201, reply.text
            ids[name] = reply.json()["id"]
        group = {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Everyone",
        }
        gid = http.post("/Groups", json=group).json()["id"]
        members = [{"value": i} for i in ids.values()]
        patch = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "members", "value": members}],
        }
        assert http.patch(f"/Groups/{gid}", json=patch).status_code in (200, 204)


def test_import_round_trip(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(target)
    specs = write_spec(tmp_path / "specs", target, [])
    out = tmp_path / "imported"
    code, stdout, _ = run(
        capsys,
        "import",
        str(specs),
        "--target",
        "e2e",
        "--out",
        str(out),
        "--adopt",
        "--log-level",
        "error",
    )
    assert code == 0
    assert stdout == (
        f"Imported 2 user(s) and 1 group(s) from target 'e2e' into {out}/ "
        "(groups.yaml, targets.yaml, users.yaml).\n"
    )
    users = yaml.safe_load((out / "users.yaml").read_text())["users"]
    assert [u["userName"] for u in users] == ["boss@example.com", "dev@example.com"]
    assert all("id" not in u and "meta" not in u and "groups" not in u for u in users)
    groups = yaml.safe_load((out / "groups.yaml").read_text())["groups"]
    assert groups == [
        {"displayName": "Everyone", "members": ["boss@example.com", "dev@example.com"]}
    ]
    if target.flavour in RICH:
        assert users[1]["enterprise"] == {"department": "R&D", "manager": "boss@example.com"}
    assert target.token not in (out / "targets.yaml").read_text()

    assert_converged(capsys, out)
    assert len(listing(target, "/Users")) == 2


def test_import_refuses_to_write_inside_the_spec_tree(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    specs = write_spec(tmp_path / "specs", target, [])
    code, _, err = run(
        capsys, "import", str(specs), "--target", "e2e", "--out", str(specs / "imported")
    )
    assert code == 1
    assert "inside" in err


def test_import_with_a_filter_plans_to_no_changes(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Importing part of a target once wrote groups holding only the imported users, and
    # planning that tree removed everyone else from them.
    seed(target)
    specs = write_spec(tmp_path / "specs", target, [])
    out = tmp_path / "imported"
    args = ["--target", "e2e", "--out", str(out), "--adopt", "--log-level", "error"]
    code, _, err = run(
        capsys, "import", str(specs), *args, "--filter", 'userName eq "dev@example.com"'
    )
    assert code == 0, err
    users = yaml.safe_load((out / "users.yaml").read_text())["users"]
    assert [u["userName"] for u in users] == ["dev@example.com"]
    [group] = yaml.safe_load((out / "groups.yaml").read_text())["groups"]
    assert group["members"] == ["dev@example.com"]
    assert group["members_policy"] == "additive"
    assert_converged(capsys, out)
    [everyone] = listing(target, "/Groups")
    assert len(everyone["members"]) == 2


def test_import_without_adopt_says_how_to_plan_the_tree(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(target)
    specs = write_spec(tmp_path / "specs", target, [])
    out = tmp_path / "imported"
    args = ["--target", "e2e", "--out", str(out), "--log-level", "error"]
    code, stdout, _ = run(capsys, "import", str(specs), *args)
    assert code == 0
    assert stdout.splitlines()[1] == (
        f"{out}/ defines no target, so it cannot be planned on its own: move its files into "
        f"{specs}/ (which defines target 'e2e'), or import again with --adopt to write "
        f"{out}/targets.yaml."
    )
    code, _, err = run(capsys, "plan", str(out), "--target", "e2e")
    assert code == 1
    assert err.strip().endswith(
        "no target named 'e2e': the spec defines no targets (add a `targets:` mapping to one "
        "of its files; `scimrec init` writes an example)"
    )
    # Doing what the message says gives a tree that plans to No changes.
    for name in ("users.yaml", "groups.yaml"):
        (out / name).rename(specs / name)
    assert_converged(capsys, specs)


def test_import_refuses_a_directory_that_is_not_empty_without_force(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(target)
    specs = write_spec(tmp_path / "specs", target, [])
    out = tmp_path / "imported"
    out.mkdir()
    (out / "users.yaml").write_text("# someone's work\n", encoding="utf-8")
    args = ["--target", "e2e", "--out", str(out), "--adopt", "--log-level", "error"]
    code, stdout, err = run(capsys, "import", str(specs), *args)
    assert (code, stdout) == (1, "")
    assert err.strip().endswith(
        f"refusing to write into {out}: it is not empty; use --force to replace the imported "
        "files in it"
    )
    assert (out / "users.yaml").read_text(encoding="utf-8") == "# someone's work\n"
    assert run(capsys, "import", str(specs), *args, "--force")[0] == 0
    assert_converged(capsys, out)


def test_adopt_keeps_the_source_targets_safety_settings(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(target)
    safety: dict[str, Any] = {
        "guards": {"max_deletes": 1, "max_delete_percent": 10},
        "protected": ["admin@*"],
        "members_policy": "additive",
    }
    specs = write_spec(tmp_path / "specs", target, [], **safety)
    out = tmp_path / "imported"
    args = ["--target", "e2e", "--out", str(out), "--adopt", "--log-level", "error"]
    assert run(capsys, "import", str(specs), *args)[0] == 0
    adopted = yaml.safe_load((out / "targets.yaml").read_text())["targets"]["e2e"]
    assert {k: adopted.get(k) for k in safety} == safety
    assert_converged(capsys, out)
    # The guard holds in the imported tree: two users marked absent is past max_deletes: 1.
    users = yaml.safe_load((out / "users.yaml").read_text())
    users["users"] = [{"userName": u["userName"], "state": "absent"} for u in users["users"]]
    (out / "users.yaml").write_text(yaml.safe_dump(users), encoding="utf-8")
    (out / "groups.yaml").unlink()
    code, _, err = run(capsys, "apply", str(out), "--target", "e2e", "--auto-approve")
    assert code == 1
    assert "max_deletes" in err, err
    assert len(listing(target, "/Users")) == 2
