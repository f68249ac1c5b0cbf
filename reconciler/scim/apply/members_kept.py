"""Write verification of members added by PATCH (DESIGN §5).

Some targets answer a member add with success and a group that shows none of them, on
every read too: they keep no membership they show, or keep it where no SCIM read shows it
(`members: []` on GET, in listings and in write answers alike). Every plan would then add
the same members again, and could never see a member the spec removed, who would keep
their access unseen. So the group fails with what to do, never reported as done.
"""

from __future__ import annotations

import random

import stamina

from reconciler.core.changes import Change
from reconciler.core.match import normalise
from reconciler.core.model import Json, Kind
from reconciler.errors import ScimrecError
from reconciler.scim import member_ops
from reconciler.scim.apply.session import Failed, Session
from reconciler.scim.apply.verify import answers_as
from reconciler.scim.client import Reply


class NotKept(Failed):
    """An add answered with success that the group does not show in full; `kept`: the
    members of it the group does show."""

    def __init__(self, kept: list[str], message: str) -> None:
        super().__init__(message)
        self.kept = kept


def check_added(
    s: Session, change: Change, path: str, reply: Reply, added: list[str], nested: bool
) -> Json:
    """Failed when the write's answer and a read of `path` both show the group without
    the members just `added` (ids; of nested groups when `nested`), or when no read shows
    a `members` list at all, even one asking for it: only a shown member list is evidence
    of what the group holds, and a group that never shows one is compared as empty by
    every plan (each adds the members again, none sees one to remove). A write answered
    without the group (204, or another object) is checked by the read alone. Returns that
    read (None where none was made), for members_lost to judge too."""
    answer = reply.body if answers_as(path, reply.body) else None
    others = _others(s, change, added)
    if member_ops.lists_members(answer) and not _missing(s, answer, added, nested, others):
        return None
    try:
        read = s.client.get(path).body
        if not member_ops.lists_members(read):
            read = s.client.get(path, {"attributes": "members"}).body
    except ScimrecError as exc:
        s.log.warning("members not verified", step="action", kind="group",
                      key=change.key, detail=f"GET {path} failed: {exc}")  # fmt: skip
        return None
    if not answers_as(path, read):
        return None  # another object, or none: nothing said of this group
    shown = member_ops.lists_members(read)
    missing = _missing(s, read, added, nested, others) if shown else added
    if not missing:
        return read  # the answer was short; the group holds them
    first = s.user_names.get(missing[0], missing[0]) if not nested else missing[0]
    more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
    # Those it shows are held: a removal later in the group's writes must not take them.
    kept = [uid for uid in added if uid not in missing] if shown else []
    if nested:
        named = (
            m.key
            for m in change.members_add
            if m.type == "Group" and m.key and first in (m.id, s.group_ids.get(m.key))
        )
        said = (
            f"PATCH {path} answered {reply.status}, but neither its answer nor a GET shows "
            f"group {next(named, first)}{more} it added as a member"
        )
        if shown and not any(group for _, group in member_ops.member_entries(read)):
            # No group among the members it shows: a target that keeps users as members
            # and drops every group (django-scim2-server), which flattening serves.
            raise NotKept(
                kept,
                f"{said}: this target keeps no group as a member; set nested_groups: flatten "
                "for it, and the nested groups' users become members instead",
            )
        raise NotKept(kept, f"{said}: the target did not keep it, so each plan adds it again")
    if shown and others:
        # It shows every member it held before (else _missing took the list for one cut
        # short): it shows its members, and took none of these.
        raise NotKept(
            kept,
            f"PATCH {path} answered {reply.status}, but neither its answer nor a GET shows "
            f"member {first}{more} it added, though it shows the others: the target did not "
            "keep them, so each plan adds them again",
        )
    what = "shows" if shown else "shows a member list with"
    raise NotKept(
        kept,
        f"PATCH {path} answered {reply.status}, but neither its answer nor a GET {what} "
        f"member {first}{more} it added: this target does not show the group's members, "
        "so each plan adds them again and cannot see members to remove; manage this "
        "group's members in the application itself",
    )


def _others(s: Session, change: Change, added: list[str]) -> frozenset[tuple[str, bool]]:
    """The members the group holds besides those just added (its plan's read, as this
    run's writes changed it): a member list without them is cut short, not the group."""
    with s.lock:
        held = s.members_held.get(change.target_id or "", frozenset())
    return frozenset(m for m in held if m[0] not in added)


def _missing(
    s: Session,
    body: Json,
    added: list[str],
    nested: bool,
    others: frozenset[tuple[str, bool]] = frozenset(),
) -> list[str]:
    """The `added` ids that `body` does not hold, when it shows a member list at all, and
    one that holds every member of `others`: some targets show a large group's first
    members only, so a list that lacks members the group held before says nothing of the
    new ones."""
    shows = member_ops.shown_by(body, s.user_names)
    if shows is None or not all(shows(uid, group) for uid, group in others):
        return []
    return [uid for uid in added if not shows(uid, nested)]


def unsent(s: Session, path: str, chunk: list[str], nested: bool) -> tuple[list[str], Json] | None:
    """After an add of `chunk` whose outcome is unknown (a 5xx, no answer): the members a
    read of the group does not show (by id, or a user by userName), and that read; None
    where no read shows its members. Sent blindly again, an add the target made would
    hold the member twice on a target that keeps a repeated add (Canaille)."""
    try:
        read = s.client.get(path).body
        if not member_ops.lists_members(read):
            read = s.client.get(path, {"attributes": "members"}).body
    except ScimrecError:
        return None
    shows = member_ops.shown_by(read, s.user_names) if answers_as(path, read) else None
    if shows is None:
        return None
    return [uid for uid in chunk if not shows(uid, nested)], read


def pause(s: Session, resent: int) -> None:
    """The wait before an add of unknown outcome is sent again, as the client waits before
    a retry (retries.RetryPolicy, backing off): a target that answers 500 for a moment
    (django-scim2 on SQLite says "database is locked" while another write holds it) gets
    the time to recover that a retry of any other request gets. Never past the deadline."""
    if not stamina.is_active() or stamina.is_testing():
        return  # the tests' fast_retries: no retry waits either
    policy = s.client.retry
    wait = min(policy.wait_max, policy.wait_initial * 2**resent)
    wait += random.uniform(0, policy.wait_jitter)  # noqa: S311 - spreading threads, not secrecy
    remaining = s.client.deadline.remaining()
    # The client's own way of waiting (its pacer's), where every wait of a request is made.
    s.client.pacer.sleep(wait if remaining is None else max(0.0, min(wait, remaining)))


def not_shown(s: Session, user_ids: list[str], shown: set[tuple[str, bool]]) -> list[str]:
    """The users a create's answer does not show as members: neither by id nor by
    userName, as some targets name members (Canaille) and planning reads them
    (core/members.py; added again, such a member would be held twice). A user's id names
    that user, never another whose userName it is (who would never be added)."""
    users = (v for v, group in shown if not group and not s.owners.holds(Kind.USER, v))
    names = {normalise("userName", value) for value in users}
    named = {i: normalise("userName", n) for i in user_ids if (n := s.user_names.get(i))}
    return [i for i in user_ids if (i, False) not in shown and named.get(i) not in names]
