"""A secret of the run that also occurs in the target's names (a basic-auth password that is
the company's domain, `example`) is masked in them as it arrives: `alice@***.com`. Read so,
every declared user looked missing and every account looked undeclared, and `prune: all`
disabled them all: declared accounts the spec never took away. An object whose name, id
or key holds the mask is now in error, and nothing is decided from it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.cli import main
from reconciler.scim.redact import forget_secrets
from tests.fakescim import BASE_URL, FakeScim

PASSWORD = "example"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("NAMES_USER", "svc")
    monkeypatch.setenv("NAMES_PASSWORD", PASSWORD)
    yield
    forget_secrets()


def _specs(root: Path, prune: str = "all") -> Path:
    target = {
        "url": BASE_URL,
        "auth": {"type": "basic", "username_env": "NAMES_USER", "password_env": "NAMES_PASSWORD"},
        "prune": prune,
        "protected": ["admin@*"],
        "guards": {"max_deletes": 100, "max_delete_percent": 100},
    }
    doc = {
        "version": 1,
        "targets": {"t": target},
        "users": [{"userName": "alice@example.com"}, {"userName": "bob@example.com"}],
    }
    (root / "spec.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    return root


def _run(tmp_path: Path, fake: FakeScim, doc: dict[str, Any], **target: Any) -> int:
    spec = {
        "version": 1,
        "targets": {"t": {"url": BASE_URL, "auth": {"type": "basic", "username_env": "NAMES_USER",
                    "password_env": "NAMES_PASSWORD"}, **target}},
        **doc,
    }  # fmt: skip
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    args = ["apply", str(tmp_path), "-t", "t", "--auto-approve"]
    return main(args, transport=fake.transport)


def _in_error(capsys: pytest.CaptureFixture[str], code: int, fake: FakeScim) -> str:
    """The output of a run that must end in error with nothing written and no secret
    shown: its stdout and stderr together."""
    out, err = capsys.readouterr()
    assert code == 1, out + err
    assert _writes(fake) == []
    assert PASSWORD not in out + err
    return out + err


def test_accounts_whose_names_hold_the_password_are_never_deprovisioned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeScim()
    ids = [fake.add_user(f"{n}@example.com", active=True) for n in ("alice", "bob", "admin")]
    specs = _specs(tmp_path)
    code = main(["apply", str(specs), "-t", "t", "--auto-approve"], transport=fake.transport)
    out, err = capsys.readouterr()
    assert code == 1, out + err
    assert [fake.users[i]["active"] for i in ids] == [True, True, True]
    assert [s for s in fake.requests if s.method in ("PATCH", "PUT", "DELETE")] == []
    assert "holds a secret of this run" in out + err
    assert PASSWORD not in out + err


def test_declared_users_a_masked_account_may_be_are_not_created_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # alice's account reads as alice@***.com: no match for alice@example.com, which looked
    # missing and was POSTed again (a duplicate on a target that allows one). carol, whom
    # no masked account can stand for, is still created.
    fake = FakeScim()
    fake.add_user("alice@example.com", active=True)
    specs = _specs(tmp_path)
    doc = yaml.safe_load((specs / "spec.yaml").read_text(encoding="utf-8"))
    doc["users"] = [{"userName": "alice@example.com"}, {"userName": "carol@corp.test"}]
    (specs / "spec.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    code = main(["apply", str(specs), "-t", "t", "--auto-approve"], transport=fake.transport)
    out, err = capsys.readouterr()
    assert code == 1, out + err
    posted = [s.body for s in fake.requests if s.method == "POST"]
    assert [b["userName"] for b in posted if isinstance(b, dict)] == ["carol@corp.test"]
    assert "may be this one" in out + err
    assert PASSWORD not in out + err


def _apply(root: Path, fake: FakeScim, prune: str | None, users: list[str], **more: Any) -> int:
    """Apply a spec declaring `users` (and `more`, such as groups) to `fake`."""
    target: dict[str, Any] = {"guards": {"max_deletes": 100, "max_delete_percent": 100}}
    if prune is not None:
        target["prune"] = prune
    return _run(root, fake, {"users": [{"userName": name} for name in users], **more}, **target)


# Declared, and held by the target, in names that hold no secret.
CORP = ["alice@corp.test", "bob@corp.test"]


def _target() -> tuple[FakeScim, str]:
    """alice and bob, listed in a first page; carol, whose name holds the password, in a
    second. A create is never refused (a duplicate account would be made)."""
    fake = FakeScim()
    fake.max_count = 2
    fake.unique_names = False
    for name in ("alice@corp.test", "bob@corp.test"):
        fake.add_user(name, active=True)
    return fake, fake.add_user("carol@example.com", active=True)


def _writes(fake: FakeScim) -> list[str]:
    return [f"{s.method} {s.path}" for s in fake.requests if s.method != "GET"]


@pytest.mark.parametrize("cursor", [False, True])
def test_a_stray_a_later_page_masks_is_in_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], cursor: bool
) -> None:
    """Pages read by startIndex or by cursor (RFC 9865): only the second page is masked,
    and it alone puts the undeclared carol in error, never disabled."""
    fake, carol = _target()
    fake.paging(cursor=cursor, index=not cursor)
    code = _apply(tmp_path, fake, "all", CORP)
    shown = _in_error(capsys, code, fake)
    assert fake.users[carol]["active"] is True
    assert f"user {carol} cannot be read: userName: holds a secret of this run" in shown


def test_a_hidden_user_read_by_its_id_is_in_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """carol is left out of the listing (whose pages hold no secret) and read by her id
    because a group holds her: that read alone is masked, and puts her in error."""
    fake, carol = _target()
    fake.hidden.add(carol)
    fake.add_group("Staff", [carol])
    code = _apply(tmp_path, fake, "all", CORP, groups=[{"displayName": "Staff"}])
    shown = _in_error(capsys, code, fake)
    assert fake.users[carol]["active"] is True
    assert "holds a secret of this run" in shown


def test_a_lookup_answered_masked_is_in_error_and_never_created_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Lookup mode (pages that ignore startIndex): dave is looked up by an `eq` filter,
    which answers with his account, its name masked. That answer was dropped as not
    holding his name: he looked missing, and was created again beside the account he has."""
    fake, _ = _target()
    fake.ignore_start_index = True
    dave = fake.add_user("dave@example.com", active=True)
    # Lookup mode cannot prune (it sees only what is declared): no prune here.
    code = _apply(tmp_path, fake, None, [CORP[0], "dave@example.com"])
    shown = _in_error(capsys, code, fake)
    assert f"the target's user {dave} may be this one" in shown


def test_a_mask_the_target_itself_holds_is_its_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Where nothing was masked in what the target sent, the mask's text in a name is the
    target's own (a name such as `ops***`): the account is matched by it, as held."""
    fake = FakeScim()
    fake.add_user("ops***@corp.test", active=True)
    doc = {
        "version": 1,
        "targets": {"t": {"url": BASE_URL, "auth": {"type": "basic", "username_env":
                    "NAMES_USER", "password_env": "NAMES_PASSWORD"}, "prune": "all"}},
        "users": [{"userName": "ops***@corp.test"}],
    }  # fmt: skip
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    code = main(["plan", str(tmp_path), "-t", "t"], transport=fake.transport)
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "No changes." in out
    assert "holds a secret" not in out + err


def _staff(fake: FakeScim, tmp_path: Path, matching: list[str], **alice: Any) -> tuple[int, str]:
    """alice (with `alice`'s attributes) and bob in a group, Staff, declared as held and
    matched on `matching`; the exit code and the id of Staff."""
    ids = [fake.add_user("alice@corp.test", active=True, **alice)]
    bob = {"displayName": "Bob Smith", ENTERPRISE: {"employeeNumber": "B-2"}}
    ids.append(fake.add_user("bob@corp.test", active=True, **bob))
    staff = fake.add_group("Staff", ids)
    users = [
        {"userName": "alice@corp.test", **_declared(alice)},
        {"userName": "bob@corp.test", **_declared(bob)},
    ]
    groups = [{"displayName": "Staff", "members": ["alice@corp.test", "bob@corp.test"]}]
    doc = {"users": users, "groups": groups}
    return _run(tmp_path, fake, doc, matching={"user": matching}), staff


def _declared(attrs: dict[str, Any]) -> dict[str, Any]:
    """A user's SCIM attributes as a spec declares them."""
    out = {k: v for k, v in attrs.items() if k != ENTERPRISE}
    if ENTERPRISE in attrs:
        out["enterprise"] = attrs[ENTERPRISE]
    return out


@pytest.mark.parametrize("lookup", [False, True])
@pytest.mark.parametrize(
    ("matching", "alice"),
    [
        (["displayName"], {"displayName": "Alice Example"}),
        (
            ["enterprise.employeeNumber"],
            {ENTERPRISE: {"employeeNumber": "example-7"}},
        ),
    ],
)  # fmt: skip
def test_any_matching_attribute_masked_puts_the_account_in_error(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    lookup: bool,
    matching: list[str],
    alice: dict[str, Any],
) -> None:
    """Matched on displayName or employeeNumber, alice's value in it reads masked: before,
    only userName, externalId and emails were looked at, so her account matched no one,
    was created again, and (as a user no declared one holds) was taken out of Staff."""
    fake = FakeScim()
    fake.unique_names = False
    fake.ignore_start_index = lookup  # lookup mode: each declared user looked up by filter
    code, staff = _staff(fake, tmp_path, matching, **alice)
    shown = _in_error(capsys, code, fake)
    assert len(fake.groups[staff]["members"]) == 2
    assert "may be this one" in shown


def test_a_masked_lookup_answer_does_not_end_the_matching_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Lookup mode, matched on externalId then userName, on a target whose externalId
    filter answers everyone: carol's externalId reads masked. Her account cannot be
    alice's, so userName is still asked and alice matched, as a full listing would;
    stopping at the masked answer, alice was created again."""
    fake = FakeScim()
    fake.unique_names = False
    fake.ignore_start_index = True
    fake.ignored_filters.add("externalId")
    alice = fake.add_user("alice@corp.test", active=True)
    fake.add_user("carol@corp.test", active=True, externalId="carol@example.com")
    doc = {"users": [{"userName": "alice@corp.test", "externalId": "A-1"}]}
    code = _run(tmp_path, fake, doc, matching={"user": ["externalId", "userName"]})
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert _writes(fake) == [f"PATCH /Users/{alice}"]
    assert fake.users[alice]["externalId"] == "A-1"


def _later_attribute(fake: FakeScim, state: str) -> tuple[dict[str, Any], dict[str, Any]]:
    # alice's account reads alice-***@corp.test; asmith's displayName is alice's.
    fake.add_user("alice-example@corp.test", active=True)
    fake.add_user("asmith@corp.test", active=True, displayName="Alice Smith")
    alice = {"userName": "alice-example@corp.test", "displayName": "Alice Smith", "state": state}
    return {"users": [alice]}, {"matching": {"user": ["userName", "displayName"]}}


def _former_name(fake: FakeScim, state: str) -> tuple[dict[str, Any], dict[str, Any]]:
    # alice was renamed from alice-example@corp.test, which reads masked.
    fake.add_user("alice-example@corp.test", active=True)
    alice = {"userName": "alice@corp.test", "previously": ["alice-example@corp.test"]}
    return {"users": [{**alice, "state": state}]}, {}


def _invisible(fake: FakeScim, state: str) -> tuple[dict[str, Any], dict[str, Any]]:
    # Held with a zero-width space, which matching ignores, and masked.
    fake.add_user("alice-example\u200b@corp.test", active=True)
    return {"users": [{"userName": "alice-example@corp.test", "state": state}]}, {}


def _group_later_attribute(fake: FakeScim, state: str) -> tuple[dict[str, Any], dict[str, Any]]:
    # The Staff group reads Staff-***; another group holds Staff's externalId.
    alice = fake.add_user("alice@corp.test", active=True)
    carol = fake.add_user("carol@corp.test", active=True)
    fake.add_group("Staff-example", [alice])
    other = fake.add_group("Other", [carol])
    fake.groups[other]["externalId"] = "G-1"
    users = [{"userName": "alice@corp.test"}, {"userName": "carol@corp.test"}]
    staff = {"displayName": "Staff-example", "externalId": "G-1", "members": ["alice@corp.test"]}
    return {"users": users, "groups": [staff]}, {
        "matching": {"group": ["displayName", "externalId"]}
    }


@pytest.mark.parametrize("lookup", [False, True])
@pytest.mark.parametrize("state", ["present", "absent"])
@pytest.mark.parametrize(
    "route", [_later_attribute, _former_name, _invisible, _group_later_attribute]
)
def test_an_object_a_masked_account_may_be_is_never_written_through_another_match(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    route: Any,
    state: str,
    lookup: bool,
) -> None:
    """The account a declared object is reads masked, so matching misses it there; another
    way then finds something else (a later matching attribute, a former name) or nothing.
    Before, a matched object was never compared with the masked accounts: another
    account was renamed, disabled or had its members replaced in its place, and a former
    name or an invisible difference led to a duplicate create. Now it is in error."""
    fake = FakeScim()
    fake.unique_names = False
    fake.ignore_start_index = lookup
    doc, target = route(fake, state)
    code = _run(tmp_path, fake, doc, **target)
    shown = _in_error(capsys, code, fake)
    assert "may be this one" in shown


def test_a_nested_group_read_masked_is_never_taken_out_of_its_parent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Native nesting: Parent holds the group Sub-example, whose name reads masked, so its
    declared group's match fails. The plan took the masked group out of Parent as one no
    declared group is (only a failing add before it kept that from being written)."""
    fake = FakeScim()
    alice = fake.add_user("alice@corp.test", active=True)
    bob = fake.add_user("bob@corp.test", active=True)
    sub = fake.add_group("Sub-example", [bob])
    parent = fake.add_group("Parent", [alice])
    fake.groups[parent]["members"] = [{"value": alice}, {"value": sub, "type": "Group"}]
    groups = [
        {"displayName": "Sub-example", "members": ["bob@corp.test"]},
        {"displayName": "Parent", "members": ["alice@corp.test"], "groups": ["Sub-example"]},
    ]
    doc = {
        "users": [{"userName": "alice@corp.test"}, {"userName": "bob@corp.test"}],
        "groups": groups,
    }
    _run(tmp_path, fake, doc, prune="all", nested_groups="native")
    out, err = capsys.readouterr()
    assert "may be this one" in out + err
    assert "- member" not in out, out
    assert {"value": sub, "type": "Group"} in fake.groups[parent]["members"]


TOKEN = "Zq7vTOKENsecretXk29pLmN4wRb"


@pytest.mark.parametrize(
    "spelled",
    [
        "".join(f"%{b:02X}" for b in TOKEN.encode()),
        "".join(f"&#{ord(c)};" for c in TOKEN),
    ],
    ids=["percent-encoded", "html-references"],
)
def test_an_account_whose_name_holds_the_token_escaped_is_never_deprovisioned(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    spelled: str,
) -> None:
    # The page holds no JSON escape but its ETags' quotes, and no other name shows the
    # token: read from its bytes it showed none, the masked-name check was skipped, and
    # `prune: all` disabled the account a reader sees as `x***`.
    monkeypatch.setenv("NAMES_TOKEN", TOKEN)
    fake = FakeScim()
    alice = fake.add_user("alice@example.com", active=True)
    echo = fake.add_user(f"x{spelled}", active=True)
    target = {
        "url": BASE_URL,
        "auth": {"type": "bearer", "token_env": "NAMES_TOKEN"},
        "prune": "all",
        "guards": {"max_deletes": 100, "max_delete_percent": 100},
    }
    doc = {"version": 1, "targets": {"t": target}, "users": [{"userName": "alice@example.com"}]}
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    code = main(["apply", str(tmp_path), "-t", "t", "--auto-approve"], transport=fake.transport)
    out, err = capsys.readouterr()
    assert code == 1, out + err
    assert _writes(fake) == []
    assert TOKEN not in out + err
    assert "holds a secret of this run" in out + err
    assert fake.users[echo]["active"] is True and fake.users[alice]["active"] is True
