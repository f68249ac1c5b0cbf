"""The last line of protection for an object's own writes, where every write is sent
(Session.write, and Bulk's creates): a protected object is never deleted, never has
`active` set to false (created inactive, it had nothing to lose), never loses a role, and
never loses the name it is protected by, whatever the plan says. (Its memberships:
protection.py. Whom an id is, after a read no complete listing vouched for, is read
before the first write: identity.py.)"""

from __future__ import annotations

from reconciler.core.changes import Change, deactivates
from reconciler.core.config import Target
from reconciler.core.diff import AttrChange
from reconciler.core.match import NAME_ATTRIBUTE
from reconciler.core.prune import protected
from reconciler.core.roles_held import lost_roles, role_paths


def refused(
    target: Target,
    held: str | None,
    change: Change,
    method: str,
    attributes: tuple[AttrChange, ...],
) -> str | None:
    """Why the write is refused, or None: by the object's declared key, or by `held`, its
    name in the plan's read (an object matched by another attribute)."""
    if not target.protected:
        return None
    name = NAME_ATTRIBUTE[change.kind]
    for attr in attributes:
        old = attr.before if isinstance(attr.before, str) else None
        if attr.path == name and old and old != attr.after and protected(target, old):
            return f"{change.kind.value} {old} is protected: not renamed"
    if not (protected(target, change.key) or protected(target, held)):
        return None
    if method == "DELETE":
        return f"{change.kind.value} {change.key} is protected: not deleted"
    # A create (POST) takes no access away: an account made inactive (a break-glass
    # admin provisioned dormant) had none, and planning shows it as a create too.
    disables = method != "POST" and any(
        a.path == "active" and deactivates(a.after) for a in attributes
    )
    if disables:
        return f"{change.kind.value} {change.key} is protected: not disabled"
    roles = role_paths(target)
    if any(lost_roles(a, roles) for a in attributes):
        return f"{change.kind.value} {change.key} is protected: keeps its roles"
    return None
