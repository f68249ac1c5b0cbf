"""The drift audit: what differs between the spec and the target, read-only and pure.

Drift is what apply would change: changed and missing objects, and, under `prune:
owned|all`, the undeclared objects prune would deprovision (they are planned changes, so
they are in `changed`). Other unmanaged objects are reported but are not drift, since with
`prune: none` an account the spec does not declare is expected; `--fail-on-unmanaged`
counts them too (DESIGN §3).
"""

from __future__ import annotations

import json

from reconciler.core.model import Json, Kind, Observed
from reconciler.core.plan import Action, Plan
from reconciler.core.urls import shown_url
from reconciler.report.render import for_display

FORMAT_VERSION = 1
UNMANAGED_NOT_CHECKED = (
    "Unmanaged objects not checked: the target cannot list everything (lookup mode),"
    " so only declared objects were looked up."
)


def drift_report(
    plan: Plan, observed: Observed, *, fail_on_unmanaged: bool = False
) -> dict[str, Json]:
    """Sort a plan into drift buckets: changed, missing (declared, not on the target) and
    unmanaged (on the target, declared nowhere), with counts of everything checked, and
    whether that is drift (`drifted`, exit 2)."""
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
    notes = list(plan.notes)
    pruned = {(c.kind.value, c.target_id) for c in plan.changes if c.target_id is not None}
    left_alone = [u for u in unmanaged if (u["kind"], u["id"]) not in pruned]
    if left_alone and not fail_on_unmanaged:
        notes.append(
            f"{len(left_alone)} unmanaged object(s) on the target are reported, not counted as "
            "drift: apply leaves them alone (--fail-on-unmanaged counts them)"
        )
    drifted = bool(changed or missing or (unmanaged and fail_on_unmanaged))
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
        # False in lookup mode: only declared objects were looked up, so undeclared ones on
        # the target cannot be found, and "0 unmanaged" would be a claim nobody checked.
        "unmanaged_checked": not observed.lookup,
        "errors": errors,
        "notes": notes,
        "drifted": drifted,
    }


def has_drift(report: dict[str, Json]) -> bool:
    return report["drifted"] is True


def drift_text(report: dict[str, Json]) -> str:
    report = for_display(report)
    target = report["target"]
    out = [f'Drift on target "{target["name"]}" ({shown_url(target["url"])})', ""]
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
    if out[-1] != "":
        out.append("")
    for note in report.get("notes", []):
        out.append(f"Note: {note}")
    s = report["summary"]
    if out[-1] != "":
        out.append("")
    unmanaged = f"{s['unmanaged']} unmanaged"
    if not report.get("unmanaged_checked", True):
        out.append(UNMANAGED_NOT_CHECKED)
        unmanaged = "unmanaged not checked"
    out.append(
        f"Drift: {s['changed']} changed, {s['missing']} missing, {unmanaged}; "
        f"{s['in_sync']} in sync of {s['checked']} checked."
    )
    return "\n".join(out) + "\n"


def _v(value: Json) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
