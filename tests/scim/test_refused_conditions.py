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
        (428, False, "(the target requires If-Match, which scimrec sends only where its "
                     "ServiceProviderConfig says etag supported, and never on membership changes)"),
    ],
)  # fmt: skip
def test_a_refused_condition_names_the_way_out(
    tmp_path: Path, status: int, etag: bool, hint: str
) -> None:
    fake = FakeScim()
    fake.config["etag"] = {"supported": etag}
    fake.add_user("a@example.com", title="Old")
    body = {"schemas": [ERROR_SCHEMA], "status": str(status), "detail": "precondition"}
    fake.fail("PATCH", "/Users/*", status=status, body=body)
    specs = write_spec(tmp_path, [user("a@example.com", title="New")])
    _, result = plan_and_apply(specs, fake)
    (failed,) = result.failed
    assert failed.message == f"PATCH /Users/u1 answered {status}: precondition {hint}"


def test_other_failures_carry_no_such_hint(tmp_path: Path) -> None:
    fake = FakeScim()
    fake.add_user("a@example.com", title="Old")
    body = {"schemas": [ERROR_SCHEMA], "status": "409", "detail": "conflict"}
    fake.fail("PATCH", "/Users/*", status=409, body=body)
    specs = write_spec(tmp_path, [user("a@example.com", title="New")])
    (failed,) = plan_and_apply(specs, fake)[1].failed
    assert failed.message == "PATCH /Users/u1 answered 409: conflict"
