"""What a group's member entries carry beside `value` and `type`, as the target asks: a
`$ref` (RFC 7643 §4.2), and a `display` (the member's userName or displayName, as RFC 7644
§3.5.2.1's example sends it).

Neither is required by the RFC, and most targets take members without them. One that
wants one refuses a write with a 400 that names it ("Field 'ref' is required", "requires
two values for every member specified (value and display)"); a 400 changed nothing, so
the write is sent again with it, and every later one carries it too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from reconciler.core.changes import Change
from reconciler.core.model import Json, Kind
from reconciler.errors import ScimHTTPError
from reconciler.scim import member_ops
from reconciler.scim.apply.refusals import wants_display, wants_ref

T = TypeVar("T")
Named = Callable[[Kind, str], str | None]


class MemberFields:
    """The fields learned for this run's member entries, and how to make them."""

    def __init__(self, log: Any, ref: bool, ref_of: Callable[[Kind, str], str], name_of: Named):
        self.log = log
        # From the start with quirks: {member_ref: always}, else once a target asks.
        self.ref = ref
        self.display = False
        self.ref_of = ref_of  # a member's $ref by its kind and id
        self.name_of = name_of  # its userName or displayName, where this run knows it
        self.lock = threading.Lock()

    def refs(self) -> member_ops.Refs:
        """The fields each member entry carries beyond its value, or None while none."""
        ref, display = self.ref, self.display
        if not (ref or display):
            return None

        def fields(member_id: str, member_type: str) -> dict[str, Json]:
            kind = Kind(member_type.lower())
            out: dict[str, Json] = {}
            if ref:
                out["$ref"] = self.ref_of(kind, member_id)
            if display and (name := self.name_of(kind, member_id)) is not None:
                out["display"] = name
            return out

        return fields

    def learning(self, change: Change, send: Callable[[], T]) -> T:
        """Send a write that names members (`send` builds it with `refs()` each time),
        again with each field a 400 asks for. A write built without one while another
        thread learned it is sent again the same way, not taken for another refusal."""
        while True:
            had = (self.ref, self.display)
            try:
                return send()
            except ScimHTTPError as exc:
                if not had[0] and wants_ref(exc):
                    self._learn(change, exc, "ref")
                elif not had[1] and wants_display(exc):
                    self._learn(change, exc, "display")
                else:
                    raise

    def _learn(self, change: Change, exc: ScimHTTPError, field: str) -> None:
        with self.lock:
            learned = not getattr(self, field)
            setattr(self, field, True)
        if learned:
            self.log.warning(
                f"members need {'$ref' if field == 'ref' else 'display'}",
                step="action",
                kind=change.kind.value,
                key=change.key,
                status=exc.status,
                detail=exc.detail,
                outcome=f"sending {'$ref' if field == 'ref' else 'display'} with every "
                "member from now on",
            )
