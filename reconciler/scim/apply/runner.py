"""Runs a plan's phases in order (users, groups and memberships, deprovisions) with bounded
concurrency; one failing object never stops the others, and each ends as an `Outcome`."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import structlog

from reconciler.core.changes import Action, Change, phase
from reconciler.core.config import Target
from reconciler.core.match import NAME_ATTRIBUTE, skeleton
from reconciler.core.model import Capabilities, Kind
from reconciler.core.plan import Plan
from reconciler.core.prune import protected
from reconciler.errors import ScimHTTPError, ScimrecError
from reconciler.scim import bulk_requests
from reconciler.scim.apply.bulk import BulkCreates
from reconciler.scim.apply.bulk import pays as bulk_pays
from reconciler.scim.apply.bulk_groups import BulkGroups
from reconciler.scim.apply.deprovision import delete, deprovision
from reconciler.scim.apply.groups import write_group, write_nested
from reconciler.scim.apply.identity import confirm_plan_ids
from reconciler.scim.apply.protection import refuse_protected_removals
from reconciler.scim.apply.session import Failed, Session
from reconciler.scim.apply.users import manager_waves, set_references, write_user
from reconciler.scim.apply.withheld import bodies_read, why_withheld
from reconciler.scim.audit import AuditLog
from reconciler.scim.client import ScimClient
from reconciler.scim.member_ops import member_entries
from reconciler.scim.progress import Progress
from reconciler.scim.transfer import RunTimedOut


@dataclass(frozen=True)
class Outcome:
    kind: Kind
    key: str
    action: Action
    ok: bool
    message: str = ""
    target_id: str | None = None


@dataclass(frozen=True)
class ApplyResult:
    outcomes: tuple[Outcome, ...]
    interrupted: bool = False
    not_attempted: int = 0
    # The run passed its deadline: the changes not yet started were left alone.
    timed_out: bool = False
    # Attributes the target answered success for but did not keep, by object.
    not_kept: tuple[tuple[Kind, str, tuple[str, ...]], ...] = ()
    # Users disabled that read back with no `active` (verify.unshown_disable), and whether
    # the target showed `active: true` on any user read: what can stop the next plan
    # disabling them again (render.unshown_warning).
    unshown: tuple[str, ...] = ()
    shows_active: bool = False

    @property
    def failed(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if not o.ok)

    def counts(self) -> dict[str, int]:
        counts = {a.value: 0 for a in Action if a is not Action.NOOP}
        for outcome in self.outcomes:
            if outcome.ok:
                counts[outcome.action.value] += 1
        counts["failed"] = len(self.failed)
        return counts


Work = Callable[[Session, Change], str | None]


def guarded(work: Work) -> Work:
    """`work` after the last check of a group's member removals (apply/protection.py)."""

    def run(s: Session, change: Change) -> str | None:
        refuse_protected_removals(s, change)
        return work(s, change)

    return run


class Applier:
    def __init__(
        self,
        client: ScimClient,
        target: Target,
        caps: Capabilities,
        log: Any,
        progress: Progress | None = None,
        audit: AuditLog | None = None,
    ) -> None:
        self.session = Session(client, target, caps, log, audit)
        self.progress = progress or Progress()
        self.log = log
        # Set by Ctrl-C: no new change starts, the ones in flight finish.
        self.stop = threading.Event()
        # Set when the run passes its deadline: likewise, no new change starts.
        self.out_of_time = threading.Event()
        # Creates the Bulk requests settled (or left to finish per object), by kind.
        self.bulk_sent: dict[Kind, set[str]] = {Kind.USER: set(), Kind.GROUP: set()}

    def run(self, plan: Plan) -> ApplyResult:
        if plan.guards:  # the CLI refuses first; this keeps any other caller from forgetting
            raise ScimrecError(f"refusing to apply: {plan.guards[0]}; nothing was written")
        s = self.session
        # Every event from here on, the retry library's included, belongs to step 5.
        structlog.contextvars.bind_contextvars(step="action")
        s.look_before_create = not plan.complete_read
        self.progress.applying(len(plan.changes))
        _start_from(s, plan)
        confirm_plan_ids(s, plan.changes)
        outcomes: list[Outcome] = []
        planned = len(plan.changes)
        user_writes = [c for c in plan.changes if phase(c) == 0]
        creates = bulk_requests.creates_of(user_writes)
        ordered = [c for wave in manager_waves(creates) for c in wave]
        outcomes += self._bulk(ordered, BulkCreates(s, self._stopping))
        # Managers first, in waves, so a report's create already carries its manager's id;
        # only a cycle of managers is left for a follow-up PATCH.
        in_bulk = self.bulk_sent[Kind.USER]
        for wave in manager_waves([c for c in user_writes if c.key not in in_bulk]):
            outcomes += self._parallel(wave, write_user)
        deferred = [c for c in user_writes if c.key in s.unlinked and c.key in s.ids]
        # A follow-up that sets references only matters to the summary when it fails.
        outcomes = _once(outcomes, self._parallel(deferred, set_references))
        groups = [c for c in plan.changes if phase(c) == 1]
        # Creates first: a create's look-up may find a group the listing hid, and from then
        # on no removal is trusted (write_group); an update beside or before it would
        # already have removed its members.
        creates = bulk_requests.nested_first(bulk_requests.creates_of(groups, Kind.GROUP))
        updates = [c for c in groups if c.action is not Action.CREATE]
        outcomes += self._bulk(creates, BulkGroups(s, self._stopping))
        alone = [c for c in creates if c.key not in self.bulk_sent[Kind.GROUP]]
        group = guarded(write_group)
        outcomes += self._parallel(alone, group)
        # Every create has said whether the target holds what nothing shows (withheld.py).
        s.bodies = bodies_read(plan.read) if s.hidden else {}
        outcomes += self._parallel(updates, group)
        nested = [
            c for c in groups if any(m.type == "Group" for m in (*c.members_add, *c.members_remove))
        ]
        # Like references, nested groups only matter to the summary when they fail.
        outcomes = _once(outcomes, self._parallel(nested, guarded(write_nested)))
        # Deprovisions last, and only when nothing in this run casts doubt on them.
        failed = {
            (o.kind, skeleton(o.key)) for o in outcomes if o.action is Action.CREATE and not o.ok
        }
        if s.hidden and not s.bodies:  # as above, should a later write have learned of one
            s.bodies = bodies_read(plan.read)
        for number, work in ((2, delete), (3, deprovision)):
            changes = [c for c in plan.changes if phase(c) == number]
            held, ready = self._withhold(changes, failed)
            outcomes += held + self._parallel(ready, work)
        done = sum(1 for o in outcomes if o.action is not Action.NOOP)
        dropped = tuple((k, key, tuple(p)) for (k, key), p in sorted(s.dropped.items()))
        return ApplyResult(
            tuple(outcomes),
            interrupted=self.stop.is_set(),
            not_attempted=max(0, planned - done),
            timed_out=self.out_of_time.is_set(),
            not_kept=dropped,
            unshown=tuple(sorted(s.unshown)),
            shows_active=any(
                b.get("active") is True for (k, _), b in s.read_bodies.items() if k is Kind.USER
            ),
        )

    def _bulk(self, ordered: list[Change], bulk: BulkCreates) -> list[Outcome]:
        """One kind's creates in Bulk requests where Bulk is usable and pays (bulk.pays),
        in the order given (managers before their reports, nested groups before the groups
        that hold them); then each create's outcome, concurrently (its verification, or the
        per-object path for what Bulk did not settle)."""
        if not bulk_pays(self.session, ordered) or self.stop.is_set():
            return []
        # On a thread of its own, as single writes are (_parallel): Ctrl-C, raised on this
        # one, stops the requests after the one in flight, which is answered and audited
        # instead of cut short with its creates' outcome unknown.
        pool = ThreadPoolExecutor(max_workers=1)
        done = pool.submit(contextvars.copy_context().run, bulk.send, ordered)
        try:
            done.result()
        except KeyboardInterrupt:
            self.stop.set()
            self.log.warning("interrupted", step="action", outcome="stopping",
                             detail="waiting for the Bulk request in flight")  # fmt: skip
            done.result()
        finally:
            pool.shutdown(wait=True)
        sent = [c for c in ordered if c.key in bulk.settled]
        self.bulk_sent[bulk.kind] = {c.key for c in sent}
        if self.stop.is_set():  # each one as the Bulk answers left it, nothing more sent
            return [o for c in sent if (o := self._one(c, bulk.as_settled)) is not None]
        outcomes = self._parallel(sent, bulk.finish)
        if self.out_of_time.is_set():
            # Sent in Bulk, then not finished before the deadline: as the Bulk answers left
            # each one (as after Ctrl-C), never "not attempted", which would say unwritten.
            have = {o.key for o in outcomes}
            late = [c for c in sent if c.key not in have and not bulk.settled[c.key].not_done]
            outcomes += [o for c in late if (o := self._one(c, bulk.as_settled, late=True))]
        return outcomes

    def _stopping(self) -> bool:
        """Whether no new request starts: after Ctrl-C, or past the run's deadline."""
        return self.stop.is_set() or self.out_of_time.is_set()

    def _withhold(
        self, changes: list[Change], failed: set[tuple[Kind, str]]
    ) -> tuple[list[Outcome], list[Change]]:
        """Deprovisions this run has learned not to trust (withheld.py), each an outcome
        that says why and what resolves it; and the rest, to be made."""
        held: list[Outcome] = []
        ready: list[Change] = []
        for change in changes:
            why = why_withheld(self.session, change, failed)
            if why is None:
                ready.append(change)
                continue
            message = f"not {change.action.value}d: {why}"
            self.log.warning(
                "withheld",
                step="action",
                kind=change.kind.value,
                key=change.key,
                action=change.action.value,
                outcome="withheld",
                detail=message,
            )
            self.progress.applied(ok=False)
            held.append(Outcome(change.kind, change.key, change.action, False, message))
        return held, ready

    def _parallel(self, changes: list[Change], work: Work) -> list[Outcome]:
        """Run one phase with bounded concurrency; Ctrl-C lets in-flight writes finish."""
        if not changes or self.stop.is_set() or self.out_of_time.is_set():
            return []
        pool = ThreadPoolExecutor(max_workers=self.session.target.concurrency)
        # Each task runs in a copy of the run's context (run_id, target, step), so whatever it
        # logs, the retry library included, says which run, step and object it belongs to.
        futures = [pool.submit(contextvars.copy_context().run, self._one, c, work) for c in changes]
        try:
            return [o for f in futures if (o := f.result()) is not None]
        except KeyboardInterrupt:
            self.stop.set()
            for future in futures:
                future.cancel()
            self.log.warning(
                "interrupted",
                step="action",
                outcome="stopping",
                detail="waiting for the requests in flight",
            )
            done = (f.result() for f in futures if not f.cancelled())
            return [o for o in done if o is not None]
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _one(self, change: Change, work: Work, *, late: bool = False) -> Outcome | None:
        """One change, or None when the run ran out of time before it started (`late`: it
        started before, in a Bulk request, and `work` sends nothing)."""
        if self.out_of_time.is_set() and not late:
            return None
        structlog.contextvars.bind_contextvars(kind=change.kind.value, key=change.key)
        try:
            target_id = work(self.session, change)
        except RunTimedOut as exc:
            # Started, so it may be half done: a failure; the changes after it never start.
            self.out_of_time.set()
            return self._failed(change, exc)
        except (ScimrecError, Failed) as exc:
            return self._failed(change, exc)
        change = self.session.as_written(change)  # an adopted create is an update
        self.log.info(
            "applied",
            step="action",
            kind=change.kind.value,
            key=change.key,
            action=change.action.value,
            outcome="ok",
            target_id=target_id,
        )
        self.progress.applied(ok=True)
        return Outcome(change.kind, change.key, change.action, True, "", target_id)

    def _failed(self, change: Change, exc: Exception) -> Outcome:
        message = " ".join(str(exc).split())
        if isinstance(exc, ScimHTTPError) and exc.status in CONDITION_HINTS:
            message += CONDITION_HINTS[exc.status]
        self.log.error(
            "failed",
            step="action",
            kind=change.kind.value,
            key=change.key,
            action=change.action.value,
            outcome="failed",
            error=message,
        )
        self.progress.applied(ok=False)
        return Outcome(change.kind, change.key, change.action, False, message, change.target_id)


# What a refused condition (RFC 7232 §4.2, RFC 6585 §3) means for the next run: without
# it, a target that never takes scimrec's If-Match looks like one whose objects keep changing.
CONDITION_HINTS = {
    412: " (the target refused the If-Match version: the object changed since it was read, "
    "so plan again; or the target refuses its own versions, which doctor --write-probe shows "
    "and quirks: {etag: never} works around)",
    428: " (the target requires If-Match: a write sent without a version is sent once more "
    "with the version a read of the object gives, and this one was refused again or the read "
    "showed none)",
}


def _once(outcomes: list[Outcome], later: list[Outcome]) -> list[Outcome]:
    """`outcomes`, with the failures of a follow-up write (references, nested groups) in
    place of their object's own: each object counts once in the summary, failed where any
    of its writes failed (a follow-up that succeeds says nothing new)."""
    failed = {(o.kind, o.key): o for o in later if not o.ok}
    kept = [o for o in outcomes if o.ok is False or (o.kind, o.key) not in failed]
    held = {(o.kind, o.key) for o in kept if not o.ok}
    return kept + [o for key, o in failed.items() if key not in held]


def _start_from(s: Session, plan: Plan) -> None:
    """What the apply knows from the plan's read before it writes: each user's target id
    (for references), which object holds each id read (owners.py), where each object lives
    (for `$ref`s), and the members each group held (a PUT must send every one back)."""
    for change in plan.changes:
        if change.target_id is None:
            continue
        if change.kind is Kind.USER:
            s.ids[change.key] = change.target_id
        s.owners.hold(change.kind, change.key, change.target_id)
    for (kind, key), match in plan.matches.items():
        found = match.resource
        if found is None:
            continue
        s.owners.hold(kind, key, found.id)
        s.read_bodies[(kind, found.id)] = found.body
        if kind is Kind.USER and isinstance(name := found.body.get("userName"), str):
            s.user_names[found.id] = name
        if found.location:
            s.locations[(kind, found.id)] = found.location
        if kind is Kind.GROUP and isinstance(found.body.get("members"), list):
            s.members_held[found.id] = frozenset(member_entries(found.body))
    # Then every other object the plan read, undeclared or not selected, by its name: an
    # answer naming one (an administrator's id in a Bulk `location`) is not the new object.
    read = plan.read
    if read is None:
        return
    for kind, resources in ((Kind.USER, read.users), (Kind.GROUP, read.groups)):
        attribute = NAME_ATTRIBUTE[kind]
        for found in resources:
            name = found.body.get(attribute)
            s.owners.hold(kind, name if isinstance(name, str) and name else found.id, found.id)
            # An id read under several names (core/shape.py `clashing`) keeps a protected
            # one where any is, as planning judged it (spare.spare_protected).
            held = s.names_read.get((kind, found.id))
            if isinstance(name, str) and (held is None or not protected(s.target, held)):
                s.names_read[(kind, found.id)] = name
