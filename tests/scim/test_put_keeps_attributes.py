"""A GET-merge-PUT never removes what the GET left out (RFC 7644 §3.5.1: PUT replaces the
whole resource). Some services leave attributes out of one resource's GET unless asked for
(`returned: request`, or a terser view than their listing): a PUT of that body would take
away a user's roles, entitlements or extension values that no plan showed, and no guard
counted. What the plan's read held and the GET lacks is asked for; what is still missing
refuses the PUT."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
import stamina

from tests.fakescim import ENTERPRISE_URN, FakeScim, json_response
from tests.scim.conftest import TOKEN, TOKEN_ENV
from tests.scim.test_faults import outcomes, plan_and_apply, replan, user, write_spec

ALICE = "alice@example.com"
HELD = {
    "roles": [{"value": "admin"}],
    "entitlements": [{"value": "prod-db"}],
    ENTERPRISE_URN: {"department": "Ops", "costCenter": "42"},
}


class TerseGet(FakeScim):
    """GET /Users/<id> leaves out roles, entitlements and the enterprise costCenter unless
    `attributes` names them; `asked` False: it never returns them from a GET by id."""

    def __init__(self, *, asked: bool) -> None:
        super().__init__(token=TOKEN)
        self.patch_unsupported = True
        self.asked = asked

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        response = super().handle(request)
        *_, endpoint, _ = request.url.path.rsplit("/", 2)
        if request.method != "GET" or endpoint != "Users" or response.status_code != 200:
            return response
        body = json.loads(response.content)
        wanted = request.url.params.get("attributes", "").split(",") if self.asked else []
        for name in ("roles", "entitlements"):
            if name not in wanted:
                body.pop(name, None)
        if ENTERPRISE_URN not in wanted and isinstance(body.get(ENTERPRISE_URN), dict):
            body[ENTERPRISE_URN] = {
                k: v for k, v in body[ENTERPRISE_URN].items() if k != "costCenter"
            }
        return json_response(200, body, {"Content-Type": "application/scim+json"})


@pytest.fixture(autouse=True)
def _setup(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    stamina.set_testing(True)
    yield
    stamina.set_testing(False)


def test_a_put_asks_for_what_the_get_left_out_and_sends_it_back(tmp_path: Path) -> None:
    fake = TerseGet(asked=True)
    alice = fake.add_user(ALICE, title="Engineer", **HELD)
    specs = write_spec(tmp_path, [user(ALICE, title="Manager")], [])
    _, result = plan_and_apply(specs, fake)
    assert result.failed == (), outcomes(result)
    assert fake.count("PUT") == 1
    assert fake.users[alice]["title"] == "Manager"
    assert {k: fake.users[alice].get(k) for k in HELD} == HELD
    assert not replan(specs, fake).plan.has_changes


def test_a_put_whose_get_never_shows_what_the_user_held_is_not_sent(tmp_path: Path) -> None:
    fake = TerseGet(asked=False)
    alice = fake.add_user(ALICE, title="Engineer", **HELD)
    specs = write_spec(tmp_path, [user(ALICE, title="Manager")], [])
    _, result = plan_and_apply(specs, fake)
    [failed] = result.failed
    assert "lacks" in failed.message and "roles" in failed.message, failed.message
    assert fake.count("PUT") == 0
    assert {k: fake.users[alice].get(k) for k in HELD} == HELD


class NoTitleOnGet(FakeScim):
    """GET /Users/<id> never shows `title`, asked or not; its listing does."""

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        response = super().handle(request)
        *_, endpoint, _ = request.url.path.rsplit("/", 2)
        if request.method != "GET" or endpoint != "Users" or response.status_code != 200:
            return response
        body = json.loads(response.content)
        body.pop("title", None)
        return json_response(200, body, {"Content-Type": "application/scim+json"})


def test_what_the_change_itself_sets_need_not_be_shown_by_the_get(tmp_path: Path) -> None:
    fake = NoTitleOnGet(token=TOKEN)
    fake.patch_unsupported = True
    alice = fake.add_user(ALICE, title="Engineer", **HELD)
    specs = write_spec(tmp_path, [user(ALICE, title="Manager")], [])
    _, result = plan_and_apply(specs, fake)
    assert result.failed == (), outcomes(result)
    assert fake.users[alice]["title"] == "Manager"
    assert {k: fake.users[alice].get(k) for k in HELD} == HELD


class OtherCaseGet(FakeScim):
    """GET /Users/<id> spells attribute names and the extension URN in another case than
    its listing does: SCIM attribute names are case-insensitive (RFC 7643 §2.1)."""

    def __init__(self) -> None:
        super().__init__(token=TOKEN)
        self.patch_unsupported = True

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        response = super().handle(request)
        *_, endpoint, _ = request.url.path.rsplit("/", 2)
        if request.method != "GET" or endpoint != "Users" or response.status_code != 200:
            return response
        body = json.loads(response.content)
        renamed = {"roles": "Roles", "entitlements": "ENTITLEMENTS", ENTERPRISE_URN: URN_CASE}
        body = {renamed.get(k, k): v for k, v in body.items()}
        if isinstance(body.get(URN_CASE), dict):
            body[URN_CASE] = {k[0].upper() + k[1:]: v for k, v in body[URN_CASE].items()}
        return json_response(200, body, {"Content-Type": "application/scim+json"})


URN_CASE = ENTERPRISE_URN.lower()


def test_a_get_spelling_attribute_names_in_another_case_is_put_back(tmp_path: Path) -> None:
    fake = OtherCaseGet()
    alice = fake.add_user(ALICE, title="Engineer", **HELD)
    specs = write_spec(tmp_path, [user(ALICE, title="Manager")], [])
    _, result = plan_and_apply(specs, fake)
    assert result.failed == (), outcomes(result)
    assert fake.count("PUT") == 1
    held = {k.casefold(): v for k, v in fake.users[alice].items()}
    assert held["roles"] == HELD["roles"]
    assert held["entitlements"] == HELD["entitlements"]
    assert {k.casefold(): v for k, v in held[URN_CASE].items()} == {
        "department": "Ops",
        "costcenter": "42",
    }


class BlankInListing(FakeScim):
    """Its listing shows unset attributes as "" (nickName, name.middleName); its GET by id
    leaves them out, asked for or not."""

    def __init__(self) -> None:
        super().__init__(token=TOKEN)
        self.patch_unsupported = True

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        response = super().handle(request)
        if request.method != "GET" or response.status_code != 200:
            return response
        body = json.loads(response.content)
        if not request.url.path.endswith("/Users") or "Resources" not in body:
            return response
        for item in body["Resources"]:
            item["nickName"] = ""
            item["name"] = {**item.get("name", {}), "middleName": ""}
        return json_response(200, body, {"Content-Type": "application/scim+json"})


def test_a_blank_the_listing_shows_is_nothing_a_put_would_remove(tmp_path: Path) -> None:
    fake = BlankInListing()
    alice = fake.add_user(ALICE, title="Engineer", name={"givenName": "Alice"})
    specs = write_spec(tmp_path, [user(ALICE, title="Manager")], [])
    _, result = plan_and_apply(specs, fake)
    assert result.failed == (), outcomes(result)
    assert fake.count("PUT") == 1
    assert fake.users[alice]["title"] == "Manager"
    assert fake.users[alice]["name"] == {"givenName": "Alice"}


class LastValuesOnly(FakeScim):
    """A user's GET by id shows the last item of each multi-valued attribute only; its
    listing shows them all."""

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        response = super().handle(request)
        parts = request.url.path.rstrip("/").split("/")
        if request.method != "GET" or response.status_code != 200 or parts[-2:-1] != ["Users"]:
            return response
        body = json.loads(response.content)
        for name in ("roles", "entitlements", "emails"):
            if isinstance(body.get(name), list):
                body[name] = body[name][-1:]
        return json_response(200, body, {"Content-Type": "application/scim+json"})


def test_a_put_is_not_sent_from_a_get_that_shows_a_multi_valued_attribute_cut_short(
    tmp_path: Path,
) -> None:
    # Sent back, the PUT would take the protected account's admin role and prod-db
    # entitlement away, with no guard counting it: refused, nothing written.
    fake = LastValuesOnly()
    fake.patch_unsupported = True
    roles = [{"value": "admin"}, {"value": "billing"}]
    held = [{"value": "prod-db"}, {"value": "wiki"}]
    uid = fake.add_user("breakglass@example.com", title="Engineer", roles=roles, entitlements=held)
    specs = write_spec(
        tmp_path, [user("breakglass@example.com", title="Manager")], protected=["breakglass@*"]
    )
    _, result = plan_and_apply(specs, fake)
    (failed,) = result.failed
    assert failed.message.startswith(f"GET /Users/{uid} lacks entitlements, roles, which the ")
    assert fake.count("PUT") == 0
    assert (fake.users[uid]["roles"], fake.users[uid]["entitlements"]) == (roles, held)
