"""The writes apply sends for one change (what `plan --explain` shows), by target dialect."""

from __future__ import annotations

from typing import Any

from reconciler.core.changes import Action, Change, Member
from reconciler.core.config import Target
from reconciler.core.diff import AttrChange
from reconciler.core.model import PATCH_OP, Capabilities, Kind
from reconciler.scim.change_requests import Request, change_requests
from reconciler.scim.writes import Dialect

WORK = {"value": "a@old.example", "type": "work"}
NEW_WORK = {"value": "a@new.example", "type": "work"}
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


def dialect(caps: Capabilities | None = None, **quirks: str) -> Dialect:
    target = Target(name="t", url="https://t.example/scim/v2", quirks=quirks)
    return Dialect.initial(target, caps or Capabilities(patch=True, etag=True))


def patch(path: str, *ops: dict[str, Any], etag: str | None = None, **more: Any) -> Request:
    return Request("PATCH", path, {"schemas": [PATCH_OP], "Operations": list(ops)}, etag, **more)


def user_update(*attributes: AttrChange) -> Change:
    return Change(Kind.USER, "a", Action.UPDATE, "r", "u1", version='W/"3"', attributes=attributes)


def test_a_value_only_email_change_goes_by_value_path_then_whole_then_put() -> None:
    change = user_update(AttrChange("emails", [WORK], [NEW_WORK]))
    current = {"id": "u1", "userName": "a", "emails": [WORK], "meta": {"version": 'W/"3"'}}
    merged = {"id": "u1", "userName": "a", "emails": [NEW_WORK], "schemas": [USER]}
    put = Request("PUT", "/Users/u1", merged, 'W/"3"')
    whole = patch(
        "/Users/u1",
        {"op": "replace", "path": "emails", "value": [NEW_WORK]},
        etag='W/"3"',
        fallback=(Request("GET", "/Users/u1"), put),
        fallback_when="if the target refuses PATCH, instead:",
    )
    narrow = patch(
        "/Users/u1",
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "a@new.example"},
        etag='W/"3"',
        fallback=(whole,),
        fallback_when="if the target refuses value-filter paths, instead:",
    )
    assert change_requests(change, dialect(), 100, current) == [narrow]
    # A target whose quirks say no value paths starts with the whole attribute.
    assert change_requests(change, dialect(value_paths="never"), 100, current) == [whole]


def test_a_target_without_patch_gets_get_merge_put() -> None:
    change = user_update(AttrChange("title", "A", "B"))
    current = {"id": "u1", "userName": "a", "title": "A", "meta": {"version": 'W/"3"'}}
    assert change_requests(change, dialect(Capabilities(patch=False, etag=True)), 100, current) == [
        Request("GET", "/Users/u1"),
        Request(
            "PUT",
            "/Users/u1",
            {"id": "u1", "userName": "a", "title": "B", "schemas": [USER]},
            'W/"3"',
        ),
    ]


def test_a_create_carries_the_manager_created_earlier_in_the_run() -> None:
    change = Change(
        Kind.USER,
        "a",
        Action.CREATE,
        "r",
        attributes=(
            AttrChange("userName", None, "a"),
            AttrChange("enterprise.manager", None, None, ref="boss"),
        ),
    )
    (post,) = change_requests(change, dialect(), 100)
    assert post.body == {
        "schemas": [USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "userName": "a",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "manager": {"value": "{id of boss}"}
        },
    }


def test_group_members_in_chunks_and_removals_in_the_dialect() -> None:
    change = Change(
        Kind.GROUP,
        "g",
        Action.UPDATE,
        "r",
        "g1",
        members_add=(Member("a", "1"), Member("b", None), Member("c", "3")),
        members_remove=(Member("x", "9"),),
    )
    add = {"op": "add", "path": "members"}
    by_value = patch("/Groups/g1", {"op": "remove", "path": "members", "value": [{"value": "9"}]})
    assert change_requests(change, dialect(), 2) == [
        patch("/Groups/g1", add | {"value": [{"value": "1"}, {"value": "{id of b}"}]}),
        patch("/Groups/g1", add | {"value": [{"value": "3"}]}),
        patch(
            "/Groups/g1",
            {"op": "remove", "path": 'members[value eq "9"]'},
            fallback=(by_value,),
            fallback_when="if the target refuses the filter path, instead:",
        ),
    ]
    # A quirk that forces the value list leaves nothing to fall back to.
    assert change_requests(change, dialect(member_removal="value"), 2)[-1] == by_value


def test_a_nested_group_removal_names_a_group_not_the_user_with_its_id() -> None:
    # Ids counted per kind: nested group "1" and user "1" are two objects.
    change = Change(
        Kind.GROUP, "g", Action.UPDATE, "r", "g1", members_remove=(Member("Inner", "1", "Group"),)
    )
    [request] = change_requests(change, dialect(member_removal="value", member_ref="always"), 2)
    entry = {"value": "1", "$ref": "https://t.example/scim/v2/Groups/1", "type": "Group"}
    assert request == patch("/Groups/g1", {"op": "remove", "path": "members", "value": [entry]})


def test_a_target_without_patch_gets_its_members_by_one_put() -> None:
    change = Change(
        Kind.GROUP,
        "g",
        Action.UPDATE,
        "r",
        "g1",
        members_add=(Member("a", "1"), Member("b", "2")),
        members_remove=(Member("x", "9"),),
    )
    current = {
        "id": "g1",
        "displayName": "g",
        "members": [{"value": "9"}, {"value": "7", "display": "kept"}, {"value": "2"}],
        "meta": {"version": 'W/"5"'},
    }
    body = {
        "id": "g1",
        "displayName": "g",
        "members": [{"value": "7", "display": "kept"}, {"value": "2"}, {"value": "1"}],
        "schemas": [GROUP],
    }
    caps = Capabilities(patch=False, etag=True)
    assert change_requests(change, dialect(caps), 1, current) == [
        Request("GET", "/Groups/g1"),
        Request("PUT", "/Groups/g1", body, 'W/"5"'),
    ]


def test_a_group_create_without_members_on_post_adds_them_after() -> None:
    change = Change(
        Kind.GROUP,
        "Ops",
        Action.CREATE,
        "r",
        attributes=(AttrChange("displayName", None, "Ops"),),
        members_add=(Member("a", "1"),),
    )
    group = "urn:ietf:params:scim:schemas:core:2.0:Group"
    add = patch("/Groups/{id of Ops}", {"op": "add", "path": "members", "value": [{"value": "1"}]})
    assert change_requests(change, dialect(members_on_create="never"), 100) == [
        Request("POST", "/Groups", {"schemas": [group], "displayName": "Ops"}),
        add,
    ]
    (post,) = change_requests(change, dialect(), 100)
    assert post.body == {"schemas": [group], "displayName": "Ops", "members": [{"value": "1"}]}
    assert post.fallback == (add,)


def test_a_delete_carries_the_version_where_the_target_has_etags() -> None:
    change = Change(Kind.USER, "a", Action.DELETE, "r", "u1", version='W/"3"')
    assert change_requests(change, dialect(), 100) == [
        Request("DELETE", "/Users/u1", None, 'W/"3"')
    ]
    no_etags = dialect(Capabilities(patch=True, etag=False))
    assert change_requests(change, no_etags, 100) == [Request("DELETE", "/Users/u1")]


def test_where_the_target_offers_bulk_a_create_shows_its_bulk_operation() -> None:
    change = Change(
        Kind.USER,
        "a",
        Action.CREATE,
        "r",
        attributes=(
            AttrChange("userName", None, "a"),
            AttrChange("enterprise.manager", None, None, ref="boss"),
        ),
    )
    (single,) = change_requests(change, dialect(), 100)
    (bulk,) = change_requests(change, dialect(Capabilities(bulk=True), bulk="use"), 100)
    assert (bulk.method, bulk.path) == ("POST", "/Bulk")
    assert bulk.body == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "user-1", "data": single.body}
        ],
    }
    assert bulk.fallback == (single,)
    assert bulk.fallback_when.startswith("with fewer than 10 creates in the run")
    (never,) = change_requests(change, dialect(Capabilities(bulk=True), bulk="never"), 100)
    assert never == single
    (default,) = change_requests(change, dialect(Capabilities(bulk=True)), 100)
    assert default == single  # Bulk only where the target's quirks ask for it


def test_where_the_target_offers_bulk_a_group_create_shows_its_bulk_operation() -> None:
    """The operation's data is the single POST's body (its first chunk of users); its
    nested groups follow in the room the chunk leaves, and the rest by PATCH after."""
    change = Change(
        Kind.GROUP,
        "Eng",
        Action.CREATE,
        "r",
        attributes=(AttrChange("displayName", None, "Eng"),),
        members_add=(
            Member("ann", "u1"),
            Member("bob", None),
            Member("Ops", None, "Group"),
            Member("Web", "g9", "Group"),
        ),
    )
    caps = Capabilities(patch=True, bulk=True)
    single = change_requests(change, dialect(Capabilities(patch=True)), 3)
    bulk = change_requests(change, dialect(caps, bulk="use"), 3)
    assert (bulk[0].method, bulk[0].path) == ("POST", "/Bulk")
    (operation,) = bulk[0].body["Operations"]
    assert operation["data"] == {
        **single[0].body,
        "members": [
            {"value": "u1"},
            {"value": "{id of bob}"},
            {"value": "{id of Ops}", "type": "Group"},
        ],
    }
    assert bulk[0].fallback == (single[0],)
    assert bulk[0].fallback_when.startswith("with fewer than 10 group creates in the run")
    # Of the nested groups, only the one the operation had no room for follows by PATCH.
    nested = {"op": "add", "path": "members", "value": [{"value": "g9", "type": "Group"}]}
    assert bulk[1:] == [patch("/Groups/{id of Eng}", nested)]
    assert len(single) == 2  # the single POST, then one PATCH of both nested groups
