"""The plan as data: Action, Change, Plan, and `make_plan`, the pure heart of scimrec.

`make_plan` runs steps 3-5 (scope, match, action) for every object. It does no I/O and
reads no clock: the same spec and the same observed state always give the same plan.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from reconciler.diff import AttrChange, diff_attributes
from reconciler.dotnet import Clock
from reconciler.match import Index, Match, match_all
from reconciler.model import Declared, Json, Kind, Location, Observed, Resource, Spec, Target
from reconciler.targetview import TargetView, target_view

FORMAT_VERSION = 1


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DISABLE = "disable"
    DELETE = "delete"
    NOOP = "noop"


DEPROVISIONS = frozenset({Action.DISABLE, Action.DELETE})


@dataclass(frozen=True)
class Member:
    """A group member: the declared key, its target id, or both; a user unless a group."""

    key: str | None
    id: str | None
    type: str = "User"

    def to_json(self) -> dict[str, Json]:
        out: dict[str, Json] = {"key": self.key, "id": self.id}
        if self.type != "User":
            out["type"] = self.type
        return out


@dataclass(frozen=True)
class Change:
    kind: Kind
    key: str
    action: Action
    reason: str
    target_id: str | None = None
    matched_on: str | None = None
    version: str | None = None
    attributes: tuple[AttrChange, ...] = ()
    members_add: tuple[Member, ...] = ()
    members_remove: tuple[Member, ...] = ()
    location: Location | None = None

    def to_json(self) -> dict[str, Json]:
        out: dict[str, Json] = {
            "kind": self.kind.value,
            "key": self.key,
            "action": self.action.value,
            "reason": self.reason,
            "target_id": self.target_id,
            "matched_on": self.matched_on,
            "version": self.version,
            "attributes": [
                {"path": a.path, "before": a.before, "after": a.after}
                | ({"ref": a.ref} if a.ref is not None else {})
                for a in self.attributes
            ],
        }
        if self.kind is Kind.GROUP:
            out["members"] = {
                "add": [m.to_json() for m in self.members_add],
                "remove": [m.to_json() for m in self.members_remove],
            }
        if self.location is not None:
            out["source"] = {
                "file": self.location.file,
                "line": self.location.line,
                "col": self.location.col,
            }
        return out


@dataclass(frozen=True)
class ObjectError:
    kind: Kind
    key: str
    step: str
    message: str
    location: Location | None = None

    def to_json(self) -> dict[str, Json]:
        return {
            "kind": self.kind.value,
            "key": self.key,
            "step": self.step,
            "message": self.message,
        }


@dataclass(frozen=True)
class Plan:
    target: str
    url: str
    changes: tuple[Change, ...]
    errors: tuple[ObjectError, ...] = ()
    noop: int = 0
    notes: tuple[str, ...] = ()
    # Reasons a safety guard refuses the deprovisions in this plan (empty: none tripped).
    guards: tuple[str, ...] = ()
    # False when the target's listing ended early: apply then looks before each create.
    complete_read: bool = True
    matches: Mapping[tuple[Kind, str], Match] = field(default_factory=dict, compare=False)
    # Users a scoping filter leaves out: (key, reason, what happens to them).
    out_of_scope: tuple[tuple[str, str, str], ...] = ()
    view: TargetView | None = field(default=None, compare=False)

    @property
    def summary(self) -> dict[str, int]:
        counts = {a.value: 0 for a in Action}
        for change in self.changes:
            counts[change.action.value] += 1
        counts[Action.NOOP.value] += self.noop
        counts["error"] = len(self.errors)
        return counts

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    def to_json(self) -> dict[str, Json]:
        return {
            "format_version": FORMAT_VERSION,
            "target": {"name": self.target, "url": self.url},
            "summary": self.summary,
            "changes": [c.to_json() for c in self.changes],
            "errors": [e.to_json() for e in self.errors],
            "guards": list(self.guards),
            "notes": list(self.notes),
            "complete_read": self.complete_read,
            "out_of_scope": [
                {"kind": "user", "key": key, "reason": reason, "outcome": outcome}
                for key, reason, outcome in self.out_of_scope
            ],
        }


@dataclass(frozen=True)
class PlanOptions:
    # Restrict the plan to these (kind, key) objects, as `--only` asks; None means all.
    only: frozenset[tuple[Kind, str]] | None = None
    # What Now() and Guid() return in mappings: the caller's clock and GUID source.
    now: Clock | None = None
    new_guid: Callable[[], str] | None = None


_PHASE = {
    (Kind.USER, Action.CREATE): 0,
    (Kind.USER, Action.UPDATE): 0,
    (Kind.GROUP, Action.CREATE): 1,
    (Kind.GROUP, Action.UPDATE): 1,
    (Kind.GROUP, Action.DELETE): 2,
    (Kind.USER, Action.DISABLE): 3,
    (Kind.USER, Action.DELETE): 3,
}


def phase(change: Change) -> int:
    """Apply order: users, then groups (and memberships), then deprovisions."""
    return _PHASE[(change.kind, change.action)]


def make_plan(
    spec: Spec, target: Target, observed: Observed, options: PlanOptions | None = None
) -> Plan:
    """Steps 3-5 for every declared object (or those `options.only` selects)."""
    # prune.py builds on the Change and Action types of this module: imported here.
    from reconciler.prune import prune_changes, spare_protected

    options = options or PlanOptions()
    view = target_view(spec, target, options.now, options.new_guid)
    users = [u for u in view.users if _selected(options, u)]
    groups = [g for g in view.groups if _selected(options, g)]
    user_matches = match_all(view.all_users, Index(observed.users, target.user_matching))
    group_matches = match_all(groups, Index(observed.groups, target.group_matching))

    changes, errors, noop = _plan_users(users, user_matches, target, view)
    errors += [ObjectError(kind, key, "import", msg, loc) for kind, key, msg, loc in view.errors]
    outside = [(u, r) for u, r in view.out_of_scope if _selected(options, u)]
    more, out_of_scope = _plan_out_of_scope(outside, user_matches, target)
    changes += more
    more, group_errors, group_noop = _plan_groups(
        groups, group_matches, user_matches, view, observed, target
    )
    changes += more
    errors += group_errors
    notes = list(observed.notes)
    if options.only is None:
        changes += prune_changes(target, observed, _all_matches(user_matches, group_matches))
    changes, spared = spare_protected(target, changes)
    notes += spared
    if not observed.complete:
        changes, withheld = _withhold_removals(changes)
        if withheld:
            notes.append(
                f"the target's listing was incomplete, so {withheld} deprovision(s) and member "
                "removal(s) are withheld from this plan; creates are checked on the target first"
            )
    changes.sort(key=lambda c: (phase(c), c.key.casefold(), c.key))
    matches = {(Kind.USER, u.key): user_matches[u.key] for u in (*users, *(u for u, _ in outside))}
    matches |= {(Kind.GROUP, k): m for k, m in group_matches.items()}
    return Plan(
        target=target.name,
        url=target.url,
        changes=tuple(changes),
        errors=tuple(errors),
        noop=noop + group_noop,
        notes=tuple(notes),
        matches=matches,
        complete_read=observed.complete,
        out_of_scope=tuple(out_of_scope),
        view=view,
    )


def _plan_out_of_scope(
    outside: list[tuple[Declared, str]], user_matches: Mapping[str, Match], target: Target
) -> tuple[list[Change], list[tuple[str, str, str]]]:
    """Users a scoping filter leaves out: deprovisioned only if the target's policy says so
    (Entra's "skip out of scope deletions" equivalent), and the plan says why either way."""
    changes: list[Change] = []
    entries: list[tuple[str, str, str]] = []
    for user, reason in outside:
        match = user_matches[user.key]
        found = match.resource
        if found is None or match.error or target.out_of_scope == "skip":
            entries.append((user.key, reason, "left alone" if found else "not provisioned"))
            continue
        if target.deprovision == "delete":
            changes.append(_change(user, match, Action.DELETE, reason))
        elif found.body.get("active") is not False:
            disable = (AttrChange("active", found.body.get("active"), False),)
            changes.append(_change(user, match, Action.DISABLE, reason, disable))
        entries.append((user.key, reason, target.deprovision))
    return changes, entries


def _plan_users(
    users: list[Declared], user_matches: Mapping[str, Match], target: Target, view: TargetView
) -> tuple[list[Change], list[ObjectError], int]:
    changes: list[Change] = []
    errors: list[ObjectError] = []
    noop = 0

    def resolve(path: str, value: Json) -> tuple[Json, str | None]:
        if path != "enterprise.manager" or not isinstance(value, str):
            return value, None
        match = user_matches.get(value)
        return (match.resource.id if match and match.resource else None), value

    for user in users:
        match = user_matches[user.key]
        manager = user.attrs.get("enterprise.manager")
        if match.error:
            errors.append(ObjectError(Kind.USER, user.key, "match", match.error, user.location))
        elif isinstance(manager, str) and user_matches[manager].error:
            message = f"manager '{manager}' could not be matched: {user_matches[manager].error}"
            errors.append(ObjectError(Kind.USER, user.key, "match", message, user.location))
        elif (
            change := _user_change(
                user, match, target, resolve, view.create_only(Kind.USER, user.key)
            )
        ) is None:
            noop += 1
        else:
            changes.append(change)
    return changes, errors, noop


def _plan_groups(
    groups: list[Declared],
    group_matches: Mapping[str, Match],
    user_matches: Mapping[str, Match],
    view: TargetView,
    observed: Observed,
    target: Target,
) -> tuple[list[Change], list[ObjectError], int]:
    changes: list[Change] = []
    errors: list[ObjectError] = []
    noop = 0
    declared_users = {u.key: u for u in view.all_users}
    outside = {u.key for u, _ in view.out_of_scope}
    user_ids = {
        key: m.resource.id
        for key, m in user_matches.items()
        if m.resource is not None and key not in outside
    }
    # Ids a membership diff must not remove: candidates of users whose match failed, and
    # users out of this target's scope (left alone, not managed).
    protected = {
        cid
        for key, m in user_matches.items()
        if (m.error and declared_users[key].present) or key in outside
        for a in m.attempts
        for cid in a.candidates
    }
    failed = {key for key, m in user_matches.items() if m.error} | outside
    failed |= {key for kind, key, _, _ in view.errors if kind is Kind.USER}
    group_ids = {g.id for g in observed.groups}
    names = {u.id: _user_name(u) for u in observed.users}
    native = target.nested_groups == "native"
    nested = _flatten({g.key: g for g in view.groups})
    groups_by_id = {m.resource.id: k for k, m in group_matches.items() if m.resource}
    for group in groups:
        match = group_matches[group.key]
        if group.subgroups and not native:
            group = dataclasses.replace(group, members=nested[group.key])  # noqa: PLW2901
        if match.error:
            errors.append(ObjectError(Kind.GROUP, group.key, "match", match.error, group.location))
            continue
        change = _group_change(group, match, user_ids, protected, failed, group_ids, names)
        if native and group.present and group.members is not None:
            change = _with_nested(change, group, match, groups_by_id)
        if change is None:
            noop += 1
        else:
            changes.append(change)
    return changes, errors, noop


def _with_nested(
    change: Change | None, group: Declared, match: Match, groups_by_id: Mapping[str, str]
) -> Change | None:
    """For targets that nest groups natively: nested groups as `type: Group` members."""
    ids = {key: gid for gid, key in groups_by_id.items()}
    body = match.resource.body if match.resource else {}
    have = {
        str(m["value"])
        for m in body.get("members") or []
        if isinstance(m, Mapping)
        and (str(m.get("type", "")).lower() == "group" or str(m.get("value")) in groups_by_id)
    }
    want = {ids[key] for key in group.subgroups if key in ids}
    adds = [
        Member(key, ids.get(key), "Group")
        for key in group.subgroups
        if ids.get(key) is None or ids[key] not in have
    ]
    removes = [Member(groups_by_id.get(gid), gid, "Group") for gid in sorted(have - want)]
    if not adds and not removes:
        return change
    if change is None:
        change = _change(group, match, Action.UPDATE, "members differ")
    return dataclasses.replace(
        change,
        members_add=change.members_add + tuple(adds),
        members_remove=change.members_remove + tuple(removes),
    )


def _flatten(groups: Mapping[str, Declared]) -> dict[str, tuple[str, ...]]:
    """Each group's members with those of its nested groups, for targets that nest nothing.

    The spec loader refuses cycles, so the recursion ends.
    """
    done: dict[str, tuple[str, ...]] = {}

    def members(key: str) -> tuple[str, ...]:
        if key not in done:
            group = groups[key]
            found = dict.fromkeys(group.members or ())
            for child in group.subgroups:
                found |= dict.fromkeys(members(child))
            done[key] = tuple(found)
        return done[key]

    for key in groups:
        members(key)
    return done


def _all_matches(
    users: Mapping[str, Match], groups: Mapping[str, Match]
) -> dict[tuple[Kind, str], Match]:
    out = {(Kind.USER, k): m for k, m in users.items()}
    return out | {(Kind.GROUP, k): m for k, m in groups.items()}


def _withhold_removals(changes: list[Change]) -> tuple[list[Change], int]:
    """An object missing from a short read may exist: never remove or deprovision from one."""
    kept: list[Change] = []
    withheld = 0
    for change in changes:
        if change.action in DEPROVISIONS:
            withheld += 1
            continue
        if change.members_remove:
            withheld += len(change.members_remove)
            trimmed = dataclasses.replace(change, members_remove=())
            empty = not trimmed.attributes and not trimmed.members_add
            if trimmed.action is Action.UPDATE and empty:
                continue
            kept.append(trimmed)
            continue
        kept.append(change)
    return kept, withheld


def _user_name(resource: Resource) -> str | None:
    value = resource.body.get("userName")
    return value if isinstance(value, str) else None


def _selected(options: PlanOptions, obj: Declared) -> bool:
    return _selected_key(options, obj.kind, obj.key)


def _selected_key(options: PlanOptions, kind: Kind, key: str) -> bool:
    return options.only is None or (kind, key) in options.only


Resolver = Callable[[str, Json], tuple[Json, str | None]]


def _user_change(
    user: Declared,
    match: Match,
    target: Target,
    resolve: Resolver,
    create_only: frozenset[str] = frozenset(),
) -> Change | None:
    found = match.resource
    if not user.present:
        if found is None:
            return None
        if target.deprovision == "delete":
            return _change(user, match, Action.DELETE, "state: absent")
        if found.body.get("active") is False:
            return None
        disable = (AttrChange("active", found.body.get("active"), False),)
        return _change(user, match, Action.DISABLE, "state: absent", disable)
    declared = user.attrs
    if found is not None and create_only:
        # `apply: on_create` values are written once, at create, and never diffed after.
        declared = {k: v for k, v in declared.items() if k not in create_only}
    attrs = diff_attributes(declared, found.body if found else {}, resolve)
    if found is None:
        # A create writes what is declared; explicit nulls have nothing to clear yet.
        attrs = [a for a in attrs if a.after is not None or a.ref is not None]
        ordered = tuple(sorted(attrs, key=lambda a: a.path))
        return _change(user, match, Action.CREATE, "not found on target", ordered)
    if not attrs:
        return None
    return _change(user, match, Action.UPDATE, "attributes differ", tuple(attrs))


def _group_change(
    group: Declared,
    match: Match,
    user_ids: Mapping[str, str],
    protected: set[str],
    failed: set[str],
    group_ids: set[str],
    names: Mapping[str, str | None],
) -> Change | None:
    found = match.resource
    if not group.present:
        return None if found is None else _change(group, match, Action.DELETE, "state: absent")
    body = found.body if found else {}
    attrs = diff_attributes(group.attrs, body)
    adds: list[Member] = []
    removes: list[Member] = []
    if group.members is not None:
        have = _member_ids(body)
        want: set[str] = set()
        for key in group.members:
            if key in failed:
                continue  # its match failed: neither add nor remove it until that is fixed
            uid = user_ids.get(key)
            if uid is not None:
                want.add(uid)
            if uid is None or uid not in have:
                adds.append(Member(key, uid))
        key_of = {uid: key for key, uid in user_ids.items()}
        for mid in sorted(have - want - protected - group_ids):
            removes.append(Member(key_of.get(mid) or names.get(mid), mid))
    if found is None:
        attrs = [a for a in attrs if a.after is not None]
        return _change(group, match, Action.CREATE, "not found on target", tuple(attrs), adds)
    if not attrs and not adds and not removes:
        return None
    reason = "attributes differ" if attrs else "members differ"
    return _change(group, match, Action.UPDATE, reason, tuple(attrs), adds, removes)


def _change(
    obj: Declared,
    match: Match,
    action: Action,
    reason: str,
    attributes: tuple[AttrChange, ...] = (),
    adds: list[Member] | None = None,
    removes: list[Member] | None = None,
) -> Change:
    found = match.resource
    return Change(
        kind=obj.kind,
        key=obj.key,
        action=action,
        reason=reason,
        target_id=found.id if found else None,
        matched_on=match.matched_on,
        version=found.version if found else None,
        attributes=attributes,
        members_add=tuple(adds or ()),
        members_remove=tuple(removes or ()),
        location=obj.location,
    )


def _member_ids(body: Mapping[str, Json]) -> set[str]:
    members = body.get("members")
    if not isinstance(members, list):
        return set()
    return {
        str(m["value"])
        for m in members
        if isinstance(m, Mapping)
        and m.get("value") is not None
        and str(m.get("type", "User")).lower() != "group"
    }


def plan_from_json(data: Mapping[str, Json]) -> Plan:
    """Rebuild a Plan from its JSON form (a saved plan file); the inverse of Plan.to_json."""
    if data.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"unsupported plan format_version {data.get('format_version')!r}")
    changes = []
    for item in data["changes"]:
        members = item.get("members") or {}
        source = item.get("source")
        changes.append(
            Change(
                kind=Kind(item["kind"]),
                key=item["key"],
                action=Action(item["action"]),
                reason=item.get("reason", ""),
                target_id=item.get("target_id"),
                matched_on=item.get("matched_on"),
                version=item.get("version"),
                attributes=tuple(
                    AttrChange(a["path"], a.get("before"), a.get("after"), a.get("ref"))
                    for a in item.get("attributes", [])
                ),
                members_add=tuple(
                    Member(m.get("key"), m.get("id"), m.get("type", "User"))
                    for m in members.get("add", [])
                ),
                members_remove=tuple(
                    Member(m.get("key"), m.get("id"), m.get("type", "User"))
                    for m in members.get("remove", [])
                ),
                location=Location(source["file"], source["line"], source["col"])
                if source
                else None,
            )
        )
    errors = tuple(
        ObjectError(Kind(e["kind"]), e["key"], e["step"], e["message"]) for e in data["errors"]
    )
    return Plan(
        target=data["target"]["name"],
        url=data["target"]["url"],
        changes=tuple(changes),
        errors=errors,
        noop=int(data["summary"].get("noop", 0)),
        notes=tuple(data.get("notes", [])),
        guards=tuple(data.get("guards", [])),
        complete_read=bool(data.get("complete_read", True)),
    )
