"""What every phase of an apply shares: the target's learned dialects, the ids of the run,
and the write primitives (audited writes, PATCH or GET-merge-PUT); creates are in creates.py."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import Any, TypeVar

from reconciler.core import inactive
from reconciler.core.changes import Action, Change
from reconciler.core.config import Target
from reconciler.core.diff import AttrChange
from reconciler.core.masking import write_only
from reconciler.core.model import GROUP_SCHEMA, USER_SCHEMA, Capabilities, Json, Kind
from reconciler.core.roles_held import role_paths
from reconciler.core.shape import problem
from reconciler.errors import ScimHTTPError, ScimProtocolError, ScimrecError
from reconciler.scim import member_ops, writes
from reconciler.scim.apply import put_read
from reconciler.scim.apply.member_fields import MemberFields
from reconciler.scim.apply.not_kept import not_kept
from reconciler.scim.apply.own_protection import refused
from reconciler.scim.apply.owners import Owners
from reconciler.scim.apply.refusals import patch_unsupported, put_sender, sender
from reconciler.scim.apply.settle import settle
from reconciler.scim.apply.verdicts import Check, Record, held, holding, judged
from reconciler.scim.apply.verify import access_kept, answers_as, lost
from reconciler.scim.audit import AuditLog, write_record
from reconciler.scim.client import RESENT, Reply, ScimClient
from reconciler.scim.writes import ENDPOINT, resource_path

T = TypeVar("T")


class Failed(Exception):
    """One object's change could not be made; the message says why, on one line."""


class Session:
    """The state of one apply, shared by its phases and their worker threads."""

    def __init__(
        self,
        client: ScimClient,
        target: Target,
        caps: Capabilities,
        log: Any,
        audit: AuditLog | None = None,
    ) -> None:
        self.client = client
        self.audit = audit
        self.target = target
        self.caps = caps
        self.log = log
        self.ids: dict[str, str] = {}  # user key → id; never a group's, named alike or not
        self.owners = Owners()  # no target id is recorded for two objects (owners.py)
        self.group_ids: dict[str, str] = {}  # group key → target id, for nested groups
        # Users written before their manager existed: their references follow in a PATCH.
        self.unlinked: set[str] = set()
        self.lock = threading.Lock()
        # Where every write starts, as `plan --explain` shows it (writes.py); then learned.
        self.dialect = writes.Dialect.initial(target, caps)
        self.remove_dialect = self.dialect.member_removal
        # Whether a learned value-list removal has been seen to remove only what it names.
        self.value_removal_checked = False
        self.use_patch = self.dialect.patch
        self.use_etag = self.dialect.etag
        self.members_on_create = self.dialect.members_on_create
        self.value_paths = self.dialect.value_paths
        # After a short read an unseen object may exist: search before each create.
        self.look_before_create = False
        # Objects created or adopted in this run, by kind and id: never removed from a group
        # in the same run. By kind, as the target's ids are (django-scim2 counts each from
        # 1): a group created as "3" must not withhold the removal of user "3".
        self.resolved: set[tuple[Kind, str]] = set()
        # Kinds whose userName / displayName `eq` filter has found what it was asked for in
        # this run: its empty answers are then believed (scim/search.py).
        self.filter_proven: set[Kind] = set()
        # Objects a lookup found that the listing did not show: the listing hid them.
        self.unlisted: list[str] = []
        self.hidden: list[Change] = []  # of them, creates answered 409 that nothing shows
        self.adopted: set[tuple[Kind, str]] = set()  # creates that found another's (saw)
        # Once one is: every object the plan read, by kind and id (withheld.py compares).
        self.bodies: Mapping[tuple[Kind, str], Mapping[str, Json]] = {}
        # Where each object is (meta.location), for members' `$ref`s.
        self.locations: dict[tuple[Kind, str], str] = {}
        # Learned: how many members one write may name, where fewer than membership_chunk.
        self.chunk_limit: int | None = None
        # What writes did not keep, by object (write verification): reported, not retried.
        self.dropped: dict[tuple[Kind, str], list[str]] = {}
        # Users disabled that read back with no `active` at all (verify.unshown_disable).
        self.unshown: list[str] = []
        # User attributes a PATCH answered success for and did not apply, nor a PUT: no
        # PUT is tried for them again in this run.
        self.put_lost: set[str] = set()
        # The members each matched group (by id) held in the read the plan came from: a
        # group's PUT must send back every one, or it removes members no plan showed.
        self.members_held: dict[str, frozenset[tuple[str, bool]]] = {}
        # Each matched object's body in that read: its PUT must send back what it held.
        self.read_bodies: dict[tuple[Kind, str], Mapping[str, Json]] = {}
        # Each user's userName by id, read or created: some targets name members so.
        self.user_names: dict[str, str] = {}
        # Every object's name in the plan's read, by kind and id, declared or not: what a
        # group's member entry stands for, where protection looks at members.
        self.names_read: dict[tuple[Kind, str], str] = {}
        # Why no write of a change may be sent, by its kind and key (identity.py).
        self.not_written: dict[tuple[Kind, str], str] = {}
        # The fields member entries carry beside their value, learned (member_fields.py).
        self.member_fields = MemberFields(
            log, self.dialect.member_ref is not None, self._ref_of, self._name_of
        )
        # The target refused a Bulk request as a whole (apply/bulk.py): none is sent again.
        self.bulk_refused = False

    @property
    def unvouched(self) -> bool:
        """Whether the plan's read left ids no complete listing vouched for (lookup mode, a
        short listing): each is then read by its id before it is written (identity.py)."""
        return self.look_before_create or self.caps.lookup_reason is not None

    def saw(self, kind: Kind, target_id: str, *, adopted: str | None = None) -> None:
        """An object this run created, or one its create of the key `adopted` found (made
        by another, unlisted): its writes and outcome are then an update (as_written)."""
        with self.lock:
            self.resolved.add((kind, target_id))
            if adopted is not None:
                self.unlisted.append(f"{kind.value} {adopted}")
                self.adopted.add((kind, adopted))

    def as_written(self, change: Change) -> Change:
        if change.action is Action.CREATE and (change.kind, change.key) in self.adopted:
            return dataclasses.replace(change, action=Action.UPDATE)
        return change

    def unseen(self, change: Change) -> None:
        """A create answered 409 whose object no lookup finds alone: `unlisted` holds it
        as if found (no member removal trusts the listing), and `hidden` the create, so
        that only deprovisions of accounts that may be it are withheld (withheld.py)."""
        with self.lock:
            self.unlisted.append(f"{change.kind.value} {change.key}")
            self.hidden.append(change)

    def chunk(self) -> int:
        """Members per write: the target's membership_chunk, or less where it took less."""
        limit, most = self.chunk_limit, self.target.membership_chunk
        return most if limit is None else min(limit, most)

    def refs(self) -> member_ops.Refs:
        """What each member entry carries beyond its value (member_fields.py), or None."""
        return self.member_fields.refs()

    def learning_refs(self, change: Change, send: Callable[[], T]) -> T:
        """Send a write that names members, again with the fields a refusal asks for."""
        return self.member_fields.learning(change, send)

    def _ref_of(self, kind: Kind, member_id: str) -> str:
        found = self.locations.get((kind, member_id))
        return found or f"{self.client.base_url}{resource_path(ENDPOINT[kind], member_id)}"

    def _name_of(self, kind: Kind, member_id: str) -> str | None:
        if kind is Kind.USER:
            return self.user_names.get(member_id) or self.names_read.get((kind, member_id))
        made = (key for key, gid in self.group_ids.items() if gid == member_id)
        return self.names_read.get((kind, member_id)) or next(made, None)

    def known_ids(self) -> Mapping[str, str]:
        # Reading a dict while another thread inserts is safe in CPython; inserts hold the
        # lock. No copy: a copy per write would make a large apply quadratic.
        return self.ids

    def etag(self, change: Change) -> str | None:
        return change.version if self.use_etag else None

    # -- write verification ------------------------------------------------------------

    def verify(
        self, change: Change, path: str, sent: Iterable[AttrChange], reply: Reply, *,
        patched: bool = False, members: Check = None,
    ) -> None:  # fmt: skip
        """Compare what a write's answer holds (or, without a resource in it, a read of
        `path`) with the attributes it sent; after a PATCH (`patched`), send once what it
        did not keep in another form (settle.py); record and log what is still not kept.
        A group's `members` check (groups.py) comes first: a write that took them fails."""
        if members is not None:
            members(reply)
        # A write-only attribute cannot be read back (RFC 7643 §7, returned: never): never
        # compared, nor sent again for not being held.
        sent = [a for a in sent if not write_only(a.path, self.caps.write_only)]
        held = self.held_after(change, path, reply, sent) if sent else None
        if held is None:
            return
        if patched and lost(sent, held, self.known_ids()):
            held = settle(self, change, path, sent, reply, held)
        dropped = lost(sent, held, self.known_ids())
        if not dropped:
            return
        kept = access_kept(sent, held, dropped, role_paths(self.target))
        if kept is not None:
            raise Failed(kept)
        not_kept(self, change, sent, held, dropped)

    def held_after(
        self, change: Change, path: str, reply: Reply, sent: Sequence[AttrChange]
    ) -> Mapping[str, Json] | None:
        """The resource a write's answer holds (where it is the object written), else as
        read; None when the read fails. An update's answer that does not hold all of `sent`
        is confirmed by a read, which is judged instead: some targets answer a PATCH with the
        resource as it was before it (the answer itself judged where the read fails). A
        create's (201, RFC 7644 §3.3) shows the resource as made: it has no before."""
        held = self._as_read(change, reply.body) if answers_as(path, reply.body) else None
        if held is not None and (reply.status == 201 or not lost(sent, held, self.known_ids())):
            return held
        try:
            read = self.client.get(path).body
            # A read that is another resource says nothing of this one (as an answer).
            other = isinstance(read, dict) and not answers_as(path, read)
            why = "answered another resource" if other else None
        except ScimrecError as exc:
            read, why = None, f"failed: {exc}"
        if why is not None:
            self.log.warning("write not verified", step="action", kind=change.kind.value,
                             key=change.key, detail=f"GET {path} {why}")  # fmt: skip
            return held
        return self._as_read(change, read) if held is None or isinstance(read, dict) else held

    def _as_read(self, change: Change, body: Json) -> Mapping[str, Json]:
        """As a plan reads it: a target that leaves `active` out of a disabled user
        (quirks: {inactive: absent}) shows a disable done so (core/inactive.py)."""
        if not isinstance(body, dict):
            return {}
        return inactive.as_meant(self.target, body) if change.kind is Kind.USER else body

    # -- writes, with their audit log -----------------------------------------------

    def write(
        self,
        change: Change,
        method: str,
        path: str,
        send: Callable[[], Reply],
        attributes: Iterable[AttrChange] = (),
        ops: Sequence[Mapping[str, Json]] = (),
        check: Check = None,
    ) -> Reply:
        """Send one write, verified by `check` (verdicts.py), and record exactly what it
        changed (the audit trail): its attributes, and the members its PATCH `ops` add and
        remove; and before that record, one (`outcome: resent`) for each attempt that failed
        and was sent again."""
        attributes = tuple(attributes)
        change = self.as_written(change)
        if why := self.not_written.get((change.kind, change.key)):
            raise Failed(f"not written: {why}")
        self.refuse_if_protected(change, method, attributes)
        started = time.perf_counter()
        status = 0
        error: str | None = None
        resent: list[ScimHTTPError] = []  # attempts the client sent again (client.RESENT)
        later: list[Record] = []  # the writes `check` sent
        token = RESENT.set(resent)
        try:
            reply = send()
            status = reply.status
            with holding() as later:  # what `check` raises: not made, as apply counts it
                if check is not None:
                    check(reply)
            return reply
        except BaseException as exc:
            error = str(exc) or type(exc).__name__
            # The write's own answer (ScimProtocolError: one came, unread), not its check's.
            if not status and isinstance(exc, ScimHTTPError | ScimProtocolError):
                status = exc.status
            raise
        finally:
            RESENT.reset(token)
            ids = self.known_ids()
            for attempt in resent:  # each before the answer the write went by
                record = write_record(change, method, path, attempt.status, str(attempt),
                                      attributes, ops, ids, self.caps.write_only)  # fmt: skip
                self.record_write(record | {"outcome": "resent"})
            record = write_record(
                change, method, path, status, error, attributes, ops, ids, self.caps.write_only
            )
            self.record_write(record, round((time.perf_counter() - started) * 1000, 1))
            for held_record, ms in judged(later, error):
                self.record_write(held_record, ms)

    def record_write(self, record: dict[str, Any], duration_ms: float | None = None) -> None:
        """Log one write and add it to the audit trail: a request of its own (`write`), or
        an operation of a Bulk request (apply/bulk.py), which has no duration of its own."""
        if held(record, duration_ms):  # sent while another write is verified: after it
            return
        timed = {} if duration_ms is None else {"duration_ms": duration_ms}
        self.log.info("write", step="action", **timed, **record)
        if self.audit is not None:
            self.audit.append({**record, **timed})

    def refuse_if_protected(
        self, change: Change, method: str, attributes: tuple[AttrChange, ...]
    ) -> None:
        """Failed where the write takes from a protected object (own_protection.py)."""
        held = self.names_read.get((change.kind, change.target_id or ""))
        if why := refused(self.target, held, change, method, attributes):
            raise Failed(why)

    def patch_or_put(
        self,
        change: Change,
        path: str,
        attributes: list[AttrChange] | tuple[AttrChange, ...],
        etag: str | None,
        members: Check = None,
    ) -> Reply:
        """PATCH with minimal operations; GET-merge-PUT where PATCH is unsupported (§3.5.1);
        then verify that the target kept what it was sent (and a group's `members`)."""
        ids = self.known_ids()
        verify = partial(self.verify, change, path, attributes, members=members)
        patched = partial(verify, patched=True)
        if self.use_patch and self.value_paths:
            narrow = writes.update_operations(attributes, ids, self.dialect)
            if narrow != writes.patch_operations(attributes, ids):
                try:
                    send = sender(self.client, path, narrow, etag)
                    return self.write(change, "PATCH", path, send, attributes, narrow, patched)
                except ScimHTTPError as exc:
                    if not patch_unsupported(exc):
                        raise
                    # Value-filter paths are optional in practice: replace whole attributes.
                    self.value_paths = False
        if self.use_patch:
            ops = writes.patch_operations(attributes, ids)
            try:
                send = sender(self.client, path, ops, etag)
                return self.write(change, "PATCH", path, send, attributes, ops, patched)
            except ScimHTTPError as exc:
                if not patch_unsupported(exc):
                    raise
                self.log.warning("patch refused, using PUT", step="action", kind=change.kind.value,
                                 key=change.key, status=exc.status, detail=exc.detail)  # fmt: skip
        return self.put(change, path, attributes, verify)

    def put(
        self, change: Change, path: str, attributes: Sequence[AttrChange], check: Check = None
    ) -> Reply:
        """GET-merge-PUT, verified by `check` (none for a second try: settle.py)."""
        ids = self.known_ids()
        read, version = self.read_for_put(change, path)

        def put() -> Reply:
            core = GROUP_SCHEMA if change.kind is Kind.GROUP else USER_SCHEMA
            body = writes.merged_for_put(
                read, attributes, ids, self.refs(), core, self.caps.write_only
            )
            send = put_sender(self.client, path, body, version, self.use_etag)
            return self.write(change, "PUT", path, send, attributes, check=check)

        # A group's PUT sends its members back: on a target that wants `$ref`s, with them.
        return self.learning_refs(change, put) if change.kind is Kind.GROUP else put()

    def read_for_put(self, change: Change, path: str) -> tuple[dict[str, Json], str | None]:
        """What a GET-merge-PUT starts from: the resource as the target holds it (a group
        with all its members) and the version it was read at (refusals.put_sender decides
        when to send it); Failed when sending it back whole could write what the plan
        never showed."""
        current = self.client.get(path)
        body = current.body
        if not isinstance(body, dict):
            raise Failed(f"GET {path} returned no resource to merge into")
        if current.masked:
            raise Failed(
                f"GET {path} holds a secret of this run, shown masked: a PUT would write the "
                "mask back over it; not written"
            )
        if (other := put_read.another_resource(path, body, change.target_id)) is not None:
            raise Failed(other)
        if change.kind is Kind.USER:  # read as the plan read it, and sent back so
            body = dict(inactive.as_meant(self.target, body))
        held = self.read_bodies.get((change.kind, change.target_id or ""))
        managed = (a.path for a in change.attributes)
        read, lacking = put_read.with_attributes(self.client, path, body, held, managed)
        if lacking is None and change.kind is Kind.GROUP:
            found = self.members_held.get(change.target_id or "")
            read, lacking = put_read.with_members(self.client, path, read, found)
        if lacking is not None:
            raise Failed(lacking)
        # What is sent back whole is judged as the plan judged what it read: a body it
        # could not read (an extension that is no object) is neither merged nor written.
        why = problem(change.kind, read)
        if why is not None:
            raise Failed(f"GET {path} returned a resource that cannot be read ({why})")
        # The version PATCH and DELETE use too: meta.version, else the ETag header.
        meta = read.get("meta")
        version = meta.get("version") if isinstance(meta, dict) else None
        version = version or current.headers.get("etag")
        return read, (version if isinstance(version, str) else None)
