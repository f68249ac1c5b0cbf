"""Redaction (DESIGN §6): what is registered, in which forms, and the way in: every response
a target sends is scrubbed as it arrives, in bodies, keys, headers and error texts."""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, quote_plus, unquote

import httpx2
import pytest

from reconciler.core.config import Auth, Target
from reconciler.errors import ScimHTTPError
from reconciler.scim.auth import credentials
from reconciler.scim.client import RetryPolicy, ScimClient
from reconciler.scim.redact import (
    _Registry,
    forget_secrets,
    redact_processor,
    register_secret,
    scrub,
    scrub_json,
)
from reconciler.scim.spans import Clues
from tests.fakescim import BASE_URL, FakeScim

# Long, changed by every encoding, and 230 bytes: its base64 ends in padding.
SECRET = 's3cr~t_v@lue/with+odd"chars-' + "z" * 201
ONE_TRY = RetryPolicy(attempts=1, timeout=5.0, wait_initial=0.001, wait_max=0.002)


@pytest.fixture(autouse=True)
def registered() -> Iterator[None]:
    register_secret(SECRET)
    yield
    forget_secrets()


def windows(text: str, secret: str = SECRET, size: int = 16) -> list[str]:
    """The parts of `secret` found in `text` (a leak cut short is still a leak)."""
    return [
        secret[i : i + size] for i in range(len(secret) - size + 1) if secret[i : i + size] in text
    ]


@pytest.mark.parametrize(
    "form",
    [
        SECRET,
        base64.b64encode(SECRET.encode()).decode(),
        base64.urlsafe_b64encode(SECRET.encode()).decode().rstrip("="),
        base64.b64encode(SECRET.encode()).decode().rstrip("="),
        base64.urlsafe_b64encode(SECRET.encode()).decode(),
        quote(SECRET, safe=""),
        quote(SECRET),  # a path segment's encoding keeps the `/`
        quote_plus(SECRET),
        quote_plus(SECRET, safe="/"),
        json.dumps(SECRET)[1:-1],
    ],
    ids=[
        "raw",
        "base64",
        "base64url",
        "base64-unpadded",
        "base64url-padded",
        "percent",
        "percent-slash",
        "form",
        "form-slash",
        "json",
    ],
)
def test_every_obvious_form_of_a_secret_is_masked(form: str) -> None:
    assert scrub(f"before {form} after") == "before *** after"


@pytest.mark.parametrize("escape", [False, True])
def test_a_secret_beyond_ascii_is_masked_in_either_json_form(escape: bool) -> None:
    # With a quote: JSON escapes it in both forms, so neither is the secret as it is.
    secret = 'pä"sswörd-' + "ü" * 20
    register_secret(secret)
    form = json.dumps(secret, ensure_ascii=escape)[1:-1]
    assert scrub(f"<{form}>") == "<***>"


@pytest.mark.parametrize("form", ["lower-hex", "html"])
def test_a_secret_in_lower_hex_or_html_is_masked(form: str) -> None:
    secret = "tok+en/with=odd&chars<>" + "x" * 8
    register_secret(secret)
    if form == "html":
        text = html.escape(secret)
    else:
        text = re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), quote(secret, safe=""))
    assert scrub(f"<p>{text}</p>") == "<p>***</p>"


def test_short_values_are_not_registered() -> None:
    register_secret("abc")
    assert scrub("abc abcd") == "abc abcd"


def test_user_names_are_not_secrets_and_passwords_are(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("U", "user")
    monkeypatch.setenv("P", "pa55-w0rd-1234")
    target = Target("t", BASE_URL, Auth("basic", username_env="U", password_env="P"))
    headers, _ = credentials(target)
    logged = redact_processor(
        None, "info", {"event": "x", "kind": "user", "note": "pa55-w0rd-1234"}
    )
    assert logged == {"event": "x", "kind": "user", "note": "***"}
    header = headers["Authorization"].split(" ", 1)[1]
    assert scrub(header) == "***"  # base64 of user:password


def test_logs_mask_sensitive_keys_at_any_depth() -> None:
    event = {"event": "write", "body": {"password": "hunter22", "nested": [{"token": "t"}]}}
    assert redact_processor(None, "info", event) == {
        "event": "write",
        "body": {"password": "***", "nested": [{"token": "***"}]},
    }


def test_scrub_json_masks_keys_and_values_at_any_depth() -> None:
    body = {"a": [{"b": f"x{SECRET}"}, SECRET], SECRET: 1, "n": 2, "t": True}
    assert scrub_json(body) == {"a": [{"b": "x***"}, "***"], "***": 1, "n": 2, "t": True}


def test_scrub_json_skips_a_clean_body_and_walks_an_escaped_one() -> None:
    clean = {"userName": "a@example.com"}
    raw = json.dumps(clean).encode()
    assert scrub_json(clean, raw) is clean  # nothing to find: not even walked
    escaped = json.dumps({"nickName": SECRET}, ensure_ascii=True).replace("s", "\\u0073")
    assert SECRET.encode() not in escaped.encode()
    parsed = json.loads(escaped)
    assert parsed["nickName"] == SECRET
    assert scrub_json(parsed, escaped.encode()) == {"nickName": "***"}


def test_scrub_json_skips_a_clean_body_with_quoted_etags() -> None:
    """Escaped quotes (`W/\\"1\\"` in meta.version) cannot spell an unregistered form."""
    clean = {"meta": {"version": 'W/"1"'}, "userName": "a@example.com"}
    raw = json.dumps(clean).encode()
    assert b'\\"' in raw
    assert scrub_json(clean, raw) is clean


@pytest.mark.parametrize(
    "escape",
    [
        lambda text: text.replace('"', '\\"').replace("s", "\\u0073"),  # \u beside \"
        lambda text: text.replace('"', '\\"').replace("/", "\\/"),  # an escaped solidus
        lambda text: text.replace('"', "\\u0022"),  # a quote spelled \u0022
    ],
    ids=["unicode-beside-quotes", "solidus", "unicode-quote"],
)
def test_scrub_json_walks_a_body_with_any_other_escape(escape: Any) -> None:
    literal = escape(SECRET)
    raw = ('{"meta": {"version": "W/\\"1\\""}, "nickName": "' + literal + '"}').encode()
    parsed = json.loads(raw)
    assert parsed["nickName"] == SECRET
    assert not any(form in raw for form in (SECRET.encode(), json.dumps(SECRET)[1:-1].encode()))
    assert scrub_json(parsed, raw)["nickName"] == "***"


def test_scrub_json_finds_a_secret_with_a_quote_in_its_json_form() -> None:
    body = {"meta": {"version": 'W/"1"'}, "nickName": SECRET}  # SECRET holds a quote
    raw = json.dumps(body).encode()
    assert SECRET.encode() not in raw  # only its JSON form is there
    assert scrub_json(body, raw)["nickName"] == "***"


# -- the way in: ScimClient -----------------------------------------------------------------


def echoing(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> ScimClient:
    def handle(_: httpx2.Request) -> httpx2.Response:
        if isinstance(body, bytes):
            return httpx2.Response(status, content=body, headers=headers or {})
        return httpx2.Response(status, json=body, headers=headers or {})

    return ScimClient(
        httpx2.Client(transport=httpx2.MockTransport(handle)), BASE_URL, retry=ONE_TRY
    )


def test_a_target_echo_is_scrubbed_as_it_arrives() -> None:
    fake = FakeScim()
    fake.add_user("a@example.com", nickName=SECRET, **{SECRET: {"k": f"v {SECRET}"}})
    client = ScimClient(fake.client(), BASE_URL, retry=ONE_TRY)
    reply = client.get("/Users")
    assert isinstance(reply.body, dict)
    assert windows(json.dumps(reply.body)) == []
    user = reply.body["Resources"][0]
    assert (user["nickName"], user["***"]) == ("***", {"k": "v ***"})


def test_headers_are_scrubbed_as_they_arrive() -> None:
    reply = echoing({}, headers={"X-Echo": f"Bearer {SECRET}", "ETag": f'W/"{SECRET}"'}).get("/x")
    assert (reply.headers["x-echo"], reply.headers["etag"]) == ("Bearer ***", 'W/"***"')


def test_a_redirect_names_its_location_scrubbed() -> None:
    client = echoing(b"", 302, {"Location": f"https://elsewhere.test/?t={SECRET}"})
    with pytest.raises(ScimHTTPError) as caught:
        client.get("/Users")
    assert "redirected to https://elsewhere.test/?t=***;" in str(caught.value)


def test_a_long_error_body_is_scrubbed_before_it_is_cut() -> None:
    # The secret starts before the 120-character cut and ends after it.
    text = "<html>" + "x" * 67 + SECRET + "</html>"
    client = echoing(text.encode(), 500, {"Content-Type": "text/html"})
    with pytest.raises(ScimHTTPError) as caught:
        client.create("/Users", {})
    assert windows(str(caught.value), size=4) == []
    assert str(caught.value).endswith("x" * 67 + "***</html>")


def test_a_json_error_detail_is_scrubbed() -> None:
    client = echoing({"detail": f"saw {SECRET}", "scimType": "invalidValue"}, 400)
    with pytest.raises(ScimHTTPError) as caught:
        client.create("/Users", {})
    assert str(caught.value) == "POST /Users answered 400 (invalidValue): saw ***"


@pytest.mark.parametrize("before", [0, 250, 290, 299])
def test_a_json_error_detail_becomes_one_bounded_line_scrubbed_before_it_is_cut(
    before: int,
) -> None:
    # Lines the target put in its detail would pass for lines of scimrec's own output; a
    # secret across the cut must still be masked whole.
    detail = "first\n::error::second\r\n" + "y" * before + SECRET + "\n" + "q" * 400
    client = echoing({"detail": detail, "scimType": "invalid\nValue" + "v" * 100}, 400)
    with pytest.raises(ScimHTTPError) as caught:
        client.create("/Users", {})
    text = str(caught.value)
    assert "\n" not in text and "\r" not in text
    assert text.startswith("POST /Users answered 400 (invalid Value")
    assert len(caught.value.detail) <= 300 and caught.value.detail.endswith("…")
    assert caught.value.detail.startswith(("first ::error::second " + "y" * before)[:299])
    assert len(caught.value.scim_type or "") <= 60
    assert windows(text, size=4) == []


def test_a_json_error_detail_shows_control_characters_as_escapes() -> None:
    # ESC [1A moves a terminal's cursor up a line: the detail would write over the plan.
    client = echoing({"detail": "bad\x1b[1A\x1b[2Kvalue\x07 é"}, 400)
    with pytest.raises(ScimHTTPError) as caught:
        client.create("/Users", {})
    assert caught.value.detail == "bad\\x1b[1A\\x1b[2Kvalue\\x07 é"


def test_a_logged_mapping_keyed_by_other_than_text_is_masked_and_kept() -> None:
    # Counts by status code, say: the keys are numbers, the values still scrubbed.
    event = {"event": "x", "by_status": {400: f"detail {SECRET}", 500: "fine"}}
    assert redact_processor(None, "info", event)["by_status"] == {
        400: "detail ***",
        500: "fine",
    }


def test_a_new_registry_holds_no_secret_and_takes_some() -> None:
    fresh = _Registry()
    empty = fresh.now
    assert (empty.forms, empty.values, empty.short, empty.clues) == ((), (), (), Clues())
    assert empty.literals.texts == ()
    with fresh.lock:
        fresh.set({"ab", "ABCD"}, set())
    now = fresh.now
    assert (now.forms, now.short, now.clues) == (("abcd", "ab"), ("abcd", "ab"), Clues())
    # The one-pass search holds the short forms and the anchors, nothing else.
    assert now.literals.texts == ("abcd", "ab")
    assert now.may_show("xx ab xx") and not now.may_show("a b c d")


def test_a_secret_with_a_space_and_a_slash_is_masked_percent_encoded_whole() -> None:
    # quote() with nothing kept differs from both the path form (keeps `/`) and the form
    # body (a space as `+`).
    secret = "pass word/with spaces" + "y" * 8
    register_secret(secret)
    assert scrub(f"<{quote(secret, safe='')}>") == "<***>"


@pytest.mark.parametrize("padded", [f" {SECRET}", f"{SECRET}\n", f"\t{SECRET} "])
def test_a_secret_read_with_surrounding_whitespace_is_masked_trimmed(padded: str) -> None:
    # The server trims what it was sent (a header value's surrounding spaces are not part
    # of it) and echoes the bare token, in any of its forms.
    forget_secrets()  # only the padded secret is read
    register_secret(padded)
    bare = SECRET
    for form in (bare, quote(bare, safe=""), base64.b64encode(bare.encode()).decode()):
        assert scrub(f"invalid token '{form}'") == "invalid token '***'"
    # ... and the padded secret's own forms stay masked too (base64 shares nothing with
    # the bare secret's).
    assert scrub(f"<{base64.b64encode(padded.encode()).decode()}>") == "<***>"


def test_a_trimmed_secret_is_masked_down_to_the_shortest_length_and_no_shorter() -> None:
    # Four characters trimmed is a secret like any other; fewer would mask ordinary text
    # (a padded "ab" would mask every "YWI=", its base64, and every "ab" in output).
    forget_secrets()
    register_secret(" abcd ")
    assert scrub("token abcd, YWJjZA==") == "token ***, ***"
    forget_secrets()
    register_secret("  ab  ")
    assert scrub("tab YWI= ab") == "tab YWI= ab"


def test_a_transport_error_quoting_a_secret_is_scrubbed_as_it_arrives() -> None:
    # h11 quotes a malformed header line it received; the error is target data, cleaned
    # before anything (a finding's cut, an escape) could keep part of the secret.
    def handle(_: httpx2.Request) -> httpx2.Response:
        raise httpx2.RemoteProtocolError(f"illegal header line: b'X-Echo: Bearer {SECRET}'")

    client = ScimClient(
        httpx2.Client(transport=httpx2.MockTransport(handle)), BASE_URL, retry=ONE_TRY
    )
    with pytest.raises(ScimHTTPError) as caught:
        client.create("/Users", {})
    assert caught.value.detail == "connection failed: illegal header line: b'X-Echo: Bearer ***'"
    assert windows(caught.value.detail) == []


@pytest.mark.parametrize("encode", [base64.b64encode, base64.urlsafe_b64encode])
@pytest.mark.parametrize("before", [b"", b"B", b"Be"])
@pytest.mark.parametrize("after", [b"", b"\n", b"\r\n!", b"\xff"])
def test_a_secret_base64_encoded_within_any_text_is_masked(
    encode: Any, before: bytes, after: bytes
) -> None:
    # Wherever the secret starts in a group of three bytes, and whatever follows it, the
    # characters its encoding shares with no neighbour are masked; none is left in clear.
    for secret in ("tok-1234567890abcdef", "tok-1234567890abcdefg", "tok-1234567890abcdefgh"):
        register_secret(secret)
        text = encode(before + secret.encode() + after).decode()
        inner = encode(secret.encode()).decode().rstrip("=")[2:-2]
        shown = scrub(text)
        assert "***" in shown, (secret, text)
        assert inner not in shown and inner[len(inner) // 2 :] not in shown, (secret, shown)


def _php(text: str) -> str:
    """JSON as PHP's json_encode writes it by default: `/` escaped too."""
    return json.dumps(text)[1:-1].replace("/", "\\/")


def _u_escaped(text: str) -> str:
    """Every character outside letters and digits as a `\\uXXXX` escape, as some encoders
    write JSON."""
    return "".join(c if c.isalnum() else f"\\u{ord(c):04x}" for c in text)


# Escaped forms too many to register: each must be masked all the same.
ESCAPED_FORMS = {
    "json-slash": _php(SECRET),
    "json-u-escapes": _u_escaped(SECRET),
    "json-in-json": _php(json.dumps({"auth": f"Bearer {SECRET}"})),
    "json-in-json-in-json": json.dumps(json.dumps(f"Bearer {SECRET}"))[1:-1],
    "percent-slash-only": SECRET.replace("/", "%2F"),
    "percent-some": SECRET.replace("~", "%7E").replace("@", "%40"),
    "html-numeric": "".join(f"&#{ord(c)};" if c in "/~@" else c for c in SECRET),
    "html-in-json": _php(html.escape(SECRET).replace("/", "&#x2F;")),
}


def _decoded(text: str) -> str:
    """`text` with every escape the forms above use undone, again and again."""
    for _ in range(6):
        text = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)
        text = html.unescape(unquote(text.replace("\\/", "/").replace('\\"', '"')))
        text = text.replace("\\\\", "\\")
    return text


@pytest.mark.parametrize("form", ESCAPED_FORMS.values(), ids=ESCAPED_FORMS.keys())
def test_a_secret_spelled_with_escapes_is_masked(form: str) -> None:
    # Before: a target's error text holding the token JSON-escaped (PHP writes `\/` for
    # every `/` of a base64 token) or percent-encoded in part was printed as it came.
    text = f'POST /Users answered 400: {{"detail": "Bearer {form}"}}\nnext line \\u200b'
    masked = scrub(text)
    assert windows(_decoded(masked)) == []
    assert "***" in masked
    # Only the line that held the secret is read with its escapes undone.
    assert masked.endswith("\nnext line \\u200b")


def test_escapes_without_a_secret_are_left_as_they_are() -> None:
    text = 'a "\\u200b" 50% off %2F &amp; \\/ and \\\\ stay'
    assert scrub(text) == text


def test_an_error_body_spelling_the_token_with_escapes_is_masked_as_it_arrives() -> None:
    fake = FakeScim(token=SECRET)
    body = '{"detail": "Bearer ' + _php(SECRET)  # cut short: not JSON, shown as text
    fake.fail("POST", "/Users", status=400, text=body)
    http = httpx2.Client(transport=fake.transport, headers={"Authorization": f"Bearer {SECRET}"})
    client = ScimClient(http, BASE_URL, retry=ONE_TRY)
    with pytest.raises(ScimHTTPError) as caught:
        client.create("/Users", {"userName": "a@example.com"})
    assert windows(_decoded(str(caught.value))) == []
    assert "Bearer ***" in str(caught.value)


TOKEN_WITH_SLASHES = "AbCdEf/GhIjKl+MnOpQr/StUvWx0123456789=="


@pytest.mark.parametrize(
    "inner",
    [
        lambda t: json.dumps({"auth": f"Bearer {t}"}).replace("/", "\\/"),  # JSON in JSON
        lambda t: f"Bearer {_u_escaped(t)}",
        lambda t: f"<a href='/x?t={t.replace('/', '%2F')}'>retry</a>",
        lambda t: json.dumps(json.dumps({"auth": t})),  # twice within
    ],
    ids=["json-in-json", "u-escapes", "percent-in-markup", "twice-within"],
)
def test_json_output_stays_json_when_a_secret_is_masked_within_it(inner: Any) -> None:
    # `--format json` (or a plan file) holding a target's text that spells the token with
    # escapes: only the word is masked, so what is around it still parses.
    register_secret(TOKEN_WITH_SLASHES)
    line = json.dumps({"before": inner(TOKEN_WITH_SLASHES), "n": 1}, indent=2)
    masked = scrub(line)
    assert json.loads(masked)["n"] == 1
    assert windows(_decoded(masked), TOKEN_WITH_SLASHES) == []


def test_a_secret_with_a_control_character_echoed_with_escaped_slashes_is_masked() -> None:
    # PHP writes `/` as `\/` and a tab as `\t`: neither the secret nor its JSON form as
    # registered is in the text; read with its escapes undone, the secret is.
    secret = "tok/en\twith-tab-" + "x" * 8
    register_secret(secret)
    echoed = json.dumps(secret).replace("/", "\\/")[1:-1]
    assert json.loads(f'"{echoed}"') == secret
    masked = scrub(f"echoed: {echoed}.")
    assert "tok" not in masked
    assert "***" in masked


@pytest.mark.parametrize("sep", [" ", ":", "-"])
def test_a_secret_in_a_hex_dump_a_byte_at_a_time_is_masked(sep: str) -> None:
    dump = sep.join(f"{b:02X}" for b in SECRET.encode())
    masked = scrub(f"received: {dump} (end)")
    assert masked.startswith("received: ***")
    assert masked.endswith("(end)")
    assert "***" not in dump and len(masked) < 30


@pytest.mark.parametrize("within", ["", "Authorization: Bearer "])
def test_a_secret_in_base64_of_utf16_is_masked(within: str) -> None:
    # As .NET and PowerShell encode a string: alone, or within an echoed header line.
    encoded = base64.b64encode(f"{within}{SECRET}\r\n".encode("utf-16-le")).decode()
    shown = scrub(encoded).replace("***", "")
    # All of the secret's encoding but the few characters it shares with its neighbours
    # (each UTF-16 character is 8/3 base64 characters) is gone.
    assert len(encoded) - len(shown) >= len(SECRET) * 8 // 3 - 8
