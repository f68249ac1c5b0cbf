"""SCIM Bulk requests for planned creates, and their answers read back (pure; RFC 7644 §3.7).

apply/bulk.py sends what `pack` builds, and `plan --explain` shows the operation
`create_operation` builds, so the two cannot disagree. A request holds creates of one kind,
as many as the target's limits allow, in the order given (managers before their reports,
nested groups before the groups that hold them); a reference to an object created earlier
in the same request is a `bulkId:` reference (§3.7.2).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

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


def creates_of(changes: Iterable[Change], kind: Kind = Kind.USER) -> list[Change]:
    """The changes of one kind Bulk may carry, in order: its creates (users and groups go in
    requests of their own, users first: a group's members are users created before it).
    Apply sends these, and explain counts them, from here."""
    return [c for c in changes if c.kind is kind and c.action is Action.CREATE]


def nested_first(creates: Sequence[Change]) -> list[Change]:
    """Group creates in dependency order: each group after the nested groups (created in
    this run) it holds, as managers go before their reports; a cycle goes last as it is, its
    members named in no create and added once every group exists (apply/groups.py)."""
    pending = {c.key: c for c in creates}
    done: set[str] = set()
    ordered: list[Change] = []
    while pending:
        ready = [c for c in pending.values() if not (_nested_keys(c) & pending.keys())]
        for change in ready or list(pending.values()):
            del pending[change.key]
            done.add(change.key)
            ordered.append(change)
    return ordered


def _nested_keys(change: Change) -> set[str]:
    """The nested groups a group's create may name by bulkId: those without an id yet."""
    return {m.key for m in change.members_add if m.type == "Group" and m.key and not m.id}


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
class GroupForm:
    """What a group's create carries, as the per-object create sends it (apply/groups.py):
    the first `chunk` of its users (none where the target takes no members on create), with
    `$ref`s where `ref` says; then, in what room that chunk has left, its nested groups
    (native nesting), made before this request (`group_ids`) or earlier in it."""

    group_ids: Mapping[str, str] = field(default_factory=dict)
    chunk: int = 1000
    members_on_create: bool = True
    ref: member_ops.Refs = None


@dataclass(frozen=True)
class Operation:
    """One create's operation, with what apply must know of it: the keys of the objects of
    the same request it names by bulkId (it fails if they do), whether a reference was left
    out (a follow-up sets it), and the user members it carries (a group's)."""

    body: dict[str, Json]
    depends: frozenset[str] = frozenset()
    unset: bool = False
    users: tuple[str, ...] = ()


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
    # By key: the objects of this request each operation names by bulkId, and the user
    # members each group's operation carries.
    depends: Mapping[str, frozenset[str]] = field(default_factory=dict)
    users: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @cached_property
    def data(self) -> dict[str, Mapping[str, Json]]:
        """Each operation's data, by the key of the object it creates."""
        operations = self.body.get("Operations")
        found = operations if isinstance(operations, list) else []
        datas = [op.get("data") if isinstance(op, dict) else None for op in found]
        return {c.key: d for c, d in zip(self.changes, datas, strict=False) if isinstance(d, dict)}

    @cached_property
    def keys(self) -> dict[str, str]:
        """The key of the object each operation creates, by its bulkId."""
        return {n: c.key for c, n in zip(self.changes, self.bulk_ids, strict=True)}

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
    form: GroupForm | None = None,
) -> dict[str, Json]:
    """The POST operation of one create (§3.7.1): `operation`'s body."""
    return operation(change, bulk_id, ids, in_request or {}, form or GroupForm()).body


def operation(
    change: Change, bulk_id: str, ids: writes.Ids, in_request: Mapping[str, str], form: GroupForm
) -> Operation:
    """The POST operation of one create (§3.7.1), with the body a single POST would send.
    A manager, or a nested group, created earlier in the same request is `bulkId:<its
    bulkId>`; one with a target id is that id; any other is left out, as a single POST
    leaves it out, for the follow-up that sets it (a manager) or adds it (a group)."""
    if change.kind is Kind.USER:
        # Only this user's references: a copy of every id of the run per user would make
        # a large apply quadratic.
        refs: dict[str, str] = {}
        named: set[str] = set()
        for a in change.attributes:
            if a.ref is None:
                continue
            known = ids.get(a.ref)
            if known is not None:
                refs[a.ref] = known
            elif a.ref in in_request:
                refs[a.ref] = f"bulkId:{in_request[a.ref]}"
                named.add(a.ref)
        data = writes.user_create_body(change.attributes, refs)
        unset = any(
            writes.unresolved(a, ids) and a.ref not in in_request for a in change.attributes
        )
        body = {"method": "POST", "path": ENDPOINT[change.kind], "bulkId": bulk_id, "data": data}
        return Operation(body, frozenset(named), unset)
    users, nested, named = _members(change, ids, in_request, form)
    data = writes.group_create_body(change.attributes, users, form.ref)
    if nested:  # after the users, as writes.group_create_body lists them
        data["members"] = [*(member_ops.member(u, form.ref) for u in users), *nested]
    body = {"method": "POST", "path": ENDPOINT[change.kind], "bulkId": bulk_id, "data": data}
    return Operation(body, frozenset(named), users=tuple(users))


def _members(
    change: Change, ids: writes.Ids, in_request: Mapping[str, str], form: GroupForm
) -> tuple[list[str], list[Json], set[str]]:
    """A group create's members (GroupForm): the user ids, exactly those the per-object
    create carries; the nested groups' entries; and the keys of those named by bulkId.
    A bulkId member has no `$ref`: a target resolves a bulkId only as a whole value."""
    if not form.members_on_create:
        return [], [], set()
    known = [m.id or ids.get(m.key or "") for m in change.members_add if m.type == "User"]
    users = [i for i in known if i is not None][: form.chunk]
    nested: list[Json] = []
    named: set[str] = set()
    for m in change.members_add:
        if m.type != "Group" or len(users) + len(nested) >= form.chunk:
            continue
        found = m.id or form.group_ids.get(m.key or "")
        if found is not None:
            nested.append(member_ops.member(found, form.ref, "Group"))
        elif m.key is not None and m.key in in_request:
            nested.append(member_ops.member(f"bulkId:{in_request[m.key]}", None, "Group"))
            named.add(m.key)
    return users, nested, named


def request_body(operations: Sequence[Mapping[str, Json]]) -> dict[str, Json]:
    """A Bulk request (§3.7). No failOnErrors: every operation is attempted, whatever
    the others do, and each answers for its own object, as one request per create would;
    a failure budget would leave the operations after it unattempted and unanswered."""
    return {"schemas": [BULK_REQUEST], "Operations": list(operations)}


ENVELOPE = len(json.dumps(request_body([])).encode())


def pack(
    changes: Sequence[Change], ids: writes.Ids, limits: Limits, form: GroupForm | None = None
) -> Batch:
    """The next request: the longest prefix of `changes` within `limits`. Each operation
    costs its JSON bytes and a separator; a first change too large alone is `too_large`
    (as is one JSON cannot carry)."""
    operations: list[dict[str, Json]] = []
    chosen: list[Change] = []
    bulk_ids: list[str] = []
    in_request: dict[str, str] = {}
    unset: set[str] = set()
    depends: dict[str, frozenset[str]] = {}
    users: dict[str, tuple[str, ...]] = {}
    size = ENVELOPE
    for change in changes:
        if len(operations) >= limits.operations:
            break
        number = bulk_id(change, len(operations) + 1)
        built = operation(change, number, ids, in_request, form or GroupForm())
        try:
            cost = len(json.dumps(built.body, allow_nan=False).encode()) + 2
        except ValueError:
            # A number JSON cannot write (NaN): sent alone, as one too large is, where the
            # client refuses it for this object only, not for the whole request.
            cost = limits.payload + 1
        if size + cost > limits.payload:
            if not operations:
                return Batch((), (), request_body([]), too_large=change)
            break
        size += cost
        operations.append(built.body)
        chosen.append(change)
        bulk_ids.append(number)
        if built.unset:
            unset.add(change.key)
        depends[change.key], users[change.key] = built.depends, built.users
        in_request[change.key] = number
    body = request_body(operations)
    return Batch(tuple(chosen), tuple(bulk_ids), body, None, frozenset(unset), depends, users)


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
        found[key] = _result(item, _endpoint(key))
    return {k: v for k, v in found.items() if k not in doubled}


def _endpoint(bulk_id: str) -> str:
    """The endpoint of the create a bulkId names: `bulk_id` puts its kind first."""
    return "/Groups" if bulk_id.rpartition("-")[0] == Kind.GROUP.value else "/Users"


def _result(item: Mapping[str, Json], endpoint: str) -> Result:
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
        target_id = writes.id_in_location(location, endpoint)
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
