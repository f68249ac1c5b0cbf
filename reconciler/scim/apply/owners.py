"""Which object each target id of an apply belongs to, so that no id is recorded for two.

A create is recorded under the id the target answers with (a body, a Location, a Bulk
result's `location`), and every later write of the run that names that object (a group's
members, a report's manager, the follow-up that sets references) uses it. An answer naming
an id the plan read for another object, or one already recorded for another create of the
run, cannot be the new object's: recorded, it would send those writes to the wrong account
(a Bulk `location` that points at an administrator would put the administrator in the
group the new user was declared in). Such an id is refused here, where every created or
adopted id is claimed: a create is then looked up by its name instead (creates.py,
bulk.py), and an object found by its name is not adopted (its account was renamed since
the plan read it, so it is the other object's).
"""

from __future__ import annotations

import threading

from reconciler.core.model import Kind


class Owners:
    """Target ids by kind, each held by one object key; thread-safe."""

    def __init__(self) -> None:
        self._by_id: dict[tuple[Kind, str], str] = {}
        self._lock = threading.Lock()

    def hold(self, kind: Kind, key: str, target_id: str) -> None:
        """An id the plan read for `key` (a matched object, or one planned to go)."""
        with self._lock:
            self._by_id.setdefault((kind, target_id), key)

    def claim(self, kind: Kind, key: str, target_id: str) -> str | None:
        """Record `target_id` as `key`'s; the other object's key when it is already held."""
        with self._lock:
            other = self._by_id.setdefault((kind, target_id), key)
        return None if other == key else other

    def owner(self, kind: Kind, target_id: str) -> str | None:
        """The key of the object of `kind` holding this id, if the plan read or the run
        created one."""
        with self._lock:
            return self._by_id.get((kind, target_id))

    def holds(self, kind: Kind, target_id: str) -> bool:
        """Whether the plan read, or the run created, an object of `kind` with this id."""
        with self._lock:
            return (kind, target_id) in self._by_id

    def release(self, kind: Kind, key: str, target_id: str) -> None:
        """Give up a claim `key` made on an id that turned out not to be its object's (an
        answer that was another resource): left held, it would refuse that object's id."""
        with self._lock:
            if self._by_id.get((kind, target_id)) == key:
                del self._by_id[(kind, target_id)]
