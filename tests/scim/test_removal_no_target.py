"""A member removal answered 400 noTarget (RFC 7644 §3.5.2.2: its filter matched no member)
means the member is gone already: a retry whose first attempt removed it, or another admin
between plan and apply. It is confirmed by a read and counted done, never taken for a
refused PATCH (no value list, no GET-merge-PUT, no failure)."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest

from tests.fakescim import FakeScim, Seen
from tests.scim.test_faults import outcomes, plan_and_apply, replan, user, write_spec

NAMES = ["alice@example.com", "bob@example.com", "carol@example.com"]


def _eng(token: str, tmp_path: Path) -> tuple[FakeScim, Path, str, list[str]]:
    # Eng holds all three; the spec keeps alice: bob and carol go, in one PATCH.
    fake = FakeScim(token=token)
    fake.strict_no_target = True
    ids = [fake.add_user(n) for n in NAMES]
    eng = fake.add_group("Eng", ids)
    specs = write_spec(
        tmp_path, [user(n) for n in NAMES], [{"displayName": "Eng", "members": NAMES[:1]}]
    )
    return fake, specs, eng, ids


def _removes(seen: Seen) -> bool:
    return any(o.get("op") == "remove" for o in (seen.body or {}).get("Operations", []))


@pytest.mark.parametrize("shown", ["always", "asked"])
def test_a_retried_removal_answered_no_target_is_done(
    token: str, tmp_path: Path, shown: str
) -> None:
    fake, specs, eng, (alice, *_) = _eng(token, tmp_path)
    fake.members_shown = shown  # "asked": the read that confirms asks for `members`
    # Carried out, and the answer lost: the retry matches no member.
    fake.fail("PATCH", "/Groups/*", after=True, exc=httpx2.ReadError("reset"), when=_removes)
    _, result = plan_and_apply(specs, fake)
    assert result.failed == (), outcomes(result)
    assert fake.groups[eng]["members"] == [{"value": alice}]
    assert fake.count("PUT") == 0
    assert all(o.get("path") != "members" for s in fake.requests if s.method == "PATCH"
               for o in s.body["Operations"])  # fmt: skip
    assert not replan(specs, fake).plan.changes


def test_a_member_removed_by_another_leaves_the_rest_to_remove(token: str, tmp_path: Path) -> None:
    fake, specs, eng, (alice, bob, _) = _eng(token, tmp_path)

    def other_admin(seen: Seen) -> bool:
        # Between plan and apply, bob goes; the PATCH naming him and carol applies nothing.
        fake.groups[eng]["members"] = [m for m in fake.groups[eng]["members"] if m["value"] != bob]
        return False

    fake.fail("PATCH", "/Groups/*", when=other_admin)
    _, result = plan_and_apply(specs, fake)
    assert result.failed == (), outcomes(result)
    assert fake.groups[eng]["members"] == [{"value": alice}]
    assert fake.count("PATCH") == 2  # carol, alone, once more


class ClaimsNoTarget(FakeScim):
    """Answers every member removal noTarget, and keeps the members."""

    def _serve(self, seen: Seen) -> httpx2.Response:
        if seen.method == "PATCH" and _removes(seen):
            return self._error(seen, 400, "no such member", "noTarget")
        return super()._serve(seen)


def test_no_target_for_members_still_shown_fails_the_group(token: str, tmp_path: Path) -> None:
    fake = ClaimsNoTarget(token=token)
    ids = [fake.add_user(n) for n in NAMES]
    eng = fake.add_group("Eng", ids)
    specs = write_spec(
        tmp_path, [user(n) for n in NAMES], [{"displayName": "Eng", "members": NAMES[:1]}]
    )
    _, result = plan_and_apply(specs, fake)
    (failed,) = result.failed
    assert failed.message == (
        f"PATCH /Groups/{eng} answered 400 (noTarget): no such member, but the group still "
        "shows member bob@example.com: not removed"
    )
    assert fake.count("PUT") == 0
    assert len(fake.groups[eng]["members"]) == 3


def test_no_target_on_a_target_showing_members_only_when_asked_fails(
    token: str, tmp_path: Path
) -> None:
    # A read without `attributes=members` shows no member list: that is not "gone".
    fake = ClaimsNoTarget(token=token)
    fake.members_shown = "asked"
    ids = [fake.add_user(n) for n in NAMES]
    eng = fake.add_group("Eng", ids)
    specs = write_spec(
        tmp_path, [user(n) for n in NAMES], [{"displayName": "Eng", "members": NAMES[:1]}]
    )
    _, result = plan_and_apply(specs, fake)
    (failed,) = result.failed
    assert failed.message.endswith("but the group still shows member bob@example.com: not removed")
    assert len(fake.groups[eng]["members"]) == 3


def test_no_target_whose_group_read_fails_is_not_verified(token: str, tmp_path: Path) -> None:
    fake = ClaimsNoTarget(token=token)
    ids = [fake.add_user(n) for n in NAMES]
    eng = fake.add_group("Eng", ids)
    specs = write_spec(
        tmp_path, [user(n) for n in NAMES], [{"displayName": "Eng", "members": NAMES[:1]}]
    )
    # Every read of the group after the removal fails.
    fake.fail("GET", f"/Groups/{eng}", times=10, status=400,
              when=lambda _: fake.count("PATCH") > 0)  # fmt: skip
    _, result = plan_and_apply(specs, fake)
    (failed,) = result.failed
    assert failed.message.startswith(f"PATCH /Groups/{eng} answered 400 (noTarget)")
    assert "members could not be read to confirm" in failed.message
    assert failed.message.endswith("not removed, or not verified")
    assert len(fake.groups[eng]["members"]) == 3
