"""The audit record of one write: exactly what it changed, and how it ended.

Every write apply sends is logged as one `write` event built here, and, with
`apply --audit-log FILE`, appended to FILE as one JSON line: Git records the intent, the
audit log the results. Attribute values are as sent (a reference as the id it set, a
password masked); group memberships as the members each PATCH added and removed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from datetime import UTC, datetime
from typing import Any

import structlog

from reconciler.core.changes import Change, Member
from reconciler.core.diff import AttrChange
from reconciler.core.masking import mask_attribute
from reconciler.core.model import Json, Kind
from reconciler.scim.redact import redact_processor

_FILTER_VALUE = '[value eq "'


def attributes_written(
    attributes: Iterable[AttrChange],
    ids: Mapping[str, str],
    write_only: AbstractSet[str] = frozenset(),
) -> list[dict[str, Json]]:
    """Each attribute's before → after; a reference's `after` is the id the write set; a
    write-only attribute's (Capabilities.write_only) masked."""
    out: list[dict[str, Json]] = []
    for a in attributes:
        after = a.after
        if a.ref is not None and after is None:
            after = ids.get(a.ref)
        entry: dict[str, Json] = {
            "path": a.path,
            "before": mask_attribute(a.path, a.before, write_only),
            "after": mask_attribute(a.path, after, write_only),
        }
        if a.ref is not None:
            entry["ref"] = a.ref
        out.append(entry)
    return out


def member_changes(operations: Sequence[Mapping[str, Json]]) -> tuple[list[str], list[str]]:
    """The member ids a PATCH adds and removes, read from its operations (RFC 7644 §3.5.2):
    `add` on `members`, and `remove` by value list or by `members[value eq "id"]`."""
    added: list[str] = []
    removed: list[str] = []
    for op in operations:
        kind = str(op.get("op", "")).lower()
        path = str(op.get("path", ""))
        values = op.get("value")
        listed = [str(v["value"]) for v in values or [] if isinstance(v, Mapping) and "value" in v]
        if path == "members" and kind == "add":
            added += listed
        elif path == "members" and kind == "remove":
            removed += listed
        elif kind == "remove" and path.startswith("members" + _FILTER_VALUE):
            # The value is a JSON string literal (member_ops.remove_members, RFC 7644 §3.4.2.2).
            literal = path[len("members" + _FILTER_VALUE) - 1 : -1]
            try:
                removed.append(str(json.loads(literal)))
            except ValueError:
                removed.append(literal)
    return added, removed


def member_type(operations: Sequence[Mapping[str, Json]]) -> str | None:
    """Whose members a write names: "Group" where its entries say `type: Group`, "User"
    where they say nothing else; None where no entry says (a `members[value eq]` path)."""
    types = {
        str(v.get("type") or "User")
        for op in operations
        if isinstance(values := op.get("value"), list)
        for v in values
        if isinstance(v, Mapping)
    }
    return types.pop() if len(types) == 1 else None


def named(
    member_ids: Iterable[str],
    members: Iterable[Member],
    ids: Mapping[str, str],
    kind: str | None = None,
) -> list[Json]:
    """Members as {id, key}: the key from the plan's members (of `kind`, where known: a user
    and a group may have one id), or a user's from the ids this run created."""
    keys = {m.id: m.key for m in members if m.id and kind in (None, m.type)}
    if kind != "Group":
        keys |= {target_id: key for key, target_id in ids.items() if target_id not in keys}
    return [{"id": i, "key": keys.get(i)} for i in member_ids]


def write_record(
    change: Change,
    method: str,
    path: str,
    status: int,
    error: str | None,
    attributes: Iterable[AttrChange],
    operations: Sequence[Mapping[str, Json]],
    ids: Mapping[str, str],
    write_only: AbstractSet[str] = frozenset(),
) -> dict[str, Any]:
    """The fields of one write: the object, the request, what it changed, how it ended."""
    record: dict[str, Any] = {
        "kind": change.kind.value,
        "key": change.key,
        "action": change.action.value,
        "method": method,
        "path": path,
        "status": status,
        "outcome": "failed" if error is not None else "ok",
        "attributes": attributes_written(attributes, ids, write_only),
    }
    if change.kind is Kind.GROUP:
        added, removed = member_changes(operations)
        kind = member_type(operations)
        record["members_added"] = named(added, change.members_add, ids, kind)
        record["members_removed"] = named(removed, change.members_remove, ids, kind)
    if error is not None:
        record["error"] = error
    return record


class AuditLog:
    """`--audit-log FILE`: one JSON line per write, through the redaction step.

    Each line carries the run context (run_id, target) and a UTC timestamp. The lines go to
    `append` (the command line's one way to write a file), each whole and on its own, so an
    interrupted apply leaves every write it made on record.
    """

    def __init__(self, append: Callable[[str], None]) -> None:
        self._append = append
        self._lock = threading.Lock()

    def append(self, record: Mapping[str, Any]) -> None:
        context = structlog.contextvars.get_contextvars()
        line: dict[str, Any] = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "run_id": context.get("run_id"),
            "target": context.get("target"),
            **record,
        }
        text = json.dumps(
            redact_processor(None, "audit", line), ensure_ascii=False, allow_nan=False
        )
        with self._lock:
            self._append(text + "\n")
