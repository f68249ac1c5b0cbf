"""What a verified write's target did not keep, once access is not at stake (Session.verify):
recorded for the summary and logged with the fix that helps, a disable shown without
`active` apart from the rest (verify.unshown_disable)."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from reconciler.core.changes import Change
from reconciler.core.config import Target
from reconciler.core.diff import AttrChange
from reconciler.core.model import Json, Kind
from reconciler.core.not_kept import not_kept_fix
from reconciler.scim.apply.verify import unshown_disable


class Session(Protocol):
    """What noting needs of apply's session (session.py, which calls it)."""

    log: Any
    target: Target
    lock: threading.Lock
    unshown: list[str]
    dropped: dict[tuple[Kind, str], list[str]]


def not_kept(
    s: Session,
    change: Change,
    sent: Sequence[AttrChange],
    held: Mapping[str, Json],
    dropped: list[str],
) -> None:
    """Note and log the attribute paths in `dropped` that the target answered success for
    and does not hold as sent: the next plan would propose them again."""
    if "active" in dropped and unshown_disable(sent, held):
        dropped.remove("active")  # reported apart, with the fix that helps
        with s.lock:
            s.unshown.append(change.key)
        s.log.warning("disabled, shown without active", step="action", kind="user",
                      key=change.key, fix="quirks: {inactive: absent}")  # fmt: skip
        if not dropped:
            return
    with s.lock:
        noted = s.dropped.setdefault((change.kind, change.key), [])
        noted += [p for p in dropped if p not in noted]
    stamp = s.target.disabled_at if s.target.delete_after is not None else None
    s.log.warning(
        "not kept by the target",
        step="action",
        kind=change.kind.value,
        key=change.key,
        attributes=dropped,
        detail="the target answered success but does not hold these as sent; the next plan "
        "would propose them again",
        fix=not_kept_fix(dropped, stamp)
        if change.kind is Kind.USER
        else "stop declaring them for groups",
    )
