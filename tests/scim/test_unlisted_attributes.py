"""Users a plan writes attributes to that their listing left out are read by id, and the
plan made again from what was read (scim/unlisted_attributes.py).

Planned from a listing that leaves out `roles`, a protected admin's `admin` role looked
unset: the plan showed a grant, the write replaced the role, and no guard counted it. A
listing that leaves the manager out of the enterprise extension had `manager: null`
never cleared. Each route is tried: a listing without roles or entitlements, a bare
listing whose first user holds nothing more, a sub-attribute left out; and the cost on a
target whose listing shows what it holds (a sample, then nothing more).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest

from reconciler.cli import main
from reconciler.core.changes import Action, Change
from reconciler.core.config import Target
from reconciler.core.diff import AttrChange
from reconciler.core.model import ENTERPRISE_URN, Kind, Observed, Resource
from reconciler.scim.client import ScimClient
from reconciler.scim.retries import RetryPolicy
from reconciler.scim.unlisted_attributes import with_attributes_read
from tests.fakescim import BASE_URL, FakeScim, json_response
from tests.scim.conftest import TOKEN
from tests.scim.test_faults import plan_and_apply, replan, user, write_spec

pytestmark = pytest.mark.usefixtures("token")

TINY = RetryPolicy(attempts=1, timeout=5.0, wait_initial=0.001, wait_max=0.002)

SHOWN = {"schemas", "id", "meta", "userName", "externalId", "displayName", "active", "emails"}


def _fake(listed: set[str] | None = SHOWN) -> FakeScim:
    fake = FakeScim(token=TOKEN)
    fake.listed_user_attributes = listed
    return fake


def test_roles_the_listing_leaves_out_are_read_before_they_are_replaced(tmp_path: Path) -> None:
    # The listing shows emails (so it is not bare, and reads_by_id reads no one by id),
    # but neither roles nor entitlements.
    fake = _fake()
    email = {"emails": [{"value": "x@example.com", "type": "work"}]}
    admin = fake.add_user("admin@example.com", active=True, roles=[{"value": "admin"}], **email)
    bob = fake.add_user(
        "bob@example.com", active=True, entitlements=[{"value": "prod-db"}], **email
    )
    specs = write_spec(
        tmp_path,
        [user("admin@example.com", roles=[{"value": "viewer"}]),
         user("bob@example.com", entitlements=[{"value": "wiki"}])],
        protected=["admin@*"],
        guards={"max_member_removals": 0},
    )  # fmt: skip

    prepared = replan(specs, fake)

    [bob_change] = prepared.plan.changes  # the admin keeps its roles: no change left
    assert bob_change.attributes[0].before == [{"value": "prod-db"}]
    assert any("admin@example.com is protected: keeps its roles" in n for n in prepared.plan.notes)
    assert any("max_member_removals" in g for g in prepared.plan.guards), prepared.plan.guards
    assert main(["apply", str(specs), "--auto-approve"], transport=fake.transport) == 1
    assert fake.users[admin]["roles"] == [{"value": "admin"}]
    assert fake.users[bob]["entitlements"] == [{"value": "prod-db"}]  # the guard stopped it


def test_a_bare_listing_whose_first_user_holds_nothing_more(tmp_path: Path) -> None:
    # reads_by_id.in_full samples the first listed users: a service account with nothing
    # more to show makes the listing look whole.
    fake = _fake({"schemas", "id", "meta", "userName", "active"})
    fake.add_user("svc-ci@example.com", active=True)
    admin = fake.add_user("admin@example.com", active=True, roles=[{"value": "admin"}])
    users = [user("svc-ci@example.com"), user("admin@example.com", roles=[{"value": "viewer"}])]
    specs = write_spec(tmp_path, users, protected=["admin@*"])

    _, result = plan_and_apply(specs, fake)

    assert result.outcomes == ()
    assert fake.users[admin]["roles"] == [{"value": "admin"}]


def _without_manager(fake: FakeScim) -> httpx2.MockTransport:
    """Zoom's ListUsers: the enterprise extension without its manager."""

    def handle(request: httpx2.Request) -> httpx2.Response:
        reply = fake.handle(request)
        if request.method != "GET" or not request.url.path.endswith("/Users"):
            return reply
        body = json.loads(reply.content)
        for listed in body.get("Resources", []):
            listed.get(ENTERPRISE_URN, {}).pop("manager", None)
        return json_response(reply.status_code, body)

    return httpx2.MockTransport(handle)


def test_a_sub_attribute_the_listing_leaves_out_is_read_before_it_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The plan shows the manager alice has, not "null": and with it, the write is the one
    # the plan showed, and the next plan finds nothing to do.
    fake = _fake(None)
    boss = fake.add_user("boss@example.com", active=True)
    fake.add_user("carol@example.com", active=True)
    alice = fake.add_user(
        "alice@example.com", active=True, **{ENTERPRISE_URN: {"manager": {"value": boss}}}
    )
    users = [user("boss@example.com"), user("carol@example.com"),
             user("alice@example.com", enterprise={"manager": "carol@example.com"})]  # fmt: skip
    specs = write_spec(tmp_path, users)
    transport = _without_manager(fake)

    assert main(["apply", str(specs), "--auto-approve"], transport=transport) == 0

    assert f'enterprise.manager  "{boss}" → carol@example.com' in capsys.readouterr().out
    carol = fake.user_named("carol@example.com")[0]["id"]
    assert fake.users[alice][ENTERPRISE_URN] == {"manager": {"value": carol}}
    assert main(["plan", str(specs), "--detailed-exitcode"], transport=transport) == 0


def test_a_listing_that_shows_what_it_holds_costs_a_sample(tmp_path: Path) -> None:
    # Honest: attributes left out hold nothing. Ten users get a title they lack; five are
    # read to tell, and the plan stands as made from the listing.
    fake = _fake()
    names = [f"u{n}@example.com" for n in range(10)]
    for name in names:
        fake.add_user(name, active=True)
    specs = write_spec(tmp_path, [user(n, title="Engineer") for n in names])

    prepared = replan(specs, fake)

    assert len(prepared.plan.changes) == 10
    # One by reads_by_id's own sample of a bare listing, five here.
    assert fake.count("GET", "/Users/*") == 1 + 5


def test_a_failed_read_of_a_user_whose_roles_were_left_out_puts_it_in_error(
    tmp_path: Path,
) -> None:
    fake = _fake()
    fake.add_user("ann@example.com", active=True)  # read first by reads_by_id's sample
    admin = fake.add_user("admin@example.com", active=True, roles=[{"value": "admin"}])
    fake.fail("GET", f"/Users/{admin}", status=500, times=100)
    users = [user("ann@example.com"), user("admin@example.com", roles=[{"value": "viewer"}])]
    specs = write_spec(tmp_path, users)

    prepared = replan(specs, fake)

    assert prepared.plan.changes == ()
    [error] = [e for e in prepared.plan.errors if e.key == "admin@example.com"]
    assert "GET /Users/u2 answered 500" in error.message
    assert fake.users[admin]["roles"] == [{"value": "admin"}]


def test_a_saved_plan_is_checked_against_a_read_made_the_same_way(tmp_path: Path) -> None:
    fake = _fake()
    bob = fake.add_user("bob@example.com", active=True, roles=[{"value": "billing"}])
    specs = write_spec(
        tmp_path, [user("bob@example.com", roles=[{"value": "billing"}, {"value": "audit"}])]
    )
    saved = tmp_path / "bob.plan"
    assert main(["plan", str(specs), "--out", str(saved)], transport=fake.transport) == 0
    assert main(["apply", "--plan", str(saved), str(specs)], transport=fake.transport) == 0
    assert fake.users[bob]["roles"] == [{"value": "billing"}, {"value": "audit"}]


def test_a_saved_plan_applies_where_some_users_already_hold_the_value(tmp_path: Path) -> None:
    # The plan's reads found ann already right: its final plan no longer names her, and
    # the apply's read must still be chosen as the plan's was, or ann looks unset again.
    fake = _fake()
    fake.add_user("ann@example.com", active=True, title="Engineer")
    bob = fake.add_user("bob@example.com", active=True)
    users = [user("ann@example.com", title="Engineer"), user("bob@example.com", title="Engineer")]
    specs = write_spec(tmp_path, users)
    saved = tmp_path / "both.plan"
    assert main(["plan", str(specs), "--out", str(saved)], transport=fake.transport) == 0
    assert main(["apply", "--plan", str(saved), str(specs)], transport=fake.transport) == 0
    assert fake.users[bob]["title"] == "Engineer"


class _Log:
    def __init__(self) -> None:
        self.events: list[str] = []

    def info(self, event: str, **_: Any) -> None:
        self.events.append(event)

    warning = info


def test_past_the_reads_allowed() -> None:
    # Two reads allowed, a sample of one: a change touching access past them is in error,
    # whatever the reads showed; others past them are compared as listed, with a note,
    # never in error (each run would put the same ones in error, and never converge).
    fake = FakeScim()  # the client below sends no token
    for n in range(3):
        fake.add_user(f"r{n}@example.com", roles=[{"value": "admin"}])
        fake.add_user(f"t{n}@example.com", title="Old")
    listed = tuple(
        Resource(uid, {k: v for k, v in u.items() if k not in ("roles", "title")})
        for uid, u in fake.users.items()
    )
    grants = (AttrChange("roles", None, [{"value": "viewer"}]),)
    titles = (AttrChange("title", None, "New"),)
    changes = [
        Change(Kind.USER, str(u.body["userName"]), Action.UPDATE, "attributes differ", u.id,
               attributes=grants if str(u.body["userName"]).startswith("r") else titles)
        for u in listed
    ]  # fmt: skip
    client = ScimClient(fake.client(), BASE_URL, retry=TINY)
    target = Target("t", BASE_URL)

    read = with_attributes_read(
        client, Observed(listed, ()), changes, target, _Log(), max_reads=2, sample=1
    )

    by_name = {u.body["userName"]: u for u in read.users}
    assert [n for n, u in by_name.items() if u.problem is not None] == ["r2@example.com"]
    assert [n for n, u in by_name.items() if "roles" in u.body] == [
        "r0@example.com",
        "r1@example.com",
    ]
    # r0 shows what the listing left out: the sample's user is read, the rest are past
    # the reads allowed and compared as listed.
    assert [n for n, u in by_name.items() if "title" in u.body] == ["t0@example.com"]
    assert any("compared as listed" in n for n in read.notes)


def test_a_create_or_a_group_in_the_plan_stops_no_read(tmp_path: Path) -> None:
    # Changes of other kinds and creates come first in a plan; each user update after
    # them whose roles the listing left out is still read.
    fake = _fake()
    email = {"emails": [{"value": "x@example.com", "type": "work"}]}
    admin = fake.add_user("admin@example.com", active=True, roles=[{"value": "admin"}], **email)
    users = [user("new@example.com"), user("admin@example.com", roles=[{"value": "viewer"}])]
    groups = [{"displayName": "Eng", "members": ["new@example.com"]}]
    specs = write_spec(tmp_path, users, groups, protected=["admin@*"])
    prepared = replan(specs, fake)
    assert "admin@example.com" not in {c.key for c in prepared.plan.changes}
    assert fake.count("GET", f"/Users/{admin}") >= 1


def test_active_left_out_of_the_listing_is_read_as_access(tmp_path: Path) -> None:
    # Six users whose titles change (past the sample of five) and one disable, all left
    # out of the listing: the disable touches access, and is read whatever the sample.
    fake = _fake({"schemas", "id", "meta", "userName", "emails"})
    email = {"emails": [{"value": "x@example.com", "type": "work"}]}
    for n in range(6):  # no title yet: their reads show nothing the listing left out
        fake.add_user(f"t{n}@example.com", **email)
    off = fake.add_user("off@example.com", active=False, **email)
    users = [user(f"t{n}@example.com", title="New") for n in range(6)]
    users.append(user("off@example.com", active=False))
    prepared = replan(write_spec(tmp_path, users), fake)
    assert fake.count("GET", f"/Users/{off}") == 1
    assert "off@example.com" not in {c.key for c in prepared.plan.changes}
