"""Creates in SCIM Bulk requests (RFC 7644 §3.7): each operation's answer settles its own
object, and whatever Bulk cannot settle goes back to the per-object path (creates.py),
which looks on the target before it creates anything a second time. This module sends the
requests and settles each operation, and finishes user creates; bulk_groups.py finishes
group creates.

Bulk is opt-in: only a target whose quirks say `bulk: use` gets it (the default is `never`:
on the Bulk servers measured, creates took longer through Bulk than one request each), and
then only where the target offers Bulk and a phase has enough creates (`pays`)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from reconciler.core import spelling
from reconciler.core.changes import Change
from reconciler.core.model import Json, Kind
from reconciler.errors import ScimHTTPError, ScimrecError
from reconciler.scim import bulk_requests, writes
from reconciler.scim.apply.answers import answers_for
from reconciler.scim.apply.creates import (
    UNKNOWN,
    adopt_existing,
    look_again,
    own_by_name,
    remember_location,
)
from reconciler.scim.apply.session import Failed, Session
from reconciler.scim.apply.users import create_user
from reconciler.scim.audit import write_record
from reconciler.scim.bulk_requests import Batch, GroupForm, Limits, Result, pack, results
from reconciler.scim.client import Reply
from reconciler.scim.paging import read_all
from reconciler.scim.transfer import RunTimedOut
from reconciler.scim.writes import ENDPOINT

# The Bulk endpoint itself refused (RFC 7644 §3.7: 501 where not supported; a target
# without it answers 404 or 405; 403: not allowed to this client; 400: the request as a
# whole): nothing was done, and no Bulk request is sent again in this run.
REFUSED = frozenset({400, 403, 404, 405, 501})
# An operation "not processed, come back later" (RFC 6585 §4, RFC 9110 §15.6.4): nothing
# was done, so the per-object path may send it.
NOT_PROCESSED = frozenset({429, 503})
# Verify from the listing when reading it costs at most this many resources per create.
LISTING_SHARE = 4


@dataclass(frozen=True)
class Settled:
    """What the Bulk requests settled for one create. `target_id`: created; `error`: the
    target's refusal (a 409 is adopted); `unknown`: maybe done, so looked up first; none of
    them: not done, so sent per object; `no_id`: accepted without saying where."""

    target_id: str | None = None
    resource: dict[str, Json] | None = None
    error: ScimHTTPError | None = None
    unknown: ScimHTTPError | None = None
    no_id: bool = False

    @property
    def not_done(self) -> bool:
        """Known not to have been done (never sent, or not processed): sent per object."""
        return (
            self.target_id is None
            and self.error is None
            and self.unknown is None
            and not self.no_id
        )


def pays(s: Session, creates: Sequence[Change]) -> bool:
    """Bulk where the quirks ask for it and the target offers it (and has not refused it in
    this run), for enough creates, after a complete read (bulk_requests.pays) that no
    look-up in this run has shown to hide an object (Session.unlisted): that read is what
    proves no create of a Bulk request exists already, where one create at a time would
    look on the target first. Never in lookup mode: no listing vouches that the id a Bulk
    result gives is not an existing object's (creates.py reads a single create's back)."""
    usable = s.dialect.bulk and not s.bulk_refused and not s.unlisted
    return bulk_requests.pays(usable, len(creates), complete_read=not s.unvouched)


class BulkCreates:
    """The Bulk requests of one phase's user creates, sent in order, one at a time (each
    may name managers created by the ones before), then each create's outcome (`finish`).
    Group creates subclass it (bulk_groups.py): the hooks below are what differs."""

    kind = Kind.USER

    def __init__(self, s: Session, stop: Callable[[], bool]) -> None:
        self.s = s
        self.stop = stop
        self.settled: dict[str, Settled] = {}
        # The created objects as the listing shows them (verification without a GET each).
        self.read_back: dict[str, Mapping[str, Json]] = {}
        # That listing, where it was read whole: every object of this kind on the target.
        self.listed: tuple[Mapping[str, Json], ...] | None = None
        self.timed_out: RunTimedOut | None = None
        # The user members each group's operation carried (bulk_requests.GroupForm).
        self.carried: dict[str, tuple[str, ...]] = {}

    def send(self, creates: Sequence[Change]) -> None:
        s = self.s
        limits = Limits.advertised(s.caps.bulk_max_operations, s.caps.bulk_max_payload)
        # Protection is checked where every write is sent (Session.write): a create it
        # would refuse stays out of Bulk, for the per-object path to refuse.
        pending = [c for c in creates if self._allowed(c)]
        while pending and not s.bulk_refused and not self.stop():
            batch = pack(pending, s.known_ids(), limits, self._form())
            if batch.too_large is not None:
                pending = pending[1:]  # alone over the payload limit: sent per object
                continue
            self.carried.update(batch.users)
            try:
                # A 503 without a SCIM body may be a gateway's that gave up on a request
                # the service ran: an unknown outcome, looked up (finish) before any resend,
                # as for a single create (retries.retry_on).
                reply = s.client.request("POST", "/Bulk", body=batch.body, resend_503=False)
            except ScimHTTPError as exc:
                if exc.status == 413 and len(batch.changes) > 1:
                    limits = limits.halved(batch)  # the target counts otherwise: smaller requests
                    continue
                if exc.status in REFUSED or exc.status == 413:
                    self._refused(exc)
                    return
                # No answer, a 5xx: any operation of it may have been done.
                self._unknown(batch, exc)
            except RunTimedOut as exc:
                # Out of time: this request's creates fail (finish), like a single create
                # cut short, and none after it is sent.
                unknown = bulk_error(0, str(exc))
                self._unknown(batch, unknown if exc.in_flight else None)
                self.timed_out = exc
                return
            except ScimrecError as exc:  # an answer that is no SCIM: outcome unknown
                self._unknown(batch, bulk_error(0, str(exc)))
            else:
                self._answered(batch, reply)
            pending = pending[len(batch.changes) :]
        s.log.info("bulk sent", step="action", creates=len(self.settled), left=len(pending))
        if not self.stop():  # stopped: nothing more is sent (runner.Applier._bulk)
            self._read_back()

    def _form(self) -> GroupForm | None:
        """What a group's operation carries (None: users)."""
        return None

    def _made(self, change: Change, target_id: str) -> None:
        """Record a create Bulk settled: a user's id names it as a manager from now on."""
        name = next((a.after for a in change.attributes if a.path == "userName"), None)
        with self.s.lock:
            self.s.ids[change.key] = target_id
            if isinstance(name, str):  # some targets name members by it (members_kept.not_shown)
                self.s.user_names[target_id] = name

    def _alone(self, change: Change, settled: Settled, batch: Batch, failed: set[str]) -> bool:
        """Whether a refused operation goes per object: it named, by bulkId, an object this
        request failed to create (a 4xx did nothing; alone, it goes without that one)."""
        return settled.error is not None and bool(batch.depends.get(change.key, set()) & failed)

    def _allowed(self, change: Change) -> bool:
        try:
            self.s.refuse_if_protected(change, "POST", change.attributes)
        except Failed:
            return False
        return True

    def _refused(self, exc: ScimHTTPError) -> None:
        with self.s.lock:
            self.s.bulk_refused = True
        self.s.log.warning(
            "bulk refused, one request per create",
            step="action",
            status=exc.status,
            detail=exc.detail,
            fix="drop bulk: use from the target's quirks",
        )

    def _unknown(self, batch: Batch, exc: ScimHTTPError | None) -> None:
        for change in batch.changes:
            # None: never sent (the run ran out of time first), so left to the per-object path.
            self.settled[change.key] = Settled(unknown=exc) if exc is not None else Settled()
            if exc is not None:
                self._audit(change, exc.status, str(exc), batch)

    def _answered(self, batch: Batch, reply: Reply) -> None:
        s = self.s
        answers = results(reply.body, batch.bulk_ids)
        for change, number in zip(batch.changes, batch.bulk_ids, strict=True):
            got = answers.get(number)
            settled = self.settled[change.key] = self._settle(change, got, reply.status)
            status = got.status if got is not None and got.status is not None else 0
            error = None
            if settled.target_id is None:
                # Not processed (429, 503): nothing was done, and it goes per object.
                why = "no id in the answer"
                why = "not processed: sent per object" if settled.not_done else why
                error = str(settled.error or settled.unknown or why)
            self._audit(change, status, error, batch)
        failed = {c.key for c in batch.changes if self.settled[c.key].target_id is None}
        for change in batch.changes:
            settled = self.settled[change.key]
            if settled.target_id is not None and change.key in batch.unset:
                with s.lock:  # set by the follow-up PATCH, as after a single POST
                    s.unlinked.add(change.key)
            elif self._alone(change, settled, batch, failed):
                self.settled[change.key] = Settled()  # sent per object (finish)

    def _settle(self, change: Change, got: Result | None, status: int) -> Settled:
        s = self.s
        if got is None:
            return Settled(unknown=bulk_error(status, "no answer for it in the Bulk response"))
        if status != 200:
            return Settled(unknown=bulk_error(status, f"the Bulk response came as {status}"))
        if got.status is None:
            return Settled(unknown=bulk_error(status, "no status"))
        if got.status in NOT_PROCESSED:
            return Settled()
        if got.status in UNKNOWN:
            return Settled(unknown=self._error(change, got))
        if got.status >= 300:
            return Settled(error=self._error(change, got))
        if got.target_id is None:
            return Settled(no_id=True)
        try:
            writes.resource_path(ENDPOINT[change.kind], got.target_id)
        except ScimrecError as exc:  # an id no URL can name: this create fails here
            return Settled(error=bulk_error(got.status, str(exc)))
        other = s.owners.claim(change.kind, change.key, got.target_id)
        if other is not None:
            # Another object's id (owners.py): never recorded; looked up by name (finish).
            s.log.warning("bulk result names another object's id", step="action",
                          kind=change.kind.value, key=change.key, target_id=got.target_id,
                          detail=f"{got.target_id} is {change.kind.value} {other}'s")  # fmt: skip
            return Settled(no_id=True)
        if got.resource is not None and not answers_for(change, got.resource):
            # Another resource (a group, a user of another name): looked up by name (finish).
            s.owners.release(change.kind, change.key, got.target_id)
            return Settled(no_id=True)
        s.saw(change.kind, got.target_id)
        self._made(change, got.target_id)
        remember_location(s, change.kind, got.target_id, got.location)
        return Settled(target_id=got.target_id, resource=got.resource)

    @staticmethod
    def _error(change: Change, got: Result) -> ScimHTTPError:
        path = f"{ENDPOINT[change.kind]} (in /Bulk)"
        return ScimHTTPError("POST", path, got.status or 0, got.detail, got.scim_type)

    def _members_sent(self, change: Change, batch: Batch) -> list[dict[str, Json]]:
        """The members an operation added, as a PATCH's operations (a group's: audit.py)."""
        return []

    def _audit(self, change: Change, status: int, error: str | None, batch: Batch) -> None:
        """The audit record of one operation, as a single create's would be."""
        s = self.s
        record = write_record(
            change, "POST", ENDPOINT[change.kind], status, error, change.attributes,
            self._members_sent(change, batch), s.known_ids(), s.caps.write_only,
        )  # fmt: skip
        record["via"] = "/Bulk"
        s.record_write(record)

    def _to_read(self) -> set[str]:
        """The created objects the read-back is for: those whose answer had no resource."""
        return {v.target_id for v in self.settled.values() if v.target_id and not v.resource}

    def _read_back(self) -> None:
        """Where Bulk answers carry no resource, verification reads what was created: from
        the listing where that reads few more resources than were created, else (finish) one
        GET each, as after a single create answered without a body."""
        s = self.s
        wanted = self._to_read()
        if not wanted or s.caps.lookup_reason is not None:
            return
        size, endpoint = s.target.page_size, ENDPOINT[self.kind]
        # As every listing of a target that fails on `count` (connection.py): without it.
        count = not s.caps.count_refused
        try:
            first = s.client.get(endpoint, {"startIndex": 1} | ({"count": 1} if count else {}))
            body = first.body
            total = body.get("totalResults") if isinstance(body, dict) else None
            if not isinstance(total, int) or total > LISTING_SHARE * len(wanted):
                return
            listing = read_all(
                s.client, endpoint, size, max_objects=s.target.max_objects,
                cursor=s.caps.cursor_paging, use_count=count,
            )  # fmt: skip
        except ScimrecError as exc:
            s.log.warning("bulk read-back failed, reading each", step="action", detail=str(exc))
            return
        # Names in another case in a later resource: respelled as a plan's read would be
        # (core/spelling.py), or a member `Value` read as no member is added again.
        self.read_back = {
            r.id: spelling.resource_respelled(r).body for r in listing.resources if r.id in wanted
        }
        if listing.complete and not listing.capped:
            self.listed = tuple(r.body for r in listing.resources)
        s.log.info("bulk read-back", step="action", kind=self.kind.value,
                   pages=math.ceil(total / size) or 1, found=len(self.read_back),
                   created=len(wanted))  # fmt: skip

    def as_settled(self, s: Session, change: Change) -> str | None:
        """After Ctrl-C: each create as the Bulk answers left it, with nothing more sent
        (no verification, no look-up): what is not known created fails, for a rerun."""
        got = self.settled[change.key]
        if got.target_id is not None:
            return got.target_id
        why = got.error or got.unknown or "not created"
        raise Failed(f"{why}; interrupted before it was settled: run apply again")

    def finish(self, s: Session, change: Change) -> str | None:
        """One create's outcome (the runner's work function, run concurrently)."""
        got = self.settled.get(change.key)
        if self.timed_out is not None and (got is None or got.target_id is None):
            raise self.timed_out
        if got is None or got.not_done:
            return create_user(s, change)  # never sent in Bulk, or not done: per object
        if got.target_id is not None:
            body = got.resource or self.read_back.get(got.target_id)
            path = writes.resource_path(ENDPOINT[change.kind], got.target_id)
            s.verify(change, path, change.attributes, Reply(201, body, {}))
            return got.target_id
        if got.no_id:
            found = own_by_name(s, change)
            if found is None:
                raise Failed("the target accepted the create in Bulk but gave no id of its own")
            with s.lock:
                s.ids[change.key] = found
            s.saw(change.kind, found)
            return found
        if got.error is not None:
            if got.error.status == 409:
                return adopt_existing(s, change, got.error)
            raise Failed(str(got.error))
        unknown = got.unknown or bulk_error(0, "no answer")
        adopted = look_again(s, change, unknown)
        # Proven absent: sent per object (which looks again after a lost answer too).
        return adopted if adopted is not None else create_user(s, change)


def bulk_error(status: int, why: str) -> ScimHTTPError:
    """A create's failure, or its unknown outcome, that its Bulk request answers for."""
    return ScimHTTPError("POST", "/Bulk", status, why)
