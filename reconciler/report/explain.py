"""`plan --explain`: the five steps for selected objects, down to the exact HTTP requests."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping

from reconciler.core.config import Target
from reconciler.core.masking import mask_body
from reconciler.core.match import Match
from reconciler.core.model import Capabilities, Declared, Json, Kind, Observed
from reconciler.core.plan import Action, Change, Plan
from reconciler.report.render import value_text
from reconciler.scim import bulk_requests
from reconciler.scim.change_requests import Request, change_requests
from reconciler.scim.writes import Dialect

INDENT = "      "


def explain(
    plan: Plan,
    declared: Mapping[tuple[Kind, str], Declared],
    target: Target,
    caps: Capabilities,
    observed: Observed,
) -> str:
    changes = {(c.kind, c.key): c for c in plan.changes}
    initial = Dialect.initial(target, caps)
    # Bulk as apply decides it, for this plan's user creates and, apart, its group creates
    # (scim/bulk_requests.py).
    dialects = {
        kind: dataclasses.replace(initial, bulk=bulk_requests.pays(
            initial.bulk, len(bulk_requests.creates_of(plan.changes, kind)),
            complete_read=plan.complete_read and caps.lookup_reason is None,
        ))
        for kind in Kind
    }  # fmt: skip
    errors = {(e.kind, e.key): e for e in plan.errors}
    # A member is a user only where a user has its id (what a removal may add back).
    users = frozenset(u.id for u in observed.users)
    secret = _write_only(caps.write_only, target)
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
        # In lookup mode nothing was listed: the counts are what the eq look-ups found.
        how = "looked up" if observed.lookup else "read"
        source = "by eq filters (lookup mode)" if observed.lookup else "from the target"
        out.append(
            f"  2 import: {how} {len(observed.users)} users and {len(observed.groups)} groups "
            f"{source} ({complete}); declared:"
        )
        width = max((len(p) for p in obj.attrs), default=0)
        for path in sorted(obj.attrs):
            shown = value_text(path, obj.attrs[path], secret)
            out.append(f"{INDENT}{path.ljust(width)}  {shown}")
        if obj.members is not None:
            out.append(f"{INDENT}members  {', '.join(obj.members) or '(none)'}")
        mapped = plan.view.mapped.get((kind, key)) if plan.view else None
        if mapped is not None and mapped.evaluated:
            out.append("    mapped for this target:")
            for attr, how, value in mapped.evaluated:
                once = "  (on create only)" if attr in mapped.create_only else ""
                shown = "(not managed)" if value is None else value_text(attr, value, secret)
                out.append(f"{INDENT}{attr} ← {how} = {shown}{once}")
        reason = _scope_reason(plan, kind, key)
        if obj.present and reason and reason.startswith("out of scope"):
            policy = _policy(plan, kind, key)
            out.append(f"  3 scope: {reason} → {policy} on this target")
        elif obj.present:
            why = f" — {reason}" if reason else ""
            out.append(f"  3 scope: in scope (declared, state: present){why}")
        else:
            action = target.deprovision
            out.append(f"  3 scope: in scope for deprovisioning only (state: absent → {action})")
        out.extend(_match(match))
        change = changes.get((kind, key))
        if (kind, key) in errors:
            out.append(f"  5 action: none — {errors[(kind, key)].message}")
        elif change is None:
            out.append("  5 action: noop — the target already matches the spec")
        else:
            current = match.resource.body if match.resource is not None else None
            out.extend(_action(change, target, dialects[kind], current, users, secret))
        out.append("")
    return "\n".join(out)


def _write_only(paths: frozenset[str], target: Target) -> frozenset[str]:
    """The write-only paths as the plan names them (`urn:...:pin`) and as the spec declares
    them (`acme.pin`, an extension's alias), casefolded as core/masking.py reads them."""
    aliased = {
        f"{alias}.{path[len(urn) + 1 :]}".casefold()
        for alias, urn in target.extensions.items()
        for path in paths
        if path.startswith(f"{urn.casefold()}:")
    }
    return paths | aliased


def _scope_reason(plan: Plan, kind: Kind, key: str) -> str | None:
    if kind is Kind.GROUP:  # out of scope only where the target assigns by group
        return next((r for k, r, _ in plan.out_of_scope_groups if k == key), None)
    return plan.view.scope_reasons.get(key) if plan.view else None


# The plan's out-of-scope outcomes as this step words them.
_POLICY = {"disable": "deprovisioned", "delete": "deprovisioned", "not provisioned": "left alone"}


def _policy(plan: Plan, kind: Kind, key: str) -> str:
    """What the plan does to an object out of scope: its recorded outcome, so a protected
    account spared or a deprovision withheld is not said to be deprovisioned."""
    entries = plan.out_of_scope_groups if kind is Kind.GROUP else plan.out_of_scope
    outcome = next((o for k, _, o in entries if k == key), "left alone")
    return _POLICY.get(outcome, outcome)


def _match(match: Match) -> list[str]:
    out = ["  4 match: attributes in precedence order"]
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
    return out


def _action(
    change: Change,
    target: Target,
    dialect: Dialect,
    current: Mapping[str, Json] | None,
    users: frozenset[str] | None = None,
    secret: frozenset[str] = frozenset(),
) -> list[str]:
    lines = [f"  5 action: {change.action.value} ({change.reason})"]
    width = max((len(a.path) for a in change.attributes), default=0)
    for attr in change.attributes:
        after = (
            attr.ref
            if attr.ref is not None and attr.after is None
            else value_text(attr.path, attr.after, secret)
        )
        before = (
            "(absent)"
            if change.action is Action.CREATE
            else value_text(attr.path, attr.before, secret)
        )
        lines.append(f"{INDENT}{attr.path.ljust(width)}  {before} → {after}")
    # A nested group says so, as in the plan's text: a user and a group may share a name.
    for member in change.members_add:
        kind = "group " if member.type == "Group" else ""
        lines.append(f"{INDENT}+ member {kind}{member.key}")
    for member in change.members_remove:
        kind = "group " if member.type == "Group" else ""
        lines.append(f"{INDENT}- member {kind}{member.key or '(unknown)'} (id {member.id})")
    lines.append("    requests apply would send:")
    for request in change_requests(change, dialect, target.membership_chunk, current, users):
        lines.extend(_request(request, target, INDENT, secret))
    return lines


def _request(
    request: Request, target: Target, indent: str, secret: frozenset[str] = frozenset()
) -> list[str]:
    lines = [f"{indent}{request.method} {target.url}{request.path}"]
    lines.append(f"{indent}Authorization: {_auth_mask(target)}")
    if request.etag:
        lines.append(f"{indent}If-Match: {request.etag}")
    if request.body is not None:
        # Through the one mask every shown value passes: a body may carry a write-only value.
        body = mask_body(request.body, secret)
        lines.append(f"{indent}{json.dumps(body, ensure_ascii=False, sort_keys=True)}")
    if request.fallback:
        lines.append(f"{indent}  {request.fallback_when}")
        for other in request.fallback:
            lines.extend(_request(other, target, indent + "  ", secret))
    return lines


def _auth_mask(target: Target) -> str:
    return {"bearer": "Bearer ***", "basic": "Basic ***", "none": "(none)"}.get(
        target.auth.type, "Bearer ***"
    )
