"""Target data never ends a run with exit 3 (a scimrec bug): an object in error, or a
one-line error, and nothing written to what could not be read.

DESIGN §3: "Never a Python traceback for a user error"; README: "Target data of an
unexpected shape ... makes that one object an error naming the path; every other object
goes on". Each case is something a target (or its token endpoint) can send, legal JSON
all of it, that once crashed every plan, drift and apply of the target; each is tried
through every command that reads a target, in each of its outputs, and through a saved
plan (plan --out, show, apply --plan). Where each is caught:

- a time of disabling near the ends of the calendar, with `delete_after`
  (`9999-12-31T23:00:00Z` + 30 days, `0001-01-01T00:00:00+01:00` in UTC), in the lifecycle
  attribute or `meta.lastModified`: core/lifecycle.py `deadline`, the account in error;
- a resource nested 5,000 levels deep (RecursionError in json.loads), or 900 (read by
  Python, then too deep for every walk after it): scim/payload.py, a one-line error;
- a lone UTF-16 surrogate (`"\\ud800"`) in an id, a name, a value or an attribute's
  name: core/shape.py (the object in error), writes.resource_path and the client (nothing
  sent), cli/output.py (written as its escape);
- a number past what a double holds (`1e400`): core/shape.py, the object in error;
- a manager whose `value` is an object or a list: core/shape.py;
- an OAuth `expires_in` of 400 digits: scim/oauth.py `_lifetime`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest
import yaml

from reconciler.cli import main
from reconciler.core.config import LIFECYCLE_URN
from tests.fakescim import BASE_URL, ENTERPRISE_URN, FakeScim, Seen

TOKEN_ENV = "HOSTILE_DATA_TOKEN"
TOKEN = "tok-hostile-data-0123456789"
LIFECYCLE = {"action": "disable", "delete_after": "30d"}


class RawFake(FakeScim):
    """FakeScim whose first listing page also carries resources given as raw JSON text, so
    values that json.dumps cannot produce (lone surrogates, deep nesting) reach the client
    as a target would send them."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.raw_users: list[str] = []
        self.raw_groups: list[str] = []

    def _list(self, seen: Seen, store: dict[str, dict[str, Any]]) -> httpx2.Response:
        response = super()._list(seen, store)
        extra = self.raw_users if store is self.users else self.raw_groups
        if "filter" in seen.params or not extra or response.status_code != 200:
            return response
        body = json.loads(response.content)
        body["totalResults"] = body.get("totalResults", 0) + len(extra)
        if int(seen.params.get("startIndex", 1)) != 1:
            return httpx2.Response(200, json=body)
        listed = [json.dumps(r) for r in body.pop("Resources")] + extra
        head = json.dumps(body)[:-1]
        text = f'{head}, "Resources": [{", ".join(listed)}]}}'
        return httpx2.Response(
            200, content=text.encode(), headers={"Content-Type": "application/json"}
        )


def _specs(root: Path, **target: Any) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    settings = {"url": BASE_URL, "auth": {"type": "bearer", "token_env": TOKEN_ENV}, **target}
    doc = {
        "version": 1,
        "targets": {"t": settings},
        "users": [{"userName": "alice@example.com"}],
    }
    (root / "spec.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    return root


def _run(transport: httpx2.BaseTransport, capsys: pytest.CaptureFixture[str], *args: str) -> int:
    code = main([*args, "--log-level", "error"], transport=transport)
    err = capsys.readouterr().err
    assert "Internal error" not in err, err
    return code


def _stray(when: str, where: str = "lifecycle") -> str:
    body: dict[str, Any] = {"id": "zz", "userName": "stray@example.com", "active": False}
    if where == "lifecycle":
        body[LIFECYCLE_URN] = {"disabledAt": when}
    else:
        body["meta"] = {"lastModified": when}
    return json.dumps(body)


def _user(**attrs: Any) -> str:
    """A stray user `zz` as raw JSON: `attrs` are JSON texts, so they can hold what
    json.dumps cannot write (a lone surrogate as `"\\ud800"`)."""
    fields = {"id": '"zz"', "userName": '"stray@example.com"', "active": "true", **attrs}
    return "{" + ", ".join(f'"{k}": {v}' for k, v in fields.items()) + "}"


def _group(**attrs: str) -> str:
    fields = {"id": '"gz"', "displayName": '"Eng"', **attrs}
    return "{" + ", ".join(f'"{k}": {v}' for k, v in fields.items()) + "}"


LIFECYCLE_AT = {"deprovision": LIFECYCLE}
LAST_MODIFIED_AT = {"deprovision": {**LIFECYCLE, "disabled_at": "meta.lastModified"}}
SURROGATE = '"\\ud800"'  # JSON's escape for a lone surrogate: legal JSON, not Unicode
MANAGER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

# Each: what the target lists (a user or a group, as raw JSON), and the target's settings.
CASES: dict[str, tuple[str, str, dict[str, Any]]] = {
    # Times at the ends of the calendar, wherever a time of disabling is read.
    "disabledAt 9999": ("user", _stray("9999-12-31T23:00:00Z"), LIFECYCLE_AT),
    "disabledAt 0001": ("user", _stray("0001-01-01T00:00:00+01:00"), LIFECYCLE_AT),
    "disabledAt past 9999 in UTC": ("user", _stray("9999-12-31T23:59:59-01:00"), LIFECYCLE_AT),
    "lastModified 9999": ("user", _stray("9999-12-31T23:00:00Z", "meta"), LAST_MODIFIED_AT),
    "lastModified 0001": ("user", _stray("0001-01-01T00:00:00+01:00", "meta"), LAST_MODIFIED_AT),
    "created 0001": ("user", _user(meta='{"created": "0001-01-01T00:00:00+01:00"}'), {}),
    # Nesting: past what Python's parser takes, and past the bound but within the parser.
    "nested 5000 deep": ("user", _user(x="[" * 5000 + "]" * 5000), {}),
    "objects nested 5000 deep": ("user", _user(x='{"a": ' * 5000 + "1" + "}" * 5000), {}),
    "nested 900 deep": ("user", _user(x="[" * 900 + "]" * 900), {}),
    "group nested 900 deep": ("group", _group(x="[" * 900 + "]" * 900), {}),
    # Lone surrogates, in every place a target's text goes: ids (URLs), names (keys and
    # output), values read or not, attribute names.
    "member lone surrogate": ("group", _group(members=f'[{{"value": {SURROGATE}}}]'), {}),
    "member display lone surrogate": (
        "group",
        _group(members=f'[{{"value": "nobody", "display": {SURROGATE}}}]'),
        {},
    ),
    "group id lone surrogate": ("group", _group(id='"g\\ud800"'), {}),
    "group name lone surrogate": ("group", _group(displayName='"E\\ud800ng"'), {}),
    "user id lone surrogate": ("user", _user(id='"z\\ud800"'), {}),
    "userName lone surrogate": ("user", _user(userName='"s\\ud800@example.com"'), {}),
    "displayName lone surrogate": ("user", _user(displayName=SURROGATE), {}),
    "email lone surrogate": ("user", _user(emails=f'[{{"value": {SURROGATE}}}]'), {}),
    "unread attribute lone surrogate": ("user", _user(x=f'{{"y": [{SURROGATE}]}}'), {}),
    "attribute name lone surrogate": ("user", _user(**{"x\\ud800": "1"}), {}),
    "version lone surrogate": ("user", _user(meta='{"version": "W/\\"\\ud800\\""}'), {}),
    "location lone surrogate": ("user", _user(meta='{"location": "https://x/\\ud800"}'), {}),
    # Numbers: past what a double holds (1e400 reads as infinity, which JSON cannot write
    # back, so a plan file could not be saved), and an integer of 401 digits (readable).
    "number past a double": ("user", _user(x='{"y": [1e400]}'), {}),
    "member value past a double": ("group", _group(members='[{"value": -1e400}]'), {}),
    "integer of 401 digits": (
        "user",
        _user(**{MANAGER: '{"employeeNumber": 1' + "0" * 400 + "}"}),
        {},
    ),
    # Values of the wrong shape where a lookup needs a key.
    "manager value object": (
        "user",
        _user(**{MANAGER: '{"manager": {"value": {"id": "u1"}}}'}),
        {},
    ),
    "manager value list": ("user", _user(**{MANAGER: '{"manager": {"value": ["u1"]}}'}), {}),
}

# Every command that reads the target, in every output it has.
COMMANDS: dict[str, tuple[str, ...]] = {
    "plan": ("plan",),
    "plan json": ("plan", "--format", "json"),
    "plan markdown": ("plan", "--format", "markdown"),
    "plan explain user": ("plan", "--explain", "--only", "user:alice@example.com"),
    "plan explain group": ("plan", "--explain", "--only", "group:Eng"),
    "drift": ("drift",),
    "drift json": ("drift", "--format", "json"),
    "drift markdown": ("drift", "--format", "markdown"),
    "plan github": ("plan", "--github"),  # annotations, and the step summary file
    "drift github": ("drift", "--github"),
    "apply": ("apply", "--auto-approve"),
    "import": ("import", "--out", "{tmp}/imported"),
    "doctor": ("doctor",),
}


def _hostile_specs(root: Path, **target: Any) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    settings = {"url": BASE_URL, "auth": {"type": "bearer", "token_env": TOKEN_ENV}, **target}
    doc = {
        "version": 1,
        "targets": {"t": settings},
        "users": [{"userName": "alice@example.com"}],
        "groups": [{"displayName": "Eng", "members": ["alice@example.com"]}],
    }
    (root / "spec.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    return root


# Cases whose object is readable (only a meta time or location is odd): deprovisioning
# it under prune: all is right, and its write is no bug.
READABLE = {"created 0001", "location lone surrogate", "integer of 401 digits"}


def _hostile(kind: str, raw: str) -> RawFake:
    fake = RawFake(token=TOKEN)
    fake.config["etag"] = {"supported": True}  # so writes carry If-Match: meta.version
    fake.add_user("alice@example.com", active=True)
    (fake.raw_users if kind == "user" else fake.raw_groups).append(raw)
    return fake


def _nothing_written_to_the_hostile_object(fake: RawFake, case: str) -> None:
    """The hostile object (`zz`, `gz`, or an id that cannot be sent at all) gets no write."""
    if case in READABLE:
        return
    writes = [s.path for s in fake.requests if s.method in ("PATCH", "PUT", "DELETE")]
    assert not [p for p in writes if p.rsplit("/", 1)[-1] in ("zz", "gz")], writes


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("command", list(COMMANDS))
def test_target_data_never_ends_a_run_with_exit_3(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    case: str,
    command: str,
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    kind, raw, settings = CASES[case]
    fake = _hostile(kind, raw)
    specs = _hostile_specs(tmp_path / "specs", prune="all", **settings)
    name, *rest = COMMANDS[command]
    args = [a.format(tmp=tmp_path) for a in rest]
    code = _run(fake.transport, capsys, name, str(specs), "--target", "t", *args)
    assert code in (0, 1, 2)
    _nothing_written_to_the_hostile_object(fake, case)


@pytest.mark.parametrize("case", list(CASES))
def test_a_saved_plan_of_target_data_shows_and_applies_without_exit_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    # plan --out, then show (text and JSON) and apply --plan: the plan file holds what the
    # plan names (an id that is not Unicode included) and its digest still matches.
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    kind, raw, settings = CASES[case]
    fake = _hostile(kind, raw)
    specs = _hostile_specs(tmp_path / "specs", prune="all", **settings)
    saved = str(tmp_path / "plan.json")
    code = _run(fake.transport, capsys, "plan", str(specs), "--target", "t", "--out", saved)
    assert code in (0, 1, 2)
    if not Path(saved).exists():  # a run that could not plan (nesting past the bound)
        return
    assert _run(fake.transport, capsys, "show", saved) in (0, 1, 2)
    assert _run(fake.transport, capsys, "show", saved, "--format", "json") in (0, 1, 2)
    assert _run(fake.transport, capsys, "apply", "--plan", saved, str(specs)) in (0, 1)
    _nothing_written_to_the_hostile_object(fake, case)


def test_a_lone_surrogate_in_an_id_never_crashes_apply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    fake = RawFake(token=TOKEN)
    fake.add_user("alice@example.com", active=True)
    fake.raw_users.append('{"id": "z\\ud800", "userName": "stray@example.com", "active": true}')
    specs = _specs(tmp_path / "specs", prune="all")
    args = ("apply", str(specs), "--target", "t", "--auto-approve")
    assert _run(fake.transport, capsys, *args) in (0, 1)


def test_import_never_crashes_on_a_manager_value_of_the_wrong_type(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    fake = FakeScim(token=TOKEN)
    fake.add_user("alice@example.com", active=True)
    fake.add_user("bob@example.com", **{ENTERPRISE_URN: {"manager": {"value": {"id": "u1"}}}})
    specs = _specs(tmp_path / "specs")
    args = ("import", str(specs), "--target", "t", "--out", str(tmp_path / "out"))
    assert _run(fake.transport, capsys, *args) in (0, 1)


@pytest.mark.parametrize(
    "expires_in",
    [
        b"1" + b"0" * 400,  # an integer Python reads whole and no float holds
        b"1e400",  # a float past the largest: infinity
        b'"\xc2\xb2"',  # "²": str.isdigit() says yes, int() says no
        b'"' + b"9" * 5000 + b'"',  # past the 4,300 digits int() reads
        b"[" * 5000 + b"]" * 5000,  # nested past Python's parser
    ],
    ids=["400 digits", "1e400", "superscript two", "5000 digits", "nested 5000 deep"],
)
def test_an_enormous_token_lifetime_never_crashes_a_run(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    expires_in: bytes,
) -> None:
    access = "at-hostile-data-0123456789"
    monkeypatch.setenv("HOSTILE_CLIENT_ID", "client")
    monkeypatch.setenv("HOSTILE_CLIENT_SECRET", "secret-hostile-0123456789")
    fake = FakeScim(token=access)
    fake.add_user("alice@example.com", active=True)
    token = b'{"access_token": "%s", "token_type": "Bearer", "expires_in": %s}' % (
        access.encode(),
        expires_in,
    )

    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.url.path == "/oauth/token":
            return httpx2.Response(200, content=token, headers={"Content-Type": "application/json"})
        return fake.handle(request)

    auth = {
        "type": "oauth2_client_credentials",
        "token_url": "https://scim.test/oauth/token",
        "client_id_env": "HOSTILE_CLIENT_ID",
        "client_secret_env": "HOSTILE_CLIENT_SECRET",
    }
    specs = _specs(tmp_path / "specs", auth=auth)
    code = _run(httpx2.MockTransport(handle), capsys, "plan", str(specs), "--target", "t")
    assert code in (0, 1, 2)
