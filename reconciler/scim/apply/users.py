"""The user phase of an apply: creates (managers before their reports), updates, and the
follow-up that sets references a first write could not carry."""

from __future__ import annotations

from reconciler.core.changes import Action, Change
from reconciler.core.diff import AttrChange
from reconciler.core.roles_held import only_taking, role_paths, takes_access
from reconciler.errors import ScimHTTPError
from reconciler.scim import writes
from reconciler.scim.apply import refusals
from reconciler.scim.apply.creates import adopt_if_listed_short, create
from reconciler.scim.apply.session import Failed, Session
from reconciler.scim.client import Reply
from reconciler.scim.writes import ENDPOINT, resource_path


def write_user(s: Session, change: Change) -> str | None:
    if change.action is Action.CREATE:
        return create_user(s, change)
    return update(s, change, change.attributes)


def create_user(s: Session, change: Change) -> str:
    adopted = adopt_if_listed_short(s, change)
    if adopted is not None:
        return adopted
    ids = s.known_ids()
    if any(writes.unresolved(a, ids) for a in change.attributes):
        with s.lock:
            s.unlinked.add(change.key)
    body = writes.user_create_body(change.attributes, ids)
    target_id = create(s, change, "/Users", body).target_id
    with s.lock:
        s.ids[change.key] = target_id
        if isinstance(name := body.get("userName"), str):
            s.user_names[target_id] = name
    return target_id


def set_references(s: Session, change: Change) -> str | None:
    """Set the references a first write could not carry (a manager created later)."""
    refs = [a for a in change.attributes if a.ref is not None and a.after is None]
    target_id = s.ids[change.key]
    ids = s.known_ids()
    missing = [a.ref for a in refs if a.ref not in ids]
    if missing:
        raise Failed(f"manager {missing[0]} was not created, so it cannot be set")
    s.patch_or_put(change, resource_path("/Users", target_id), refs, etag=None)
    return target_id


def update(s: Session, change: Change, attributes: tuple[AttrChange, ...]) -> str | None:
    if change.target_id is None:
        raise Failed("no target id to update")
    path = resource_path(ENDPOINT[change.kind], change.target_id)
    ready = [a for a in attributes if not writes.unresolved(a, s.known_ids())]
    if len(ready) < len(attributes):
        with s.lock:
            s.unlinked.add(change.key)
    if ready:
        try:
            s.patch_or_put(change, path, ready, s.etag(change))
        except ScimHTTPError as exc:
            _take_access_alone(s, change, path, ready, exc)
    return change.target_id


def _take_access_alone(
    s: Session, change: Change, path: str, sent: list[AttrChange], refused: ScimHTTPError
) -> None:
    """A write refused for one of its values refuses all of them: a rename the target does
    not allow (an immutable userName), or a role it will not write, would keep back the
    disable or the role removal sent with it, and the access the plan removes would stay,
    every run, until the spec changed. What takes access away is sent again alone, the
    disable first, each role attribute apart; the user fails all the same, naming the
    refusal. A disable's time of disabling goes with it: refused, deprovision.disable
    disables without it."""
    if not refusals.of_what_was_sent(refused):
        raise refused
    roles = role_paths(s.target)
    stamp = s.target.disabled_at if s.target.delete_after is not None else None
    taking = [a for a in sent if takes_access(a, roles)]
    disable = [a for a in taking if a.path == "active"]
    units = [[*disable, *(a for a in sent if a.path == stamp)]] if disable else []
    # A role attribute's roles it keeps, without those the refused write would grant.
    units += [[only_taking(a, roles)] for a in taking if a.path != "active"]
    if not units or (len(units) == 1 and sorted(units[0], key=_path) == sorted(sent, key=_path)):
        raise refused  # nothing smaller takes access away (a disable and its time: disable())
    made, failed = [], []
    etag = s.etag(change)
    for unit in units:
        try:
            reply = s.patch_or_put(change, path, unit, etag)
        except (ScimHTTPError, Failed) as exc:
            failed.append(f"{unit[0].path}: {exc}")
            if isinstance(exc, ScimHTTPError) and not refusals.of_what_was_sent(exc):
                break  # not of the values (gone, stale, unavailable): none would go
        else:
            made.append(unit[0].path)
            # The next goes with the version this write made (it proved the plan's read
            # current), not the plan's, which the target now refuses (412).
            etag = _version(reply) if etag is not None else None
    done = f"; what removes access ({', '.join(made)}) was written alone" if made else ""
    also = f"; alone, {'; '.join(failed)}" if failed else ""
    raise Failed(f"{refused}{done}{also}")


def _path(attr: AttrChange) -> str:
    return attr.path


def _version(reply: Reply) -> str | None:
    """The version a write's answer gives the resource: meta.version, else its ETag."""
    meta = reply.body.get("meta") if isinstance(reply.body, dict) else None
    version = meta.get("version") if isinstance(meta, dict) else None
    version = version or reply.headers.get("etag")
    return version if isinstance(version, str) else None


def manager_waves(changes: list[Change]) -> list[list[Change]]:
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
