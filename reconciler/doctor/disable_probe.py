"""The doctor's disable probe: the temporary user set `active: false` as apply's default
deprovision does it, and read back, to tell which of three kinds of target this is.

- It reads back `active: false`: a disable is kept and shown.
- It reads back without `active`, where the user showed `active: true` before (Snipe-IT,
  Go servers with `omitempty`): every disabled user reads as `active: null`, so every plan
  disables it again and the guards count it, until the quirk `inactive: absent` is set.
  This is the one place the quirk can be told from a target that never shows `active`
  (Sentry), which a listing cannot do: so doctor says it, and apply never assumes it.
- It reads back `active: true`: the target ignores a disable; `deprovision: delete`.

Run last, after the group probes: a disabled member may behave otherwise in a group.
"""

from __future__ import annotations

from reconciler.core.config import Target
from reconciler.core.inactive import unshown
from reconciler.doctor.findings import FAIL, INFO, OK, WARN, Finding, body_of, failure
from reconciler.doctor.scratch import Scratch
from reconciler.errors import ScimHTTPError
from reconciler.scim import writes
from reconciler.scim.writes import resource_path

CHECK = "disable"
QUIRK = "quirks: {inactive: absent}"


def probe_disable(s: Scratch, target: Target) -> list[Finding]:
    """Disable the temporary user (PATCH, or PUT where PATCH did not work) and read it."""
    path = resource_path("/Users", str(s.user["id"]))
    try:
        # Active first, as read now: the probes before may have cleared `active` (a PUT
        # without it), and a user never shown active tells nothing of a disable.
        _set_active(s, path, True)
        before = _active(body_of(s.client.get(path)))
        _set_active(s, path, False)
    except ScimHTTPError as exc:
        seen = f"setting the temporary user's active is refused ({failure(exc)})"
        action = "disables fail here: set deprovision: delete on this target"
        return [Finding("lifecycle", CHECK, WARN, seen, action)]
    after = _active(body_of(s.client.get(path)))
    return [_finding(before, after, target)]


def _set_active(s: Scratch, path: str, value: bool) -> None:
    """As apply writes it: PATCH, or GET-merge-PUT where PATCH did not work."""
    if s.works.get("patch"):
        s.client.patch(path, [{"op": "replace", "path": "active", "value": value}], None)
    else:
        read = body_of(s.client.get(path))
        s.client.put(path, writes.merged_for_put(read, [], {}) | {"active": value}, None)


def _active(body: dict[str, object]) -> object:
    """The user's `active` as shown, in any case (RFC 7643 §2.1); `...` where not shown."""
    shown = [v for k, v in body.items() if k.casefold() == "active"]
    if not shown:
        return ...
    # Some targets answer "True"/"False" (strings), which planning reads as booleans.
    value = shown[0]
    return (
        {"true": True, "false": False}.get(value.casefold(), value)
        if isinstance(value, str)
        else value
    )


def _finding(before: object, after: object, target: Target) -> Finding:
    if after is False:
        seen = "a disabled user reads back as active: false"
        return Finding("lifecycle", CHECK, OK, seen, "scimrec's disables are kept and shown")
    if after is ... or after is None:
        if before is not True:
            seen = "users are shown without `active`, disabled or not"
            action = (
                "a disable cannot be read back here: apply says so; deprovision: delete "
                "is the deprovision it can check"
            )
            return Finding("lifecycle", CHECK, INFO, seen, action)
        how = "as active: null" if after is None else "without `active`"
        seen = f"a disabled user reads back {how} (shown only when true)"
        if unshown(target):
            return Finding("lifecycle", CHECK, OK, seen, f"{QUIRK} is set: read as disabled")
        action = (
            f"set {QUIRK} on this target: without it every plan disables such users again "
            "and the guards count them"
        )
        return Finding("lifecycle", CHECK, WARN, seen, action)
    seen = f"a disable answered success, but the user reads back as active: {after!r}"
    action = "this target ignores disables: set deprovision: delete on this target"
    return Finding("lifecycle", CHECK, FAIL, seen, action)
