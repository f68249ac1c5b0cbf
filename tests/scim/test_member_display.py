"""Targets that want a `display` on every group member (apply/member_fields.py).

A SCIM library used by some apps refuses members sent as `{"value": id}` with a 400:
"requires two values for every member specified (value and display)", the shape of RFC
7644 §3.5.2.1's example. scimrec learns it as it learns `$ref`: the write is sent again
with each member's userName (or a nested group's displayName) as `display`, and every
later write carries it. Every route that sends members is tested: group POST, PATCH add,
PATCH remove by value list, group PUT, nested groups, and a target that wants both.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.core.plan import Action
from reconciler.errors import ScimHTTPError
from reconciler.scim.apply.refusals import wants_display, wants_ref
from tests.fakescim import FakeScim
from tests.scim.conftest import TOKEN
from tests.scim.test_faults import outcomes, plan_and_apply, replan, user, write_spec
from tests.scim.test_member_refs import member_writes

pytestmark = pytest.mark.usefixtures("token", "fast_retries")


def wanting_display() -> FakeScim:
    fake = FakeScim(token=TOKEN)
    fake.require_member_display = True
    return fake


def test_the_refusal_is_recognised() -> None:
    def refusal(status: int, detail: str) -> ScimHTTPError:
        return ScimHTTPError("PATCH", "/Groups/g1", status, detail, "invalidValue")

    assert wants_display(refusal(400, "requires two values for every member (value and display)"))
    assert wants_display(refusal(400, "Field 'display' is required: members"))
    assert wants_display(refusal(400, "members[0].display: must not be null"))
    assert not wants_display(refusal(400, "displayName is required"))
    assert not wants_display(refusal(400, "members: $display unknown"))
    assert not wants_display(refusal(409, "Field 'display' is required"))
    assert not wants_ref(refusal(400, "Field 'display' is required: members"))


def test_a_group_create_learns_display_and_names_each_member(tmp_path: Path) -> None:
    fake = wanting_display()
    alice = fake.add_user("alice@example.com")
    specs = write_spec(
        tmp_path,
        [user("alice@example.com"), user("bob@example.com")],
        [{"displayName": "Eng", "members": ["alice@example.com", "bob@example.com"]}],
    )
    _, result = plan_and_apply(specs, fake)
    assert result.failed == ()
    bob = fake.user_named("bob@example.com")[0]["id"]
    posts = [ms for method, _, ms in member_writes(fake) if method == "POST"]
    assert posts == [
        [{"value": alice}, {"value": bob}],
        [
            {"value": alice, "display": "alice@example.com"},
            {"value": bob, "display": "bob@example.com"},
        ],
    ]
    assert not replan(specs, fake).plan.has_changes


def test_membership_patches_learn_display_and_keep_sending_it(tmp_path: Path) -> None:
    fake = wanting_display()
    fake.reject_member_filter_path = True  # removals by value list, which carry members
    ids = [fake.add_user(f"u{n}@example.com") for n in range(3)]
    gid = fake.add_group("Eng", [ids[0]])
    specs = write_spec(
        tmp_path,
        [user(f"u{n}@example.com") for n in range(3)],
        [{"displayName": "Eng", "members": ["u1@example.com", "u2@example.com"]}],
    )
    _, result = plan_and_apply(specs, fake)
    assert outcomes(result) == {"Eng": (Action.UPDATE, True)}
    sent = [[m.get("display") for m in ms] for _, _, ms in member_writes(fake)]
    # The add refused, sent again with display; the removal carries it from the first try.
    assert sent == [[None, None], ["u1@example.com", "u2@example.com"], ["u0@example.com"]]
    assert {m["value"] for m in fake.groups[gid]["members"]} == {ids[1], ids[2]}
    assert not replan(specs, fake).plan.has_changes


def test_a_group_put_sends_its_members_with_display(tmp_path: Path) -> None:
    fake = wanting_display()
    fake.patch_unsupported = True  # renames go through GET-merge-PUT
    alice = fake.add_user("alice@example.com")
    gid = fake.add_group("Eng", [alice])
    specs = write_spec(
        tmp_path,
        [user("alice@example.com")],
        [{"displayName": "Eng", "externalId": "eng"}],
        quirks={"patch": "never"},
    )
    _, result = plan_and_apply(specs, fake)
    assert result.failed == ()
    puts = [[m.get("display") for m in ms] for method, _, ms in member_writes(fake)]
    assert puts == [[None], ["alice@example.com"]]
    assert fake.groups[gid]["externalId"] == "eng"


def test_nested_groups_carry_their_display_name(tmp_path: Path) -> None:
    fake = wanting_display()
    specs = write_spec(
        tmp_path,
        [user("alice@example.com")],
        [
            {"displayName": "Outer", "groups": ["Inner"]},
            {"displayName": "Inner", "members": ["alice@example.com"]},
        ],
        nested_groups="native",
    )
    _, result = plan_and_apply(specs, fake)
    assert result.failed == ()
    inner = next(g["id"] for g in fake.groups.values() if g["displayName"] == "Inner")
    nested = [m for _, _, ms in member_writes(fake) for m in ms if m.get("type") == "Group"]
    assert nested[-1] == {"value": inner, "display": "Inner", "type": "Group"}
    assert not replan(specs, fake).plan.has_changes


def test_a_target_that_wants_both_gets_both(tmp_path: Path) -> None:
    fake = wanting_display()
    fake.require_member_ref = True
    alice = fake.add_user("alice@example.com")
    specs = write_spec(
        tmp_path,
        [user("alice@example.com")],
        [{"displayName": "Eng", "members": ["alice@example.com"]}],
    )
    _, result = plan_and_apply(specs, fake)
    assert result.failed == ()
    sent = [sorted(ms[0]) for _, _, ms in member_writes(fake)]
    assert sent == [["value"], ["display", "value"], ["$ref", "display", "value"]]
    [eng] = fake.groups.values()
    assert [m["value"] for m in eng["members"]] == [alice]
