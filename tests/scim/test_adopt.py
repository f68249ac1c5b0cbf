"""A planned create the target answers 409 (apply/creates.py `adopt`): the account the
listing hid is adopted, brought to the declared attributes with no write of what already
holds, named in the log and in what the run withholds, and used wherever the spec names
it; an adoption that would take access away ends in error saying why (fault injection
against FakeScim: nothing of reconciler is patched)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.core.plan import Action
from reconciler.run import prepare
from reconciler.scim.apply.runner import Applier, ApplyResult
from tests.fakescim import FakeScim
from tests.scim.conftest import TOKEN
from tests.scim.test_faults import RecordingLog, outcomes, user, write_spec

pytestmark = pytest.mark.usefixtures("token")


def apply(specs: Path, fake: FakeScim) -> tuple[ApplyResult, RecordingLog]:
    prepared = prepare(specs, "fake", transport=fake.transport)
    assert prepared.observed.complete  # the listing hides ana, and nothing tells on it
    log = RecordingLog()
    try:
        result = Applier(prepared.client, prepared.target, prepared.caps, log).run(prepared.plan)
    finally:
        prepared.client.close()
    return result, log


def hidden(fake: FakeScim, name: str, **attrs: Any) -> str:
    uid = fake.add_user(name, **attrs)
    fake.hidden.add(uid)
    return uid


def writes_to(fake: FakeScim, uid: str) -> list[Any]:
    return [s for s in fake.requests if s.method in ("PATCH", "PUT") and s.path.endswith(uid)]


def messages(result: ApplyResult) -> dict[str, str]:
    return {o.key: o.message for o in result.outcomes}


def test_an_adopted_account_is_logged_written_once_used_and_withholds_deprovisions(
    tmp_path: Path,
) -> None:
    fake = FakeScim(token=TOKEN)
    ana = hidden(fake, "ana@example.com", active=True, title="Old", displayName="Ana")
    fake.add_user("gone@example.com", active=True)
    specs = write_spec(
        tmp_path,
        [
            user("ana@example.com", title="Eng", displayName="Ana"),
            user("gone@example.com", state="absent"),
        ],
        [{"displayName": "Staff", "members": ["ana@example.com"]}],
    )
    result, log = apply(specs, fake)
    adopted = [e for e in log.events if e[1] == "create answered by adopting the existing object"]
    assert adopted == [
        (
            "warning",
            "create answered by adopting the existing object",
            {
                "step": "match",
                "kind": "user",
                "key": "ana@example.com",
                "status": 409,
                "target_id": ana,
            },
        )
    ]
    # One write, of the one attribute that differs (not of those already as declared).
    [write] = writes_to(fake, ana)
    assert [op.get("path") for op in write.body["Operations"]] == ["title"]
    assert fake.users[ana]["title"] == "Eng"
    # The group gets the adopted account, by its id.
    [staff] = [g for g in fake.groups.values() if g["displayName"] == "Staff"]
    assert [m["value"] for m in staff["members"]] == [ana]
    # The listing hid ana: no deprovision is trusted in this run, and the reason names her.
    assert outcomes(result)["gone@example.com"] == (Action.DISABLE, False)
    assert messages(result)["gone@example.com"] == (
        "not disabled: the target holds user ana@example.com, which its listing did not "
        "show; run plan again"
    )


def test_an_adopted_account_gets_a_manager_created_in_the_same_run(tmp_path: Path) -> None:
    # The plan names the manager by key (no id yet); adoption writes the id the run made.
    fake = FakeScim(token=TOKEN)
    ana = hidden(fake, "ana@example.com", active=True)
    specs = write_spec(
        tmp_path,
        [
            user("boss@example.com"),
            user("ana@example.com", enterprise={"manager": "boss@example.com"}),
        ],
    )
    result, log = apply(specs, fake)
    assert not result.failed, result.failed
    (boss,) = fake.user_named("boss@example.com")
    enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    assert fake.users[ana][enterprise]["manager"]["value"] == boss["id"]
    # The audit trail names the reference the id stands for.
    [write] = [e[2] for e in log.events if e[1] == "write" and e[2]["method"] == "PATCH"]
    assert write["attributes"] == [
        {
            "path": "enterprise.manager",
            "before": None,
            "after": boss["id"],
            "ref": "boss@example.com",
        }
    ]


@pytest.mark.parametrize(
    ("found", "declared", "what"),
    [
        ({"active": True}, {"active": False}, "inactive"),
        (
            {"active": True, "roles": [{"value": "admin", "primary": True}]},
            {"roles": [{"value": "member", "primary": True}]},
            "fewer roles",
        ),
    ],
    ids=["inactive", "fewer roles"],
)
def test_an_adoption_that_would_take_access_away_says_a_plan_must(
    tmp_path: Path, found: dict[str, Any], declared: dict[str, Any], what: str
) -> None:
    fake = FakeScim(token=TOKEN)
    ana = hidden(fake, "ana@example.com", **found)
    result, _ = apply(write_spec(tmp_path, [user("ana@example.com", **declared)]), fake)
    assert outcomes(result)["ana@example.com"] == (Action.CREATE, False)
    assert messages(result)["ana@example.com"] == (
        f"adopted {ana}, which has more access on the target; the spec says {what}, and "
        "taking access away needs a plan: run plan again"
    )
    assert fake.users[ana]["active"] is True


@pytest.mark.parametrize("etags", [True, False], ids=["etags", "no etags"])
def test_an_adopted_account_s_write_is_conditional_where_the_target_has_etags(
    tmp_path: Path, etags: bool
) -> None:
    fake = FakeScim(token=TOKEN)
    fake.config["etag"] = {"supported": etags}
    ana = hidden(fake, "ana@example.com", active=True, title="Old")
    version = fake.users[ana]["meta"]["version"]
    result, _ = apply(write_spec(tmp_path, [user("ana@example.com", title="Eng")]), fake)
    assert not result.failed, result.failed
    [write] = writes_to(fake, ana)
    assert write.headers.get("if-match") == (version if etags else None)


def test_an_adopted_account_as_declared_but_for_case_is_not_written(tmp_path: Path) -> None:
    # userName ignores case (RFC 7643): the account found is the one declared, as it is.
    fake = FakeScim(token=TOKEN)
    ana = hidden(fake, "ANA@example.com", active=True)
    result, _ = apply(write_spec(tmp_path, [user("ana@example.com")]), fake)
    assert outcomes(result) == {"ana@example.com": (Action.UPDATE, True)}  # adopted
    assert writes_to(fake, ana) == []


def test_only_active_false_counts_as_a_disable_when_adopting(tmp_path: Path) -> None:
    # Another attribute set to false is an attribute like any other: it is written.
    acme = "urn:example:params:scim:schemas:extension:acme:2.0:User"
    fake = FakeScim(token=TOKEN)
    ana = hidden(fake, "ana@example.com", active=True, **{acme: {"contractor": True}})
    specs = write_spec(
        tmp_path,
        [user("ana@example.com")],
        extensions={"acme": acme},
        mappings={"user": {"acme.contractor": {"constant": False}}},
    )
    result, _ = apply(specs, fake)
    assert outcomes(result) == {"ana@example.com": (Action.UPDATE, True)}  # adopted
    [write] = writes_to(fake, ana)
    assert [(op["path"], op["value"]) for op in write.body["Operations"]] == [
        (f"{acme}:contractor", False)
    ]
