"""A target's `deprovision:` setting: what a deprovisioned user gets, and when a disabled
account is deleted (`{action: disable, delete_after: 30d}`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from reconciler.core.config import DISABLED_AT, LAST_MODIFIED
from reconciler.core.model import Json
from reconciler.spec.checks import CheckBase
from reconciler.spec.source import PathKey

ACTIONS = ("disable", "delete")
LIFECYCLE_KEYS = ("action", "delete_after", "disabled_at")
_DURATION = re.compile(r"^([1-9][0-9]*)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# A century: a longer period never comes, and the deletion a disable schedules (the run's
# time plus the period) must stay inside the calendar (years 1 to 9999).
LONGEST = timedelta(days=36500)


def parse_duration(text: str) -> timedelta | None:
    """`30d`, `12h`, `90m`, `45s`, or None when the text is not one or is past LONGEST."""
    found = _DURATION.match(text.strip())
    # Twelve digits are past LONGEST in any unit; int() refuses past 4,300 of them.
    if found is None or len(found[1]) > 12:
        return None
    seconds = int(found[1]) * _UNITS[found[2]]
    return timedelta(seconds=seconds) if seconds <= LONGEST.total_seconds() else None


class LifecycleRules(CheckBase):
    def deprovision_setting(
        self, path: PathKey, body: Mapping[str, Json]
    ) -> tuple[str, dict[str, Any]]:
        """The action (disable | delete), and the Target fields of the lifecycle, if any."""
        value = body.get("deprovision", "disable")
        if not isinstance(value, dict):
            return self.choice(path, value, ACTIONS) or "disable", {}
        for key in value:
            if key not in LIFECYCLE_KEYS:
                self.unknown(path, key, LIFECYCLE_KEYS, "deprovision setting")
        action = self.choice((*path, "action"), value.get("action"), ACTIONS) or "disable"
        fields: dict[str, Any] = {}
        after = value.get("delete_after")
        if after is not None:
            period = parse_duration(after) if isinstance(after, str) else None
            if period is None:
                self.error(
                    (*path, "delete_after"),
                    f"expected a period such as 30d, 12h or 90m, of at most {LONGEST.days}d, "
                    f"got {after!r}",
                )
            elif action != "disable":
                self.error(
                    (*path, "delete_after"),
                    "delete_after deletes disabled accounts: action: disable",
                )
            fields["delete_after"] = period
        where = value.get("disabled_at")
        if where is not None:
            if after is None:
                self.error((*path, "disabled_at"), "disabled_at is read only with delete_after")
            fields["disabled_at"] = self._disabled_at((*path, "disabled_at"), where, body)
        return action, fields

    def _disabled_at(self, path: PathKey, value: Json, body: Mapping[str, Json]) -> str:
        """Where the time of disabling is on the target: meta.lastModified, an attribute of
        a custom extension the target declares (`alias.attribute`), or `URN:attribute`."""
        extensions = body.get("extensions")
        known = extensions if isinstance(extensions, dict) else {}
        if value == LAST_MODIFIED:
            return LAST_MODIFIED
        if isinstance(value, str) and value.startswith("urn:") and value.count(":") >= 4:
            return value
        alias, _, name = value.partition(".") if isinstance(value, str) else ("", "", "")
        if isinstance(known.get(alias), str) and name:
            return f"{known[alias]}:{name}"
        self.error(
            path,
            f"expected {LAST_MODIFIED}, ALIAS.attribute of an extension this target declares, "
            f"or URN:attribute, got {value!r}",
        )
        return DISABLED_AT
