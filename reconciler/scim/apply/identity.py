"""Whom a write reaches: the object at the id a change is sent to, read by that id just
before the write, must be the object the plan read there (the same userName or
displayName). Called by Session.refuse_if_protected, where every write passes.

The plan knows an object's id from the listing, or in lookup mode from an `eq` filter's
answer. A filter answer that pairs a declared user's name with a protected admin's id
(a hostile or broken target) would have the admin disabled as that user: protection
looks at the name the plan read, which is the declared user's. Read by its id, the
object shows the name it really holds, and the write is refused.

Which writes: every write to an existing object after a read that was not complete
(lookup mode, a short listing), where no listing vouched for the id. After a complete
listing, the listing's pairs of id and name are the target's word, and no id stands for
two objects (owners.py); a read that fails must not hold back a deprovision there.
"""

from __future__ import annotations

from urllib.parse import unquote

from reconciler.core.changes import Change
from reconciler.core.match import NAME_ATTRIBUTE, normalise
from reconciler.core.model import Json
from reconciler.errors import ScimHTTPError, ScimrecError
from reconciler.scim.client import ScimClient
from reconciler.scim.writes import ENDPOINT, resource_path


def misdirected(client: ScimClient, change: Change, read_as: str | None) -> str | None:
    """Why the write must not be sent (the object at its id is not the one the plan read
    as `read_as`, or cannot be read to tell), else None. A 404 passes: the object is gone,
    and the write finds so itself."""
    if change.target_id is None:
        return None  # a create: its id is checked when it is answered (creates.py)
    path = resource_path(ENDPOINT[change.kind], change.target_id)
    try:
        body = client.get(path).body
    except ScimHTTPError as exc:
        if exc.status == 404:
            return None
        return f"it could not be read first, to see that the write reaches it ({exc})"
    except ScimrecError as exc:
        return f"it could not be read first, to see that the write reaches it ({exc})"
    attribute = NAME_ATTRIBUTE[change.kind]
    held = body.get(attribute) if isinstance(body, dict) else None
    if not isinstance(held, str):
        return f"read by its id ({change.target_id}), the target's answer holds no {attribute}"
    if read_as is not None and normalise(attribute, held) != normalise(attribute, read_as):
        return (
            f"read by its id ({change.target_id}), it is {attribute} {held!r}, not "
            f"{read_as!r} as the plan read it: the target's answers disagree on whom this id "
            "is; run plan again"
        )
    return None


def answers_as(path: str, body: Json) -> bool:
    """Whether a write's answer is the object written to `path` (its id is the path's last
    segment): an answer that is another object says nothing of this one."""
    if not isinstance(body, dict):
        return False
    segment = path.rpartition("/")[2]
    rid = str(body.get("id"))
    return rid in (segment, unquote(segment))
