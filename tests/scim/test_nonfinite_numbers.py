"""NaN and infinity are not JSON (RFC 8259 §6): none is ever sent to a target or written to
a log, and none a target sends ends a run. A lenient target would store a `NaN` sent to it
and send it back in every listing, which no reader takes: the whole target unreadable."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import httpx2
import pytest

from reconciler.core.changes import Change
from reconciler.core.plan import Plan
from reconciler.errors import ScimrecError
from reconciler.run import prepare
from reconciler.scim.apply.runner import Applier, ApplyResult
from reconciler.scim.audit import AuditLog
from reconciler.scim.bulk_requests import MIN_CREATES
from tests.bulkscim import BulkScim
from tests.fakescim import FakeScim
from tests.scim.test_faults import user, write_spec

pytestmark = pytest.mark.usefixtures("token")


def strict(text: str) -> Any:
    def refuse(name: str) -> Any:
        raise ValueError(name)

    return json.loads(text, parse_constant=refuse)


def with_title(change: Change, value: float) -> Change:
    """`change` with its title set to `value`: what no spec can say, but a bug elsewhere
    (a mapping, a value read back) might produce."""
    attributes = tuple(
        dataclasses.replace(a, after=value) if a.path == "title" else a for a in change.attributes
    )
    return dataclasses.replace(change, attributes=attributes)


def apply_with(
    specs: Path, fake: FakeScim, values: dict[str, float], audit: list[str]
) -> ApplyResult:
    prepared = prepare(specs, "fake", transport=fake.transport)
    plan: Plan = prepared.plan
    changes = tuple(with_title(c, values[c.key]) if c.key in values else c for c in plan.changes)
    applier = Applier(
        prepared.client, prepared.target, prepared.caps, prepared.log, audit=AuditLog(audit.append)
    )
    try:
        return applier.run(dataclasses.replace(plan, changes=changes))
    finally:
        prepared.client.close()


def sent_bodies(fake: FakeScim, monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    bodies: list[bytes] = []
    handle = fake.handle

    def recording(request: httpx2.Request) -> httpx2.Response:
        if request.method != "GET":
            bodies.append(request.content)
        return handle(request)

    monkeypatch.setattr(fake, "handle", recording)
    return bodies


def test_a_write_holding_nan_or_infinity_is_refused_for_its_object_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeScim()
    fake.add_user("alice@example.com", active=True, title="A")
    specs = write_spec(
        tmp_path,
        [
            user("alice@example.com", title="B"),
            user("bob@example.com", title="B"),
            user("carol@example.com", title="C"),
        ],
    )
    bodies = sent_bodies(fake, monkeypatch)
    audit: list[str] = []
    values = {"alice@example.com": math.nan, "bob@example.com": -math.inf}
    result = apply_with(specs, fake, values, audit)
    failed = {o.key: o.message for o in result.failed}
    assert set(failed) == {"alice@example.com", "bob@example.com"}
    for message in failed.values():
        assert "a number JSON cannot carry" in message
        assert "\n" not in message
    # Nothing that is not JSON was sent; carol was created as usual.
    assert [strict(b.decode())["userName"] for b in bodies] == ["carol@example.com"]
    assert fake.user_named("alice@example.com")[0]["title"] == "A"
    # Every audit line is JSON, the refused writes' values among them as text.
    records = [strict(line) for line in audit]
    afters = {
        r["key"]: [a["after"] for a in r["attributes"] if a["path"] == "title"] for r in records
    }
    assert afters == {"alice@example.com": ["NaN"], "bob@example.com": ["-Infinity"],
                      "carol@example.com": ["C"]}  # fmt: skip
    assert {r["key"]: r["outcome"] for r in records}["alice@example.com"] == "failed"


def test_a_bulk_create_holding_nan_fails_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = BulkScim()
    names = [f"u{i}@example.com" for i in range(MIN_CREATES + 2)]
    specs = write_spec(tmp_path, [user(n, title="T") for n in names], quirks={"bulk": "use"})
    bodies = sent_bodies(fake, monkeypatch)
    result = apply_with(specs, fake, {names[1]: math.nan}, [])
    assert [o.key for o in result.failed] == [names[1]]
    assert "a number JSON cannot carry" in result.failed[0].message
    for body in bodies:
        strict(body.decode())
    assert sorted(str(u["userName"]) for u in fake.users.values()) == sorted(
        n for n in names if n != names[1]
    )


def test_nan_in_a_write_answer_fails_that_object(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeScim()
    fake.add_user("alice@example.com", active=True, title="A")
    fake.add_user("bob@example.com", active=True, title="A")
    alice = fake.user_named("alice@example.com")[0]["id"]
    handle = fake.handle

    def answers_nan(request: httpx2.Request) -> httpx2.Response:
        response = handle(request)
        if request.method != "GET" and request.url.path.endswith(f"/{alice}"):
            return httpx2.Response(
                200,
                content=b'{"id": "%s", "userName": "alice@example.com", "x": NaN}'
                % str(alice).encode(),
                headers={"Content-Type": "application/scim+json"},
            )
        return response

    monkeypatch.setattr(fake, "handle", answers_nan)
    specs = write_spec(
        tmp_path, [user("alice@example.com", title="B"), user("bob@example.com", title="B")]
    )
    result = apply_with(specs, fake, {}, [])
    assert [o.key for o in result.failed] == ["alice@example.com"]
    assert "not JSON" in result.failed[0].message


@pytest.mark.parametrize("value", ["NaN", "-Infinity", "1e400"])
def test_a_listing_holding_a_non_finite_number_is_an_error_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    fake = FakeScim()
    fake.add_user("alice@example.com", active=True)
    fake.add_user("bob@example.com", active=True)
    handle = fake.handle
    bodies: dict[str, str] = {}

    def raw_listing(request: httpx2.Request) -> httpx2.Response:
        response = handle(request)
        if request.method == "GET" and request.url.path.endswith("/Users"):
            text = response.content.decode().replace(
                '"userName": "bob@example.com"', f'"userName": "bob@example.com", "n": {value}'
            )
            if value in text:
                bodies["sent"] = text
            return httpx2.Response(
                response.status_code, content=text.encode(), headers=response.headers
            )
        return response

    monkeypatch.setattr(fake, "handle", raw_listing)
    specs = write_spec(tmp_path, [user("alice@example.com"), user("bob@example.com")])
    try:
        prepared = prepare(specs, "fake", transport=fake.transport)
    except ScimrecError as exc:  # the page is unreadable: the run says so, on one line
        assert "\n" not in str(exc)
        assert "not JSON" in str(exc)
        return
    prepared.client.close()
    assert "sent" in bodies
    # Read (1e400): bob's object, which holds a number no output can write, is in error.
    assert [e.key for e in prepared.plan.errors] == ["bob@example.com"]
