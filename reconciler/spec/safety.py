"""The safety settings of a target: guards, protected patterns, ownership, and how group
membership is managed (DESIGN §6)."""

from __future__ import annotations

from reconciler.core.model import Json
from reconciler.spec.checks import CheckBase
from reconciler.spec.source import PathKey

# exact: a group holds exactly its declared members; additive: nobody is ever removed.
POLICIES = ("exact", "additive")
COUNTS = ("max_deletes", "max_member_removals")
PERCENTS = ("max_delete_percent", "max_member_removal_percent")


class SafetyRules(CheckBase):
    def patterns(self, path: PathKey, value: Json) -> tuple[str, ...]:
        if not isinstance(value, list):
            self.error(path, "expected a list of userName / displayName patterns (* and ? allowed)")
            return ()
        return tuple(v for i, v in enumerate(value) if self.string((*path, i), v, nullable=False))

    def ownership(self, path: PathKey, value: Json) -> str | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            self.error(path, "expected {external_id_prefix: PREFIX}")
            return None
        for key in value:
            if key != "external_id_prefix":
                self.unknown(path, key, ("external_id_prefix",), "ownership setting")
        prefix = value.get("external_id_prefix")
        if not isinstance(prefix, str) or not prefix:
            self.error((*path, "external_id_prefix"), "expected a non-empty string")
            return None
        return prefix

    def guards(self, path: PathKey, body: Json) -> dict[str, int | float]:
        """`guards: {max_deletes, max_delete_percent, max_member_removals,
        max_member_removal_percent}`; what is valid of it (the rest is reported)."""
        if not isinstance(body, dict):
            self.error(path, "expected a mapping")
            return {}
        out: dict[str, int | float] = {}
        for key, value in body.items():
            if key in COUNTS:
                if self.integer((*path, key), value, 0, 10_000_000) is not None:
                    out[key] = int(value)
            elif key in PERCENTS:
                if (
                    isinstance(value, bool)
                    or not isinstance(value, int | float)
                    or not 0 <= value <= 100
                ):
                    self.error((*path, key), f"expected a number from 0 to 100, got {value!r}")
                else:
                    out[key] = value
            else:
                self.unknown(path, key, (*COUNTS, *PERCENTS), "guard")
        return out
