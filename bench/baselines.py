"""The clients scimrec is measured against, written as plainly as httpx2 allows.

- `paged_read`: the physical limit of a read (P1): every user and group, page by page.
- `sequential_apply`: the Entra/Okta way (P2a): per object, one filter lookup, then one write.
- `concurrent_apply`: the physical limit of a write (P2b): one write per object (plus the
  membership chunks), `concurrency` at a time, nothing looked up.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import groupby
from typing import Any

import dataset
import httpx2

SCIM_JSON = "application/scim+json"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
Json = Any


@dataclass(frozen=True)
class Read:
    users: list[Json]
    groups: list[Json]
    pages: int


def _read_endpoint(client: httpx2.Client, url: str, page_size: int) -> tuple[list[Json], int]:
    held: list[Json] = []
    start, pages = 1, 0
    while True:
        reply = client.get(url, params={"startIndex": start, "count": page_size})
        reply.raise_for_status()
        pages += 1
        body = reply.json()
        items = body.get("Resources") or []
        held.extend(items)
        if not items or len(held) >= int(body.get("totalResults", 0)):
            return held, pages
        start += len(items)


def paged_read(client: httpx2.Client, base: str, page_size: int) -> Read:
    """GET /Users and /Groups with startIndex/count (RFC 7644 §3.4.2.4), keeping every
    resource in memory as any reconciler must."""
    users, user_pages = _read_endpoint(client, f"{base}/Users", page_size)
    groups, group_pages = _read_endpoint(client, f"{base}/Groups", page_size)
    return Read(users, groups, user_pages + group_pages)


def _post(client: httpx2.Client, url: str, body: Json) -> str:
    reply = client.post(url, content=json.dumps(body), headers={"Content-Type": SCIM_JSON})
    reply.raise_for_status()
    return str(reply.json()["id"])


def _user_body(i: int, ids: dict[int, str]) -> Json:
    body = dataset.scim_user(i, ids=False)
    manager = dataset.manager_of(i)
    extension = body[dataset.ENTERPRISE]
    if manager is None:
        extension.pop("manager", None)
    else:
        extension["manager"] = {"value": ids[manager]}
    return body


def _add_members(client: httpx2.Client, url: str, member_ids: list[str], chunk: int) -> None:
    for start in range(0, len(member_ids), chunk):
        ops = [
            {
                "op": "add",
                "path": "members",
                "value": [{"value": m} for m in member_ids[start : start + chunk]],
            }
        ]
        body = {"schemas": [PATCH_OP], "Operations": ops}
        reply = client.patch(url, content=json.dumps(body), headers={"Content-Type": SCIM_JSON})
        reply.raise_for_status()


def _create_group(
    client: httpx2.Client, base: str, j: int, member_ids: list[str], chunk: int
) -> str:
    """POST the group with its first chunk of members, then PATCH the rest in chunks:
    the same request shape scimrec uses (DESIGN §5: membership in chunks of 100)."""
    body = {
        "schemas": [dataset.GROUP_SCHEMA],
        "displayName": dataset.group_name(j),
        "externalId": f"grp-{j}",
        "members": [{"value": m} for m in member_ids[:chunk]],
    }
    group = _post(client, f"{base}/Groups", body)
    _add_members(client, f"{base}/Groups/{group}", member_ids[chunk:], chunk)
    return group


def _lookup(client: httpx2.Client, url: str, attribute: str, value: str) -> list[Json]:
    reply = client.get(url, params={"filter": f"{attribute} eq {json.dumps(value)}"})
    reply.raise_for_status()
    found: list[Json] = reply.json().get("Resources") or []
    return found


def sequential_apply(
    client: httpx2.Client, base: str, sizes: dataset.Sizes, chunk: int = 100
) -> None:
    """One object at a time: look it up by its matching attribute, then create it.

    Users go in index order, so a manager always exists before its reports.
    """
    ids: dict[int, str] = {}
    for i in range(sizes.users):
        found = _lookup(client, f"{base}/Users", "userName", dataset.user_name(i))
        if found:
            ids[i] = str(found[0]["id"])
        else:
            ids[i] = _post(client, f"{base}/Users", _user_body(i, ids))
    for j, member_indexes in enumerate(dataset.members(sizes)):
        if _lookup(client, f"{base}/Groups", "displayName", dataset.group_name(j)):
            continue
        _create_group(client, base, j, [ids[i] for i in member_indexes], chunk)


def _in_parallel(concurrency: int, work: Callable[[int], Any], items: Iterable[int]) -> list[Any]:
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(work, items))


def concurrent_apply(
    client: httpx2.Client, base: str, sizes: dataset.Sizes, concurrency: int, chunk: int = 100
) -> None:
    """Every create once, `concurrency` in flight: users level by level of the manager tree
    (so each manager id is known when its reports are created), then groups."""
    ids: dict[int, str] = {}
    by_depth = sorted(range(sizes.users), key=dataset.depth_of)
    for _, level in groupby(by_depth, key=dataset.depth_of):
        batch = list(level)
        created = _in_parallel(
            concurrency, lambda i: _post(client, f"{base}/Users", _user_body(i, ids)), batch
        )
        ids.update(zip(batch, created, strict=True))
    spread = dataset.members(sizes)
    _in_parallel(
        concurrency,
        lambda j: _create_group(client, base, j, [ids[i] for i in spread[j]], chunk),
        range(sizes.groups),
    )
