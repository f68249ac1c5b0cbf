"""A write refused for its If-Match (412) or for the lack of one (428) says what to do next:
a target that never takes scimrec's versions otherwise looks like one that keeps changing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fakescim import ERROR_SCHEMA, FakeScim, Seen
from tests.scim.test_faults import plan_and_apply, user, write_spec

pytestmark = pytest.mark.usefixtures("token")


@pytest.mark.parametrize(
    ("status", "etag", "hint"),
    [
        (412, True, "(the target refused the If-Match version: the object changed since it "
                    "was read, so plan again; or the target refuses its own versions, which "
                    "doctor --write-probe shows and quirks: {etag: never} works around)"),
        (428, False, "(the target requires If-Match: a write sent without a version is "
                     "sent once more with the version a read of the object gives, and this "
                     "one was refused again or the read showed none)"),
    ],
)  # fmt: skip
def test_a_refused_condition_names_the_way_out(
    tmp_path: Path, status: int, etag: bool, hint: str
) -> None:
    fake = FakeScim()
    fake.config["etag"] = {"supported": etag}
    fake.add_user("a@example.com", title="Old")
    body = {"schemas": [ERROR_SCHEMA], "status": str(status), "detail": "precondition"}
    # Twice: a 428 is answered by sending the write once more, with a version.
    fake.fail("PATCH", "/Users/*", status=status, body=body, times=2)
    specs = write_spec(tmp_path, [user("a@example.com", title="New")])
    _, result = plan_and_apply(specs, fake)
    (failed,) = result.failed
    assert failed.message == f"PATCH /Users/u1 answered {status}: precondition {hint}"
    sent = [s.headers.get("if-match") for s in fake.requests if s.method == "PATCH"]
    assert sent == ([fake.users["u1"]["meta"]["version"]] if etag else [None, 'W/"1"'])


def test_a_target_that_requires_if_match_on_every_write_gets_the_version_it_holds(
    tmp_path: Path,
) -> None:
    # RFC 7644 §3.14 lets a target answer 428 to a write without If-Match. It does not
    # advertise ETags, and membership changes carry no version: each such write is sent
    # once more with the version a read of the object gives.
    fake = FakeScim()
    fake.config["etag"] = {"supported": False}
    alice = fake.add_user("a@example.com", title="Old")
    bob = fake.add_user("b@example.com")
    eng = fake.add_group("Eng", [bob])
    body = {"schemas": [ERROR_SCHEMA], "status": "428", "detail": "If-Match required"}
    fake.fail("PATCH", "*", status=428, body=body, times=1000,
              when=lambda seen: "if-match" not in seen.headers)  # fmt: skip
    users = [user("a@example.com", title="New"), user("b@example.com")]
    specs = write_spec(tmp_path, users, [{"displayName": "Eng", "members": ["a@example.com"]}])
    _, result = plan_and_apply(specs, fake)
    assert result.failed == ()
    assert fake.users[alice]["title"] == "New"
    assert [m["value"] for m in fake.groups[eng]["members"]] == [alice]
    assert {s.headers.get("if-match") is None for s in fake.requests if s.method == "PATCH"} == {
        True,
        False,
    }


def test_other_failures_carry_no_such_hint(tmp_path: Path) -> None:
    fake = FakeScim()
    fake.add_user("a@example.com", title="Old")
    body = {"schemas": [ERROR_SCHEMA], "status": "409", "detail": "conflict"}
    fake.fail("PATCH", "/Users/*", status=409, body=body)
    specs = write_spec(tmp_path, [user("a@example.com", title="New")])
    (failed,) = plan_and_apply(specs, fake)[1].failed
    assert failed.message == "PATCH /Users/u1 answered 409: conflict"


def _requires_if_match(
    fake: FakeScim, method: str, moved: Callable[[], None] = lambda: None
) -> None:
    """A target that answers 428 to a write without If-Match and 412 to one whose version
    is not the object's current one; `moved` runs at the first 428 (another admin's write
    between scimrec's read and its resend)."""
    body = {"schemas": [ERROR_SCHEMA], "status": "428", "detail": "If-Match required"}

    def bare(seen: Seen) -> bool:
        if "if-match" in seen.headers:
            return False
        moved()
        return True

    def stale(seen: Seen) -> bool:
        rid = seen.path.rsplit("/", 1)[-1]
        held = fake.users.get(rid) or fake.groups.get(rid)
        return held is not None and seen.headers.get("if-match") != held["meta"]["version"]

    fake.fail(method, "*", status=428, body=body, times=1000, when=bare)
    fake.fail(method, "*", status=412, body={**body, "status": "412", "detail": "stale"},
              times=1000, when=stale)  # fmt: skip


def test_a_put_refused_for_want_of_if_match_is_sent_again_with_the_version_it_was_merged_from(
    tmp_path: Path,
) -> None:
    fake = FakeScim()
    fake.config["etag"] = {"supported": False}
    fake.patch_unsupported = True
    fake.add_user("a@example.com", title="Old")
    _requires_if_match(fake, "PUT")
    specs = write_spec(tmp_path, [user("a@example.com", title="New")])
    _, result = plan_and_apply(specs, fake)
    assert result.failed == ()
    assert fake.users["u1"]["title"] == "New"
    puts = [s.headers.get("if-match") for s in fake.requests if s.method == "PUT"]
    assert puts == [None, 'W/"1"']  # the version the merged body was read at


def test_a_put_resent_for_if_match_never_carries_a_later_version(tmp_path: Path) -> None:
    # Its body was merged from a read before it: sent with the version of a later read, it
    # would undo what changed between the two (the member another admin added).
    fake = FakeScim()
    fake.config["etag"] = {"supported": False}
    fake.patch_unsupported = True
    a = fake.add_user("a@example.com")
    b = fake.add_user("b@example.com")
    eng = fake.add_group("Eng", [])

    def another_admin() -> None:
        if not fake.groups[eng]["members"]:
            fake.groups[eng] = fake._stamp("Group", eng, {**fake.groups[eng], "members": [
                {"value": b, "type": "User"}]})  # fmt: skip

    _requires_if_match(fake, "PUT", another_admin)
    groups = [{"displayName": "Eng", "members": ["a@example.com"]}]
    specs = write_spec(tmp_path, [user("a@example.com")], groups)
    _, result = plan_and_apply(specs, fake)
    (failed,) = result.failed
    assert failed.message.startswith(f"PUT /Groups/{eng} answered 412: stale")
    assert [m["value"] for m in fake.groups[eng]["members"]] == [b]  # kept, not written over
    assert a not in {m["value"] for m in fake.groups[eng]["members"]}
    assert [s.headers.get("if-match") for s in fake.requests if s.method == "PUT"] == [
        None,
        'W/"3"',
    ]


def test_a_put_with_its_version_refused_428_is_not_sent_again(tmp_path: Path) -> None:
    # The target advertises ETags and the PUT carried If-Match: a 428 then is the
    # target's to explain, and the same request is not sent once more.
    fake = FakeScim()
    fake.config["etag"] = {"supported": True}
    fake.patch_unsupported = True
    fake.add_user("a@example.com", title="Old")
    body = {"schemas": [ERROR_SCHEMA], "status": "428", "detail": "If-Match required"}
    fake.fail("PUT", "*", status=428, body=body, times=1000)
    specs = write_spec(tmp_path, [user("a@example.com", title="New")])
    _, result = plan_and_apply(specs, fake)
    (failed,) = result.failed
    assert failed.message.startswith("PUT /Users/u1 answered 428: If-Match required")
    assert [s.headers.get("if-match") for s in fake.requests if s.method == "PUT"] == ['W/"1"']
