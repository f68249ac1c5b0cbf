"""SCIM Bulk requests for planned creates, and their answers read back (pure; RFC 7644 §3.7).

apply/bulk.py sends what `pack` builds, and `plan --explain` shows the operation
`create_operation` builds, so the two cannot disagree. A request holds as many creates as
the target's limits allow, in the order given (managers before their reports); a reference
to an object created earlier in the same request is a `bulkId:` reference (§3.7.2).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from reconciler.core.changes import Action, Change
from reconciler.core.model import Json, Kind
from reconciler.scim import member_ops, writes
from reconciler.scim.writes import ENDPOINT

BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
# Fewer creates than this in a phase go one request each: concurrently they take as long,
# and their answers carry the resource, where a Bulk answer may need a read-back to verify.
MIN_CREATES = 10
# Never more per request, whatever is advertised: the answer (one result per operation)
# must stay within the response bound, and one lost answer leaves this many unknown.
MOST_OPERATIONS = 1000
# What a target that advertises Bulk without its limits gets (RFC 7644 §5 makes both
# REQUIRED): small enough for any real service; a 413 halves it further (apply/bulk.py).
DEFAULT_OPERATIONS = 100
DEFAULT_PAYLOAD = 256 * 1024
# A margin under maxPayloadSize: a target may count the body as it decodes it (escapes,
# re-encoding), not as the bytes we send.
PAYLOAD_SHARE = 0.9


def creates_of(changes: Iterable[Change]) -> list[Change]:
    """The changes Bulk may carry, in order: user creates (a group's create goes alone, with
    its first members). Apply sends these, and explain counts them, from here."""
    return [c for c in changes if c.kind is Kind.USER and c.action is Action.CREATE]


def pays(usable: bool, creates: int, complete_read: bool) -> bool:
    """Whether a phase's creates go in Bulk requests: Bulk is `usable` (the target offers it
    and its quirks say `bulk: use`: writes.Dialect.bulk), the phase has enough creates, and
    the read was complete (after a short or hidden listing every create looks on the target
    first, one by one: creates.py). Apply and explain both ask here."""
    return usable and complete_read and creates >= MIN_CREATES


@dataclass(frozen=True)
class Limits:
    """How many operations and bytes one Bulk request may carry (with margins)."""

    operations: int
    payload: int

    @classmethod
    def advertised(cls, max_operations: int | None, max_payload: int | None) -> Limits:
        operations = min(max_operations or DEFAULT_OPERATIONS, MOST_OPERATIONS)
        return cls(max(1, operations), int((max_payload or DEFAULT_PAYLOAD) * PAYLOAD_SHARE))

    def halved(self, batch: Batch) -> Limits:
        """Half of what `batch` held: the target refused it as too large (413)."""
        return Limits(max(1, len(batch.changes) // 2), max(1, min(self.payload, batch.size) // 2))


@dataclass(frozen=True)
class Batch:
    """One Bulk request: its creates, in order, with the bulkId each operation carries."""

    changes: tuple[Change, ...]
    bulk_ids: tuple[str, ...]
    body: dict[str, Json]
    # The first change, alone too large for one request: it goes per object instead.
    too_large: Change | None = None
    # The keys of creates sent with a reference left out (a manager neither known before
    # the request nor created earlier in it): a follow-up sets it once they exist.
    unset: frozenset[str] = frozenset()

    @property
    def size(self) -> int:
        return len(json.dumps(self.body).encode())


def bulk_id(change: Change, number: int) -> str:
    """A bulkId unique in its request; it names the kind, never the key (no data in it)."""
    return f"{change.kind.value}-{number}"


def create_operation(
    change: Change,
    bulk_id: str,
    ids: writes.Ids,
    in_request: Mapping[str, str] | None = None,
    first_members: Sequence[str] = (),
    ref: member_ops.Refs = None,
) -> dict[str, Json]:
    """The POST operation of one create (§3.7.1). A manager (or a member: `first_members`
    holds user keys or ids) created earlier in the same request is `bulkId:<its bulkId>`;
    one with a target id is that id; any other reference is left out, as a single POST
    leaves it out, for the follow-up that sets references."""
    pending = in_request or {}
    if change.kind is Kind.USER:
        # Only this user's references: a copy of every id of the run per user would make
        # a large apply quadratic.
        refs: dict[str, str] = {}
        for a in change.attributes:
            if a.ref is None:
                continue
            known = ids.get(a.ref)
            if known is not None:
                refs[a.ref] = known
            elif a.ref in pending:
                refs[a.ref] = f"bulkId:{pending[a.ref]}"
        data = writes.user_create_body(change.attributes, refs)
    else:
        members = [f"bulkId:{pending[m]}" if m in pending else ids.get(m, m) for m in first_members]
        data = writes.group_create_body(change.attributes, members, ref)
    return {"method": "POST", "path": ENDPOINT[change.kind], "bulkId": bulk_id, "data": data}


def request_body(operations: Sequence[Mapping[str, Json]]) -> dict[str, Json]:
    """A Bulk request (§3.7). No failOnErrors: every operation is attempted, whatever
    the others do, and each answers for its own object, as one request per create would;
    a failure budget would leave the operations after it unattempted and unanswered."""
    return {"schemas": [BULK_REQUEST], "Operations": list(operations)}


ENVELOPE = len(json.dumps(request_body([])).encode())


def pack(changes: Sequence[Change], ids: writes.Ids, limits: Limits) -> Batch:
    """The next request: the longest prefix of `changes` within `limits`. Each operation
    costs its JSON bytes and a separator; a first change too large alone is `too_large`."""
    operations: list[dict[str, Json]] = []
    chosen: list[Change] = []
    bulk_ids: list[str] = []
    in_request: dict[str, str] = {}
    unset: set[str] = set()
    size = ENVELOPE
    for change in changes:
        if len(operations) >= limits.operations:
            break
        number = bulk_id(change, len(operations) + 1)
        operation = create_operation(change, number, ids, in_request)
        cost = len(json.dumps(operation).encode()) + 2
        if size + cost > limits.payload:
            if not operations:
                return Batch((), (), request_body([]), too_large=change)
            break
        size += cost
        operations.append(operation)
        chosen.append(change)
        bulk_ids.append(number)
        if any(writes.unresolved(a, ids) and a.ref not in in_request for a in change.attributes):
            unset.add(change.key)
        in_request[change.key] = number
    return Batch(tuple(chosen), tuple(bulk_ids), request_body(operations), unset=frozenset(unset))


@dataclass(frozen=True)
class Result:
    """One operation's answer (§3.7.3): its status (None when not a number), the id the
    target gave (from the resource in `response`, else the last segment of `location`),
    the resource when the answer carries one, and the error detail of a failure."""

    status: int | None
    target_id: str | None
    resource: dict[str, Json] | None
    detail: str
    scim_type: str | None
    location: str | None


def results(body: Json, bulk_ids: Sequence[str]) -> dict[str, Result]:
    """Each operation's answer, by the bulkId it was sent with; an operation with no
    answer, or with two, is left out (its outcome is unknown)."""
    items = body.get("Operations") if isinstance(body, dict) else None
    wanted = set(bulk_ids)
    found: dict[str, Result] = {}
    doubled: set[str] = set()
    for item in items if isinstance(items, list) else []:
        # Only text names an operation we sent (a list or an object cannot even be
        # looked up in a set).
        if not isinstance(item, dict) or not isinstance(item.get("bulkId"), str):
            continue
        if item["bulkId"] not in wanted:
            continue
        key = str(item["bulkId"])
        if key in found:
            doubled.add(key)
        found[key] = _result(item)
    return {k: v for k, v in found.items() if k not in doubled}


def _result(item: Mapping[str, Json]) -> Result:
    raw = item.get("status")
    status = _status(raw.get("code") if isinstance(raw, dict) else raw)
    response = item.get("response")
    response = response if isinstance(response, dict) else None
    location = item.get("location") if isinstance(item.get("location"), str) else None
    resource = response if response is not None and response.get("id") else None
    target_id: str | None = None
    if resource is not None and isinstance(resource.get("id"), str):
        target_id = str(resource["id"])
    elif location:
        target_id = writes.id_in_location(location, "/Users")  # Bulk creates users only
    detail, scim_type = "", None
    if response is not None and resource is None:
        detail = str(response.get("detail") or response.get("message") or "")
        scim_type = response.get("scimType") if isinstance(response.get("scimType"), str) else None
    return Result(status, target_id, resource, detail or "(no detail)", scim_type, location)


def _status(value: Json) -> int | None:
    """`status` is a string in RFC 7644's examples ("201"), a number in some services."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    head = value.strip()[:3] if isinstance(value, str) else ""
    # ASCII digits only: str.isdigit takes a superscript "²", which int() refuses.
    return int(head) if head.isascii() and head.isdigit() else None
