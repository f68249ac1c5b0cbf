"""A write answered with the resource as it was BEFORE the change (open-webui/open-webui
#30074; Microsoft's SCIM reference code, MicrosoftDocs/azure-docs#60316) is judged by one
read of the resource, not by its answer (Session.held_after): the answer alone would fail a
done disable ("use deprovision: delete") and report a kept attribute "not kept". The read
is made only where the answer disagrees with what was sent, so a target that answers with
the resource as written costs nothing more. An answer that says done is believed
(test_access_kept: a target that ignores `active: false` still fails)."""

from __future__ import annotations

import copy
from pathlib import Path

import httpx2
import pytest

from reconciler.core.plan import Action
from reconciler.scim.apply.runner import Applier
from reconciler.scim.client import ScimClient
from tests.fakescim import LIST_RESPONSE, FakeScim, json_response
from tests.scim.test_faults import outcomes, plan_and_apply, replan, user, write_spec

pytestmark = pytest.mark.usefixtures("token")


class AnsweredAsBefore(FakeScim):
    """Makes each PATCH and answers it with the resource as it was before; refuses PUT as
    a PATCH-only target does (Google Cloud Identity's HTML 404, vouch 405) unless `puts`."""

    puts = False

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        if request.method == "PUT" and not self.puts:
            return httpx2.Response(405, text="Method Not Allowed")
        rid = request.url.path.rsplit("/", 1)[-1]
        before = copy.deepcopy(self.users.get(rid) or self.groups.get(rid))
        response = super().handle(request)
        if request.method == "PATCH" and response.status_code == 200 and before is not None:
            return json_response(200, before)
        return response


def _writes(fake: FakeScim) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in fake.requests if r.method not in ("GET",)]


@pytest.mark.parametrize("puts", [False, True])
def test_a_patch_answered_as_before_is_judged_by_a_read(tmp_path: Path, puts: bool) -> None:
    fake = AnsweredAsBefore()
    fake.puts = puts
    alice = fake.add_user("alice@example.com", displayName="Old", active=True)
    bob = fake.add_user("bob@example.com", active=True)
    specs = write_spec(
        tmp_path,
        [user("alice@example.com", displayName="Alice"), user("bob@example.com", state="absent")],
    )
    _, result = plan_and_apply(specs, fake)
    assert result.failed == ()
    assert result.not_kept == ()
    assert outcomes(result) == {
        "alice@example.com": (Action.UPDATE, True),
        "bob@example.com": (Action.DISABLE, True),
    }
    # Done as sent, once each: no second try in another form, no PUT.
    assert sorted(_writes(fake)) == [("PATCH", f"/Users/{alice}"), ("PATCH", f"/Users/{bob}")]
    assert fake.users[bob]["active"] is False
    assert fake.users[alice]["displayName"] == "Alice"
    assert not replan(specs, fake).plan.has_changes


def test_a_group_patch_answered_as_before_is_judged_by_a_read(tmp_path: Path) -> None:
    fake = AnsweredAsBefore()
    eng = fake.add_group("Eng")
    specs = write_spec(tmp_path, [], [{"displayName": "Eng", "externalId": "eng"}])
    _, result = plan_and_apply(specs, fake)
    assert (result.failed, result.not_kept) == ((), ())
    assert fake.groups[eng]["externalId"] == "eng"


def test_an_answer_that_holds_what_was_sent_is_not_read_again(tmp_path: Path) -> None:
    fake = FakeScim()
    alice = fake.add_user("alice@example.com", displayName="Old", active=True)
    specs = write_spec(tmp_path, [user("alice@example.com", displayName="Alice")])
    _, result = plan_and_apply(specs, fake)
    assert result.failed == ()
    assert [(r.method, r.path) for r in fake.requests][-1] == ("PATCH", f"/Users/{alice}")


def test_a_disable_answered_as_before_and_not_made_still_fails(tmp_path: Path) -> None:
    # The read confirms what the answer shows: the account is still active.
    fake = AnsweredAsBefore()
    bob = fake.add_user("bob@example.com", active=True)
    fake.ignores = {"active"}
    specs = write_spec(tmp_path, [user("bob@example.com", state="absent")])
    _, result = plan_and_apply(specs, fake)
    (failed,) = result.failed
    assert "still shows the account active: not disabled" in failed.message
    assert fake.users[bob]["active"] is True


@pytest.mark.parametrize("read", ["listing", "another"])
def test_a_read_that_is_not_the_resource_never_overrules_the_answer(
    tmp_path: Path, read: str
) -> None:
    # The answer shows bob still active; the confirming GET answers a ListResponse, or
    # another (inactive) user: it says nothing of bob, so the answer is judged, and the
    # disable the target ignored fails instead of being reported done.
    fake = FakeScim()
    bob = fake.add_user("bob@example.com", active=True)
    other = fake.add_user("other@example.com", active=False)
    fake.ignores = {"active"}
    patched: list[str] = []

    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.method == "PATCH":
            patched.append(request.url.path)
        if request.method == "GET" and patched and request.url.path.endswith(f"/Users/{bob}"):
            if read == "listing":
                listed = {
                    "schemas": [LIST_RESPONSE],
                    "totalResults": 1,
                    "Resources": [fake.users[bob]],
                }
                return json_response(200, listed)
            return json_response(200, fake.users[other])
        return fake.handle(request)

    specs = write_spec(tmp_path, [user("bob@example.com", state="absent")])
    prepared = replan(specs, fake)
    client = ScimClient.for_target(prepared.target, transport=httpx2.MockTransport(handle))
    result = Applier(client, prepared.target, prepared.caps, prepared.log).run(prepared.plan)
    # Failed, whichever check sees it first (the answer's active, or a second try's read
    # that is not bob); never counted done.
    (failed,) = result.failed
    assert failed.key == "bob@example.com"
    assert result.counts()["disable"] == 0
    assert fake.users[bob]["active"] is True
