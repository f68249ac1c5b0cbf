"""The vocabulary of a plan: the Action per object, a Change with before/after, an error."""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from enum import StrEnum

from reconciler.core.diff import AttrChange
from reconciler.core.masking import mask_attribute
from reconciler.core.model import Json, Kind, Location


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DISABLE = "disable"
    DELETE = "delete"
    NOOP = "noop"


DEPROVISIONS = frozenset({Action.DISABLE, Action.DELETE})


@dataclass(frozen=True, slots=True)
class Member:
    """A group member: the declared key, its target id, or both; a user unless a group."""

    key: str | None
    id: str | None
    type: str = "User"

    def to_json(self) -> dict[str, Json]:
        out: dict[str, Json] = {"key": self.key, "id": self.id}
        if self.type != "User":
            out["type"] = self.type
        return out


@dataclass(frozen=True, slots=True)
class Change:
    kind: Kind
    key: str
    action: Action
    reason: str
    target_id: str | None = None
    matched_on: str | None = None
    version: str | None = None
    attributes: tuple[AttrChange, ...] = ()
    members_add: tuple[Member, ...] = ()
    members_remove: tuple[Member, ...] = ()
    location: Location | None = None
    # Why the object is on this target, where a target assigns by group
    # ("assigned through Engineering"); None elsewhere.
    scope: str | None = None
    # The name (userName or displayName) the target object has now, when this change gives
    # it another one: the plan says "rename A → B".
    renamed_from: str | None = None

    def __post_init__(self) -> None:
        # The one place a change's action is settled: an update that takes a user's
        # `active` from true (or unset) to false locks a person out, whatever produced it
        # (`active: false`, a mapping, an edited plan file), so it is a disable, and the
        # guards, protection, apply order and reports treat it as one (DESIGN §6).
        if self.action is Action.UPDATE and self.kind is Kind.USER and takes_active_away(self):
            object.__setattr__(self, "action", Action.DISABLE)

    def to_json(self, write_only: AbstractSet[str] = frozenset()) -> dict[str, Json]:
        """The change as plans show and record it: the values of write-only attributes
        (`password`, `write_only`: Capabilities.write_only) masked."""
        out: dict[str, Json] = {
            "kind": self.kind.value,
            "key": self.key,
            "action": self.action.value,
            "reason": self.reason,
            "target_id": self.target_id,
            "matched_on": self.matched_on,
            "version": self.version,
            "attributes": [
                {
                    "path": a.path,
                    "before": mask_attribute(a.path, a.before, write_only),
                    "after": mask_attribute(a.path, a.after, write_only),
                }
                | ({"ref": a.ref} if a.ref is not None else {})
                for a in self.attributes
            ],
        }
        if self.kind is Kind.GROUP:
            out["members"] = {
                "add": [m.to_json() for m in self.members_add],
                "remove": [m.to_json() for m in self.members_remove],
            }
        if self.scope is not None:
            out["scope"] = self.scope
        if self.renamed_from is not None:
            out["rename"] = {"from": self.renamed_from, "to": self.key}
        if self.location is not None:
            out["source"] = {
                "file": self.location.file,
                "line": self.location.line,
                "col": self.location.col,
            }
        return out


def takes_active_away(change: Change) -> bool:
    """Whether a change leaves `active` anything but true on an object where it was not
    already false."""
    return any(
        a.path == "active" and deactivates(a.after) and not _false(a.before)
        for a in change.attributes
    )


def deactivates(after: Json) -> bool:
    """Whether `active` written as `after` leaves an account anything but active: false,
    and also cleared (`active: null` is sent as a PATCH `remove`, and RFC 7643 §4.1.1 gives
    an absent `active` no meaning, so many targets read it as false) or any other value.
    Counted as a disable, it is guarded and spared on a protected account like one."""
    return not (after is True or (isinstance(after, str) and after.strip().casefold() == "true"))


def _false(value: Json) -> bool:
    # A string "False" (what an expression yields) means false too: counted, never missed.
    return value is False or (isinstance(value, str) and value.strip().casefold() == "false")


@dataclass(frozen=True, slots=True)
class ObjectError:
    kind: Kind
    key: str
    step: str
    message: str
    location: Location | None = None

    def to_json(self) -> dict[str, Json]:
        return {
            "kind": self.kind.value,
            "key": self.key,
            "step": self.step,
            "message": self.message,
        }


_PHASE = {
    (Kind.USER, Action.CREATE): 0,
    (Kind.USER, Action.UPDATE): 0,
    (Kind.GROUP, Action.CREATE): 1,
    (Kind.GROUP, Action.UPDATE): 1,
    (Kind.GROUP, Action.DELETE): 2,
    (Kind.USER, Action.DISABLE): 3,
    (Kind.USER, Action.DELETE): 3,
}


# The (kind, action) pairs a plan can hold.
PHASES = frozenset(_PHASE)


def phase(change: Change) -> int:
    """Apply order: users, then groups (and memberships), then deprovisions."""
    return _PHASE[(change.kind, change.action)]
