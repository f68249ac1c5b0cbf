"""A target id that is not a plain path segment never sends a write somewhere else.

Ids are the target's data (some targets use what users type: a userName, an externalId).
Every path is built by writes.resource_path, which encodes the id as one segment (or
refuses an id no URL can hold), and the client refuses a path with a dot segment, a query
or a fragment whatever built it, and a request whose URL or headers cannot be encoded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest

from reconciler.errors import ScimProtocolError
from reconciler.run import prepare
from reconciler.scim.client import ScimClient
from reconciler.scim.writes import resource_path
from tests.fakescim import BASE_URL, FakeScim, Seen, json_response
from tests.scim.test_faults import plan_and_apply, replan, write_spec

UNREADABLE = (
    "the target's user z\ud800 cannot be read: id: expected Unicode text, got a lone surrogate"
)


def _stray(fake: FakeScim, rid: str, name: str) -> None:
    fake.users[rid] = fake._stamp("User", rid, {"userName": name, "active": True})


def test_a_stray_with_a_dotted_id_never_disables_a_protected_account(
    token: str, tmp_path: Path
) -> None:
    fake = FakeScim()
    admin = fake.add_user("admin@example.com", active=True)
    stray = f"../Users/{admin}"
    _stray(fake, stray, "eve@example.com")
    specs = write_spec(tmp_path, [], prune="all", protected=["admin@*"])
    plan_and_apply(specs, fake)
    assert fake.users[admin]["active"] is True
    writes = [(s.method, s.path) for s in fake.requests if s.method != "GET"]
    assert all(path != f"/Users/{admin}" for _, path in writes), writes


def test_a_stray_with_a_dotted_id_never_deletes_a_protected_group(
    token: str, tmp_path: Path
) -> None:
    fake = FakeScim()
    alice = fake.add_user("alice@example.com", active=True)
    admins = fake.add_group("Admins", [alice])
    _stray(fake, f"../Groups/{admins}", "eve@example.com")
    users = [{"userName": "alice@example.com"}]
    groups = [{"displayName": "Admins", "members": ["alice@example.com"]}]
    specs = write_spec(
        tmp_path, users, groups, prune="all", deprovision="delete", protected=["Admins"]
    )
    plan_and_apply(specs, fake)
    assert admins in fake.groups


def test_a_stray_with_a_query_in_its_id_never_disables_another_account(
    token: str, tmp_path: Path
) -> None:
    fake = FakeScim()
    boss = fake.add_user("boss@example.com", active=True)
    _stray(fake, f"{boss}?x", "eve@example.com")
    specs = write_spec(tmp_path, [{"userName": "boss@example.com"}], prune="all")
    plan_and_apply(specs, fake)
    assert fake.users[boss]["active"] is True


@pytest.mark.parametrize(
    ("rid", "path"),
    [
        ("u1", "/Users/u1"),
        ("../Users/u2", "/Users/..%2FUsers%2Fu2"),
        ("a?b#c", "/Users/a%3Fb%23c"),
        ("..", "/Users/%2E%2E"),
        ("é 1", "/Users/%C3%A9%201"),
    ],
)
def test_an_id_is_one_path_segment(rid: str, path: str) -> None:
    assert resource_path("/Users", rid) == path


@pytest.mark.parametrize("path", ["/Users/../Groups/g1", "/Users/./x", "/Users/a?b", "/Users/a#b"])
def test_the_client_refuses_a_path_that_climbs_or_queries(path: str) -> None:
    fake = FakeScim()
    client = ScimClient(fake.client(), BASE_URL)
    with pytest.raises(ScimProtocolError, match="not a plain SCIM path"):
        client.request("DELETE", path)
    assert fake.requests == []


def test_an_id_that_is_not_unicode_is_named_by_no_url() -> None:
    # A lone surrogate (JSON's "\\ud800") has no UTF-8, so no percent-encoding.
    with pytest.raises(ScimProtocolError) as caught:
        resource_path("/Users", "z\ud800")
    assert str(caught.value) == (
        "the target's id 'z\\ud800' is not Unicode text (a lone surrogate): no URL names it"
    )


@pytest.mark.parametrize(
    ("params", "etag"),
    [
        ({"cursor": "c\ud800"}, None),  # a cursor the target sent back (RFC 9865)
        ({"filter": 'userName eq "\ud800"'}, None),
        (None, 'W/"\u20ac"'),  # a meta.version that no header can carry
        (None, 'W/"\ud800"'),
    ],
)
def test_the_client_refuses_what_cannot_be_sent_and_sends_nothing(
    params: dict[str, str] | None, etag: str | None
) -> None:
    fake = FakeScim()
    client = ScimClient(fake.client(), BASE_URL)
    method = "GET" if params else "PATCH"
    with pytest.raises(ScimProtocolError) as caught:
        client.request(method, "/Users", params=params, etag=etag)
    assert str(caught.value) == (
        f"refusing to send {method} /Users: it holds text that cannot be sent "
        "(not Unicode, or not ASCII in a header)"
    )
    assert fake.requests == []


def test_a_listing_of_one_user_whose_id_is_not_unicode_is_read(token: str, tmp_path: Path) -> None:
    # test_connection reads the one user of a listing of one by its id, to tell a real
    # listing from a sample object; an id no URL names is no evidence either way. The
    # user is in error (core/shape.py), and nothing is sent to it.
    fake = FakeScim()
    _stray(fake, "z\ud800", "eve@example.com")
    specs = write_spec(tmp_path, [], prune="all")
    prepared = prepare(specs, "fake", transport=fake.transport)
    prepared.client.close()
    [error] = prepared.plan.errors
    assert error.message == UNREADABLE
    assert prepared.plan.changes == ()
    assert [s.method for s in fake.requests] == ["GET"] * len(fake.requests)


class NotUnicodeIds(FakeScim):
    """A target whose new users get an id that is not Unicode text (`"z\\ud800"`)."""

    def _create(self, seen: Seen, store: dict[str, dict[str, Any]], kind: str) -> httpx2.Response:
        response = super()._create(seen, store, kind)
        if kind != "User" or response.status_code != 201:
            return response
        body = json.loads(response.content)
        store["z\ud800"] = {**store.pop(body["id"]), "id": "z\ud800"}
        return json_response(201, {**body, "id": "z\ud800"})


def test_a_create_answered_with_an_id_that_is_not_unicode_names_it_nowhere(
    token: str, tmp_path: Path
) -> None:
    # The id is refused where a create's id is taken: no group is written with it as a
    # member, and the next plan finds the user in error, never creates it again.
    fake = NotUnicodeIds()
    fake.add_user("alice@example.com", active=True)
    users = [{"userName": "alice@example.com"}, {"userName": "bob@example.com"}]
    groups = [{"displayName": "Eng", "members": ["alice@example.com", "bob@example.com"]}]
    specs = write_spec(tmp_path, users, groups)
    _, result = plan_and_apply(specs, fake)
    failed = {o.key: o.message for o in result.outcomes if not o.ok}
    assert failed["bob@example.com"] == (
        "the target's id 'z\\ud800' is not Unicode text (a lone surrogate): no URL names it"
    )
    assert all("\\ud800" not in json.dumps(s.body) for s in fake.requests if s.body)
    again = replan(specs, fake)
    assert all(c.key != "bob@example.com" for c in again.plan.changes)
    [error] = again.plan.errors
    assert (error.key, error.message) == ("bob@example.com", UNREADABLE)


def test_a_numeric_id_past_64_bits_is_written_to_as_sent(token: str, tmp_path: Path) -> None:
    """An id some targets send as a JSON number, too long for 64 bits: read as the integer
    it is (a reader taking it for a double would name 18446744073709551616, another
    account), the stray's disable goes to that id and to no other."""
    fake = FakeScim()
    kept = fake.add_user("kept@example.com", active=True)
    big = 2**64 + 1
    fake.users[str(big)] = {
        **fake._stamp("User", str(big), {"userName": "eve@example.com"}),
        "id": big,
        "active": True,
    }
    fake.users[str(2**64)] = fake._stamp(
        "User", str(2**64), {"userName": "near@example.com", "active": True}
    )
    specs = write_spec(
        tmp_path,
        [{"userName": "kept@example.com"}, {"userName": "near@example.com"}],
        prune="all",
    )
    prepared, _ = plan_and_apply(specs, fake)
    disabled = [c.target_id for c in prepared.plan.changes]
    assert disabled == [str(big)]
    writes = [s.path for s in fake.requests if s.method != "GET"]
    assert writes == [f"/Users/{big}"], writes
    assert fake.users[str(big)]["active"] is False
    assert fake.users[str(2**64)]["active"] is True and fake.users[kept]["active"] is True
