"""`plan --explain` shows exactly the writes apply sends: both come from one function.

The requests apply really sends are recorded on their way to a real server (a transport that
passes every request through and keeps a copy), then compared with what explain printed.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import httpx2
import pytest

from reconciler import logs
from reconciler.report.explain import explain
from reconciler.run import prepare
from reconciler.scim.apply.runner import Applier
from tests.conftest import Target, write_spec
from tests.e2e.test_lifecycle import assert_converged, person, run

Sent = tuple[str, str, str | None, Any]


class Recording(httpx2.BaseTransport):
    """Passes every request to the real server, and keeps the writes it saw."""

    def __init__(self) -> None:
        self.inner = httpx2.HTTPTransport()
        self.writes: list[Sent] = []

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.method != "GET":
            body = json.loads(request.content) if request.content else None
            self.writes.append(
                (request.method, str(request.url), request.headers.get("if-match"), body)
            )
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


_REQUEST = re.compile(r"^( {6,})(POST|PATCH|PUT|DELETE|GET) (.+)$")


def explained_writes(text: str) -> tuple[list[Sent], list[Sent]]:
    """The writes an explanation lists, as (method, URL, If-Match, body): those apply sends
    first, and those it sends instead when the target refuses or ignores one."""
    found: list[tuple[bool, list[Any]]] = []
    for line in text.splitlines():
        request = _REQUEST.match(line)
        if request:
            first = len(request.group(1)) == 6
            found.append((first, [request.group(2), request.group(3), None, None]))
        elif found and line.lstrip().startswith("If-Match: "):
            found[-1][1][2] = line.lstrip().removeprefix("If-Match: ")
        elif found and line.lstrip().startswith("{"):
            found[-1][1][3] = json.loads(line)
    writes = [(first, (m, u, e, b)) for first, (m, u, e, b) in found if m != "GET"]
    return [w for first, w in writes if first], [w for first, w in writes if not first]


def resolve(requests: list[Sent], ids: dict[str, str]) -> list[Sent]:
    """Explain's `{id of KEY}` placeholders, with the ids apply made."""
    text = json.dumps(requests)
    for name, target_id in ids.items():
        text = text.replace(f"{{id of {name}}}", target_id)
    return [tuple(r) for r in json.loads(text)]


def key(sent: Sent) -> str:
    return json.dumps(sent, sort_keys=True)


def test_explain_lists_exactly_the_writes_apply_sends(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    alice = person(target, "alice@example.com", "Alice", "Wong")
    if target.flavour == "scim2-server":
        alice["emails"] = [
            {"value": "alice@example.com", "type": "work", "primary": True},
            {"value": "alice@home.example", "type": "home"},
        ]
    bob = person(target, "bob@example.com", "Bob", "Martin")
    carol = person(target, "carol@example.com", "Carol", "Diaz")
    users = [alice, bob, carol]
    groups = [{"displayName": "Engineering", "members": ["alice@example.com", "bob@example.com"]}]
    specs = write_spec(tmp_path / "specs", target, users, groups)
    assert run(capsys, "apply", str(specs), "--target", "e2e", "--auto-approve")[0] == 0

    # A value-only change to a typed email (scim2-server keeps types: a value-filter path), a
    # new user, membership added and removed, and a new group with members.
    alice["emails"][0]["value"] = "alice.wong@example.com"
    alice["name"]["givenName"] = "Alicia"
    users.append(person(target, "dave@example.com", "Dave", "Ito"))
    groups[0]["members"] = ["alice@example.com", "carol@example.com"]
    groups.append({"displayName": "Operations", "members": ["carol@example.com"]})
    write_spec(tmp_path / "specs", target, users, groups)

    logs.configure("critical")
    recording = Recording()
    only = (
        "user:alice@example.com",
        "user:dave@example.com",
        "group:Engineering",
        "group:Operations",
    )
    prepared = prepare(specs, "e2e", only=only, transport=recording)
    declared = {(o.kind, o.key): o for o in (*prepared.spec.users, *prepared.spec.groups)}
    text = explain(prepared.plan, declared, prepared.target, prepared.caps, prepared.observed)
    first, instead = explained_writes(text)
    assert recording.writes == []  # explaining wrote nothing
    if target.flavour == "scim2-server":
        assert '"path": "emails[type eq \\"work\\"].value"' in text

    result = Applier(prepared.client, prepared.target, prepared.caps, prepared.log).run(
        prepared.plan
    )
    prepared.client.close()
    assert result.failed == ()
    # What exists only once apply has run: the ids of the objects it created.
    created = {o.key: o.target_id or "" for o in result.outcomes}
    first, instead = resolve(first, created), resolve(instead, created)
    sent = list(map(key, recording.writes))
    # Every first attempt went out, and nothing went out that explain did not show.
    assert Counter(map(key, first)) <= Counter(sent), text
    assert set(sent) <= set(map(key, first + instead)), text
    assert len(first) >= 5  # alice's PATCH, dave's POST, Engineering's add and remove, a POST
    if target.flavour != "django-scim2":  # it takes every first attempt
        assert sorted(sent) == sorted(map(key, first))
    else:  # django-scim2 refuses the filter path, and ignores members on POST
        assert len(sent) == len(first) + 2
    assert_converged(capsys, specs)
