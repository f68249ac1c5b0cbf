"""A write refused for its If-Match (412) or for the lack of one (428) says what to do next:
a target that never takes scimrec's versions otherwise looks like one that keeps changing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakescim import ERROR_SCHEMA, FakeScim
from tests.scim.test_faults import plan_and_apply, user, write_spec

pytestmark = pytest.mark.usefixtures("token")


@pytest.mark.parametrize(
    ("status", "etag", "hint"),
    [
        (412, True, "(the target refused the If-Match version: the object changed since it "
                    "was read, so plan again; or the target refuses its own versions, which "
                    "doctor --write-probe shows and quirks: {etag: never} works around)"),
        (428, False, "(the target requires If-Match: a PATCH or DELETE sent without a "
                     "version is sent once more with the version a read of the object gives, "
                     "and this one was refused again or the read showed none; a PUT is not, "
                     "its body being merged from an earlier read)"),
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


def test_a_put_refused_for_want_of_if_match_is_not_sent_again(tmp_path: Path) -> None:
    # Its body was merged from a read before it: sent with the version of a later read, it
    # would undo what changed between the two (a member another admin added).
    fake = FakeScim()
    fake.config["etag"] = {"supported": False}
    fake.patch_unsupported = True
    fake.add_user("a@example.com", title="Old")
    body = {"schemas": [ERROR_SCHEMA], "status": "428", "detail": "If-Match required"}
    fake.fail("PUT", "*", status=428, body=body, times=1000,
              when=lambda seen: "if-match" not in seen.headers)  # fmt: skip
    specs = write_spec(tmp_path, [user("a@example.com", title="New")])
    _, result = plan_and_apply(specs, fake)
    (failed,) = result.failed
    assert failed.message.startswith("PUT /Users/u1 answered 428: If-Match required")
    assert fake.count("PUT") == 1
    assert fake.users["u1"]["title"] == "Old"
