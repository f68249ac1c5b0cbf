"""User attributes a target may not keep (`quirks: {not_kept: [...]}`), and the fix to give
for what a target answered success for and did not keep: that quirk only where it covers
the path (validate refuses any other there), and what helps for the rest."""

from __future__ import annotations

import re
from collections.abc import Sequence

from reconciler.core import attributes as A

# Any user attribute the spec can declare, but the key.
KEEPABLE = frozenset(
    {k for k in A.USER_SIMPLE if k != "userName"}
    | {"name", *(f"name.{p}" for p in A.NAME_PARTS)}
    | set(A.USER_MULTI)
    | {"enterprise", *(f"enterprise.{k}" for k in A.ENTERPRISE)}
)


def keepable(path: str) -> str | None:
    """The `not_kept` entry that covers a written path: itself, or the attribute a value
    path or sub-attribute belongs to (`emails[type eq "work"].value` → `emails`)."""
    if path in KEEPABLE:
        return path
    base = re.split(r"[\[.]", path, maxsplit=1)[0]
    return base if base in KEEPABLE else None


def not_kept_fix(paths: Sequence[str], stamp: str | None = None) -> str:
    """What to do about user attribute `paths` a target does not keep, on one line."""
    return "; ".join(not_kept_fixes(paths, stamp))


def not_kept_fixes(paths: Sequence[str], stamp: str | None = None) -> list[str]:
    """What to do about user attribute `paths` a target does not keep, a fix a part, the
    quirk first where it covers any; `stamp` is where the target records the time of
    disabling, where `delete_after` reads one."""
    covered: list[str] = []
    for path in paths:
        if (entry := keepable(path)) is not None and entry not in covered:
            covered.append(entry)
    parts = [f"quirks: {{not_kept: [{', '.join(covered)}]}}"] if covered else []
    if stamp is not None and stamp in paths:
        parts.append(
            f"the time of disabling ({stamp}) is not kept, so delete_after never deletes: "
            "set disabled_at to an attribute this target keeps (or meta.lastModified), or "
            "remove delete_after"
        )
    rest = [p for p in paths if keepable(p) is None and p != stamp]
    if rest:
        parts.append(f"stop declaring or mapping {', '.join(rest)} for this target")
    return parts
