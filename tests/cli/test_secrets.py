"""Secrets never leave (DESIGN §6): a target that echoes every secret into everything it can,
and every command's every output searched for every secret and its obvious encodings.

The target (a FakeScim subclass, fault injection only) holds each secret in attributes the
spec compares (so plans show them as `before`), in ones it does not, in extension and
member attributes, in user names of undeclared objects (so prune, drift and import name
them), in ETags and headers, and in error bodies: JSON ones, and a long text one where a
221-character token crosses the 120-character cut (scrub, then shorten). Every command
runs in GitHub mode (annotations and step summary) with debug logs, for bearer (read from
a `*_FILE`), basic and OAuth targets; stdout, stderr, the step summary, plan files and the
imported YAML are searched.
"""

from __future__ import annotations

import base64
import json
import secrets
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx2
import pytest
import yaml

from reconciler.cli import main
from reconciler.scim.redact import forget_secrets
from reconciler.scim.secret_forms import encodings
from tests.fakescim import BASE_URL, FakeScim

ACME = "urn:example:params:scim:schemas:extension:acme:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
TOKEN_URL = "https://idp.test/oauth2/token"
USER = "user"  # the basic-auth user name and the OAuth client id: not secrets
ALPHABET = string.ascii_letters + string.digits + "-._~+/"


def random_secret(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


class Secrets:
    def __init__(self) -> None:
        self.token = random_secret(221)  # long: crosses the 120-character cut of error bodies
        self.password = random_secret(24)
        self.client_secret = random_secret(32)
        self.access_token = random_secret(180)
        self.basic = base64.b64encode(f"{USER}:{self.password}".encode()).decode()
        pair = f"{quote(USER, safe='')}:{quote(self.client_secret, safe='')}"
        self.client_basic = base64.b64encode(pair.encode()).decode()

    def all(self) -> list[str]:
        return [
            self.token,
            self.password,
            self.client_secret,
            self.access_token,
            self.basic,
            self.client_basic,
        ]

    def headers(self) -> list[str]:
        return [f"Bearer {self.token}", f"Basic {self.basic}", f"Bearer {self.access_token}"]

    def of(self, auth: str) -> list[str]:
        """The secrets a run against a target with this auth reads (and so must keep)."""
        return {
            "bearer": [self.token],
            "basic": [self.password, self.basic],
            "oauth": [self.client_secret, self.client_basic, self.access_token],
        }[auth]

    def needles(self, auth: str) -> dict[str, str]:
        """Every string that must not appear, with what it is: each secret, its encodings,
        and every 16-character window of it (a leak cut short is still a leak)."""
        found: dict[str, str] = {}
        for number, secret in enumerate(self.of(auth)):
            for form in encodings(secret):
                found[form] = f"secret {number} (encoded)"
            for start in range(len(secret) - 15):
                found[secret[start : start + 16]] = f"secret {number} (a part)"
        return found


class Hostile(FakeScim):
    """Puts every secret it knows into everything it sends."""

    def __init__(self, known: Secrets) -> None:
        super().__init__()
        self.known = known
        self.echo_authorization = True
        all_of_them = " ".join(known.all())
        leak = "leak " + " ".join(known.headers())
        long_text = "a" * 300 + all_of_them  # past any cut a renderer could make
        self.alice = self.add_user(
            "alice@example.com",
            nickName=known.token,
            title=leak,
            displayName=all_of_them,
            profileUrl="https://example.com/" + long_text,
            name={"givenName": known.password, "familyName": known.client_secret},
            emails=[{"value": f"{known.access_token}@example.com", "type": "work"}],
            **{
                ENTERPRISE: {"department": known.basic, "costCenter": known.client_basic},
                ACME: {"costCode": known.token, known.password: "key"},
            },
        )
        self.mallory = self.add_user("mallory@example.com", title=known.password, active=True)
        self.stranger = self.add_user(f"leak-{known.token}", nickName=known.password)
        self.add_group("Staff", members=[self.alice, self.stranger])  # member display below
        for group in self.groups.values():
            group["members"] = [
                {"value": m["value"], "display": all_of_them} for m in group["members"]
            ]
        self.add_group(f"group {known.access_token}")
        # A write refused with a long text body: the token crosses the 120-character cut.
        self.fail(
            "PATCH",
            f"/Users/{self.mallory}",
            status=400,
            text="<html><body>" + "x" * 67 + known.token + "</body></html>",
            times=99,
        )
        self.fail(
            "GET",
            "/Schemas",
            status=500,
            body={"detail": f"cannot list schemas for {leak}"},
            times=99,
        )

    def _stamp(self, kind: str, rid: str, body: dict[str, Any]) -> dict[str, Any]:
        stamped = super()._stamp(kind, rid, body)
        stamped["meta"]["version"] = f'W/"{rid}-{self.known.token}"'
        return stamped

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        echoed = request.headers.get("authorization", "")
        everything = " ".join(self.known.all())
        if request.url.host == "broken.test":
            # An error raised below scimrec's reading of responses, quoting what it saw.
            raise httpx2.ConnectError(f"connection reset by peer after {everything}")
        if request.url.path.endswith("/ResourceTypes"):
            raise httpx2.RemoteProtocolError(f"illegal header line: X-Echo: {echoed} {everything}")
        if request.url.host == "idp.test":
            return httpx2.Response(
                200,
                json={
                    "access_token": self.known.access_token,
                    "token_type": "Bearer",
                    "expires_in": 3600,
                    "echo": request.content.decode() + str(request.headers),
                },
            )
        response = super().handle(request)
        response.headers["X-Echo"] = echoed
        if request.method == "POST":
            response.headers["Location"] = f"{BASE_URL}/Users/new?from={echoed}"
        return response


@pytest.fixture
def known() -> Iterator[Secrets]:
    yield Secrets()
    forget_secrets()


def spec_tree(root: Path, auth: str, pasted: str) -> Path:
    """Targets of each kind of auth (and a broken one with this run's), and users; `pasted`
    is declared as a title, as if someone pasted a secret into the spec by mistake."""
    targets: dict[str, Any] = {}
    common = {
        "url": BASE_URL,
        "prune": "all",
        "guards": {"max_deletes": 100, "max_delete_percent": 100},
        "extensions": {"acme": ACME},
    }
    targets["bearer"] = {**common, "auth": {"type": "bearer", "token_env": "HOSTILE_TOKEN"}}
    targets["basic"] = {
        **common,
        "auth": {"type": "basic", "username_env": "HOSTILE_USER", "password_env": "HOSTILE_PW"},
    }
    targets["oauth"] = {
        **common,
        "auth": {
            "type": "oauth2_client_credentials",
            "token_url": TOKEN_URL,
            "client_id_env": "HOSTILE_CLIENT_ID",
            "client_secret_env": "HOSTILE_CLIENT_SECRET",
        },
    }
    targets["broken"] = {**targets[auth], "url": "https://broken.test/scim/v2"}
    doc = {
        "version": 1,
        "targets": targets,
        "users": [
            {
                "userName": "alice@example.com",
                "nickName": "Ally",
                "title": pasted,
                "displayName": "Alice",
                "profileUrl": "https://example.com/alice",
                "name": {"givenName": "Alice", "familyName": "Wong"},
                "emails": [{"value": "alice@example.com", "type": "work"}],
                "enterprise": {"department": "Engineering"},
                "acme": {"costCode": "CC-1"},
            },
            {"userName": "mallory@example.com", "state": "absent"},
        ],
        "groups": [{"displayName": "Staff", "members": ["alice@example.com"]}],
    }
    specs = root / "specs"
    specs.mkdir()
    (specs / "spec.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return specs


WITHOUT_LOGS = frozenset({"validate", "targets", "init"})
COMMANDS = [
    ["validate", "{specs}"],
    ["plan", "{specs}", "-t", "{target}", "--out", "{tmp}/plan-text.json"],
    ["plan", "{specs}", "-t", "{target}", "--format", "json", "--out", "{tmp}/plan-json.json"],
    ["plan", "{specs}", "-t", "{target}", "--format", "markdown", "--out", "{tmp}/plan-md.json"],
    ["plan", "{specs}", "-t", "{target}", "--only", "user:alice@example.com", "--explain"],
    ["plan", "{specs}", "-t", "{target}", "--only", "user:mallory@example.com", "--explain"],
    ["drift", "{specs}", "-t", "{target}"],
    ["drift", "{specs}", "-t", "{target}", "--format", "json"],
    ["drift", "{specs}", "-t", "{target}", "--format", "markdown"],
    ["doctor", "{specs}", "-t", "{target}"],
    ["doctor", "{specs}", "-t", "{target}", "--format", "json", "--write-probe"],
    ["import", "{specs}", "-t", "{target}", "--out", "{tmp}/imported", "--adopt"],
    # Both applies keep an audit log: where an echoed secret puts an object in error (its
    # name or email masked), the saved plan's apply is the one that writes.
    [
        "apply",
        "--plan",
        "{tmp}/plan-json.json",
        "{specs}",
        "--auto-approve",
        "--audit-log",
        "{tmp}/audit.jsonl",
    ],
    ["apply", "{specs}", "-t", "{target}", "--auto-approve", "--audit-log", "{tmp}/audit.jsonl"],
    ["plan", "{specs}", "-t", "broken"],
    ["show", "{tmp}/plan-json.json"],
    ["show", "{tmp}/plan-md.json", "--format", "markdown", "--json-out", "{tmp}/show.json"],
    [
        "plan",
        "{specs}",
        "--all-targets",
        "--format",
        "markdown",
        "--out",
        "{tmp}/all/{{target}}.plan",
        "--json-out",
        "{tmp}/all.json",
    ],
    ["drift", "{specs}", "--all-targets", "--format", "json"],
    ["targets", "{specs}"],
    ["doctor", "{specs}", "-t", "broken"],
    ["init", "{tmp}/starter"],
]


@pytest.mark.parametrize("auth", ["bearer", "basic", "oauth"])
def test_no_command_lets_a_secret_out(
    auth: str,
    known: Secrets,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(known.token + "\n", encoding="utf-8")
    monkeypatch.delenv("HOSTILE_TOKEN", raising=False)
    monkeypatch.setenv("HOSTILE_TOKEN_FILE", str(token_file))  # a secret read from a file
    monkeypatch.setenv("HOSTILE_USER", USER)
    monkeypatch.setenv("HOSTILE_PW", known.password)
    monkeypatch.setenv("HOSTILE_CLIENT_ID", USER)
    monkeypatch.setenv("HOSTILE_CLIENT_SECRET", known.client_secret)
    summary = tmp_path / "step-summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    pasted = "pasted here by mistake: " + "x" * 50 + " ".join(known.of(auth))
    specs = spec_tree(tmp_path, auth, pasted)
    hostile = Hostile(known)
    transcript: list[str] = []
    for command in COMMANDS:
        args = [a.format(specs=specs, target=auth, tmp=tmp_path) for a in command]
        code = main(
            args if args[0] in WITHOUT_LOGS else [*args, "--log-level", "debug"],
            transport=hostile.transport,
        )
        out, err = capsys.readouterr()
        assert code in (0, 1, 2), f"{args}: exit {code}\n{err}"
        assert "Traceback" not in out + err
        assert "Usage:" not in err, f"{args}: {err}"  # each command really ran
        transcript.append(f"$ {' '.join(args)}\n{out}\n{err}")
    files = {
        path.relative_to(tmp_path).as_posix(): path.read_text(encoding="utf-8")
        for path in tmp_path.rglob("*")
        # Not the inputs: the secret file, and the spec the secret was pasted into.
        if path.is_file() and path.name != "token" and specs not in path.parents
    }
    everything = {"transcript": "\n".join(transcript), **files}

    # The checks below mean something: the secrets did go on the wire and were echoed.
    assert any(known.token in json.dumps(u) for u in hostile.users.values()), (
        "the target holds the token"
    )
    sent = {s.headers.get("authorization", "") for s in hostile.requests}
    assert sent & set(known.headers()), "credentials were sent"
    assert "step-summary.md" in files
    assert {"plan-text.json", "plan-json.json", "plan-md.json"} <= set(files)
    assert any(name.startswith("imported/") for name in files)
    assert '"event"' not in files["audit.jsonl"]  # audit lines, not log events
    assert '"outcome"' in files["audit.jsonl"]  # the apply wrote something to record
    assert '"kind": "user"' in everything["transcript"]  # user names are not masked
    assert "***" in everything["transcript"]  # what was echoed is shown masked

    leaks = sorted(
        {
            f"{what} in {where}"
            for needle, what in known.needles(auth).items()
            for where, text in everything.items()
            if needle in text
        }
    )
    assert leaks == []


def test_the_needles_find_a_leak(known: Secrets) -> None:
    # If the search were broken, the test above would pass vacuously.
    for auth, text in (
        ("bearer", f"x{known.token}y"),
        ("bearer", known.token[:53]),  # the first 53 characters, as a cut at 120 left them
        ("bearer", base64.b64encode(known.token.encode()).decode()),
        ("basic", known.basic),
        ("basic", known.password[3:20]),
        ("oauth", quote(known.client_secret, safe="")),
        ("oauth", known.access_token),
    ):
        assert any(n in text for n in known.needles(auth)), text
