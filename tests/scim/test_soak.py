"""A short fault-injection soak: a few hundred users through random 429/503/resets/timeouts.

Each run plans afresh and applies; the soak ends when a plan shows no changes. The target
must then hold exactly the declared users and memberships: nothing lost, nothing doubled.
(The long soak, 10,000 users, lives in bench/.)
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import httpx2
import pytest
import yaml

from reconciler import logs
from reconciler.errors import ScimrecError
from reconciler.run import prepare
from reconciler.scim.apply.runner import Applier
from tests.fakescim import BASE_URL, FakeScim

USERS = 300
GROUPS = 5


class Chaos:
    """Wraps the fake: some requests fail before being served, some after (lost answers)."""

    def __init__(self, fake: FakeScim, seed: int) -> None:
        self.fake = fake
        self.rng = random.Random(seed)  # noqa: S311 - reproducible chaos, not cryptography
        self.injected: Counter[str] = Counter()

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        roll = self.rng.random()
        if roll < 0.05:
            self.injected["429"] += 1
            return httpx2.Response(429, headers={"Retry-After": "0"}, text="slow down")
        if roll < 0.08:
            self.injected["503"] += 1
            return httpx2.Response(503, text="<html>busy</html>")
        if roll < 0.09:
            self.injected["reset"] += 1
            raise httpx2.ReadError("connection reset by peer", request=request)
        response = self.fake.handle(request)
        if roll < 0.10:
            # Served, but the answer never arrives: a create may have happened.
            self.injected["lost"] += 1
            raise httpx2.ReadTimeout("timed out", request=request)
        return response


def write_spec(root: Path) -> Path:
    users = [
        {
            "userName": f"user{i:03d}@example.com",
            "externalId": f"e{i}",
            "name": {"givenName": f"U{i}", "familyName": "Soak"},
            "active": True,
        }
        for i in range(USERS)
    ]
    groups = [
        {"displayName": f"Group {g}", "members": [u["userName"] for u in users[g::GROUPS]]}
        for g in range(GROUPS)
    ]
    doc = {
        "version": 1,
        "targets": {
            "chaos": {
                "url": BASE_URL,
                "auth": {"type": "none"},
                "concurrency": 8,
                "membership_chunk": 25,
            }
        },
        "users": users,
        "groups": groups,
    }
    root.mkdir()
    (root / "spec.yaml").write_text(yaml.safe_dump(doc))
    return root


@pytest.mark.parametrize("seed", [1, 2])
def test_soak_converges_with_nothing_lost_or_doubled(tmp_path: Path, seed: int) -> None:
    logs.configure("critical")
    fake = FakeScim()
    chaos = Chaos(fake, seed)
    specs = write_spec(tmp_path / "specs")
    transport = httpx2.MockTransport(chaos.handle)
    runs = lost_runs = 0
    for runs in range(1, 11):  # noqa: B007 - the count is the result
        try:
            prepared = prepare(specs, "chaos", transport=transport)
        except ScimrecError:  # retries exhausted on a read: this run is lost, the next one goes on
            lost_runs += 1
            continue
        if not prepared.plan.has_changes and not prepared.plan.errors:
            prepared.client.close()
            break
        Applier(prepared.client, prepared.target, prepared.caps, prepared.log).run(prepared.plan)
        prepared.client.close()
    else:
        pytest.fail(f"not converged after {runs} runs; faults injected: {dict(chaos.injected)}")

    print(
        f"seed {seed}: converged in {runs} runs ({lost_runs} lost); faults {dict(chaos.injected)}"
    )
    # The soak really was hostile: roughly one request in ten failed, in every way.
    assert set(chaos.injected) == {"429", "503", "reset", "lost"}
    assert sum(chaos.injected.values()) >= 30
    names = Counter(str(u["userName"]).casefold() for u in fake.users.values())
    assert len(names) == USERS
    assert max(names.values()) == 1, "a user was created twice"
    by_id = {uid: str(u["userName"]) for uid, u in fake.users.items()}
    for group in fake.groups.values():
        g = int(str(group["displayName"]).split()[-1])
        members = sorted(by_id[m["value"]] for m in group.get("members", []))
        assert members == [f"user{i:03d}@example.com" for i in range(g, USERS, GROUPS)]
    assert len(fake.groups) == GROUPS
    assert runs <= 6
