"""The group phase of an apply: creates and updates, then memberships in chunks, and the
nested groups of targets that nest natively."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial

from reconciler.core import attributes as A
from reconciler.core.changes import Action, Change
from reconciler.core.diff import AttrChange, equal
from reconciler.core.model import Json, Kind, Resource
from reconciler.errors import ScimHTTPError
from reconciler.scim import member_ops, writes
from reconciler.scim.apply.creates import Created, adoptable, create, found_before_create
from reconciler.scim.apply.group_races import one_of_a_race
from reconciler.scim.apply.members_kept import check_added, not_shown, pause, unsent
from reconciler.scim.apply.members_lost import lost_failure, lost_with, taken_with
from reconciler.scim.apply.members_removed import held_and_read, kept_listed, not_removed
from reconciler.scim.apply.membership_put import put_members
from reconciler.scim.apply.refusals import PATCH_UNSUPPORTED, no_target, patch_unsupported, sender
from reconciler.scim.apply.session import Failed, Session
from reconciler.scim.apply.value_removal import UNSAFE, checked
from reconciler.scim.apply.withheld import removals_withheld
from reconciler.scim.client import Reply
from reconciler.scim.retries import outcome_unknown
from reconciler.scim.writes import resource_path

# A removal took members it did not name (a filter read as "remove all"): none more.
TAKES_OTHERS = "takes-others"
REPLACES = (
    "a target that reads an add as the group's whole member list takes "
    "quirks: {patch: never} (the whole list sent by PUT)"
)
TAKEN_BACK = "they were added back, and no other member is removed in this run"

# How a group is created: its id, and the user members (of `add_ids`) still to add.
Creator = Callable[[Session, Change, list[str]], tuple[str, list[str]]]


def write_group(s: Session, change: Change, creator: Creator | None = None) -> str | None:
    """Create or update a group, then its user members; `creator` is how a create is
    settled (create_group, or a Bulk operation's answer: bulk_groups.py)."""
    ids = s.known_ids()
    users = [m for m in change.members_add if m.type == "User"]
    adds = [m.id or ids.get(m.key or "") for m in users]
    missing = [m.key for m, i in zip(users, adds, strict=True) if i is None]
    add_ids = [i for i in adds if i is not None]
    refused: ScimHTTPError | None = None
    if change.action is Action.CREATE:
        target_id, rest = (creator or create_group)(s, change, add_ids)
    else:
        target_id, rest = change.target_id or "", add_ids
        try:  # a refused value (a rename: 400 mutability, 409) keeps no member change back
            if change.attributes:
                path = resource_path("/Groups", target_id)
                write_attributes(s, change, path, list(change.attributes), s.etag(change))
        except ScimHTTPError as exc:
            if exc.status not in (400, 409):
                raise
            refused = exc
    path = resource_path("/Groups", target_id)
    planned = [m.id for m in change.members_remove if m.id is not None and m.type == "User"]
    # Whoever this run created or adopted is a member by the spec's intent, whatever the
    # listing said; and what the listing hid may be a member it shows (withheld.py).
    removes = [i for i in planned if (Kind.USER, i) not in s.resolved]
    removes, why = removals_withheld(s, Kind.USER, removes)
    withheld = len(planned) - len(removes)
    if s.use_patch:
        try:
            _patch_members(s, change, path, rest, removes)
        except ScimHTTPError as exc:
            if not patch_unsupported(exc):
                raise
            # PATCH itself refused (RFC 7644 §3.12): PUT, from now on where it has none.
            with s.lock:
                s.use_patch = s.use_patch and exc.status not in (405, 501)
            s.log.warning("patch refused, using PUT", step="action", kind="group",
                          key=change.key, status=exc.status, detail=exc.detail)  # fmt: skip
            put_members(s, change, path, rest, removes)
    else:
        put_members(s, change, path, rest, removes)
    with s.lock:
        s.group_ids[change.key] = target_id
    if missing:
        raise Failed(f"member {missing[0]} has no target id (its create failed)")
    if why is not None:
        raise Failed(f"{withheld} member removal(s) withheld: {why}")
    if refused is not None:
        raise Failed(f"{refused}; its member changes were made")
    return target_id


def _patch_members(
    s: Session, change: Change, path: str, adds: list[str], removes: list[str]
) -> None:
    for chunk in member_ops.chunks(adds, s.chunk()):
        add_members(s, change, path, chunk)
    for chunk in member_ops.removal_chunks(removes, _held(s, change, None), s.chunk()):
        remove_members(s, change, path, chunk)


def create_group(s: Session, change: Change, add_ids: list[str]) -> tuple[str, list[str]]:
    """Create a group, unless it exists: looked up right before (another run, or a listing
    that hid it, may have made it) and verified after (two runs at once may both have)."""
    existing = found_before_create(s, change)
    if existing is not None:
        s.saw(Kind.GROUP, existing.id, adopted=change.key)
        return _adopt(s, change, existing), add_ids
    first = add_ids[: s.chunk()] if s.members_on_create else []

    def post() -> Created:
        body = writes.group_create_body(change.attributes, first, s.refs())
        # The members the POST carries are recorded as the add they amount to.
        carried = member_ops.add_members(first, ref=s.refs()) if first else []
        return create(s, change, "/Groups", body, carried)

    try:
        made = s.learning_refs(change, post)
    except ScimHTTPError as exc:
        if exc.status != 400 or not first:
            raise
        # Refused with its members (too many for one write, or one the target will not
        # take): a 400 created nothing, so create it empty and add them in chunks.
        s.log.warning("group create with members refused, creating it empty", step="action",
                      kind="group", key=change.key, detail=exc.detail)  # fmt: skip
        first = []
        made = s.learning_refs(change, post)
    if made.reply is None:
        # Adopted after a lost answer or a 409: add the members it does not show (its POST
        # may have carried them; a target that keeps a repeated add would hold them twice).
        found = unsent(s, resource_path("/Groups", made.target_id), add_ids, False)
        return made.target_id, add_ids if found is None else found[0]
    target_id = made.target_id
    keeper = one_of_a_race(s, change, target_id)
    if keeper != target_id:
        return keeper, add_ids
    created = made.reply.body if isinstance(made.reply.body, dict) else None
    # Some targets ignore members on POST: add what the answer does not show.
    if created is not None:
        shown = member_ops.member_entries(created)
        with s.lock:  # what a later PUT of this group must still show (read_for_put)
            s.members_held[target_id] = frozenset(shown)
        return target_id, not_shown(s, add_ids, shown)
    with s.lock:
        s.members_held[target_id] = frozenset((i, False) for i in first)
    return target_id, add_ids[len(first) :]


def _adopt(s: Session, change: Change, found: Resource) -> str:
    """Bring a group found on the target to the declared attributes instead of creating it."""
    adoptable(s, change, found)
    pending = [
        AttrChange(a.path, A.read(found.body, a.path), a.after)
        for a in change.attributes
        if a.after is not None and not equal(a.path, a.after, A.read(found.body, a.path))
    ]
    if pending:
        etag = found.version if s.use_etag else None
        write_attributes(s, change, resource_path("/Groups", found.id), pending, etag)
    return found.id


def write_attributes(
    s: Session, change: Change, path: str, attributes: list[AttrChange], etag: str | None
) -> None:
    """Every write of a group's attributes, verified as any (Session.verify) and for the
    members it may take with it, which are added back (members_lost.taken_with)."""
    back = partial(_add_back, s, change, path)
    s.patch_or_put(
        change, path, attributes, etag, partial(taken_with, s, change, path, attributes, back)
    )


def write_nested(s: Session, change: Change) -> str | None:
    """Group members that are groups, once every group of the run exists (native nesting)."""
    target_id = s.group_ids.get(change.key) or change.target_id
    if target_id is None:
        raise Failed("the group was not created, so its nested groups cannot be set")
    path = resource_path("/Groups", target_id)
    adds = [m for m in change.members_add if m.type == "Group"]
    add_ids = [m.id or s.group_ids.get(m.key or "") for m in adds]
    missing = [m.key for m, i in zip(adds, add_ids, strict=True) if i is None]
    if missing:
        raise Failed(f"nested group {missing[0]} has no target id (its create failed)")
    # Less those this run's create carried and its answer shows (Bulk: bulk_groups.py).
    created = change.action is Action.CREATE
    shown = s.members_held.get(target_id, frozenset()) if created else frozenset()
    wanted = [i for i in add_ids if i and (i, True) not in shown]
    for chunk in member_ops.chunks(wanted, s.chunk()):
        add_members(s, change, path, chunk, member_type="Group")
    planned = [m.id for m in change.members_remove if m.id and m.type == "Group"]
    removes, why = removals_withheld(s, Kind.GROUP, planned)  # as for users (write_group)
    held = _held(s, change, "Group")
    for chunk in member_ops.removal_chunks(removes, held, s.chunk()):
        remove_members(s, change, path, chunk, member_type="Group")
    if why is not None:
        raise Failed(f"{len(planned) - len(removes)} nested group removal(s) withheld: {why}")
    return target_id


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
        _now_held(s, change, named, added=True)
        if read is None:
            read = check_added(s, change, path, reply, chunk, member_type == "Group")
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
            _now_held(s, change, {m for m in named if m[0] not in rest}, added=True)
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
    s: Session, change: Change, path: str, chunk: list[str], member_type: str | None = None
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
            "with it (they were added back); remove this group's members by hand"
        )
    held = _held(s, change, member_type)
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
        _now_held(s, change, planned, added=False)
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
        if not no_target(exc):
            raise
        _not_held(s, change, path, chunk, member_type, exc)
        return
    if lost := lost_with(s, change, path, reply, planned, reads[-1]):
        with s.lock:
            s.remove_dialect = TAKES_OTHERS
        _add_back(s, change, path, lost)
        raise lost_failure(s, path, reply, lost, TAKEN_BACK)


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
    _now_held(s, change, {(i, nested) for i in chunk if i not in kept}, added=False)
    if kept:
        remove_members(s, change, path, kept, member_type)


def _now_held(s: Session, change: Change, members: set[tuple[str, bool]], *, added: bool) -> None:
    """After a write that added or removed `members`: what the group holds now."""
    key = change.target_id or ""
    with s.lock:
        held = s.members_held.get(key)
        if held is not None:
            s.members_held[key] = held | members if added else held - members


def _held(s: Session, change: Change, member_type: str | None) -> set[tuple[str, bool]]:
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
        lambda gone: _add_back(s, change, path, gone),
    )  # fmt: skip


def _add_back(s: Session, change: Change, path: str, gone: Iterable[tuple[str, bool]]) -> None:
    """Members a removal took unasked, each added back as what it was (a nested group's
    id may be another user's: ids are per kind)."""
    for nested, member_type in ((False, None), (True, "Group")):
        again = sorted(value for value, group in gone if group is nested)
        for part in member_ops.chunks(again, s.chunk()):
            add_members(s, change, path, part, member_type, restoring=True)
