"""A group's member writes by PATCH (RFC 7644 §3.5.2): adds and removals of one chunk of
members each, verified before they are recorded, and what the group holds meanwhile."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from reconciler.core.changes import Change
from reconciler.core.model import Json, Kind
from reconciler.errors import ScimHTTPError
from reconciler.scim import member_ops
from reconciler.scim.apply.members_kept import NotKept, check_added, pause, unsent
from reconciler.scim.apply.members_lost import lost_failure, lost_with
from reconciler.scim.apply.members_removed import held_and_read, kept_listed, not_removed
from reconciler.scim.apply.refusals import (
    PATCH_UNSUPPORTED,
    no_target,
    of_what_was_sent,
    patch_unsupported,
    sender,
)
from reconciler.scim.apply.session import Failed, Session
from reconciler.scim.apply.value_removal import UNSAFE, checked
from reconciler.scim.client import Reply
from reconciler.scim.retries import outcome_unknown

# A removal took members it did not name (a filter read as "remove all"): none more.
TAKES_OTHERS = "takes-others"
REPLACES = (
    "a target that reads an add as the group's whole member list takes "
    "quirks: {patch: never} (the whole list sent by PUT)"
)
TAKEN_BACK = "they were added back, and no other member is removed in this run"
NONE_BACK = "the plan removes them, and no other member is removed in this run"


def add_members(
    s: Session,
    change: Change,
    path: str,
    chunk: list[str],
    member_type: str | None = None,
    *,
    restoring: bool = False,
    resent: int = 0,
) -> None:
    """Add one chunk of members (RFC 7644 §3.5.2.1).

    A 400 for several members may be a limit on how many one write may name (Better Auth
    takes 100 at most), not a bad member: a 400 changed nothing and adding is idempotent,
    so the halves are sent instead, down to single members, and the smaller size is kept
    for the rest of the run. Only a member the target really refuses then fails.

    An add whose outcome is unknown (the client does not resend it: retries.py) is sent
    again after a read of the group, naming only the members it does not show (members_kept
    .unsent), as many times as the client retries a request, after as long a wait.
    """
    named = {(i, member_type == "Group") for i in chunk}

    def added(reply: Reply, read: Json = None) -> None:
        if read is None:
            try:
                read = check_added(s, change, path, reply, chunk, member_type == "Group")
            except NotKept as exc:
                now_held(s, change, {m for m in named if m[0] in exc.kept}, added=True)
                raise
        # Held once shown (or not to be judged): an add not kept, held, would be taken
        # for one a later removal took with it, and added back.
        now_held(s, change, named, added=True)
        # Members added back after a removal took them come in parts (users, then nested
        # groups): the group is whole only after the last.
        if not restoring and (lost := lost_with(s, change, path, reply, named, read)):
            # Added back, they would take the ones just added: the whole list must go.
            raise lost_failure(s, path, reply, lost, REPLACES)

    def send() -> Reply:
        ops = member_ops.add_members(chunk, member_type, s.refs())
        # Verified before it is recorded (verdicts.py): an add not shown is recorded failed.
        return s.write(change, "PATCH", path, sender(s.client, path, ops), ops=ops, check=added)

    try:
        s.learning_refs(change, send)
    except ScimHTTPError as exc:
        if outcome_unknown(exc) and resent < s.client.retry.attempts - 1:
            found = unsent(s, path, chunk, member_type == "Group")
            if found is None:
                raise
            rest, read = found
            if not rest:  # the add was made: the group shows every one
                added(Reply(exc.status, read, {}), read)
                return
            now_held(s, change, {m for m in named if m[0] not in rest}, added=True)
            pause(s, resent)
            add_members(s, change, path, rest, member_type, restoring=restoring, resent=resent + 1)
            return
        if exc.status != 400 or len(chunk) < 2:
            raise
        half = len(chunk) // 2
        with s.lock:
            s.chunk_limit = min(s.chunk_limit or half, half)
        add_members(s, change, path, chunk[:half], member_type, restoring=restoring)
        add_members(s, change, path, chunk[half:], member_type, restoring=restoring)


def remove_members(
    s: Session,
    change: Change,
    path: str,
    chunk: list[str],
    member_type: str | None = None,
    *,
    split: bool = True,
) -> None:
    dialect = s.remove_dialect
    forced = not s.dialect.member_removal_fallback
    if dialect == UNSAFE:
        raise Failed(
            "member removal withheld: this target removed every member of a group when sent "
            "a value list; set quirks: {member_removal: filter} or remove them by hand"
        )
    if dialect == TAKES_OTHERS:
        raise Failed(
            "member removal withheld: a removal earlier in this run took other members "
            "with it (those the plan keeps were added back); remove this group's members by hand"
        )
    held = held_besides(s, change, member_type)
    nested = member_type == "Group"
    planned = {(i, nested) for i in chunk}
    reads: list[Json] = []  # the group's read by the removal's verification

    def verify(reply: Reply) -> None:
        # Judged before the write is recorded (verdicts.py). Kept is never sent again as a
        # value list unasked: a lagging read shows the same, and a target that reads one as
        # "remove all" (RFC 7644 §3.5.2.2, literally) would empty the group.
        kept, read = held_and_read(s, change, path, reply, chunk, nested)
        if kept:
            raise not_removed(s, path, reply, kept, nested, dialect)
        reads.append(read)

    def send() -> Reply:
        ops = member_ops.remove_members(chunk, dialect, s.refs(), member_type)
        sent = ops + member_ops.added_back(chunk, held, s.refs(), member_type)
        # The audit trail records what the write changes: the removal (as a typed value
        # list, whichever form went: `members[value eq]` does not say whose id it names);
        # what it adds back was a member before and is one after.
        removed = member_ops.remove_members(chunk, "value", None, member_type)
        patch = s.client.patch
        reply = s.write(
            change, "PATCH", path, lambda: patch(path, sent, None), ops=removed, check=verify
        )
        # Gone now: a later removal of the other kind (the nested groups) adds none back.
        now_held(s, change, planned, added=False)
        return reply

    try:
        if dialect == "value" and not forced and not s.value_removal_checked:
            reply = _checked(s, change, path, planned, send)
        else:
            try:
                reply = s.learning_refs(change, send)
            except ScimHTTPError as exc:
                refused = exc.status in PATCH_UNSUPPORTED and not no_target(exc)
                if not refused or dialect == "value" or forced:
                    raise
                s.remove_dialect = dialect = "value"
                s.log.warning("member removal by filter path refused, using a value list",
                              step="action", kind="group", key=change.key,
                              status=exc.status)  # fmt: skip
                reply = _checked(s, change, path, planned, send)
    except ScimHTTPError as exc:
        if no_target(exc):
            _not_held(s, change, path, chunk, member_type, exc)
            return
        if not split or len(chunk) < 2 or not one_members(exc):
            raise
        # One member refused refuses the PATCH (RFC 7644 §3.5.2: all or none), as a
        # dangling id may be ("Can not remove a non-existent user"): the others go apart.
        _in_halves(s, change, path, chunk, member_type)
        return
    # Of the members it took, none the plan removes is added back (the nested groups it
    # removes after the users, say): only access the plan keeps is restored.
    removing = {(m.id, m.type == "Group") for m in change.members_remove if m.id}
    if lost := lost_with(s, change, path, reply, planned, reads[-1]):
        # Learned whoever it took: the next removal could take a member the plan keeps.
        with s.lock:
            s.remove_dialect = TAKES_OTHERS
        back = [m for m in lost if m not in removing]
        add_back(s, change, path, back)
        raise lost_failure(s, path, reply, lost, TAKEN_BACK if back else NONE_BACK)


def one_members(exc: ScimHTTPError) -> bool:
    """A refusal one member of a write may cause: a 400 of a value (RFC 7644 §3.12:
    invalidValue, mutability, uniqueness). Not a 403, 409 or 422, which a target answers to
    every write it will not take now (a token without write scope, a group a directory
    sync holds), nor a 5xx: split on those, a write would become twice as many as members."""
    return exc.status == 400 and not patch_unsupported(exc)


# At most this many writes go to one refused removal in parts: one member the target will
# not remove costs two a halving (14 for 100 members), and a few such members are found; a
# target refusing every removal with a value's 400 gets no write per member.
HALVES_BUDGET = 32


def _in_halves(
    s: Session,
    change: Change,
    path: str,
    chunk: list[str],
    member_type: str | None,
    budget: list[int] | None = None,
) -> None:
    """A removal refused for one member, sent again in halves, the second whatever refused
    the first for a value, and each half refused so in halves again, within HALVES_BUDGET
    writes: the members the target will not remove (deleted since the plan) hold none of
    the others back. Any other refusal (credentials, the target failing) sends no more.
    Every failure left is named; the group fails."""
    budget = budget if budget is not None else [HALVES_BUDGET]
    failures: list[str] = []
    for part in (chunk[: len(chunk) // 2], chunk[len(chunk) // 2 :]):
        if budget[0] <= 0:
            failures.append(f"{len(part)} member removal(s) not sent: the target refused them")
            continue
        budget[0] -= 1
        try:
            remove_members(s, change, path, part, member_type, split=False)
        except ScimHTTPError as exc:
            if not one_members(exc):
                failures.append(str(exc))
                budget[0] = 0  # not one member's: the rest would meet it too, at any depth
                continue
            if len(part) < 2:
                failures.append(str(exc))
                continue
            try:
                _in_halves(s, change, path, part, member_type, budget)
            except Failed as again:
                failures.append(str(again))
        except Failed as exc:
            failures.append(str(exc))
    if failures:
        raise Failed("; ".join(dict.fromkeys(failures)))


def _not_held(
    s: Session,
    change: Change,
    path: str,
    chunk: list[str],
    member_type: str | None,
    exc: ScimHTTPError,
) -> None:
    """A removal answered noTarget (RFC 7644 §3.5.2.2: its path matched no member): the
    members are gone already (a retry whose first attempt removed them, another admin),
    as a read that lists the group's members confirms (none listed, or the read failed:
    not verified, failed). The PATCH applied none of its operations (§3.5.2), so those of
    the chunk still listed are sent again; all of them listed: not removed."""
    nested = member_type == "Group"
    kept = kept_listed(s, change, path, exc, chunk, nested)
    if kept and len(kept) == len(chunk):
        first = kept[0] if nested else s.user_names.get(kept[0], kept[0])
        raise Failed(f"{exc}, but the group still shows member {first}: not removed")
    now_held(s, change, {(i, nested) for i in chunk if i not in kept}, added=False)
    if kept:
        remove_members(s, change, path, kept, member_type)


def now_held(s: Session, change: Change, members: set[tuple[str, bool]], *, added: bool) -> None:
    """After a write that added or removed `members`: what the group holds now."""
    key = change.target_id or ""
    with s.lock:
        held = s.members_held.get(key)
        if held is not None:
            s.members_held[key] = held | members if added else held - members


def held_besides(s: Session, change: Change, member_type: str | None) -> set[tuple[str, bool]]:
    """The group's members a removal must not take with it: those it held when planned,
    as this run's writes have changed them (nested groups are removed once every group's
    users are written: those added are held, those removed are not)."""
    held = set(s.members_held.get(change.target_id or "", ()))
    if member_type != "Group":
        return held
    return member_ops.beside_nested(held, lambda uid: s.owners.holds(Kind.USER, uid))


def _checked(
    s: Session, change: Change, path: str, planned: set[tuple[str, bool]], send: Callable[[], Reply]
) -> Reply:
    """A value-list removal the target was never told to take, between two reads of the
    group (value_removal.py)."""
    return checked(
        s, change, path, planned, lambda: s.learning_refs(change, send),
        lambda gone: add_back(s, change, path, gone),
    )  # fmt: skip


def add_back(s: Session, change: Change, path: str, gone: Iterable[tuple[str, bool]]) -> None:
    """Members a removal took unasked, each added back as what it was (a nested group's
    id may be another user's: ids are per kind)."""
    for nested, member_type in ((False, None), (True, "Group")):
        again = sorted(value for value, group in gone if group is nested)
        for part in member_ops.chunks(again, s.chunk()):
            add_members(s, change, path, part, member_type, restoring=True)


def adds_then_removals(
    adds: Callable[[], None],
    removals: Callable[[], None],
    *,
    removing: bool,
    fallback: Callable[[], None] | None = None,
) -> None:
    """A group's member adds, then its removals, whatever refused an add: a member the
    target will not take (a user deleted since the plan: "Can not add a non-existent user
    to group") would keep back the removals, and the access the plan removes would stay.
    The group then fails naming the add's refusal. Where the removals' PATCH is refused as
    well, as a PATCH the target does not take, it is PATCH itself that is (an add's 400
    says no more): that refusal is raised, for the group's PUT to send both."""
    try:
        adds()
    except (ScimHTTPError, Failed) as exc:
        # 404: a member not found, as some targets answer (the group gone: so is a removal).
        # Failed: an add answered with success and not kept (members_kept.check_added).
        if not removing or (
            isinstance(exc, ScimHTTPError) and not (of_what_was_sent(exc) or exc.status == 404)
        ):
            raise
        try:
            removals()
        except ScimHTTPError as again:
            if (
                isinstance(exc, ScimHTTPError)
                and patch_unsupported(exc)
                and patch_unsupported(again)
            ):
                raise exc from None
            raise Failed(f"{exc}; then, removing: {again}") from None
        except Failed as again:
            raise Failed(f"{exc}; then, removing: {again}") from None
        if fallback is not None and isinstance(exc, ScimHTTPError) and patch_unsupported(exc):
            # The adds' PATCH refused as a PATCH may be (a 400 that names no value), the
            # removals' taken: the adds go by PUT, as where PATCH is refused outright.
            try:
                fallback()
            except (ScimHTTPError, Failed) as again:
                raise Failed(f"{exc}; its member removals were made; by PUT: {again}") from None
            return
        raise Failed(f"{exc}; its member removals were made") from None
    removals()
