"""The doctor reads two of scimgateway's answers as apply now does.

A create it cannot read back (its case-insensitive userName lookup finds the original and
the case variant just made) is answered with no id and `Location: .../Users/undefined`:
the case-variant probe said "refused with 404 instead of 409", though the variant had been
made (and uniqueness is not case-insensitive). And a manager it keeps only when set through
`...:manager.value` was reported dropped, with a `not_kept` line that gives up managing
it, though apply's second, narrower PATCH sets it (verify.repairs).
"""

from __future__ import annotations

from typing import Any

import httpx2

from reconciler.core.config import Target as Config
from reconciler.core.model import Json
from tests.doctor.test_declared_writes import probe
from tests.doctor.test_doctor import fake_doctor, populated
from tests.fakescim import BASE_URL, FakeScim, Seen, json_response
from tests.scim.test_repairs import TypeMergingScim


class UnreadableCreates(FakeScim):
    """Answers a create whose userName another user holds in other case as scimgateway
    does: made, then answered with the body sent and a Location naming `undefined`."""

    def _create(self, seen: Seen, store: dict[str, dict[str, Any]], kind: str) -> httpx2.Response:
        name = str((seen.body or {}).get("userName", ""))
        twins = [u for u in self.users.values() if str(u["userName"]).casefold() == name.casefold()]
        if kind != "User" or not twins or name in [u["userName"] for u in twins]:
            return super()._create(seen, store, kind)
        rid = f"u{next(self._ids)}"  # uniqueness exact, as plugin-loki's unique index
        store[rid] = self._stamp(kind, rid, dict(seen.body or {}))
        location = f"{BASE_URL}/Users/undefined"
        return json_response(201, seen.body, {"Location": location})


def test_a_case_variant_made_but_answered_with_no_id_is_reported_accepted() -> None:
    fake = UnreadableCreates()
    fake.add_user("user0@example.com")
    report, _ = fake_doctor(fake, write_probe=True)
    variant = report.finding("uniqueness", "users.userName case variant")
    assert (variant.status, variant.observed) == (
        "warn",
        "case-variant userNames accepted (201, deleted again): uniqueness is not case-insensitive",
    )
    # Found by name at cleanup, and deleted: nothing the doctor made is left.
    assert [u["userName"] for u in fake.users.values()] == ["user0@example.com"]
    assert report.finding("cleanup", "temporary objects").status == "ok"


def test_a_manager_kept_through_its_sub_attribute_is_reported_kept() -> None:
    fake = TypeMergingScim()
    for user in populated().users.values():
        fake.add_user(str(user["userName"]))
    samples: dict[str, Json] = {"enterprise.manager": "bob@example.com"}
    status, observed, _ = probe(fake, Config("fake", BASE_URL), samples)
    assert (status, observed) == ("ok", "all 1 declared attribute paths are kept as written")
