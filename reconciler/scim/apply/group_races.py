"""Two runs that created one group at once: the oldest stays, and a run that sees both
deletes its own (it made it moments ago, so nothing else can rely on it)."""

from __future__ import annotations

from datetime import UTC, datetime

from reconciler.core.changes import Change
from reconciler.core.model import Kind, Resource
from reconciler.errors import ScimHTTPError
from reconciler.scim.apply.create_search import candidates
from reconciler.scim.apply.session import Failed, Session
from reconciler.scim.writes import resource_path


def one_of_a_race(s: Session, change: Change, ours: str) -> str:
    """After a create, the group that stays when two runs created it at once.

    The oldest stays (meta.created, then the id): a run that verifies before the other's
    create lands sees only its own, which is then the oldest; a run that sees both keeps
    the other's, older one, deletes its own (it created it moments ago, so nothing else
    can rely on it) and uses the keeper. Every run that sees both agrees on the keeper.
    """
    found = candidates(s, change)
    if len(found) < 2 or ours not in {r.id for r in found}:
        return ours
    keeper = min(found, key=_age).id
    if keeper == ours:
        return ours
    s.log.warning(
        "another run created this group at the same time: keeping the other one",
        step="action",
        kind="group",
        key=change.key,
        target_id=ours,
        kept=keeper,
    )
    # A write like any other: in the audit trail, and never past `protected`.
    path = resource_path("/Groups", ours)
    try:
        s.write(change, "DELETE", path, lambda: s.client.delete(path, None))
    except ScimHTTPError as exc:
        if exc.status != 404:
            message = f"created a duplicate of group {keeper} and could not remove it: {exc}"
            raise Failed(message) from None
    except Failed as exc:
        raise Failed(f"created a duplicate of group {keeper} and left it: {exc}") from None
    with s.lock:
        s.resolved.add((Kind.GROUP, keeper))
    return keeper


def _age(resource: Resource) -> tuple[datetime, int, str]:
    """Oldest first: by meta.created (RFC 7643 §3.1), unknown times last, then by id."""
    when = datetime.max.replace(tzinfo=UTC)
    if resource.created:
        try:
            parsed = datetime.fromisoformat(resource.created)
            when = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except ValueError:
            pass
    return when, len(resource.id), resource.id
