"""The benchmark's population: deterministic users and groups, as spec YAML and as SCIM JSON.

One generator feeds every side (spec files, server seed, observed state for P3), so the
"target already matches" case really is a no-op for scimrec.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
DEPARTMENTS = ("Engineering", "Sales", "Support", "Finance", "Marketing", "Legal", "People", "Ops")
TITLES = ("Engineer", "Senior Engineer", "Manager", "Analyst", "Director", "Specialist")
USERS_PER_FILE = 5_000  # the spec loader caps one file at 32 MB; real trees split anyway
MEMBERSHIPS_PER_USER = 3  # project/team groups per user, on top of the department group
TOKEN_ENV = "SCIMREC_BENCH_TOKEN"
Json = Any


@dataclass(frozen=True)
class Sizes:
    users: int
    groups: int


def user_name(i: int) -> str:
    return f"user{i:06d}@example.com"


def group_name(j: int) -> str:
    return f"group-{j:05d}"


def manager_of(i: int) -> int | None:
    """A tree ten wide: user 0 is the root, so every manager precedes its reports."""
    return None if i == 0 else (i - 1) // 10


def depth_of(i: int) -> int:
    depth = 0
    while (parent := manager_of(i)) is not None:
        i, depth = parent, depth + 1
    return depth


def user_id(i: int) -> str:
    """The target id a seeded user gets (stable, so P3's observed side is reproducible)."""
    return uuid.UUID(bytes=hashlib.md5(f"u{i}".encode(), usedforsecurity=False).digest()).hex


def group_id(j: int) -> str:
    return uuid.UUID(bytes=hashlib.md5(f"g{j}".encode(), usedforsecurity=False).digest()).hex


def declared_user(i: int) -> dict[str, Json]:
    """A user as a spec file declares it (DESIGN §2)."""
    first, last = f"Given{i}", f"Family{i % 997}"
    enterprise: dict[str, Json] = {
        "department": DEPARTMENTS[i % len(DEPARTMENTS)],
        "employeeNumber": str(100_000 + i),
    }
    manager = manager_of(i)
    if manager is not None:
        enterprise["manager"] = user_name(manager)
    return {
        "userName": user_name(i),
        "externalId": f"emp-{i}",
        "name": {"givenName": first, "familyName": last},
        "displayName": f"{first} {last}",
        "emails": [{"value": user_name(i), "type": "work", "primary": True}],
        "active": True,
        "title": TITLES[i % len(TITLES)],
        "enterprise": enterprise,
    }


def members(sizes: Sizes) -> list[list[int]]:
    """Member indexes per group: a department-style group for every user, plus a few
    project groups drawn with Zipf weights, so a handful of groups are large and most small."""
    rng = random.Random(6)
    groups: list[set[int]] = [set() for _ in range(sizes.groups)]
    if sizes.groups == 0:
        return []
    departments = max(1, sizes.groups // 10)
    projects = list(range(departments, sizes.groups)) or [0]
    weights = [1.0 / (rank + 1) for rank in range(len(projects))]
    for i in range(sizes.users):
        groups[i % departments].add(i)
        for j in rng.choices(projects, weights, k=MEMBERSHIPS_PER_USER):
            groups[j].add(i)
    return [sorted(g) for g in groups]


def declared_group(j: int, member_indexes: list[int]) -> dict[str, Json]:
    return {
        "displayName": group_name(j),
        "externalId": f"grp-{j}",
        "members": [user_name(i) for i in member_indexes],
    }


def scim_user(i: int, *, ids: bool = True) -> dict[str, Json]:
    """The user as a SCIM body (RFC 7643 §4.1 and §4.3), with manager resolved to an id."""
    spec = declared_user(i)
    enterprise = dict(spec.pop("enterprise"))
    manager = manager_of(i)
    if manager is not None:
        enterprise["manager"] = {"value": user_id(manager)}
    body: dict[str, Json] = {"schemas": [USER_SCHEMA, ENTERPRISE], **spec, ENTERPRISE: enterprise}
    if ids:
        body["id"] = user_id(i)
    return body


def scim_group(j: int, member_indexes: list[int]) -> dict[str, Json]:
    return {
        "schemas": [GROUP_SCHEMA],
        "id": group_id(j),
        "displayName": group_name(j),
        "externalId": f"grp-{j}",
        "members": [{"value": user_id(i), "type": "User"} for i in member_indexes],
    }


def changed(i: int, percent: float) -> bool:
    """Whether user i is one of the `percent` % that differ on the target (spread evenly)."""
    step = round(100 / percent) if percent > 0 else 0
    return step > 0 and i % step == 0


def target_yaml(url: str, *, concurrency: int = 8, page_size: int = 500, bulk: bool = False) -> str:
    doc: dict[str, Any] = {
        "version": 1,
        "targets": {
            "bench": {
                "url": url,
                "auth": {"type": "bearer", "token_env": TOKEN_ENV},
                "matching": {"user": ["userName"], "group": ["displayName"]},
                "page_size": page_size,
                "concurrency": concurrency,
                # P2 applies onto an empty target: nothing is deprovisioned, guards stay.
                "guards": {"max_deletes": 10, "max_delete_percent": 25},
            }
        },
    }
    if bulk:
        # P4 asks for Bulk, which the bench target (scim2-server) advertises; P1, P2 and P5
        # run as scimrec does by default, one request per create.
        doc["targets"]["bench"]["quirks"] = {"bulk": "use"}
    return yaml.safe_dump(doc, sort_keys=False)


def _chunks(n: int, size: int) -> Iterator[range]:
    for start in range(0, n, size):
        yield range(start, min(n, start + size))


def write_spec(
    root: Path, sizes: Sizes, url: str, *, concurrency: int = 8, bulk: bool = False
) -> Path:
    """Write a spec tree (users in files of USERS_PER_FILE, groups in one file) under root.

    The population files are cached by size; only `targets.yaml` (the port) is rewritten.
    """
    tree = root / f"spec-{sizes.users}u-{sizes.groups}g"
    people = tree / "people"
    marker = tree / ".complete"
    if not marker.exists():
        people.mkdir(parents=True, exist_ok=True)
        for n, chunk in enumerate(_chunks(sizes.users, USERS_PER_FILE)):
            doc = {"version": 1, "users": [declared_user(i) for i in chunk]}
            _dump(people / f"users-{n:03d}.yaml", doc)
        spread = members(sizes)
        groups = [declared_group(j, m) for j, m in enumerate(spread)]
        _dump(tree / "groups.yaml", {"version": 1, "groups": groups})
        marker.write_text("ok\n")
    (tree / "targets.yaml").write_text(target_yaml(url, concurrency=concurrency, bulk=bulk))
    return tree


def _dump(path: Path, doc: Json) -> None:
    dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    with path.open("w", encoding="utf-8") as handle:
        yaml.dump(doc, handle, Dumper=dumper, sort_keys=False, width=200)
