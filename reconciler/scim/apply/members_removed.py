"""Write verification of members removed by PATCH (DESIGN §5): a target that answers a
removal it does not understand (`members[value eq "x"]`, a filter path it does not
parse) with success keeps the member, and their access, while the run would say removed.
The group is read after each removal; groups.remove_members fails the group naming the
member it still shows."""

from __future__ import annotations

import time

from reconciler.core.changes import Change
from reconciler.core.match import normalise
from reconciler.core.model import Json
from reconciler.errors import ScimrecError
from reconciler.scim import member_ops
from reconciler.scim.apply.session import Failed, Session
from reconciler.scim.apply.value_removal import members
from reconciler.scim.apply.verify import answers_as
from reconciler.scim.client import Reply

# Seconds before a group that still shows a removed member is read again.
AGAIN_AFTER = 0.5


def still_held(
    s: Session, change: Change, path: str, reply: Reply, removed: list[str], nested: bool
) -> list[str]:
    """The `removed` ids (of nested groups when `nested`) the group still shows after a
    write that removed them: in the write's answer (where it is this group), and then in
    a read of `path` (an answer may show the group as it was). A target that answers a
    removal it does not understand (`members[value eq "x"]`, a filter path it does not
    parse) with 200 keeps the member, and their access, while the run says removed. A
    group shown without a `members` list is not judged: it shows nothing either way."""
    return held_and_read(s, change, path, reply, removed, nested)[0]


def held_and_read(
    s: Session, change: Change, path: str, reply: Reply, removed: list[str], nested: bool
) -> tuple[list[str], Json]:
    """`still_held`, with the group's last read (None where the answer was believed or
    the read failed), for members_lost to judge instead of reading the group again."""
    answer = reply.body if answers_as(path, reply.body) else None
    shown = answer is not None and isinstance(answer.get("members"), list)
    if shown and not _shown(s, answer, removed, nested):
        return [], None
    for wait in (0.0, AGAIN_AFTER):
        time.sleep(wait)  # a read may lag the write: still shown is read once more, later
        try:
            read = s.client.get(path).body
        except ScimrecError as exc:
            s.log.warning("member removal not verified", step="action", kind="group",
                          key=change.key, detail=f"GET {path} failed: {exc}")  # fmt: skip
            return [], None
        kept = _shown(s, read, removed, nested)
        if not kept:
            return [], read
    return kept, read


def kept_listed(
    s: Session, change: Change, path: str, exc: ScimrecError, removed: list[str], nested: bool
) -> list[str]:
    """The `removed` ids a group still holds after a removal refused as naming no member
    (`exc`, noTarget), from a read that lists the group's members (value_removal.members:
    plain, then `attributes=members`). A read that shows no member list proves nothing gone
    (a target that shows members only when asked), so one that lists none, or fails, fails
    the removal: noTarget alone is no proof the member is gone."""
    for wait in (0.0, AGAIN_AFTER):
        time.sleep(wait)  # a read may lag a removal made earlier: read once more, later
        try:
            held = members(s, path, change.target_id, shown=True)
        except (ScimrecError, Failed) as why:
            raise Failed(
                f"{exc}, and the group's members could not be read to confirm the member is "
                f"gone ({why}): not removed, or not verified"
            ) from why
        kept = _held(s, held, removed, nested)
        if not kept:
            return []
    return kept


def _shown(s: Session, body: Json, ids: list[str], nested: bool) -> list[str]:
    """The `ids` that `body`'s member list holds, as members of their kind (a user's by
    its id or userName, as members_kept `_missing` reads them)."""
    if not isinstance(body, dict) or not isinstance(body.get("members"), list):
        return []
    return _held(s, member_ops.member_entries(body), ids, nested)


def _held(s: Session, held: set[tuple[str, bool]], ids: list[str], nested: bool) -> list[str]:
    """The `ids` among members `held`, as members of their kind (a user's by its id or
    userName)."""
    names = {normalise("userName", v) for v, group in held if not group}

    def holds(uid: str) -> bool:
        name = None if nested else s.user_names.get(uid)
        return (uid, nested) in held or (name is not None and normalise("userName", name) in names)

    return [uid for uid in ids if holds(uid)]


def not_removed(
    s: Session, path: str, reply: Reply, kept: list[str], nested: bool, dialect: str
) -> Failed:
    """The failure of a removal the target answered success for and did not make."""
    first = kept[0] if nested else s.user_names.get(kept[0], kept[0])
    more = f" and {len(kept) - 1} more" if len(kept) > 1 else ""
    # A target that does not parse the filter path may take a value list; one that reads
    # a value list as "remove all" must not be sent one unasked (groups.remove_members).
    other = (
        " (one that does not parse `members[value eq ...]` may take quirks: "
        "{member_removal: value})"
        if dialect != "value"
        else ""
    )
    return Failed(
        f"PATCH {path} answered {reply.status}, but the group still shows member {first}{more} "
        f"it removed: not removed, so that access stays; remove it in the application itself{other}"
    )
