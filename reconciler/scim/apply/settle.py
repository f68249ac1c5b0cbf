"""What apply does after a PATCH the target answered with success but did not keep: each
form below is sent once, never in a loop, and what is still not kept is then reported
(Session.verify) with its fix.

- A narrower RFC 7644 PATCH, where one is known (verify.repairs): scimgateway merges a
  `replace emails [...]` into the elements it holds by type, so a typed element the
  declared list no longer has is removed by `emails[type eq "T"]`; and it reads a
  manager's `{"value": id}` as a list of its own, so a manager is set through
  `...:manager.value`. Narrow first: a PATCH names only what changes.
- For a user, what the PATCH's answer, and the read that confirms it (Session.held_after),
  still show as it was before, by GET-merge-PUT: some targets answer success to a path
  they cannot parse and apply none of it (Jackson splits an extension's URN at the dot of
  "2.0"). Never for a group, whose PUT carries its members; and not again in the run for
  an attribute a PUT did not keep either.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

from reconciler.core.changes import Change
from reconciler.core.diff import AttrChange
from reconciler.core.model import Json, Kind
from reconciler.errors import ScimHTTPError
from reconciler.scim.apply.refusals import sender
from reconciler.scim.apply.verify import lost, repairs, unchanged
from reconciler.scim.client import Reply, ScimClient

Held = Mapping[str, Json]


class Session(Protocol):
    """What settling needs of apply's session (session.py, which calls it)."""

    client: ScimClient
    log: Any
    lock: threading.Lock
    use_etag: bool
    put_lost: set[str]

    def known_ids(self) -> Mapping[str, str]: ...

    def held_after(
        self, change: Change, path: str, reply: Reply, sent: Sequence[AttrChange]
    ) -> Held | None: ...

    def put(self, change: Change, path: str, attributes: Sequence[AttrChange]) -> Reply: ...

    def write(
        self,
        change: Change,
        method: str,
        path: str,
        send: Callable[[], Reply],
        attributes: Iterable[AttrChange] = (),
        ops: Sequence[Mapping[str, Json]] = (),
    ) -> Reply: ...


def settle(
    s: Session, change: Change, path: str, sent: Sequence[AttrChange], reply: Reply, held: Held
) -> Held:
    """The resource as the target holds it after the second tries: `held`, what it held
    after the PATCH, when none was needed or none was kept."""
    ids = s.known_ids()
    dropped = lost(sent, held, ids)
    again = [a for a in sent if a.path in dropped]
    ops = repairs(again, held, ids)
    if ops:
        meta = held.get("meta")
        etag = meta.get("version") if isinstance(meta, dict) and s.use_etag else None
        try:
            reply = s.write(change, "PATCH", path, sender(s.client, path, ops, etag), again, ops)
        except ScimHTTPError:
            pass  # refused: the first write stands, and the warning says what it did not keep
        else:
            held = s.held_after(change, path, reply, again) or held
    if change.kind is not Kind.USER or not _answered(reply):
        return held
    ignored = [a for a in unchanged(sent, held) if a.path not in s.put_lost]
    if not ignored:
        return held
    s.log.warning("patch not applied, using PUT", step="action", kind="user",
                  key=change.key, attributes=[a.path for a in ignored])  # fmt: skip
    try:
        reply = s.put(change, path, ignored)
    except ScimHTTPError as exc:
        # A second try refused, as a refused narrow PATCH is: the first write stands, and
        # the warning says what it did not keep. PUT is not tried for these again.
        s.log.warning("put refused", step="action", kind="user", key=change.key,
                      status=exc.status, detail=exc.detail)  # fmt: skip
        with s.lock:
            s.put_lost.update(a.path for a in ignored)
        return held
    held = s.held_after(change, path, reply, ignored) or held
    with s.lock:
        s.put_lost.update(lost(ignored, held, s.known_ids()))
    return held


def _answered(reply: Reply) -> bool:
    """Whether the PATCH's answer holds the resource: only an answer that shows the old
    values, and a read after it that shows them too, proves the PATCH ignored; a read
    after a 204 may be a target still settling."""
    return isinstance(reply.body, dict) and bool(reply.body.get("id"))
