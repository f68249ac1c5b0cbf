"""The group phase of an apply: creates and updates, then memberships in chunks, and the
nested groups of targets that nest natively."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from reconciler.core import attributes as A
from reconciler.core.changes import Action, Change
from reconciler.core.diff import AttrChange, equal
from reconciler.core.model import Kind, Resource
from reconciler.errors import ScimHTTPError
from reconciler.scim import member_ops, writes
from reconciler.scim.apply.creates import Created, adoptable, create, found_before_create
from reconciler.scim.apply.group_races import one_of_a_race
from reconciler.scim.apply.member_writes import (
    add_back,
    add_members,
    adds_then_removals,
    held_besides,
    remove_members,
)
from reconciler.scim.apply.members_kept import not_shown, unsent
from reconciler.scim.apply.members_lost import taken_with
from reconciler.scim.apply.membership_put import put_members
from reconciler.scim.apply.refusals import of_what_was_sent, patch_unsupported
from reconciler.scim.apply.session import Failed, Session
from reconciler.scim.apply.withheld import removals_withheld
from reconciler.scim.writes import resource_path

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
            # Not a 412: the member changes were planned from the read the target calls
            # stale, and the runner's advice (plan again, or quirks: {etag: never}) shows.
            if not of_what_was_sent(exc):
                raise
            refused = exc
    path = resource_path("/Groups", target_id)
    with s.lock:  # it exists, whatever its member writes meet (write_nested reads this)
        s.group_ids[change.key] = target_id
    planned = [m.id for m in change.members_remove if m.id is not None and m.type == "User"]
    # Whoever this run created or adopted is a member by the spec's intent, whatever the
    # listing said; and what the listing hid may be a member it shows (withheld.py).
    removes = [i for i in planned if (Kind.USER, i) not in s.resolved]
    removes, why = removals_withheld(s, Kind.USER, removes)
    withheld = len(planned) - len(removes)
    failed: ScimHTTPError | Failed | None = None
    try:
        _members(s, change, path, rest, removes)
    except (ScimHTTPError, Failed) as exc:
        failed = exc
    # Every reason the group fails is named, none hidden behind another.
    said: list[str] = []
    if refused is not None:
        made = (rest or removes) and failed is None
        said.append(f"{refused}{'; its member changes were made' if made else ''}")
    said += [str(failed)] if failed is not None else []
    said += [f"member {missing[0]} has no target id (its create failed)"] if missing else []
    said += [f"{withheld} member removal(s) withheld: {why}"] if why is not None else []
    if len(said) == 1 and failed is not None:
        raise failed  # as it was raised
    if len(said) == 1 and refused is not None and not (rest or removes):
        raise refused
    if said:
        raise Failed("; then, ".join(said))
    return target_id


def _members(s: Session, change: Change, path: str, adds: list[str], removes: list[str]) -> None:
    """A group's user member adds and removals: by PATCH, or by PUT where PATCH is refused."""
    if not s.use_patch:
        put_members(s, change, path, adds, removes)
        return
    try:
        _patch_members(s, change, path, adds, removes)
    except ScimHTTPError as exc:
        if not patch_unsupported(exc):
            raise
        # PATCH itself refused (RFC 7644 §3.12): PUT, from now on where it has none.
        with s.lock:
            s.use_patch = s.use_patch and exc.status not in (405, 501)
        s.log.warning("patch refused, using PUT", step="action", kind="group",
                      key=change.key, status=exc.status, detail=exc.detail)  # fmt: skip
        put_members(s, change, path, adds, removes)


def _patch_members(
    s: Session, change: Change, path: str, adds: list[str], removes: list[str]
) -> None:
    def add() -> None:
        for chunk in member_ops.chunks(adds, s.chunk()):
            add_members(s, change, path, chunk)

    def remove() -> None:
        for chunk in member_ops.removal_chunks(removes, held_besides(s, change, None), s.chunk()):
            remove_members(s, change, path, chunk)

    def put_adds() -> None:  # the adds' PATCH refused as PATCH, where removals' went
        # With the removals: a read one write behind still shows them, and sent back
        # whole it would undo them; named, they are left out and verified gone.
        put_members(s, change, path, adds, removes)

    adds_then_removals(add, remove, removing=bool(removes), fallback=put_adds)


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
    back = partial(add_back, s, change, path)
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
    # Less those this run's create carried and its answer shows (Bulk: bulk_groups.py).
    created = change.action is Action.CREATE
    shown = s.members_held.get(target_id, frozenset()) if created else frozenset()
    wanted = [i for i in add_ids if i and (i, True) not in shown]
    planned = [m.id for m in change.members_remove if m.id and m.type == "Group"]
    removes, why = removals_withheld(s, Kind.GROUP, planned)  # as for users (write_group)

    def add() -> None:
        for chunk in member_ops.chunks(wanted, s.chunk()):
            add_members(s, change, path, chunk, member_type="Group")

    def remove() -> None:
        held = held_besides(s, change, "Group")
        for chunk in member_ops.removal_chunks(removes, held, s.chunk()):
            remove_members(s, change, path, chunk, member_type="Group")

    said: list[str] = []  # every reason it fails, after the removals it keeps none back
    try:
        adds_then_removals(add, remove, removing=bool(removes))
    except (ScimHTTPError, Failed) as exc:
        if not missing and why is None:
            raise
        said.append(str(exc))
    said += [f"nested group {missing[0]} has no target id (its create failed)"] if missing else []
    withheld = len(planned) - len(removes)
    said += [f"{withheld} nested group removal(s) withheld: {why}"] if why is not None else []
    if said:
        raise Failed("; then, ".join(said))
    return target_id
