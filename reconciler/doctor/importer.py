"""`scimrec import`: turns what a target holds into spec YAML that plans as `No changes.`"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.core import attributes as A
from reconciler.core.config import Target
from reconciler.core.diff import is_empty
from reconciler.core.members import Directory, Seen
from reconciler.core.model import ENTERPRISE_URN, Json, Observed, Resource
from reconciler.core.shape import shaped
from reconciler.doctor.yaml_out import dump

SKIPPED_KEYS = frozenset({"id", "meta", "schemas", "groups", "password"})


@dataclass(frozen=True)
class Imported:
    files: Mapping[str, str]  # file name → YAML text
    notes: tuple[str, ...]
    users: int
    groups: int


def import_documents(observed: Observed, target: Target, *, adopt: bool) -> Imported:
    """Spec files for every user and group observed, in a stable order.

    Server-owned attributes are left out, members become user keys, and attributes the
    spec vocabulary does not cover are reported rather than dropped silently.
    """
    notes: list[str] = []
    observed = shaped(observed)
    for kind, resources in (("user", observed.users), ("group", observed.groups)):
        for r in resources:
            if r.problem is not None:
                notes.append(f"{kind} {r.id} cannot be read ({r.problem}): left out")
    observed = dataclasses.replace(
        observed,
        users=tuple(r for r in observed.users if r.problem is None),
        groups=tuple(r for r in observed.groups if r.problem is None),
    )
    directory = Directory(observed)
    users: list[dict[str, Any]] = []
    keys: dict[str, str] = {}  # target id → user key
    seen: set[str] = set()
    ordered = sorted(
        observed.users, key=lambda r: (str(r.body.get("userName", "")).casefold(), r.id)
    )
    for resource in ordered:
        name = resource.body.get("userName")
        if not isinstance(name, str) or not name:
            notes.append(f"user {resource.id} has no userName: left out")
            continue
        if name.casefold() in seen:
            notes.append(f"user {name} (id {resource.id}) duplicates another userName: left out")
            continue
        seen.add(name.casefold())
        keys[resource.id] = name
    for resource in ordered:
        if resource.id in keys:
            users.append(_user(resource, keys, notes))
    groups = [
        _group(r, keys, directory, notes)
        for r in sorted(
            observed.groups, key=lambda r: (str(r.body.get("displayName", "")).casefold(), r.id)
        )
        if isinstance(r.body.get("displayName"), str) and r.body.get("displayName")
    ]
    files = {
        "users.yaml": _dump({"version": 1, "users": users}, target, "users", "users.yaml"),
        "groups.yaml": _dump({"version": 1, "groups": groups}, target, "groups", "groups.yaml"),
    }
    if adopt:
        files["targets.yaml"] = _dump(
            {"version": 1, "targets": {target.name: _target(target, notes)}},
            target,
            "the target",
            "targets.yaml",
        )
    return Imported(files, tuple(notes), len(users), len(groups))


def _user(resource: Resource, keys: Mapping[str, str], notes: list[str]) -> dict[str, Any]:
    body = resource.body
    out: dict[str, Any] = {}
    for key, value in body.items():
        if key in SKIPPED_KEYS or is_empty(value):
            continue
        if key in A.USER_SIMPLE:
            out[key] = value
        elif key == "name" and isinstance(value, dict):
            parts = {k: v for k, v in value.items() if k in A.NAME_PARTS and not is_empty(v)}
            if parts:
                out["name"] = parts
        elif key in A.USER_MULTI and isinstance(value, list):
            items = [_element(i, A.USER_MULTI[key]) for i in value]
            items = [i for i in items if i]
            if items:
                out[key] = items
        elif key == ENTERPRISE_URN and isinstance(value, dict):
            enterprise = _enterprise(value, keys, str(body.get("userName")), notes)
            if enterprise:
                out["enterprise"] = enterprise
        else:
            notes.append(f"user {body.get('userName')}: attribute {key} is not imported")
    # userName first, so the files read like the specs people write.
    return {"userName": out.pop("userName"), **out}


def _enterprise(
    value: Mapping[str, Json], keys: Mapping[str, str], user: str, notes: list[str]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key not in A.ENTERPRISE or is_empty(item):
            continue
        if key == "manager":
            manager = item.get("value") if isinstance(item, dict) else item
            if manager in keys:
                out["manager"] = keys[str(manager)]
            else:
                notes.append(f"user {user}: manager {manager} is not an imported user: left out")
        else:
            out[key] = item
    return out


def _element(item: Json, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(item, dict) or is_empty(item.get("value", item.get("formatted"))):
        return {}
    return {k: v for k, v in item.items() if k in allowed and not is_empty(v)}


def _group(
    resource: Resource, keys: Mapping[str, str], directory: Directory, notes: list[str]
) -> dict[str, Any]:
    body = resource.body
    name = body["displayName"]
    out: dict[str, Any] = {"displayName": name}
    if not is_empty(body.get("externalId")):
        out["externalId"] = body["externalId"]
    members = []
    left_out = 0
    # Members resolve as the plan resolves them (by value, $ref, then userName), so a
    # target that stores userNames as member values imports its members too.
    for entry in directory.entries(body):
        if entry.uid is not None and entry.uid in keys:
            members.append(keys[entry.uid])
            continue
        if entry.seen is Seen.GROUP and entry.sure:  # a plan never removes nested groups
            notes.append(f"group {name}: nested group {entry.value} is not imported")
        else:  # or an id only a group's is read under: a user the --filter left out may be it
            left_out += 1
            notes.append(f"group {name}: member {entry.value} is not an imported user")
    out["members"] = sorted(set(members), key=str.casefold)
    if left_out:
        # Exact membership would remove whoever was not imported (a --filter, a user left
        # out): additive keeps them, so the imported tree plans to No changes.
        out["members_policy"] = "additive"
        notes.append(
            f"group {name}: {left_out} member(s) not imported, so the group is written with "
            "members_policy: additive (nobody is removed); switch to exact once all are declared"
        )
    return out


def _target(target: Target, notes: list[str]) -> dict[str, Any]:
    """The target's settings for the imported tree: where it is and how to reach it, and its
    safety settings (guards, protection, ownership, membership policy) as the source has them.

    What decides which objects exist is left at its default, for review: `prune` (a filtered
    import would otherwise prune whatever it left out), and mappings and scoping (the
    imported values are already mapped; mapping them again would change them).
    """
    auth = {k: v for k, v in dataclasses.asdict(target.auth).items() if v is not None}
    out: dict[str, Any] = {
        "url": target.url,
        "auth": auth,
        "matching": {"user": list(target.user_matching), "group": list(target.group_matching)},
        "deprovision": target.deprovision,
    }
    guards = {
        "max_deletes": target.max_deletes,
        "max_delete_percent": target.max_delete_percent,
        "max_member_removals": target.max_member_removals,
        "max_member_removal_percent": target.max_member_removal_percent,
    }
    if any(v is not None for v in guards.values()):
        out["guards"] = {k: _number(v) for k, v in guards.items() if v is not None}
    if target.protected:
        out["protected"] = list(target.protected)
    if target.ownership_prefix is not None:
        out["ownership"] = {"external_id_prefix": target.ownership_prefix}
    if target.members_policy != "exact":
        out["members_policy"] = target.members_policy
    left = [
        f"prune: {target.prune}" if target.prune != "none" else "",
        "mappings" if target.user_mappings or target.group_mappings else "",
        "scope" if target.scope is not None else "",
    ]
    if any(left):
        notes.append(
            f"targets.yaml leaves out the source target's {', '.join(w for w in left if w)}: "
            "review the imported tree, then set them again"
        )
    return out


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _dump(doc: Mapping[str, Any], target: Target, what: str, name: str) -> str:
    header = f"# Imported from target '{target.name}' ({target.url}) by scimrec import: {what}."
    return dump(doc, header, name)
