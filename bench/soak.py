"""The long fault-injection soak (issue 4): `python bench/soak.py [--users N] [--seed S]`.

Declares N users (default 10,000) and 50 groups, and applies them to a local sandbox target
(scim2-server) through a transport that answers ~5% of requests 429 or 503 with Retry-After,
resets ~1% of connections before sending, and loses ~1% of answers after the target acted
(a timeout). Each run plans afresh and applies; the soak ends when a plan shows no changes.
It reports how many runs that took, what was injected, and checks that the target ends with
exactly the declared users and memberships: nothing lost, nothing doubled.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx2
import yaml

from reconciler import logs
from reconciler.errors import ScimrecError
from reconciler.run import prepare
from reconciler.scim.apply.runner import Applier
from reconciler.scim.sandbox import Sandbox

TOKEN = "soak-bench-token"


class Chaos(httpx2.BaseTransport):
    """Forwards to the real target, failing some requests before and some after it acts."""

    def __init__(self, seed: int) -> None:
        self.inner = httpx2.HTTPTransport()
        self.rng = random.Random(seed)
        self.injected: Counter[str] = Counter()
        self.requests = 0

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        self.requests += 1
        roll = self.rng.random()
        if roll < 0.025:
            self.injected["429"] += 1
            return httpx2.Response(429, headers={"Retry-After": "1"}, text="slow down")
        if roll < 0.05:
            self.injected["503"] += 1
            return httpx2.Response(503, headers={"Retry-After": "1"}, text="<html>busy</html>")
        if roll < 0.06:
            self.injected["reset"] += 1
            raise httpx2.ReadError("connection reset by peer", request=request)
        response = self.inner.handle_request(request)
        if roll < 0.07:
            response.read()
            self.injected["timeout after the target acted"] += 1
            raise httpx2.ReadTimeout("timed out", request=request)
        return response


def write_spec(root: Path, url: str, users: int, groups: int) -> Path:
    names = [f"soak{i:05d}@example.com" for i in range(users)]
    doc: dict[str, Any] = {
        "version": 1,
        "targets": {
            "soak": {
                "url": url,
                "auth": {"type": "bearer", "token_env": "SOAK_TOKEN"},
                "concurrency": 8,
            }
        },
        "users": [
            {
                "userName": n,
                "externalId": n.split("@")[0],
                "active": True,
                "name": {"givenName": "Soak", "familyName": str(i)},
            }
            for i, n in enumerate(names)
        ],
        "groups": [
            {"displayName": f"Soak group {g:02d}", "members": names[g::groups]}
            for g in range(groups)
        ],
    }
    (root / "spec.yaml").write_text(yaml.safe_dump(doc))
    return root


def verify(url: str, users: int, groups: int) -> dict[str, Any]:
    """What the target holds, read without scimrec: exact counts and duplicates."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx2.Client(base_url=url, headers=headers, timeout=60) as http:
        found: list[dict[str, Any]] = []
        for endpoint in ("/Users", "/Groups"):
            start = 1
            while True:
                page = http.get(endpoint, params={"startIndex": start, "count": 1000}).json()
                items = page.get("Resources") or []
                found += [dict(item, kind=endpoint) for item in items]
                start += len(items)
                if not items or start > page["totalResults"]:
                    break
    names = Counter(str(u["userName"]).casefold() for u in found if u["kind"] == "/Users")
    group_list = [g for g in found if g["kind"] == "/Groups"]
    members = sum(len(g.get("members") or []) for g in group_list)
    return {
        "users": len(names),
        "duplicate_users": sum(c - 1 for c in names.values()),
        "groups": len(group_list),
        "memberships": members,
        "exact": len(names) == users
        and max(names.values()) == 1
        and len(group_list) == groups
        and members == users,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--max-runs", type=int, default=10)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    os.environ["SOAK_TOKEN"] = TOKEN
    logs.configure("critical")
    sandbox = Sandbox(token=TOKEN).start()
    chaos = Chaos(args.seed)
    started = time.monotonic()
    runs, lost, result = 0, 0, {}
    try:
        with tempfile.TemporaryDirectory() as folder:
            specs = write_spec(Path(folder), sandbox.url, args.users, args.groups)
            for runs in range(1, args.max_runs + 1):
                try:
                    prepared = prepare(specs, "soak", transport=chaos)
                except ScimrecError as exc:  # a read that ran out of retries: next run
                    lost += 1
                    print(f"run {runs}: read failed ({exc})", file=sys.stderr)
                    continue
                changes = len(prepared.plan.changes)
                print(f"run {runs}: {changes} change(s) planned", file=sys.stderr)
                if not changes and not prepared.plan.errors:
                    prepared.client.close()
                    break
                applier = Applier(prepared.client, prepared.target, prepared.caps, prepared.log)
                outcome = applier.run(prepared.plan)
                prepared.client.close()
                print(f"run {runs}: {len(outcome.failed)} failed", file=sys.stderr)
        result = {
            "users": args.users,
            "groups": args.groups,
            "runs_to_converge": runs,
            "runs_lost_to_read_failures": lost,
            "requests": chaos.requests,
            "injected": dict(chaos.injected),
            "wall_s": round(time.monotonic() - started, 1),
            "target": verify(sandbox.url, args.users, args.groups),
        }
    finally:
        sandbox.stop()
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if result["target"]["exact"] else 1


if __name__ == "__main__":
    sys.exit(main())
