"""Members a membership write took away unasked (DESIGN §5): some targets read a PATCH
`add` of `members` as the whole new list (the group keeps only those sent), or a `remove`
of `members[value eq "x"]` as "remove them all". The write is answered with success; the
members the spec keeps lose their access, the run would say done, and each next plan
adds them back, which takes the others away again. A write of a group's attributes is
judged alike (taken_with): some targets empty a group whose externalId is replaced.

After each membership write the group as shown (the write's answer where it is this
group, else a GET) is compared with the members it held besides those the write named.
Judged only where the list shows none of them: a target that shows a large group's first
members only shows some (members_kept.py reads such lists alike)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from reconciler.core import attributes as A
from reconciler.core.changes import Change
from reconciler.core.diff import AttrChange
from reconciler.core.model import Json
from reconciler.errors import ScimrecError
from reconciler.scim import member_ops
from reconciler.scim.apply.session import Failed, Session
from reconciler.scim.apply.verify import answers_as
from reconciler.scim.client import Reply

Held = tuple[str, bool]


def lost_with(
    s: Session, change: Change, path: str, reply: Reply, named: set[Held], read: Json = None
) -> list[Held]:
    """The members the group held besides `named` (those the write added or removed)
    that neither the write's answer nor a read of the group shows, where what is shown is
    a member list holding none of them; [] otherwise. `read`: a GET of the group made
    since the write, judged instead of the answer (and of another GET)."""
    with s.lock:
        others = sorted(s.members_held.get(change.target_id or "", frozenset()) - named)
    if not others:
        return []
    if read is None:
        answer = reply.body if answers_as(path, reply.body) else None
        if answer is not None and not _none_of(s, answer, others):
            return []
        try:
            read = s.client.get(path).body
        except ScimrecError as exc:
            s.log.warning("members not verified", step="action", kind="group",
                          key=change.key, detail=f"GET {path} failed: {exc}")  # fmt: skip
            return []
    if not answers_as(path, read) or not _none_of(s, read, others):
        return []
    # A target that shows a group's newest members only, on a GET and in a write's
    # answer, shows just those added: its listing shows them all (reads_by_id.py).
    return [] if _listed_holds(s, change, others) else others


def _listed_holds(s: Session, change: Change, others: list[Held]) -> bool:
    """Whether the group as a filtered listing shows it holds some of `others`."""
    rid = change.target_id or ""
    try:
        body = s.client.get("/Groups", {"filter": f"id eq {A.quote(rid)}"}).body
    except ScimrecError:
        return False  # no such read: the group's own GET stands
    items = body.get("Resources") if isinstance(body, dict) else None
    found = [i for i in items if isinstance(i, dict) and i.get("id") == rid] if items else []
    shows = member_ops.shown_by(found[0], s.user_names) if len(found) == 1 else None
    return shows is not None and any(shows(value, group) for value, group in others)


def _none_of(s: Session, body: Json, others: list[Held]) -> bool:
    """Whether `body` shows a member list holding none of `others` (read as the add check
    reads lists: member_ops.shown_by)."""
    shows = member_ops.shown_by(body, s.user_names)
    return shows is not None and not any(shows(value, group) for value, group in others)


def lost_failure(s: Session, path: str, reply: Reply, lost: list[Held], how: str) -> Failed:
    """The failure of a write that took `lost` with it; `how` says what was done then."""
    return Failed(
        f"PATCH {path} answered {reply.status}, but the group no longer shows member "
        f"{_named(s, lost)} it held and the write did not name: the target took them away "
        f"with it; {how}"
    )


def _named(s: Session, lost: list[Held]) -> str:
    first = lost[0][0] if lost[0][1] else s.user_names.get(lost[0][0], lost[0][0])
    return first + (f" and {len(lost) - 1} more" if len(lost) > 1 else "")


def taken_with(
    s: Session,
    change: Change,
    path: str,
    sent: Sequence[AttrChange],
    add_back: Callable[[list[Held]], None],
    reply: Reply,
) -> None:
    """After a write of a group's attributes (`sent`: a PATCH, a narrower one, a PUT): the
    members it took with it, added back, and the group failed. A target that empties a
    group whose externalId is replaced (langwatch before #7136) answers 200 with `members:
    []`, and the run would say done. An answer without a member list is no sign either
    way: the group is read. The members the change removes are not added back: that would
    grant access the plan takes away, a write no plan showed."""
    body = reply.body if member_ops.shown_by(reply.body, s.user_names) is not None else None
    removed = {(m.id, m.type == "Group") for m in change.members_remove if m.id}
    lost = lost_with(s, change, path, Reply(reply.status, body, reply.headers), removed)
    if not lost:
        return
    with s.lock:  # gone now: a member write later in the run does not blame itself
        s.members_held[change.target_id or ""] -= frozenset(lost)
    taken = (
        f"writing the group's {', '.join(a.path for a in sent)} answered {reply.status}, but "
        f"the group no longer shows member {_named(s, lost)} it held: that write took them "
        "away, not a member write"
    )
    try:
        add_back(lost)
    except (Failed, ScimrecError) as exc:
        raise Failed(f"{taken}; adding them back failed ({exc}): apply again") from exc
    raise Failed(f"{taken}; they were added back: apply again for any member changes it has")
