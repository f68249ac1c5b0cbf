"""A target (or token endpoint) that sends a secret back changed (another case, cut short,
split in two, escaped, hex, base64 in lines, invisible characters between its letters,
fullwidth) still never gets it into any output (DESIGN §6).

Each route is one way a hostile target can send a secret back: a row names where it puts it
and what it puts there. Every row runs the real command line (plan in each format with a
saved plan, explain, drift with console logs, apply with an audit log, doctor, in GitHub
mode with debug logs) against a FakeScim that answers that one request its own way, and
every channel is searched, escapes undone: stdout, stderr, the saved plan, the audit log
and the step summary. A row only counts when the target really sent what it says (its
answer was asked for); each fails without the redaction of changed secrets.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import string
import textwrap
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx2
import pytest
import yaml

from reconciler.cli import main
from reconciler.scim.redact import forget_secrets
from tests.fakescim import BASE_URL, FakeScim, json_response, scim_error

TOKEN_URL = "https://idp.test/oauth2/token"
# Letters of both cases and digits: every case variant differs from the secret.
ALPHABET = string.ascii_letters + string.digits


def random_secret(length: int) -> str:
    return "Ab1" + "".join(secrets.choice(ALPHABET) for _ in range(length - 3))


TOKEN = random_secret(40)
CLIENT_SECRET = random_secret(32)
ACCESS_TOKEN = random_secret(48)
PASSWORD = random_secret(24)
BASIC = base64.b64encode(f"user:{PASSWORD}".encode()).decode()

Answer = Callable[[httpx2.Request, FakeScim], httpx2.Response]


@dataclass(frozen=True)
class Route:
    name: str
    method: str  # the request whose answer carries the secret
    path: str  # its path ends so
    answer: Answer
    auth: str = "bearer"
    setup: Callable[[FakeScim], None] | None = None
    bug: bool = False  # the answer is an exception no target error explains (exit 3)


def error(status: int, detail: str) -> Answer:
    return lambda _request, _fake: scim_error(status, detail)


def text(status: int, body: str) -> Answer:
    return lambda _request, _fake: httpx2.Response(status, text=body)


def headers(status: int, **sent: str) -> Answer:
    return lambda _request, _fake: httpx2.Response(status, headers=sent)


def raises(message: str) -> Answer:
    def answer(_request: httpx2.Request, _fake: FakeScim) -> httpx2.Response:
        raise RuntimeError(message)

    return answer


def interleaved(value: str, between: str) -> str:
    return between.join(value)


def fullwidth(value: str) -> str:
    """ASCII letters and digits as their fullwidth forms (U+FF01..), which read the same."""
    return "".join(chr(ord(c) + 0xFEE0) if c.isalnum() else c for c in value)


def header_base64(line: str) -> str:
    return base64.b64encode(f"Authorization: {line}".encode()).decode()


def u_escaped(value: str) -> str:
    return "".join(f"\\u{ord(c):04x}" for c in value)


def listing(change: Callable[[dict[str, Any]], None]) -> Answer:
    """The target's own listing, changed."""

    def answer(request: httpx2.Request, fake: FakeScim) -> httpx2.Response:
        body = json.loads(fake.handle(request).content)
        change(body)
        return json_response(200, body)

    return answer


def undeclared_named(name: str) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        for resource in body.get("Resources", []):
            if resource["userName"] == "bob@example.com":
                resource["userName"] = name

    return change


def alice_holds(**attrs: str) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        for resource in body.get("Resources", []):
            if resource["userName"] == "alice@example.com":
                resource.update(attrs)

    return change


def cursor_then_refused(value: str) -> Answer:
    """The first page hands out `value` as the next cursor; asked for it, the target
    refuses it, naming it."""

    def answer(request: httpx2.Request, fake: FakeScim) -> httpx2.Response:
        cursor = request.url.params.get("cursor")
        if cursor:
            return scim_error(400, f"cursor {cursor} expired", "invalidCursor")
        body = json.loads(fake.handle(request).content)
        body["nextCursor"] = value
        return json_response(200, body)

    return answer


def cursor_paging(fake: FakeScim) -> None:
    fake.paging(cursor=True, index=False)


SPC = "/ServiceProviderConfig"
ROUTES = [
    Route("upper case, in an error detail", "GET", SPC, error(401, f"bad {TOKEN.upper()}")),
    Route("lower case, in an error detail", "GET", SPC, error(401, f"bad {TOKEN.lower()}")),
    Route("case swapped, in plain text", "GET", SPC, text(401, f"no {TOKEN.swapcase()}")),
    Route("cut short, in an error detail", "GET", SPC, error(401, f"bad {TOKEN[:28]}...")),
    Route("its end only", "GET", SPC, error(401, f"bad ...{TOKEN[-26:]}")),
    Route("split by a space", "GET", SPC, error(401, f"bad {TOKEN[:20]} {TOKEN[20:]}")),
    # Named without a backslash: pytest escapes one in a test id, and the id no longer
    # selects the test (as mutmut selects them).
    Route("upper case and JSON u-escaped", "GET", SPC, error(401, u_escaped(TOKEN.upper()))),
    Route(
        "lower case and percent-encoded, in a redirect",
        "GET",
        SPC,
        headers(302, Location="https://elsewhere.test/?t=" + quote(TOKEN.lower(), safe="")),
    ),
    Route("upper case, in a listing error", "GET", "/Users", error(500, TOKEN.upper())),
    Route(
        "zero-width spaces between its characters",
        "GET",
        SPC,
        error(401, interleaved(TOKEN, "\u200b")),
    ),
    Route("soft hyphens between its characters", "GET", SPC, text(401, interleaved(TOKEN, "\xad"))),
    Route("in fullwidth letters", "GET", SPC, error(401, fullwidth(TOKEN))),
    Route("in hex, upper case", "GET", SPC, error(401, TOKEN.encode().hex().upper())),
    Route(
        "base64 of the header line, in lines of 76 as MIME writes it",
        "GET",
        SPC,
        text(401, "\n".join(textwrap.wrap(header_base64(f"Bearer {TOKEN}\r\n"), 76))),
    ),
    Route(
        "base64 of the header line, cut short",
        "GET",
        SPC,
        error(401, header_base64(f"Bearer {TOKEN}")[:64]),
    ),
    Route(
        "upper case, in a bug's traceback",
        "GET",
        SPC,
        raises(f"unexpected {TOKEN.upper()}"),
        bug=True,
    ),
    Route(
        "split across two attributes",
        "GET",
        "/Users",
        listing(alice_holds(title=TOKEN[:20], nickName=TOKEN[20:])),
    ),
    Route(
        "upper case, as an undeclared user's name",
        "GET",
        "/Users",
        listing(undeclared_named(f"{TOKEN.upper()}@example.com")),
    ),
    Route(
        "lower case, as a cursor",
        "GET",
        "/Users",
        cursor_then_refused(TOKEN.lower()),
        setup=cursor_paging,
    ),
    Route(
        "password upper case and cut short",
        "GET",
        SPC,
        error(401, f"wrong password {PASSWORD[:14].upper()}"),
        auth="basic",
    ),
    Route(
        "Basic credentials cut short, in lower case",
        "GET",
        SPC,
        error(401, f"header was Basic {BASIC[:20].lower()}"),
        auth="basic",
    ),
    Route(
        "Basic credentials decoded, in a redirect",
        "GET",
        SPC,
        headers(302, Location=f"https://user:{quote(PASSWORD.lower(), safe='')}@elsewhere.test/"),
        auth="basic",
    ),
    Route(
        "client secret upper case, in a token endpoint's error",
        "POST",
        "/oauth2/token",
        lambda _r, _f: json_response(
            400, {"error": "invalid_client", "error_description": CLIENT_SECRET.upper()}
        ),
        auth="oauth",
    ),
    Route(
        "access token, as the token type of the answer that brings it",
        "POST",
        "/oauth2/token",
        lambda _r, _f: json_response(
            200, {"access_token": ACCESS_TOKEN, "token_type": ACCESS_TOKEN, "expires_in": 60}
        ),
        auth="oauth",
    ),
    Route(
        "access token cut short, in an error detail",
        "GET",
        SPC,
        error(401, f"token {ACCESS_TOKEN[5:40]} expired"),
        auth="oauth",
    ),
]


class Answers(FakeScim):
    """A SCIM target and its token endpoint; one route's request is answered the route's way."""

    def __init__(self, route: Route) -> None:
        super().__init__()
        self.route = route
        self.hits = 0
        self.add_user("alice@example.com", title="Engineer", nickName="Al")
        self.add_user("bob@example.com")
        if route.setup is not None:
            route.setup(self)

    def answer(self, request: httpx2.Request) -> httpx2.Response:
        route = self.route
        if request.method == route.method and request.url.path.endswith(route.path):
            self.hits += 1
            return route.answer(request, self)
        if request.url.host == "idp.test":
            body = {"access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 3600}
            return json_response(200, body)
        return self.handle(request)


def spec_tree(root: Path, auth: str) -> Path:
    config: dict[str, Any] = {"type": "bearer", "token_env": "VARIANT_TOKEN"}
    if auth == "basic":
        config = {
            "type": "basic",
            "username_env": "VARIANT_USER",
            "password_env": "VARIANT_PASSWORD",
        }
    if auth == "oauth":
        config = {
            "type": "oauth2_client_credentials",
            "token_url": TOKEN_URL,
            "client_id_env": "VARIANT_CLIENT_ID",
            "client_secret_env": "VARIANT_CLIENT_SECRET",
        }
    doc = {
        "version": 1,
        "targets": {"t": {"url": BASE_URL, "auth": config, "prune": "all"}},
        "users": [{"userName": "alice@example.com", "title": "Staff", "nickName": "Ally"}],
    }
    specs = root / "specs"
    specs.mkdir()
    (specs / "spec.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    return specs


COMMANDS = [
    ["plan", "{specs}", "-t", "t", "--format", "json", "--out", "{tmp}/plan.json"],
    ["plan", "{specs}", "-t", "t", "--format", "markdown"],
    ["plan", "{specs}", "-t", "t", "--only", "user:alice@example.com", "--explain"],
    ["drift", "{specs}", "-t", "t", "--log-format", "console"],
    ["apply", "{specs}", "-t", "t", "--auto-approve", "--audit-log", "{tmp}/audit.jsonl"],
    ["doctor", "{specs}", "-t", "t"],
]


def unescaped(text: str) -> str:
    """`\\u` and `\\x` escapes undone; then invisible characters dropped and compatibility forms
    (fullwidth letters) read as the letters they show."""
    text = re.sub(
        r"\\(?:u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2}))", lambda m: chr(int(m[1] or m[2], 16)), text
    )
    shown = (c for c in text if unicodedata.category(c) not in ("Cf", "Cc") or c == "\n")
    return unicodedata.normalize("NFKC", "".join(shown))


def encoded(secret: str) -> set[str]:
    """The secret in hex, and the characters of its base64 that no text around it changes,
    at each of the three offsets it can start at, in both alphabets."""
    raw = secret.encode()
    found = {raw.hex()}
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        for before, skip in enumerate((0, 2, 3)):
            text = encode(bytes(before) + raw).decode().rstrip("=")
            found.add(text[skip : len(text) - (1 if (before + len(raw)) % 3 else 0)])
    return found


def needles(secret: str) -> set[str]:
    """Every 12 characters in a row of the secret, and of its hex and base64, lower case."""
    return {t[i : i + 12].lower() for t in {secret} | encoded(secret) for i in range(len(t) - 11)}


@pytest.fixture(autouse=True)
def forget() -> Iterator[None]:
    yield
    forget_secrets()


@pytest.mark.parametrize("route", ROUTES, ids=[r.name for r in ROUTES])
def test_a_secret_echoed_changed_never_shows(
    route: Route,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VARIANT_TOKEN", TOKEN)
    monkeypatch.setenv("VARIANT_USER", "user")
    monkeypatch.setenv("VARIANT_PASSWORD", PASSWORD)
    monkeypatch.setenv("VARIANT_CLIENT_ID", "client")
    monkeypatch.setenv("VARIANT_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    specs = spec_tree(tmp_path, route.auth)
    fake = Answers(route)
    transport = httpx2.MockTransport(fake.answer)
    transcript = []
    for command in COMMANDS:
        args = [a.format(specs=specs, tmp=tmp_path) for a in command]
        code = main([*args, "--log-level", "debug"], transport=transport)
        out, err = capsys.readouterr()
        assert code in ((3,) if route.bug else (0, 1, 2)), f"{args}: exit {code}\n{err}"
        assert route.bug or "Traceback" not in out + err
        transcript.append(out + err)
    files = [p.read_text(encoding="utf-8") for p in tmp_path.iterdir() if p.is_file()]
    shown = "\n".join(transcript + files)
    everything = f"{shown}\n{unescaped(shown)}".lower()

    assert fake.hits, "the target sent the secret"
    used = {
        "bearer": [TOKEN],
        "basic": [PASSWORD, BASIC],
        "oauth": [CLIENT_SECRET, ACCESS_TOKEN],
    }[route.auth]
    assert sorted(n for s in used for n in needles(s) if n in everything) == []


def test_the_needles_find_a_changed_secret() -> None:
    # If the search were broken, the test above would pass vacuously.
    header = base64.b64encode(f"x: Bearer {TOKEN}".encode()).decode()
    for shown in (
        TOKEN.upper(),
        TOKEN.swapcase(),
        TOKEN[:12],
        f"{TOKEN[:20]} {TOKEN[20:]}",
        TOKEN.encode().hex()[30:42],
        header[20:32],
    ):
        assert any(n in shown.lower() for n in needles(TOKEN)), shown
