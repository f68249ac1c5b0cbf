"""Step 5 on apply: performs a plan's changes on the target, and nothing else.

Users first, then groups and their memberships, then deprovisions. One failing object
never stops the others: each ends as an `Outcome`, and the run ends with a summary.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from reconciler.core import attributes as A
from reconciler.core.config import Target
from reconciler.core.diff import AttrChange, equal
from reconciler.core.model import Capabilities, Json, Kind, Resource
from reconciler.core.plan import Action, Change, Plan, phase
from reconciler.errors import ScimHTTPError, ScimrecError
from reconciler.scim import writes
from reconciler.scim.client import Reply, ScimClient
from reconciler.scim.observe import find
from reconciler.scim.progress import Progress
from reconciler.scim.redact import mask_attribute, scrub

ENDPOINT = {Kind.USER: "/Users", Kind.GROUP: "/Groups"}
# Statuses that mean "this PATCH (or this path) is not supported here": fall back to PUT.
PATCH_UNSUPPORTED = frozenset({400, 405, 501})


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


class _Failed(Exception):
    """One object's change could not be made; the message says why, on one line."""


class Applier:
    def __init__(
        self,
        client: ScimClient,
        target: Target,
        caps: Capabilities,
        log: Any,
        progress: Progress | None = None,
    ) -> None:
        self.client = client
        self.progress = progress or Progress()
        self.target = target
        self.caps = caps
        self.log = log
        self.ids: dict[str, str] = {}
        self.group_ids: dict[str, str] = {}  # group key → target id, for nested groups
        # Users written before their manager existed: their references follow in a PATCH.
        self.unlinked: set[str] = set()
        self._lock = threading.Lock()
        # Set by Ctrl-C: no new change starts, the ones in flight finish.
        self.stop = threading.Event()
        # Learned during the run: which member-removal dialect the target accepts.
        quirks = target.quirks
        self.remove_dialect = "value" if quirks.get("member_removal") == "value" else "filter"
        self.use_patch = caps.patch and quirks.get("patch") != "never"
        self.use_etag = caps.etag and quirks.get("etag") != "never"
        self.members_on_create = quirks.get("members_on_create") != "never"
        self.value_paths = quirks.get("value_paths") != "never"
        # After a short read an unseen object may exist: search before each create.
        self.look_before_create = False

    def run(self, plan: Plan) -> ApplyResult:
        self.look_before_create = not plan.complete_read
        self.progress.applying(len(plan.changes))
        for change in plan.changes:
            if change.kind is Kind.USER and change.target_id is not None:
                self.ids[change.key] = change.target_id
        outcomes: list[Outcome] = []
        planned = len(plan.changes)
        user_writes = [c for c in plan.changes if phase(c) == 0]
        # Managers first, in waves, so a report's create already carries its manager's id;
        # only a cycle of managers is left for a follow-up PATCH.
        for wave in _manager_waves(user_writes):
            outcomes += self._parallel(wave, self._user)
        deferred = [c for c in user_writes if c.key in self.unlinked and c.key in self.ids]
        # A follow-up that sets references only matters to the summary when it fails.
        outcomes += [o for o in self._parallel(deferred, self._references) if not o.ok]
        groups = [c for c in plan.changes if phase(c) == 1]
        outcomes += self._parallel(groups, self._group)
        nested = [
            c for c in groups if any(m.type == "Group" for m in (*c.members_add, *c.members_remove))
        ]
        # Like references, nested groups only matter to the summary when they fail.
        outcomes += [o for o in self._parallel(nested, self._nested) if not o.ok]
        outcomes += self._parallel([c for c in plan.changes if phase(c) == 2], self._delete)
        outcomes += self._parallel([c for c in plan.changes if phase(c) == 3], self._deprovision)
        done = sum(1 for o in outcomes if o.action is not Action.NOOP)
        return ApplyResult(
            tuple(outcomes), interrupted=self.stop.is_set(), not_attempted=max(0, planned - done)
        )

    def _parallel(
        self, changes: list[Change], work: Callable[[Change], str | None]
    ) -> list[Outcome]:
        """Run one phase with bounded concurrency; Ctrl-C lets in-flight writes finish."""
        if not changes or self.stop.is_set():
            return []
        pool = ThreadPoolExecutor(max_workers=self.target.concurrency)
        futures = [pool.submit(self._one, c, work) for c in changes]
        try:
            return [f.result() for f in futures]
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
            return [f.result() for f in futures if not f.cancelled()]
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _one(self, change: Change, work: Callable[[Change], str | None]) -> Outcome:
        try:
            target_id = work(change)
        except (ScimrecError, _Failed) as exc:
            message = scrub(" ".join(str(exc).split()))
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

    # -- writes, with their audit log -----------------------------------------------

    def _write(
        self,
        change: Change,
        method: str,
        path: str,
        send: Callable[[], Reply],
        attributes: Iterable[AttrChange] = (),
    ) -> Reply:
        started = time.perf_counter()
        status = 0
        try:
            reply = send()
            status = reply.status
            return reply
        except ScimHTTPError as exc:
            status = exc.status
            raise
        finally:
            self.log.info(
                "write",
                step="action",
                kind=change.kind.value,
                key=change.key,
                method=method,
                path=path,
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
                attributes=[
                    {
                        "path": a.path,
                        "before": mask_attribute(a.path, a.before),
                        "after": mask_attribute(a.path, a.after),
                    }
                    for a in attributes
                ],
            )

    def _etag(self, change: Change) -> str | None:
        return change.version if self.use_etag else None

    # -- users ---------------------------------------------------------------------

    def _user(self, change: Change) -> str | None:
        if change.action is Action.CREATE:
            return self._create_user(change)
        return self._update(change, change.attributes)

    def _refuse_if_exists(self, change: Change) -> None:
        if self.look_before_create:
            found = self._lookup(change)
            if found is not None:
                raise _Failed(
                    f"exists on the target (id {found.id}) but was missing from its listing: "
                    "not created; run plan again"
                )

    def _create_user(self, change: Change) -> str:
        self._refuse_if_exists(change)
        ids = self._ids()
        if any(writes.unresolved(a, ids) for a in change.attributes):
            with self._lock:
                self.unlinked.add(change.key)
        body = writes.user_create_body(change.attributes, ids)
        try:
            reply = self._write(
                change,
                "POST",
                "/Users",
                lambda: self.client.create("/Users", body),
                change.attributes,
            )
        except ScimHTTPError as exc:
            return self._create_failed(change, exc)
        target_id = self._created_id(change, reply)
        with self._lock:
            self.ids[change.key] = target_id
        return target_id

    def _create_failed(self, change: Change, exc: ScimHTTPError) -> str:
        """A create that failed or whose outcome is unknown: look before anything else.

        A lost response (timeout, reset) may hide a create that succeeded, and a 409 means
        the object exists but the import did not see it; either way, resending blindly
        could make a duplicate, so the target is searched first.
        """
        if exc.status not in (0, 409, 502, 504):
            raise exc
        found = self._lookup(change)
        if found is None:
            if exc.status == 409:
                raise _Failed(
                    f"{exc}; the target says the object exists, but no single object with "
                    "its key can be found: check the target for duplicates, then plan again"
                )
            raise _Failed(f"{exc}; the create may not have happened: run apply again")
        # Re-match: the object the match step missed (409) or our own lost create is
        # adopted, and brought to the declared attributes like any matched object.
        self.log.warning(
            "create answered by adopting the existing object",
            step="match",
            kind=change.kind.value,
            key=change.key,
            status=exc.status,
            target_id=found.id,
        )
        ids = self._ids()
        pending = []
        for attr in change.attributes:
            want = attr.after if attr.ref is None else (attr.after or ids.get(attr.ref))
            have = A.read(found.body, attr.path)
            if want is not None and not equal(attr.path, want, have):
                pending.append(AttrChange(attr.path, have, want, attr.ref))
        path = f"{ENDPOINT[change.kind]}/{found.id}"
        if pending:
            self._patch_or_put(change, path, pending, found.version if self.use_etag else None)
        with self._lock:
            self.ids[change.key] = found.id
        return found.id

    def _created_id(self, change: Change, reply: Reply) -> str:
        body = reply.body if isinstance(reply.body, dict) else {}
        if body.get("id"):
            return str(body["id"])
        location = reply.headers.get("location", "")
        if location.rstrip("/"):
            return location.rstrip("/").rsplit("/", 1)[-1]
        found = self._lookup(change)
        if found is None:
            raise _Failed("the target accepted the create but sent neither a body nor a Location")
        return found.id

    def _lookup(self, change: Change) -> Resource | None:
        endpoint = ENDPOINT[change.kind]
        attribute = "userName" if change.kind is Kind.USER else "displayName"
        value = next((a.after for a in change.attributes if a.path == attribute), change.key)
        found = find(
            self.client,
            endpoint,
            attribute,
            str(value),
            self.target.page_size,
            use_filter=self.target.quirks.get("filter") != "never",
        )
        return found[0] if len(found) == 1 else None

    def _references(self, change: Change) -> str | None:
        """Set the references a first write could not carry (a manager created later)."""
        refs = [a for a in change.attributes if a.ref is not None and a.after is None]
        target_id = self.ids[change.key]
        ids = self._ids()
        missing = [a.ref for a in refs if a.ref not in ids]
        if missing:
            raise _Failed(f"manager {missing[0]} was not created, so it cannot be set")
        self._patch_or_put(change, f"/Users/{target_id}", refs, etag=None)
        return target_id

    def _update(self, change: Change, attributes: tuple[AttrChange, ...]) -> str | None:
        if change.target_id is None:
            raise _Failed("no target id to update")
        path = f"{ENDPOINT[change.kind]}/{change.target_id}"
        ready = [a for a in attributes if not writes.unresolved(a, self._ids())]
        if len(ready) < len(attributes):
            with self._lock:
                self.unlinked.add(change.key)
        if ready:
            self._patch_or_put(change, path, ready, self._etag(change))
        return change.target_id

    def _patch_or_put(
        self,
        change: Change,
        path: str,
        attributes: list[AttrChange] | tuple[AttrChange, ...],
        etag: str | None,
    ) -> Reply:
        """PATCH with minimal operations; GET-merge-PUT where PATCH is unsupported (§3.5.1)."""
        ids = self._ids()
        if self.use_patch and self.value_paths:
            narrow = writes.patch_operations(attributes, ids, value_paths=True)
            if narrow != writes.patch_operations(attributes, ids):
                try:
                    return self._write(
                        change, "PATCH", path, _sender(self.client, path, narrow, etag), attributes
                    )
                except ScimHTTPError as exc:
                    if not _patch_unsupported(exc):
                        raise
                    # Value-filter paths are optional in practice: replace whole attributes.
                    self.value_paths = False
        if self.use_patch:
            ops = writes.patch_operations(attributes, ids)
            try:
                return self._write(
                    change, "PATCH", path, _sender(self.client, path, ops, etag), attributes
                )
            except ScimHTTPError as exc:
                if not _patch_unsupported(exc):
                    raise
                self.log.warning(
                    "patch refused, using PUT",
                    step="action",
                    kind=change.kind.value,
                    key=change.key,
                    status=exc.status,
                    detail=exc.detail,
                )
        current = self.client.get(path)
        if not isinstance(current.body, dict):
            raise _Failed(f"GET {path} returned no resource to merge into")
        body = writes.merged_for_put(current.body, attributes, ids)
        # The version PATCH and DELETE use too: meta.version, else the ETag header.
        meta = current.body.get("meta")
        version = (meta.get("version") if isinstance(meta, dict) else None) or current.headers.get(
            "etag"
        )
        version = version if self.use_etag else None
        return self._write(
            change, "PUT", path, lambda: self.client.put(path, body, version), attributes
        )

    # -- groups --------------------------------------------------------------------

    def _group(self, change: Change) -> str | None:
        ids = self._ids()
        users = [m for m in change.members_add if m.type == "User"]
        adds = [m.id or ids.get(m.key or "") for m in users]
        missing = [m.key for m, i in zip(users, adds, strict=True) if i is None]
        add_ids = [i for i in adds if i is not None]
        if change.action is Action.CREATE:
            self._refuse_if_exists(change)
            first = add_ids[: self.target.membership_chunk] if self.members_on_create else []
            body = writes.group_create_body(change.attributes, first)
            try:
                reply = self._write(
                    change,
                    "POST",
                    "/Groups",
                    lambda: self.client.create("/Groups", body),
                    change.attributes,
                )
            except ScimHTTPError as exc:
                # Adopted after a lost response: add every member (adding is idempotent).
                target_id = self._create_failed(change, exc)
                rest = add_ids
            else:
                target_id = self._created_id(change, reply)
                created = reply.body if isinstance(reply.body, dict) else None
                # Some targets ignore members on POST: add what the answer does not show.
                if created is not None:
                    shown = _member_ids(created)
                    rest = [i for i in add_ids if i not in shown]
                else:
                    rest = add_ids[len(first) :]
        else:
            target_id = change.target_id or ""
            if change.attributes:
                self._patch_or_put(
                    change, f"/Groups/{target_id}", change.attributes, self._etag(change)
                )
            rest = add_ids
        path = f"/Groups/{target_id}"
        size = self.target.membership_chunk
        for chunk in writes.chunks(rest, size):
            ops = writes.add_members(chunk)
            self._write(change, "PATCH", path, _sender(self.client, path, ops))
        removes = [m.id for m in change.members_remove if m.id is not None and m.type == "User"]
        for chunk in writes.chunks(removes, size):
            self._remove_members(change, path, chunk)
        with self._lock:
            self.group_ids[change.key] = target_id
        if missing:
            raise _Failed(f"member {missing[0]} has no target id (its create failed)")
        return target_id

    def _nested(self, change: Change) -> str | None:
        """Group members that are groups, once every group of the run exists (native nesting)."""
        target_id = self.group_ids.get(change.key) or change.target_id
        if target_id is None:
            raise _Failed("the group was not created, so its nested groups cannot be set")
        path = f"/Groups/{target_id}"
        adds = [m for m in change.members_add if m.type == "Group"]
        add_ids = [m.id or self.group_ids.get(m.key or "") for m in adds]
        missing = [m.key for m, i in zip(adds, add_ids, strict=True) if i is None]
        if missing:
            raise _Failed(f"nested group {missing[0]} has no target id (its create failed)")
        if add_ids:
            ops = writes.add_members([i for i in add_ids if i], member_type="Group")
            self._write(change, "PATCH", path, _sender(self.client, path, ops))
        removes = [m.id for m in change.members_remove if m.id and m.type == "Group"]
        for chunk in writes.chunks(removes, self.target.membership_chunk):
            self._remove_members(change, path, chunk)
        return target_id

    def _remove_members(self, change: Change, path: str, chunk: list[str]) -> None:
        dialect = self.remove_dialect
        ops = writes.remove_members(chunk, dialect)
        try:
            self._write(change, "PATCH", path, lambda: self.client.patch(path, ops, None))
        except ScimHTTPError as exc:
            forced = self.target.quirks.get("member_removal") in ("filter", "value")
            if exc.status not in PATCH_UNSUPPORTED or dialect == "value" or forced:
                raise
            self.remove_dialect = "value"
            self.log.warning(
                "member removal by filter path refused, using a value list",
                step="action",
                kind="group",
                key=change.key,
                status=exc.status,
            )
            ops = writes.remove_members(chunk, "value")
            self._write(change, "PATCH", path, lambda: self.client.patch(path, ops, None))

    # -- deprovisioning --------------------------------------------------------------

    def _deprovision(self, change: Change) -> str | None:
        if change.action is Action.DISABLE:
            return self._update(change, change.attributes)
        return self._delete(change)

    def _delete(self, change: Change) -> str | None:
        path = f"{ENDPOINT[change.kind]}/{change.target_id}"
        try:
            self._write(
                change, "DELETE", path, lambda: self.client.delete(path, self._etag(change))
            )
        except ScimHTTPError as exc:
            if exc.status != 404:  # already gone is what we wanted
                raise
        return change.target_id

    def _ids(self) -> Mapping[str, str]:
        # Reading a dict while another thread inserts is safe in CPython; inserts hold the
        # lock. No copy: a copy per write would make a large apply quadratic.
        return self.ids


def _member_ids(body: Mapping[str, Json]) -> set[str]:
    members = body.get("members")
    if not isinstance(members, list):
        return set()
    return {str(m.get("value")) for m in members if isinstance(m, dict)}


def _sender(
    client: ScimClient, path: str, ops: list[dict[str, Json]], etag: str | None = None
) -> Callable[[], Reply]:
    return lambda: client.patch(path, ops, etag)


def _patch_unsupported(exc: ScimHTTPError) -> bool:
    """A refusal of the PATCH itself (so PUT may work), not of the values it carries."""
    if exc.status in (405, 501):
        return True
    # RFC 7644 §3.12: invalidValue, mutability and uniqueness are about the data, and a
    # PUT with the same data would fail the same way.
    return exc.status == 400 and exc.scim_type not in ("invalidValue", "mutability", "uniqueness")


def _manager_waves(changes: list[Change]) -> list[list[Change]]:
    """User writes in dependency order: each wave's managers are created by earlier waves.

    A manager cycle cannot be ordered: what is left goes last, and its references are set
    by the follow-up PATCH once every user of the run exists.
    """
    pending = {c.key: c for c in changes}
    created = {c.key for c in changes if c.action is Action.CREATE}
    done: set[str] = set()
    waves: list[list[Change]] = []
    while pending:
        wave = [
            c
            for c in pending.values()
            if all(a.ref is None or a.ref not in created or a.ref in done for a in c.attributes)
        ]
        if not wave:  # a cycle
            wave = list(pending.values())
        waves.append(wave)
        for change in wave:
            del pending[change.key]
            done.add(change.key)
    return waves
