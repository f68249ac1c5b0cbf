"""Target JSON is read within a nesting bound: a body nested past it is an error the client
reports on one line, never a RecursionError, whether it answers a listing, an error or a
token request."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx2
import pytest

from reconciler.core.depth import MAX_DEPTH
from reconciler.errors import ScimHTTPError, ScimProtocolError, TargetError
from reconciler.scim.client import ScimClient
from reconciler.scim.oauth import ClientCredentials
from reconciler.scim.payload import NotJson, parse
from reconciler.scim.redact import forget_secrets
from tests.fakescim import BASE_URL, FakeScim


@pytest.fixture(autouse=True)
def _forget() -> Iterator[None]:
    yield
    forget_secrets()


def nested(depth: int, inner: str = "") -> str:
    return "[" * depth + inner + "]" * depth


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{}", {}),
        ('{"a": [{"b": {"c": 1e400}}]}', {"a": [{"b": {"c": float("inf")}}]}),
        (nested(MAX_DEPTH), None),
        ("[1, " * MAX_DEPTH + "2" + "]" * MAX_DEPTH, None),
    ],
)
def test_json_up_to_the_bound_is_read(text: str, expected: object) -> None:
    assert parse(text) == (json.loads(text) if expected is None else expected)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (nested(MAX_DEPTH + 1), f"JSON nested deeper than {MAX_DEPTH} levels"),
        (nested(900), f"JSON nested deeper than {MAX_DEPTH} levels"),  # Python reads it
        (nested(5000), f"JSON nested deeper than {MAX_DEPTH} levels"),  # Python recurses out
        ('{"a": ' * 5000 + "1" + "}" * 5000, f"JSON nested deeper than {MAX_DEPTH} levels"),
        ('{"n": NaN}', "a body that is not JSON"),
        ("[-Infinity]", "a body that is not JSON"),
        ('{"a": ', "a body that is not JSON"),
        (b"\xff\xfe{", "a body that is not JSON"),
    ],
)
def test_json_past_the_bound_or_not_json_is_refused(text: str | bytes, why: str) -> None:
    with pytest.raises(NotJson) as caught:
        parse(text)
    assert str(caught.value) == why


def client(fake: FakeScim) -> ScimClient:
    return ScimClient(fake.client(), BASE_URL)


def test_a_listing_nested_past_the_bound_is_a_protocol_error() -> None:
    fake = FakeScim()
    text = '{"Resources": [{"id": "x", "userName": "x", "x": ' + nested(5000) + "}]}"
    fake.fail("GET", "/Users", status=200, text=text, headers={}, times=10)
    with pytest.raises(ScimProtocolError) as caught:
        client(fake).get("/Users")
    assert str(caught.value) == (
        f"GET /Users answered 200 with JSON nested deeper than {MAX_DEPTH} levels "
        "(text/html; charset=utf-8)"
    )


def test_an_error_body_nested_past_the_bound_is_still_an_http_error() -> None:
    fake = FakeScim()
    fake.fail("GET", "/Users/x", status=404, text=nested(5000), headers={}, times=10)
    with pytest.raises(ScimHTTPError) as caught:
        client(fake).get("/Users/x")
    assert caught.value.status == 404
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("status", [200, 400])
def test_a_token_response_nested_past_the_bound_fails_clearly(status: int) -> None:
    url = "https://idp.test/token"
    body = '{"access_token": "at-0123456789", "x": ' + nested(5000) + "}"

    def handle(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(status, text=body)

    oauth = ClientCredentials(
        url, "id", "secret-0123456789", http=httpx2.Client(transport=httpx2.MockTransport(handle))
    )
    with pytest.raises(TargetError) as caught:
        oauth.token()
    expected = "sent no access_token" if status == 200 else "answered 400"
    assert str(caught.value) == f"the token endpoint {url} {expected}"
