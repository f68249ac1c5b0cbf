"""A group's GET-merge-PUT never drops a member the GET did not show.

Where PATCH is refused (or `quirks: {patch: never}`), a group's attribute change (a rename,
an externalId) is written as GET /Groups/{id}, merge, PUT (session.py `patch_or_put`).
PUT replaces the whole resource (RFC 7644 §3.5.1), and the merge sends back exactly what
the GET returned. Several SCIM services leave `members` out of a single group's GET (or
cut it short for large groups) unless asked for with `attributes=members`, although their
listing (or the group's real state) holds them. The PUT then carries no members, and the
group loses all of them: here 20 members of a group whose membership the spec does not even
manage, from a plan that says only "rename group Eng → Engineering", with no member
removal counted by any guard. DESIGN §5: "GET-merge-PUT that keeps attributes the spec does
not manage".

So a group's PUT asks for the members its GET left out (`attributes=members`, RFC 7644
§3.4.2.5), and is refused when the GET still shows fewer than the plan's read held.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2

from tests.fakescim import FakeScim
from tests.scim.test_faults import plan_and_apply, write_spec


class MembersNotInGet(FakeScim):
    """A target whose GET of one group leaves `members` out (its listing shows them),
    unless asked for them with `attributes=members` (or, `never_shown`, even then)."""

    never_shown = False

    def _one(self, resource: dict[str, Any], status: int = 200) -> httpx2.Response:
        last = self.requests[-1] if self.requests else None
        if (
            last is not None
            and last.method == "GET"
            and last.path.startswith("/Groups/")
            and resource.get("meta", {}).get("resourceType") == "Group"
            and (self.never_shown or "members" not in last.params.get("attributes", ""))
        ):
            resource = {k: v for k, v in resource.items() if k != "members"}
        return super()._one(resource, status)


def test_a_group_rename_by_put_keeps_every_member(token: str, tmp_path: Path) -> None:
    fake = MembersNotInGet()
    fake.patch_unsupported = True
    names = [f"u{i:02d}@example.com" for i in range(20)]
    ids = [fake.add_user(name) for name in names]
    gid = fake.add_group("Eng", ids)
    users = [{"userName": name} for name in names]
    groups = [{"displayName": "Engineering", "previously": ["Eng"]}]  # members unmanaged
    prepared, _ = plan_and_apply(write_spec(tmp_path, users, groups), fake)
    assert [m for c in prepared.plan.changes for m in c.members_remove] == []
    assert fake.groups[gid]["displayName"] == "Engineering"
    assert sorted(m["value"] for m in fake.groups[gid].get("members", [])) == sorted(ids)


def test_a_group_put_is_refused_when_no_get_shows_its_members(token: str, tmp_path: Path) -> None:
    fake = MembersNotInGet()
    fake.patch_unsupported = True
    fake.never_shown = True
    names = [f"u{i:02d}@example.com" for i in range(5)]
    ids = [fake.add_user(name) for name in names]
    gid = fake.add_group("Eng", ids)
    users = [{"userName": name} for name in names]
    groups = [{"displayName": "Engineering", "previously": ["Eng"]}]
    _, result = plan_and_apply(write_spec(tmp_path, users, groups), fake)
    assert [o.message for o in result.outcomes if not o.ok] == [
        f"GET /Groups/{gid} shows none of the 5 members the group held when planned: "
        "a PUT (the target takes no PATCH) would remove them; not written, plan again"
    ]
    assert fake.count("PUT", "/Groups/*") == 0
    assert fake.groups[gid]["displayName"] == "Eng"
    assert sorted(m["value"] for m in fake.groups[gid]["members"]) == sorted(ids)


class DuplicatingGet(FakeScim):
    """A target whose GET of one group repeats its first member in place of the others:
    as many entries as the listing showed, but not the same members."""

    def _one(self, resource: dict[str, Any], status: int = 200) -> httpx2.Response:
        last = self.requests[-1] if self.requests else None
        members = resource.get("members")
        if (
            last is not None
            and last.method == "GET"
            and last.path.startswith("/Groups/")
            and members
        ):
            resource = {**resource, "members": [members[0]] * len(members)}
        return super()._one(resource, status)


def test_a_group_put_is_refused_when_its_get_shows_other_members(
    token: str, tmp_path: Path
) -> None:
    fake = DuplicatingGet()
    fake.patch_unsupported = True
    names = ["a@example.com", "b@example.com", "c@example.com"]
    ids = [fake.add_user(name) for name in names]
    gid = fake.add_group("Eng", ids[:2])
    groups = [{"displayName": "Eng", "members": names}]
    _, result = plan_and_apply(write_spec(tmp_path, [{"userName": n} for n in names], groups), fake)
    assert [o.message for o in result.outcomes if not o.ok] == [
        f"GET /Groups/{gid} lacks 1 of the 2 members the group held when planned: a PUT "
        "(the target takes no PATCH) would remove them; not written, plan again"
    ]
    assert fake.count("PUT", "/Groups/*") == 0
    assert sorted(m["value"] for m in fake.groups[gid]["members"]) == sorted(ids[:2])


class UsersOnlyInGet(FakeScim):
    """A target whose GET of one group shows its users but not the groups nested in it."""

    def _one(self, resource: dict[str, Any], status: int = 200) -> httpx2.Response:
        last = self.requests[-1] if self.requests else None
        members = resource.get("members")
        if last is not None and last.method == "GET" and last.path.startswith("/Groups/"):
            users = [m for m in members or [] if m.get("type") != "Group"]
            resource = {**resource, "members": users}
        return super()._one(resource, status)


def test_a_group_put_is_refused_when_its_get_hides_a_nested_group_with_a_users_id(
    token: str, tmp_path: Path
) -> None:
    # Ids counted per kind: Eng holds user "1" and nested group "1". A GET that shows the
    # user alone lacks a member, though it shows every value the plan's read held.
    fake = UsersOnlyInGet()
    fake.ids_per_kind = True
    fake.patch_unsupported = True
    ben = fake.add_user("ben@example.com")
    inner = fake.add_group("Inner")
    gid = fake.add_group("Eng", [ben])
    fake.groups[gid]["members"].append({"value": inner, "type": "Group"})
    groups = [{"displayName": "Engineering", "previously": ["Eng"]}]  # members unmanaged
    specs = write_spec(tmp_path, [{"userName": "ben@example.com"}], groups)
    _, result = plan_and_apply(specs, fake)
    assert [o.message for o in result.outcomes if not o.ok] == [
        f"GET /Groups/{gid} lacks 1 of the 2 members the group held when planned: a PUT "
        "(the target takes no PATCH) would remove them; not written, plan again"
    ]
    assert fake.count("PUT", "/Groups/*") == 0
    assert {"value": inner, "type": "Group"} in fake.groups[gid]["members"]
