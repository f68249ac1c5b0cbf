"""The audit record of a verified write (DESIGN §5) says how it ended as apply counts it.

A write the target answers with success and does not make (a delete still served, a
disable still shown active, a member add, removal or PUT the group does not show made:
groups.py, membership_put.py) fails its change: its record says `failed`, with the
reason, never `ok` (README: the last line is how the write ended).
Session.write runs the verification it is given before it records the write; the writes
that verification sends itself (second tries of the attributes, members added back) are
held until then and recorded after it, in the order they were sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from reconciler.scim.client import Reply

# A write's verification (Session.write): what it raises fails the write.
Check = Callable[[Reply], object] | None

# A write's record and its duration (None: an operation of a Bulk request).
Record = tuple[dict[str, Any], float | None]

# The records held while a write is verified; None outside a verification. Per thread:
# each worker of an apply verifies its own writes.
_HELD: ContextVar[list[Record] | None] = ContextVar("held_writes", default=None)


def held(record: dict[str, Any], duration_ms: float | None) -> bool:
    """Whether the record is held, for a write sent while another is verified."""
    records = _HELD.get()
    if records is None:
        return False
    records.append((record, duration_ms))
    return True


@contextmanager
def holding() -> Iterator[list[Record]]:
    """Hold the records of the writes sent inside, for the verified write's own first."""
    records: list[Record] = []
    token = _HELD.set(records)
    try:
        yield records
    finally:
        _HELD.reset(token)


def judged(records: list[Record], error: str | None) -> list[Record]:
    """The held records, as the verification judged them: where it failed (`error`), the
    second tries of the attributes (settle.py: a narrower PATCH, a PUT) did not make the
    change either, so they are failed with it; members added back (no attributes) were."""
    if error is None:
        return records
    return [
        (record | {"outcome": "failed", "error": error}, ms)
        if record.get("attributes") and record.get("outcome") == "ok"
        else (record, ms)
        for record, ms in records
    ]
