"""`plan --explain`: the five steps for selected objects, down to the exact HTTP requests."""

from __future__ import annotations

import json
from collections.abc import Mapping

from reconciler.core import attributes as A
from reconciler.core.config import Target
from reconciler.core.model import PATCH_OP, Capabilities, Declared, Json, Kind, Observed
from reconciler.core.plan import Action, Change, Plan
from reconciler.report.render import value_text
from reconciler.scim import writes

INDENT = "      "


def explain(
    plan: Plan,
    declared: Mapping[tuple[Kind, str], Declared],
    target: Target,
    caps: Capabilities,
    observed: Observed,
) -> str:
    changes = {(c.kind, c.key): c for c in plan.changes}
    errors = {(e.kind, e.key): e for e in plan.errors}
    out: list[str] = []
    for (kind, key), match in sorted(plan.matches.items(), key=lambda i: (i[0][0], i[0][1])):
        obj = declared[(kind, key)]
        where = f"  ({obj.location})" if obj.location else ""
        out.append(f"{kind.value} {key}{where}")
        yes = {True: "yes", False: "no"}
        out.append(
            f"  1 test_connection: ok — PATCH {yes[caps.patch]}, ETags {yes[caps.etag]}, "
            f"filters honoured {yes[caps.filter_honoured]}"
        )
        complete = "complete" if observed.complete else "INCOMPLETE"
        out.append(
            f"  2 import: read {len(observed.users)} users and {len(observed.groups)} groups "
            f"from the target ({complete}); declared:"
        )
        width = max((len(p) for p in obj.attrs), default=0)
        for path in sorted(obj.attrs):
            out.append(f"{INDENT}{path.ljust(width)}  {value_text(path, obj.attrs[path])}")
        if obj.members is not None:
            out.append(f"{INDENT}members  {', '.join(obj.members) or '(none)'}")
        mapped = plan.view.mapped.get((kind, key)) if plan.view else None
        if mapped is not None and mapped.evaluated:
            out.append("    mapped for this target:")
            for attr, how, value in mapped.evaluated:
                once = "  (on create only)" if attr in mapped.create_only else ""
                shown = "(not managed)" if value is None else value_text(attr, value)
                out.append(f"{INDENT}{attr} ← {how} = {shown}{once}")
        reason = _scope_reason(plan, kind, key)
        if obj.present and reason and reason.startswith("out of scope"):
            policy = "deprovisioned" if target.out_of_scope == "deprovision" else "left alone"
            out.append(f"  3 scope: {reason} → {policy} on this target")
        elif obj.present:
            why = f" — {reason}" if reason else ""
            out.append(f"  3 scope: in scope (declared, state: present){why}")
        else:
            action = target.deprovision
            out.append(f"  3 scope: in scope for deprovisioning only (state: absent → {action})")
        out.append("  4 match: attributes in precedence order")
        for attempt in match.attempts:
            if attempt.value is None:
                out.append(f"{INDENT}{attempt.attribute}: no declared value, skipped")
                continue
            found = ", ".join(attempt.candidates) or "none"
            out.append(
                f"{INDENT}{attempt.attribute} eq {json.dumps(attempt.value)} → "
                f"{len(attempt.candidates)} candidate(s): {found}"
            )
        if match.error:
            out.append(f"{INDENT}✗ {match.error}")
        elif match.resource is not None:
            out.append(f"{INDENT}✓ matched target object {match.resource.id} on {match.matched_on}")
        else:
            out.append(f"{INDENT}no match on the target")
        change = changes.get((kind, key))
        if (kind, key) in errors:
            out.append(f"  5 action: none — {errors[(kind, key)].message}")
        elif change is None:
            out.append("  5 action: noop — the target already matches the spec")
        else:
            out.extend(_action(change, target, caps))
        out.append("")
    return "\n".join(out)


def _scope_reason(plan: Plan, kind: Kind, key: str) -> str | None:
    if kind is Kind.GROUP:  # out of scope only where the target assigns by group
        return next((r for k, r, _ in plan.out_of_scope_groups if k == key), None)
    return plan.view.scope_reasons.get(key) if plan.view else None


def _action(change: Change, target: Target, caps: Capabilities) -> list[str]:
    lines = [f"  5 action: {change.action.value} ({change.reason})"]
    width = max((len(a.path) for a in change.attributes), default=0)
    for attr in change.attributes:
        after = (
            attr.ref
            if attr.ref is not None and attr.after is None
            else value_text(attr.path, attr.after)
        )
        before = (
            "(absent)" if change.action is Action.CREATE else value_text(attr.path, attr.before)
        )
        lines.append(f"{INDENT}{attr.path.ljust(width)}  {before} → {after}")
    for member in change.members_add:
        lines.append(f"{INDENT}+ member {member.key}")
    for member in change.members_remove:
        lines.append(f"{INDENT}- member {member.key or '(unknown)'} (id {member.id})")
    lines.append("    requests apply would send:")
    for method, path, body, etag in _requests(change, target, caps):
        lines.append(f"{INDENT}{method} {target.url}{path}")
        lines.append(f"{INDENT}Authorization: {_auth_mask(target)}")
        if etag:
            lines.append(f"{INDENT}If-Match: {etag}")
        if body is not None:
            lines.append(f"{INDENT}{json.dumps(body, ensure_ascii=False, sort_keys=True)}")
    return lines


def _requests(
    change: Change, target: Target, caps: Capabilities
) -> list[tuple[str, str, Json, str | None]]:
    endpoint = "/Users" if change.kind is Kind.USER else "/Groups"
    path = f"{endpoint}/{change.target_id or '{id}'}"
    etag = change.version if caps.etag else None
    ids: dict[str, str] = {}
    deferred = [a for a in change.attributes if a.ref is not None and a.after is None]
    out: list[tuple[str, str, Json, str | None]] = []
    if change.action is Action.DELETE:
        return [("DELETE", path, None, etag)]
    if change.action is Action.CREATE and change.kind is Kind.USER:
        out.append(("POST", endpoint, writes.user_create_body(change.attributes, ids), None))
    elif change.action is Action.CREATE:
        first = [m.id or f"{{id of {m.key}}}" for m in change.members_add][
            : target.membership_chunk
        ]
        out.append(("POST", endpoint, writes.group_create_body(change.attributes, first), None))
    else:
        ready = [a for a in change.attributes if a not in deferred]
        if ready:
            ops = writes.patch_operations(ready, ids)
            out.append(("PATCH", path, {"schemas": [PATCH_OP], "Operations": ops}, etag))
    if deferred:
        ops = [
            {
                "op": "replace",
                "path": A.scim_path("enterprise.manager"),
                "value": {"value": f"{{id of {a.ref}}}"},
            }
            for a in deferred
        ]
        out.append(("PATCH", path, {"schemas": [PATCH_OP], "Operations": ops}, None))
    if change.kind is Kind.GROUP:
        adds = [m.id or f"{{id of {m.key}}}" for m in change.members_add]
        if change.action is Action.CREATE:
            adds = adds[target.membership_chunk :]
        for chunk in writes.chunks(adds, target.membership_chunk):
            out.append(
                (
                    "PATCH",
                    path,
                    {"schemas": [PATCH_OP], "Operations": writes.add_members(chunk)},
                    None,
                )
            )
        removes = [m.id for m in change.members_remove if m.id]
        for chunk in writes.chunks(removes, target.membership_chunk):
            ops = writes.remove_members(chunk, "filter")
            out.append(("PATCH", path, {"schemas": [PATCH_OP], "Operations": ops}, None))
    return out


def _auth_mask(target: Target) -> str:
    return {"bearer": "Bearer ***", "basic": "Basic ***", "none": "(none)"}.get(
        target.auth.type, "Bearer ***"
    )
