"""OAuth 2.0 client credentials (RFC 6749 §4.4): tokens that expire during a run are renewed
ahead of time and once after a 401; the client authenticates with Basic or in the form; a
token endpoint that misbehaves fails clearly, without leaking the client secret.

A fake token endpoint and FakeScim share one MockTransport (fault injection, DESIGN §8).
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

import httpx2
import pytest

from reconciler.core.config import Auth, Target
from reconciler.errors import ScimHTTPError, TargetError
from reconciler.run import prepare
from reconciler.scim.client import ScimClient
from reconciler.scim.oauth import ClientCredentials
from reconciler.scim.redact import forget_secrets
from tests.fakescim import BASE_URL, FakeScim, scim_error

TOKEN_URL = "https://idp.test/oauth2/token"
CLIENT_ID = "scim rec/client"  # characters that RFC 6749 §2.3.1 form-encodes
CLIENT_SECRET = "s3cr:t+/secret-value"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Idp:
    """A token endpoint: issues at-1, at-2, ... each valid for `lifetime` seconds."""

    def __init__(self, clock: Clock, lifetime: int | None = 3600) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.issued: dict[str, float] = {}  # token → when it expires
        self.requests: list[httpx2.Request] = []
        self.answer: httpx2.Response | None = None  # answer this instead, when set

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        if self.answer is not None:
            return self.answer
        token = f"at-{len(self.issued) + 1}"
        lifetime = self.lifetime if self.lifetime is not None else 10**9
        self.issued[token] = self.clock() + lifetime
        body: dict[str, Any] = {"access_token": token, "token_type": "Bearer"}
        if self.lifetime is not None:
            body["expires_in"] = self.lifetime
        return httpx2.Response(200, json=body)

    def valid(self, header: str | None) -> bool:
        token = (header or "").removeprefix("Bearer ")
        return token in self.issued and self.clock() < self.issued[token]

    def revoke_all(self) -> None:
        for token in self.issued:
            self.issued[token] = -1.0

    def form(self, index: int = 0) -> dict[str, list[str]]:
        return parse_qs(self.requests[index].content.decode())


class World:
    """The IdP and the SCIM target behind one transport; the target checks every token."""

    def __init__(self, lifetime: int | None = 3600) -> None:
        self.clock = Clock()
        self.idp = Idp(self.clock, lifetime)
        self.fake = FakeScim()
        self.fake.add_user("a@example.com")
        self.refused: list[str] = []  # the tokens the target answered 401 to

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        if request.url.host == "idp.test":
            return self.idp.handle(request)
        header = request.headers.get("authorization")
        if not self.idp.valid(header):
            self.refused.append(str(header))
            return scim_error(401, "invalid token")
        return self.fake.handle(request)

    @property
    def transport(self) -> httpx2.MockTransport:
        return httpx2.MockTransport(self.handle)

    def oauth(self, method: str = "client_secret_basic") -> ClientCredentials:
        http = httpx2.Client(transport=self.transport)
        return ClientCredentials(
            TOKEN_URL,
            CLIENT_ID,
            CLIENT_SECRET,
            scope="scim",
            method=method,
            http=http,
            clock=self.clock,
        )

    def client(self, oauth: ClientCredentials) -> ScimClient:
        return ScimClient(httpx2.Client(transport=self.transport, auth=oauth), BASE_URL)

    def tokens_seen(self) -> list[str]:
        return [s.headers["authorization"] for s in self.fake.requests]


@pytest.fixture(autouse=True)
def _forget() -> Iterator[None]:
    yield
    forget_secrets()


def test_one_token_serves_the_run_while_it_is_valid() -> None:
    world = World()
    oauth = world.oauth()
    client = world.client(oauth)
    for _ in range(3):
        client.get("/Users")
    world.clock.now = 3000  # well within the hour
    client.get("/Users")
    assert len(world.idp.requests) == 1
    assert set(world.tokens_seen()) == {"Bearer at-1"}


def test_a_token_is_renewed_before_it_expires() -> None:
    world = World(lifetime=3600)
    client = world.client(world.oauth())
    client.get("/Users")
    world.clock.now = 3545  # a minute before the end: renewed now, never sent stale
    client.get("/Users")
    client.get("/Users")
    assert len(world.idp.requests) == 2
    assert world.tokens_seen() == ["Bearer at-1", "Bearer at-2", "Bearer at-2"]
    assert world.refused == []


def test_a_short_lived_token_is_renewed_a_tenth_of_its_life_early() -> None:
    world = World(lifetime=100)
    client = world.client(world.oauth())
    client.get("/Users")
    world.clock.now = 89
    client.get("/Users")
    world.clock.now = 91
    client.get("/Users")
    assert world.tokens_seen() == ["Bearer at-1", "Bearer at-1", "Bearer at-2"]


def test_a_token_without_expires_in_is_kept_until_refused() -> None:
    world = World(lifetime=None)
    client = world.client(world.oauth())
    client.get("/Users")
    world.clock.now = 10**6
    client.get("/Users")
    assert len(world.idp.requests) == 1


@pytest.mark.parametrize(
    "expires_in",
    ["1" + "0" * 400, "1e400", '"' + "9" * 5000 + '"', '"\u00b2"', "true", '"3600s"', "-3600"],
)
def test_a_lifetime_too_long_or_unreadable_is_none_given(expires_in: str) -> None:
    # A 400-digit integer is JSON Python reads whole, and no float can hold; "²" passes
    # str.isdigit but not int(). Either way the token is kept until the target refuses it.
    world = World()
    text = f'{{"access_token": "at-1", "token_type": "Bearer", "expires_in": {expires_in}}}'
    world.idp.answer = httpx2.Response(200, text=text)
    oauth = world.oauth()
    assert oauth.token() == "at-1"
    assert oauth.renew_at is None


def test_a_lifetime_sent_as_a_string_is_honoured() -> None:
    world = World()
    text = '{"access_token": "at-1", "token_type": "Bearer", "expires_in": "0000003600"}'
    world.idp.answer = httpx2.Response(200, text=text)
    oauth = world.oauth()
    oauth.token()
    assert oauth.renew_at == 3600 - 60


def test_a_refused_token_is_renewed_once_and_the_request_resent() -> None:
    world = World()
    client = world.client(world.oauth())
    client.get("/Users")
    world.idp.revoke_all()  # revoked early: the client cannot know until the target says
    reply = client.create("/Users", {"userName": "b@example.com"})
    assert reply.status == 201
    assert world.refused == ["Bearer at-1"]
    assert len(world.idp.requests) == 2
    assert len(world.fake.user_named("b@example.com")) == 1  # a 401 is not processed


def test_a_second_401_stands() -> None:
    world = World()
    world.idp.lifetime = 0  # every token it issues is already expired for the target
    oauth = world.oauth()
    client = world.client(oauth)
    with pytest.raises(ScimHTTPError) as caught:
        client.get("/Users")
    assert caught.value.status == 401
    assert len(world.idp.requests) == 2  # the first token, and one renewal: no loop
    assert len(world.refused) == 2


def test_threads_refused_the_same_token_renew_it_once() -> None:
    world = World()
    oauth = world.oauth()
    stale = oauth.token()
    world.idp.revoke_all()

    def refused() -> None:
        oauth.used.token = stale  # this thread sent the stale token and got a 401
        oauth.refresh_after_401()

    threads = [threading.Thread(target=refused) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(world.idp.requests) == 2
    assert oauth.token() == "at-2"


def test_client_secret_basic_is_the_default_and_form_encodes_both_parts() -> None:
    world = World()
    world.oauth().token()
    (request,) = world.idp.requests
    pair = f"{quote(CLIENT_ID, safe='')}:{quote(CLIENT_SECRET, safe='')}"
    assert request.headers["authorization"] == "Basic " + base64.b64encode(pair.encode()).decode()
    assert world.idp.form() == {"grant_type": ["client_credentials"], "scope": ["scim"]}


def test_client_secret_post_sends_the_credentials_in_the_form() -> None:
    world = World()
    world.oauth("client_secret_post").token()
    (request,) = world.idp.requests
    assert "authorization" not in request.headers
    assert world.idp.form() == {
        "grant_type": ["client_credentials"],
        "scope": ["scim"],
        "client_id": [CLIENT_ID],
        "client_secret": [CLIENT_SECRET],
    }


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (
            httpx2.Response(
                400,
                json={
                    "error": "invalid_client",
                    "error_description": f"bad secret {CLIENT_SECRET}",
                },
            ),
            f"the token endpoint {TOKEN_URL} answered 400: invalid_client (bad secret ***)",
        ),
        (
            httpx2.Response(302, headers={"Location": "https://elsewhere.test/token"}),
            f"the token endpoint {TOKEN_URL} answered 302 (a redirect; not followed, so the "
            "client secret goes nowhere else)",
        ),
        (
            httpx2.Response(200, text="<html>login</html>"),
            f"the token endpoint {TOKEN_URL} sent no access_token",
        ),
        (
            httpx2.Response(200, json={"access_token": "x" * 20, "token_type": "mac"}),
            f"the token endpoint {TOKEN_URL} sent a 'mac' token, not a bearer token",
        ),
    ],
)
def test_a_token_endpoint_that_misbehaves_fails_clearly(
    answer: httpx2.Response, message: str
) -> None:
    world = World()
    world.idp.answer = answer
    with pytest.raises(TargetError) as caught:
        world.oauth().token()
    assert str(caught.value) == message
    assert [r.url.host for r in world.idp.requests] == ["idp.test"]


def test_a_token_response_past_its_cap_is_refused() -> None:
    world = World()
    world.idp.answer = httpx2.Response(200, content=b" " * (2 * 1024 * 1024))
    with pytest.raises(TargetError, match="larger than 1 MiB"):
        world.oauth().token()


# -- through the target's settings and a whole plan -----------------------------------------


def write_oauth_spec(root: Path, method: str | None = None) -> Path:
    auth: dict[str, Any] = {
        "type": "oauth2_client_credentials",
        "token_url": TOKEN_URL,
        "client_id_env": "OAUTH_ID",
        "client_secret_env": "OAUTH_SECRET",
        "scope": "scim",
    }
    if method:
        auth["token_endpoint_auth_method"] = method
    doc = {
        "version": 1,
        "targets": {"fake": {"url": BASE_URL, "auth": auth}},
        "users": [{"userName": "a@example.com"}],
    }
    (root / "spec.json.yaml").write_text(json.dumps(doc), encoding="utf-8")
    return root


@pytest.mark.parametrize("method", [None, "client_secret_post"])
def test_a_plan_authenticates_with_the_target_oauth_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, method: str | None
) -> None:
    monkeypatch.setenv("OAUTH_ID", CLIENT_ID)
    monkeypatch.setenv("OAUTH_SECRET", CLIENT_SECRET)
    world = World()
    prepared = prepare(write_oauth_spec(tmp_path, method), "fake", transport=world.transport)
    prepared.client.close()
    assert not prepared.plan.has_changes
    assert len(world.idp.requests) == 1
    sent_in_form = "client_secret" in world.idp.form()
    assert sent_in_form == (method == "client_secret_post")
    assert set(world.tokens_seen()) == {"Bearer at-1"}


def test_the_client_id_is_not_a_secret_but_the_client_secret_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reconciler.scim.redact import scrub

    monkeypatch.setenv("OAUTH_ID", "user")
    monkeypatch.setenv("OAUTH_SECRET", CLIENT_SECRET)
    world = World()
    prepare(write_oauth_spec(tmp_path), "fake", transport=world.transport).client.close()
    assert scrub('{"kind": "user"}') == '{"kind": "user"}'
    assert scrub(f"x {CLIENT_SECRET} y Bearer at-1") == "x *** y Bearer ***"


def test_the_target_setting_reaches_the_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OAUTH_ID", CLIENT_ID)
    monkeypatch.setenv("OAUTH_SECRET", CLIENT_SECRET)
    world = World()
    auth = Auth(
        "oauth2_client_credentials",
        token_url=TOKEN_URL,
        client_id_env="OAUTH_ID",
        client_secret_env="OAUTH_SECRET",
        token_endpoint_auth_method="client_secret_post",
    )
    client = ScimClient.for_target(Target("fake", BASE_URL, auth), transport=world.transport)
    assert isinstance(client.http.auth, ClientCredentials)
    assert client.http.auth.method == "client_secret_post"
    assert client.http.auth.http.follow_redirects is False
    client.close()
