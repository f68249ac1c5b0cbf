"""A target's `quirks:` block: behaviours forced where a target misreports what it does, and
the user attributes it does not keep (`not_kept`), which scimrec then does not manage there."""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.core.model import Json
from reconciler.core.not_kept import KEEPABLE
from reconciler.spec.checks import CheckBase
from reconciler.spec.source import PathKey

# What a `quirks:` block can force, and the values each takes ("auto" is the default:
# follow the ServiceProviderConfig and learn from refusals during the run; for `bulk`,
# "never" is).
QUIRKS: Mapping[str, tuple[str, ...]] = {
    "patch": ("auto", "never"),  # never: every update is a GET-merge-PUT
    "etag": ("auto", "never"),  # never: no If-Match, whatever the target claims
    "member_removal": ("auto", "filter", "value"),  # PATCH remove dialect to use
    "members_on_create": ("auto", "never"),  # never: add members after the group POST
    "filter": ("auto", "never"),  # never: lookups read the full listing
    "value_paths": ("auto", "never"),  # never: replace whole multi-valued attributes
    "member_ref": ("auto", "always"),  # always: every member carries $ref from the start
    "listing": ("auto", "none"),  # none: lookup mode, each object through eq filters
    # Bulk is the one behaviour off unless asked for: on the Bulk servers measured, user
    # creates took longer through Bulk than one request each (bench/README.md, P4).
    "bulk": ("never", "use"),  # use: user and group creates in Bulk where Bulk is offered
    # absent: a user shown without `active` is a disabled one (core/inactive.py); shown
    # (the default): only `active: false` is, since some targets never show `active`.
    "inactive": ("shown", "absent"),
}
NOT_KEPT = "not_kept"


class QuirkRules(CheckBase):
    def quirks(self, path: PathKey, value: Json) -> tuple[dict[str, str], tuple[str, ...]]:
        """The forced behaviours, and the `not_kept` attribute paths."""
        if value is None:
            return {}, ()
        if not isinstance(value, dict):
            self.error(path, "expected a mapping such as {patch: never}")
            return {}, ()
        out: dict[str, str] = {}
        dropped: tuple[str, ...] = ()
        for key, item in value.items():
            if key == NOT_KEPT:
                dropped = self.not_kept((*path, key), item)
            elif key not in QUIRKS:
                self.unknown(path, key, (*QUIRKS, NOT_KEPT), "quirk")
            elif (chosen := self.choice((*path, key), item, QUIRKS[key])) is not None:
                out[key] = chosen
        return out, dropped

    def not_kept(self, path: PathKey, value: Json) -> tuple[str, ...]:
        """`not_kept: [title, ims, enterprise.department]`: user attributes the target drops."""
        if not isinstance(value, list):
            self.error(path, "expected a list of user attribute paths, such as [title, ims]")
            return ()
        out: list[str] = []
        for index, item in enumerate(value):
            if not isinstance(item, str) or item not in KEEPABLE:
                self.error(
                    (*path, index),
                    f"{item!r} is not a user attribute a target can leave out "
                    "(for example title, nickName, ims, name.middleName, enterprise.department)",
                )
            elif item not in out:
                out.append(item)
        return tuple(out)
