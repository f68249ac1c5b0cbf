"""The drift audit: what differs between the spec and the target, read-only and pure."""

from __future__ import annotations

import json

from reconciler.core.model import Json, Kind, Observed
from reconciler.core.plan import Action, Plan
from reconciler.report.render import for_display

FORMAT_VERSION = 1


def drift_report(plan: Plan, observed: Observed) -> dict[str, Json]:
    """Sort a plan into drift buckets: changed, missing (declared, not on the target) and
    unmanaged (on the target, declared nowhere), with counts of everything checked."""
    changed: list[dict[str, Json]] = []
    missing: list[dict[str, Json]] = []
    for change in plan.changes:
        data = change.to_json()
        if change.action is Action.CREATE:
            missing.append({"kind": data["kind"], "key": data["key"]})
        else:
            changed.append(
                {k: data[k] for k in ("kind", "key", "action", "target_id", "attributes")}
                | ({"members": data["members"]} if "members" in data else {})
            )
    claimed = {
        (kind, match.resource.id)
        for (kind, _key), match in plan.matches.items()
        if match.resource is not None
    }
    # Candidates of objects in error are claimed too: they are not "undeclared".
    claimed |= {
        (kind, cid)
        for (kind, _key), match in plan.matches.items()
        if match.error
        for attempt in match.attempts
        for cid in attempt.candidates
    }
    unmanaged: list[dict[str, Json]] = []
    for kind, resources, name in (
        (Kind.USER, observed.users, "userName"),
        (Kind.GROUP, observed.groups, "displayName"),
    ):
        for resource in resources:
            if (kind, resource.id) not in claimed:
                unmanaged.append(
                    {"kind": kind.value, "id": resource.id, "name": resource.body.get(name)}
                )
    unmanaged.sort(key=lambda u: (u["kind"], str(u["name"]).casefold(), u["id"]))
    checked = len(plan.matches) + len(unmanaged)
    errors = [e.to_json() for e in plan.errors]
    return {
        "format_version": FORMAT_VERSION,
        "target": {"name": plan.target, "url": plan.url},
        "summary": {
            "checked": checked,
            "in_sync": plan.noop,
            "changed": len(changed),
            "missing": len(missing),
            "unmanaged": len(unmanaged),
            "error": len(errors),
        },
        "changed": changed,
        "missing": missing,
        "unmanaged": unmanaged,
        "errors": errors,
        "notes": list(plan.notes),
    }


def has_drift(report: dict[str, Json]) -> bool:
    summary = report["summary"]
    return bool(summary["changed"] or summary["missing"] or summary["unmanaged"])


def drift_text(report: dict[str, Json]) -> str:
    report = for_display(report)
    target = report["target"]
    out = [f'Drift on target "{target["name"]}" ({target["url"]})', ""]
    for item in report["changed"]:
        out.append(f"  ~ {item['kind']} {item['key']} (id {item['target_id']}): {item['action']}")
        for attr in item["attributes"]:
            have, want = _v(attr["before"]), _v(attr["after"])
            out.append(f"      {attr['path']}: target has {have}, spec says {want}")
        members = item.get("members") or {}
        for member in members.get("add", []):
            out.append(f"      member {member['key']}: missing on the target")
        for member in members.get("remove", []):
            out.append(
                f"      member {member['key'] or member['id']}: on the target, not in the spec"
            )
    for item in report["missing"]:
        out.append(f"  + {item['kind']} {item['key']}: declared, missing on the target")
    for item in report["unmanaged"]:
        out.append(
            f"  ? {item['kind']} {item['name']} (id {item['id']}): on the target, not declared"
        )
    for error in report["errors"]:
        out.append(f"Error: {error['kind']} {error['key']}: {error['message']}")
    s = report["summary"]
    if out[-1] != "":
        out.append("")
    out.append(
        f"Drift: {s['changed']} changed, {s['missing']} missing, {s['unmanaged']} unmanaged; "
        f"{s['in_sync']} in sync of {s['checked']} checked."
    )
    return "\n".join(out) + "\n"


def _v(value: Json) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
