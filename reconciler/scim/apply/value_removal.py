"""A value-list member removal the target was never told to take, checked: RFC 7644
§3.5.2.2 reads a `remove` of `members` without a filter as removing them all, and a target
that ignores the value list does just that. The group is read before and after, whatever
the write's answer, and members that went unplanned are added back."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from reconciler.core.changes import Change
from reconciler.core.model import Kind
from reconciler.core.prune import protected
from reconciler.errors import ScimrecError
from reconciler.scim import member_ops
from reconciler.scim.apply import put_read
from reconciler.scim.apply.session import Failed, Session
from reconciler.scim.client import Reply
from reconciler.scim.transfer import RunTimedOut

Held = tuple[str, bool]
AddBack = Callable[[Iterable[Held]], None]

# The removal dialect once a target has shown that value lists remove every member.
UNSAFE = "unsafe"
# How long the repair after a removal of unknown outcome may run past the run's deadline:
# a read and a few adds, each bounded on its own; a group left empty would stay so.
REPAIR_SECONDS = 60.0
# How many lost members a failure names, protected ones first.
NAMED = 5


def checked(
    s: Session,
    change: Change,
    path: str,
    planned: set[Held],
    send: Callable[[], Reply],
    add_back: AddBack,
) -> Reply:
    """Send a value-list removal between two reads of the group; members that went and
    were not planned to are added back, and no value-list removal is sent again in this
    run. Once one is seen to work, no more checks.

    A removal whose outcome is unknown (a 5xx, no answer, the run's deadline) may have
    emptied the group all the same: the group is read and repaired then too, past the
    deadline if need be (REPAIR_SECONDS), and where that cannot be done the failure names
    the members it may have taken."""
    before = members(s, path, change.target_id, shown=True)
    with s.lock:
        read = set(s.members_held.get(change.target_id or "", ()))
    try:
        reply = send()
    except (ScimrecError, Failed) as exc:  # Failed: answered success, judged not made
        with s.client.deadline.overtime(REPAIR_SECONDS):
            why = _repair(s, change, path, before - planned, read, add_back)
        if why is None:
            raise
        message = f"{exc}; {why}"
        if isinstance(exc, RunTimedOut):  # the run still stops at its deadline
            raise RunTimedOut(message, in_flight=True) from exc
        raise Failed(message) from exc
    why = _repair(s, change, path, before - planned, read, add_back)
    if why is not None:
        raise Failed(why)
    with s.lock:
        s.value_removal_checked = True
    return reply


def _repair(
    s: Session, change: Change, path: str, others: set[Held], read: set[Held], add_back: AddBack
) -> str | None:
    """Add back the `others` the group no longer holds; None when it holds them all,
    else what happened, naming the members lost where they could not be added back."""
    try:
        gone = others - members(s, path, change.target_id, shown=False)
    except (ScimrecError, Failed) as exc:
        return (
            f"the group could not be read after a value-list removal ({exc}), so what it "
            f"took is unknown: check that it still holds {_names(s, others)}"
        )
    if not gone:
        return None
    with s.lock:
        s.remove_dialect = UNSAFE
    # Only members the plan's read showed go back, as members_lost restores them: a
    # member the target's own "before" shows and no plan read is its word alone, and
    # added back it would be access no plan held (any id, a nested group and its members).
    restored = gone & read
    try:
        add_back(restored)
    except (ScimrecError, Failed) as exc:
        return (
            f"the target removed {len(gone)} member(s) more than planned when sent a "
            f"value-list removal, and adding them back failed ({exc}): it lost "
            f"{_names(s, gone)}; add them back by hand"
        )
    unread = len(gone - restored)
    how = (
        "they were added back"
        if not unread
        else f"the {len(restored)} the plan read were added back, and {unread} it did not "
        "read were not"
    )
    return (
        f"the target removed {len(gone)} member(s) more than planned when sent a value-list "
        f"removal; {how}, and no member is removed in this run"
    )


def _names(s: Session, held: set[Held]) -> str:
    """Members by name (a user's userName, a nested group's displayName where read),
    protected ones first, the first few of them."""
    names = sorted(
        (not protected(s.target, name), name)
        for value, group in held
        for name in [_name(s, value, group)]
    )
    shown = ", ".join(name for _, name in names[:NAMED])
    more = f" and {len(names) - NAMED} more" if len(names) > NAMED else ""
    return f"{shown}{more}" if shown else "its members"


def _name(s: Session, value: str, group: bool) -> str:
    user = None if group else s.user_names.get(value)
    return user or s.names_read.get((Kind.GROUP if group else Kind.USER, value), value)


def members(s: Session, path: str, target_id: str | None, *, shown: bool) -> set[Held]:
    """A group's members as the target holds them now: each value, and whether it is a
    nested group (a user may have its id). With `shown`, the group's GET must list them
    (it has members to remove): Failed when it will not; without, a group shown with no
    `members` has none left. An answer for another resource (its id is another's) is
    Failed: its members, "added back", would be access no plan showed."""
    body = s.client.get(path).body
    if isinstance(body, dict) and put_read.another_resource(path, body, target_id):
        raise Failed(
            f"GET {path} answered with the resource {body.get('id')!r}, not {target_id!r}: "
            "the member removal cannot be checked against it; not sent, or not checked"
        )
    if not isinstance(body, dict) or not isinstance(body.get("members"), list):
        asked = s.client.get(path, {"attributes": "members"}).body
        if isinstance(asked, dict) and put_read.another_resource(path, asked, target_id):
            asked = {}
        body = asked if isinstance(asked, dict) else {}
    listed = isinstance(body.get("members"), list)
    if (shown and not listed) or (not listed and body.get("id") is None):
        raise Failed(f"GET {path} does not show the group's members: member removal not sent")
    return member_ops.member_entries(body)
