"""A target id that is not a plain path segment never sends a write somewhere else.

Ids are the target's data (some targets use what users type: a userName, an externalId).
Every path is built by writes.resource_path, which encodes the id as one segment, and the
client refuses a path with a dot segment, a query or a fragment whatever built it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import ScimProtocolError
from reconciler.scim.client import ScimClient
from reconciler.scim.writes import resource_path
from tests.fakescim import BASE_URL, FakeScim
from tests.scim.test_faults import plan_and_apply, write_spec


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
