"""Group creates in SCIM Bulk requests (RFC 7644 §3.7): sent and settled as user creates are
(bulk.py), each finished here as the per-object group create finishes (groups.py): the same
verification, the same check for a group two runs created at once, then the members its
operation did not carry, added per object in chunks.

Where the per-object create looks for a same-named group right before it POSTs (group names
are not unique on many targets: a second POST makes a second group, no 409), a group goes in
Bulk only after a complete read that showed none, and that no look-up in this run has shown
to hide an object (bulk.pays), and after its own `eq` filter found none: a listing may hide
a group a filter shows, and one found goes per object, which adopts it. The check after the
create (group_races.one_of_a_race) then sees a group another run made since, as it does after a
single create. That check reads the
group listing once, after the Bulk requests, where it is small enough (bulk.LISTING_SHARE),
and searches by name only for a group the listing does not show alone."""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from reconciler.core.changes import Change
from reconciler.core.model import Json, Kind
from reconciler.errors import ScimrecError
from reconciler.scim import member_ops
from reconciler.scim.apply.bulk import BulkCreates, Settled, bulk_error
from reconciler.scim.apply.creates import adopt_existing, look_again, own_by_name
from reconciler.scim.apply.group_races import one_of_a_race
from reconciler.scim.apply.groups import create_group, write_group
from reconciler.scim.apply.members_kept import not_shown
from reconciler.scim.apply.session import Failed, Session
from reconciler.scim.bulk_requests import Batch, GroupForm
from reconciler.scim.client import Reply
from reconciler.scim.search import search
from reconciler.scim.writes import resource_path


class BulkGroups(BulkCreates):
    """The Bulk requests of the group phase's creates, nested groups before the groups that
    hold them; `finish` settles each create, then writes its members as write_group does."""

    kind = Kind.GROUP

    def __init__(self, s: Session, stop: Callable[[], bool]) -> None:
        super().__init__(s, stop)
        # Groups Bulk created, by key: a later request names them by id.
        self.made: dict[str, str] = {}

    def send(self, creates: Sequence[Change]) -> None:
        """The creates no `eq` filter finds a group for, in Bulk; the others are left to the
        per-object create (runner), which looks again and adopts what it finds. The
        look-ups run as concurrently as the per-object creates would."""
        pool = ThreadPoolExecutor(max_workers=self.s.target.concurrency)
        try:
            tasks = [pool.submit(contextvars.copy_context().run, self._found, c) for c in creates]
            found = [t.result() for t in tasks]
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        super().send([c for c, hit in zip(creates, found, strict=True) if not hit])

    def _found(self, change: Change) -> bool:
        """Whether the target's `eq` filter shows a group of this name (the plan's listing
        did not). Its answer alone, one request: a filter refused or ignored proves
        nothing more than the complete read did; a failed look-up is left to the
        per-object create, which looks again."""
        s = self.s
        if self.stop():
            return True  # out of time: the per-object create fails it as such
        if s.target.quirks.get("filter") == "never":
            return False
        try:
            found = search(s.client, "/Groups", "displayName", _display_name(change), 1,
                           listing=False, no_match_404=s.caps.filter_no_match_404)  # fmt: skip
        except ScimrecError:
            return True
        return bool(found.resources)

    def _form(self) -> GroupForm:
        s = self.s
        return GroupForm(self.made, s.chunk(), s.members_on_create, s.refs())

    def _made(self, change: Change, target_id: str) -> None:
        # Not in Session.ids (users' ids only) nor yet in Session.group_ids: a group is
        # there once its members are written (write_group), as after a single create.
        self.made[change.key] = target_id

    def _alone(self, change: Change, settled: Settled, batch: Batch, failed: set[str]) -> bool:
        """Also a 400 for a create that carried members: the per-object create sends it
        again without them (too many for one write, one the target will not take, or a
        `$ref` it wants), as it does after its own POST with members was refused."""
        if super()._alone(change, settled, batch, failed):
            return True
        error = settled.error
        return error is not None and error.status == 400 and _has_members(batch, change)

    def _members_sent(self, change: Change, batch: Batch) -> list[dict[str, Json]]:
        """The members the operation carried, recorded as the add they amount to (as a
        single create's are), a nested group named by bulkId as the id it was given."""
        data = batch.data.get(change.key)
        members = data.get("members") if data is not None else None
        if not isinstance(members, list) or not members:
            return []
        values: list[Json] = []
        for entry in members:
            value = entry.get("value") if isinstance(entry, dict) else None
            if isinstance(value, str) and value.startswith("bulkId:"):
                made = self.made.get(batch.keys.get(value.removeprefix("bulkId:"), ""))
                entry = {**entry, "value": made or value}  # noqa: PLW2901
            values.append(entry)
        return [{"op": "add", "path": "members", "value": values}]

    def _to_read(self) -> set[str]:
        # Every group created, with or without a resource in its answer: the listing is
        # also what shows whether another run created one of them at the same time.
        return {v.target_id for v in self.settled.values() if v.target_id}

    def as_settled(self, s: Session, change: Change) -> str | None:
        """After Ctrl-C: a group created with every member it is to get stands; one whose
        other members were never added fails, for a rerun to add them."""
        target_id = super().as_settled(s, change)
        ids = s.known_ids()
        users = {m.id or ids.get(m.key or "") for m in change.members_add if m.type == "User"}
        nested = any(m.type == "Group" for m in change.members_add)  # added once all exist
        if nested or users - set(self.carried.get(change.key, ())):
            raise Failed(f"created as {target_id}, but interrupted before its members were "
                         "all added: run apply again")  # fmt: skip
        return target_id

    def finish(self, s: Session, change: Change) -> str | None:
        """One group create's outcome, then its members (the runner's work function)."""
        got = self.settled.get(change.key)
        if self.timed_out is not None and (got is None or got.target_id is None):
            raise self.timed_out
        if got is None or got.not_done:
            return write_group(s, change)  # never sent in Bulk, or not done: per object
        return write_group(s, change, lambda s, c, add_ids: self._created(s, c, add_ids, got))

    def _created(
        self, s: Session, change: Change, add_ids: list[str], got: Settled
    ) -> tuple[str, list[str]]:
        """What groups.create_group returns, from the operation's answer: the group's id and
        the user members still to add."""
        if got.target_id is not None:
            body = got.resource or self.read_back.get(got.target_id)
            path = resource_path("/Groups", got.target_id)
            s.verify(change, path, change.attributes, Reply(201, body, {}))
            return self._kept(s, change, got.target_id, body, add_ids)
        if got.no_id:
            found = own_by_name(s, change)
            if found is None:
                raise Failed("the target accepted the create in Bulk but gave no id of its own")
            s.saw(Kind.GROUP, found)
            path = resource_path("/Groups", found)
            s.verify(change, path, change.attributes, Reply(201, None, {}))
            return self._kept(s, change, found, None, add_ids)
        if got.error is not None:
            if got.error.status == 409:
                # Adopted: every member is added (adding is idempotent), as after a single 409.
                return adopt_existing(s, change, got.error), add_ids
            raise Failed(str(got.error))
        adopted = look_again(s, change, got.unknown or bulk_error(0, "no answer"))
        if adopted is not None:
            return adopted, add_ids
        # Proven absent: created per object (which looks on the target first again).
        return create_group(s, change, add_ids)

    def _kept(
        self,
        s: Session,
        change: Change,
        target_id: str,
        body: Mapping[str, Json] | None,
        add_ids: list[str],
    ) -> tuple[str, list[str]]:
        """The group that stays if two runs created it at once, and the members to add: those
        the answer (or the listing) does not show; without either, those not carried."""
        keeper = self._keeper(s, change, target_id)
        if keeper != target_id:
            return keeper, add_ids
        if body is not None:
            shown = member_ops.member_entries(body)
            with s.lock:  # what a later PUT of this group must still show (read_for_put)
                s.members_held[target_id] = frozenset(shown)
            return target_id, not_shown(s, add_ids, shown)
        carried = set(self.carried.get(change.key, ()))
        with s.lock:
            s.members_held[target_id] = frozenset((i, False) for i in carried)
        return target_id, [i for i in add_ids if i not in carried]

    def _keeper(self, s: Session, change: Change, ours: str) -> str:
        """Ours, where the listing read after the Bulk requests shows ours and no other group
        of its name (two runs of one spec create the same name); else as after a single
        create: searched by name, the oldest kept (group_races.one_of_a_race)."""
        if self.listed is not None:
            name = _display_name(change).casefold()
            same = [
                b.get("id")
                for b in self.listed
                if isinstance(b.get("displayName"), str)
                and str(b["displayName"]).casefold() == name
            ]
            if same == [ours]:
                return ours
        return one_of_a_race(s, change, ours)


def _display_name(change: Change) -> str:
    value = next((a.after for a in change.attributes if a.path == "displayName"), change.key)
    return str(value)


def _has_members(batch: Batch, change: Change) -> bool:
    """Whether the operation `batch` sent for `change` carried members."""
    data = batch.data.get(change.key)
    return data is not None and bool(data.get("members"))
